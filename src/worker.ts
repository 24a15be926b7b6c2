/**
 * The worker: builds dependencies once, runs the Temporal Worker for the sync task queue, serves
 * Prometheus metrics on METRICS_PORT, relays outbox events to Redis, and makes sure each configured
 * system's sync workflow is running.
 */
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Server } from 'node:http';
import { loadConfigOrExit, type Config } from './config';
import { checkServices, describeServiceError } from './core/preflight';
import { activitySettings, createActivities } from './activities';
import { prebuiltWorkflowBundle } from './bundle';
import { createDeps, systemConnections, type Deps } from './deps';
import { dataConverterFor } from './core/codec';
import { log, sdkLogger, setLogLevel } from './log';
import { serveMetrics } from './metrics';
import { migrate } from './store/migrate';
import { relayOutbox } from './store/outbox';
import { ensureSchedules } from './schedules';
import { configureSyncWorkflow, connectClient, createConflictRuntime, ensureSearchAttributes, ensureSyncWorkflow, temporalConnectionOptions, triggerSync } from './temporal';

/**
 * The V8 flags the worker runs with (package.json `worker`, the Dockerfile's CMD; bench/memory.ts
 * measures with them). A HubSpot backfill's live heap is about 60-100 MB, but with V8's defaults
 * (16 MB semi-spaces, an old-space limit of up to 4 GB, from the machine's memory) the heap grows to
 * 300+ MB of garbage before it is collected, and the RSS to 550 MB. Small semi-spaces and a 512 MB
 * old-space limit keep a 100,000-record backfill under 300 MB of RSS (README "Performance"), with
 * five times the live heap as headroom; a worker that syncs many large connections at once may need
 * a higher limit (V8 stops the process when the live heap exceeds it).
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=512'];

/** The flags of WORKER_NODE_FLAGS this process was started without (on the command line or in NODE_OPTIONS). */
export function missingNodeFlags(argv = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]): string[] {
  return WORKER_NODE_FLAGS.filter((f) => !argv.some((a) => a.split('=')[0]!.replace(/_/g, '-') === f.split('=')[0]));
}

export interface RunningWorker {
  worker: Worker;
  deps: Deps;
  /** resolves when the worker has stopped */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface WorkerStartOptions {
  /** pre-bundled workflow code (default: the prebuilt bundle of the current sources, src/bundle.ts) */
  workflowBundle?: WorkerOptions['workflowBundle'];
  serveMetrics?: boolean;
  /** start the sync workflows of configured systems (default true) */
  ensureWorkflows?: boolean;
  relayIntervalMs?: number;
  deps?: Deps;
}

export async function startWorker(cfg: Config, opts: WorkerStartOptions = {}): Promise<RunningWorker> {
  setLogLevel(cfg.logLevel);
  const deps = opts.deps ?? createDeps(cfg);
  await migrate(deps.db);
  const client = await connectClient(cfg);
  await ensureSearchAttributes(client, cfg);
  deps.conflicts = createConflictRuntime(client, cfg, deps.db);
  const connection = await NativeConnection.connect(temporalConnectionOptions(cfg.temporal));
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    activities: createActivities({ ...deps, settings: activitySettings(cfg) }),
    // The payload codec runs in the worker's main thread, outside the workflow sandbox (nothing to bundle).
    dataConverter: dataConverterFor(cfg.codec.keys),
    // Prebuilt out of process (src/bundle.ts): bundling in here would keep webpack's ~180 MB in this process for good.
    workflowBundle: opts.workflowBundle ?? (await prebuiltWorkflowBundle()),
  });

  let metricsServer: Server | undefined;
  if (opts.serveMetrics ?? true) metricsServer = await serveMetrics(deps.metrics, cfg.metricsPort);

  const systems = systemConnections(cfg);
  for (const s of systems) if (s.notConfigured) log.warn(`${s.def.system}: not configured (${s.notConfigured}); not syncing it`, { system: s.def.system });
  const done = worker.run();
  if (opts.ensureWorkflows ?? true) {
    for (const { def, connections } of systems) {
      for (const connection of connections) {
        const target = { system: def.system, connection };
        await ensureSyncWorkflow(client, cfg, target);
        await configureSyncWorkflow(client, cfg, target); // a running workflow takes changed settings
        // A (re)start syncs now, as the design's runbook expects of `docker restart aurora-integration-sync`.
        await triggerSync(client, cfg, target);
      }
    }
    // Renewal schedules only for systems whose connectors open push channels or watches.
    const channelSystems = new Set(systems.filter((s) => s.connections.length && deps.connectors.get(s.def.system, s.connections[0]!).openChannel).map((s) => s.def.system));
    // Syncing does not wait on the schedules: a server refusing them is logged and retried at the next start.
    await ensureSchedules(client, cfg, channelSystems).then(
      (ids) => log.info('schedules ensured', { schedules: ids.length }),
      (err: unknown) => log.error('schedules not ensured (reconciliation and channel renewal will not run until the next worker start)', { error: (err as Error).message }),
    );
  }

  // Outbox relay: events normally go out at the end of each cycle's activity; this catches up
  // quickly after Redis comes back, and publishes events written by anything else.
  let relaying = false;
  const relayTimer = setInterval(() => {
    if (relaying) return;
    relaying = true;
    relayOutbox(deps.db, deps.redis)
      .then((n) => n && deps.metrics.eventsPublished.inc(n))
      .catch(() => undefined)
      .finally(() => {
        relaying = false;
      });
  }, opts.relayIntervalMs ?? 1_000);

  let stopped = false;
  const stop = async () => {
    if (stopped) return done;
    stopped = true;
    clearInterval(relayTimer);
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await done.catch(() => undefined);
    await connection.close().catch(() => undefined);
    await client.connection.close().catch(() => undefined);
    metricsServer?.close();
    if (!opts.deps) await deps.close();
  };
  return { worker, deps, done, stop };
}

if (require.main === module) {
  const cfg = loadConfigOrExit();
  setLogLevel(cfg.logLevel);
  // The SDK's own lines (activity failures, worker state, Core's) as the same JSON lines, without payloads or task tokens.
  Runtime.install({ logger: sdkLogger(cfg.logLevel === 'debug' ? 'DEBUG' : 'WARN') });
  checkServices(cfg, ['postgres', 'redis', 'temporal'])
    .then(() => {
      // After the services check: a service that is not there stays one line on stderr.
      const missing = missingNodeFlags();
      if (missing.length) log.warn(`worker started without ${missing.join(' ')} (package.json "worker" passes them): its memory will grow well past what it needs`, { missing });
      return startWorker(cfg);
    })
    .then((w) => {
      log.info('worker running', {
        task_queue: cfg.temporal.taskQueue,
        temporal: cfg.temporal.address,
        metrics: `http://localhost:${cfg.metricsPort}/metrics`,
        systems: [...w.deps.connectors.configured()].map(([system, conns]) => `${system} (${conns.length} connection${conns.length === 1 ? '' : 's'})`),
      });
      const shutdown = () => void w.stop().then(() => process.exit(0));
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      return w.done;
    })
    .catch((err) => {
      const line = describeServiceError(err, cfg);
      if (line) console.error(line);
      else log.error('worker failed', { error: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    });
}
