/**
 * Benchmark: real-time path latency. The HubSpot sandbox sends signed webhook batches to the API;
 * the API keeps their work in its webhook inbox, whose forwarder signals the sync workflow; the
 * worker batch-reads the records, commits them and publishes on Redis. Measures change in the
 * sandbox -> event received on Redis, at a sustained rate (default 50 changes/s for 60 s), and
 * prints p50/p99/max against the 500 ms goal (also as figures
 * for bench/run.ts), once with the sandbox's rate limits off and once with them on (HubSpot's
 * default limits, and the engine's own default budget configuration: nothing overridden).
 * The scheduled polling cycle runs during the stream too (every --interval seconds), sharing the
 * request budget with the webhook fetches; the note says how many cycles completed meanwhile.
 * Usage: npx tsx bench/webhook-latency.ts [--rate 50] [--seconds 60] [--limits on|off|both] [--interval 20]
 * BENCH_TRACE=1 prints every event slower than 400 ms.
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { buildApi } from '../src/api/server';
import { startWorker } from '../src/worker';
import { connectClient, ensureSyncWorkflow } from '../src/temporal';
import { startHubSpotSandbox } from '../src/sandbox/hubspot';
import { statusQuery, syncNowUpdate, syncWorkflowId } from '../src/workflows/definitions';
import { defaultPayloadConverter } from '@temporalio/common';
import { benchDatabase, emit } from './lib';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    limits: { type: 'string', default: 'both' },
    interval: { type: 'string', default: '20' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const INTERVAL = Number(values.interval);
const SECRET = 'bench-client-secret';
if (!['on', 'off', 'both'].includes(values.limits!)) throw new Error('--limits must be on, off or both');

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(limits: boolean): Promise<void> {
  const database = await benchDatabase();
  // Limits on: the sandbox's defaults (HubSpot's: 100 requests per rolling 10 s, 5 searches/s).
  const sandbox = await startHubSpotSandbox({ rateLimits: limits });
  const contacts = sandbox.seed('contacts', RATE * SECONDS);
  const id = randomUUID().slice(0, 8);
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Limits on: the engine's own budget configuration (its defaults), whatever this shell sets.
  delete env.HUBSPOT_RATE_LIMIT_PER_10S;
  delete env.HUBSPOT_SEARCH_PER_SECOND;
  const cfg = loadConfig({
    ...env,
    POSTGRES_DB: database.name,
    HUBSPOT_API_KEY: `bench-token-${id}`, // this run's own request budget in Redis
    HUBSPOT_BASE_URL: sandbox.url,
    HUBSPOT_CLIENT_SECRET: SECRET,
    // Limits off: the budget is out of the way too; this measures the pipeline alone.
    ...(limits ? {} : { HUBSPOT_RATE_LIMIT_PER_10S: '1000000', HUBSPOT_SEARCH_PER_SECOND: '100000' }),
    SYNC_INTERVAL: String(INTERVAL),
    TEMPORAL_TASK_QUEUE: `bench-${id}`,
    WORKFLOW_ID_PREFIX: `bench-${id}:`,
    METRICS_PORT: '0',
    API_PORT: '0',
    LOG_LEVEL: 'error',
  });
  // The worker's own relay interval (the events of a webhook fetch are published by the fetch itself).
  const worker = await startWorker(cfg, { ensureWorkflows: false, serveMetrics: false });
  const client = await connectClient(cfg);
  const api = buildApi({ cfg, db: worker.deps.db, temporal: client, configuredSystems: new Set(['hubspot']) });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const { port } = api.server.address() as { port: number };
  // The signature covers the URL the sender used: make the public base URL that one.
  cfg.webhooks.publicBaseUrl = `http://127.0.0.1:${port}`;
  await ensureSyncWorkflow(client, cfg, { system: 'hubspot' }, { runImmediately: false });
  const handle = client.workflow.getHandle(syncWorkflowId('hubspot', cfg.temporal.workflowIdPrefix));
  await handle.executeUpdate(syncNowUpdate, { args: [{}] });
  const { rows } = await worker.deps.db.query<{ local_id: string; external_id: string }>('SELECT local_id, external_id FROM sync_registry');
  const byLocal = new Map(rows.map((r) => [r.local_id, r.external_id]));
  // The backfill's requests leave the rolling window before the stream starts.
  if (limits) await new Promise((r) => setTimeout(r, 10_500));

  sandbox.webhooks.configure({ targetUrl: `http://127.0.0.1:${port}/api/webhooks/hubspot`, clientSecret: SECRET, batchWindowMs: 20 });
  const sent = new Map<string, number>();
  const changedAt = new Map<string, number>();
  const latencies: number[] = [];
  let startedAt = 0;
  const sub = new Redis({ host: cfg.redis.host, port: cfg.redis.port, password: cfg.redis.password });
  sub.on('message', (_c, msg) => {
    const e = JSON.parse(msg) as { entity_id: string; action: string; direction: string };
    const ext = byLocal.get(e.entity_id);
    const t0 = ext ? sent.get(ext) : undefined;
    if (t0 !== undefined && e.action === 'updated') {
      const ms = performance.now() - t0;
      latencies.push(ms);
      if (process.env.BENCH_TRACE && ms > 400) console.log(`slow: ${ms.toFixed(0)} ms at t=${((t0 - startedAt) / 1000).toFixed(1)} s`);
      sent.delete(ext!);
    }
  });
  await sub.subscribe('aurora:sync:contact');

  const label = limits ? 'limits on' : 'limits off';
  console.log(`bench: webhook path, ${label}, ${RATE} changes/s for ${SECONDS} s, polling every ${INTERVAL} s (node ${process.version})`);
  const cyclesBefore = (await handle.query(statusQuery)).cycles;
  const requestsBefore = sandbox.stats().requests;
  const limitedBefore = sandbox.stats().rateLimited;
  const total = RATE * SECONDS;
  const start = performance.now();
  startedAt = start;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const c = contacts[i]!;
    sent.set(c.id, performance.now());
    changedAt.set(c.id, Date.now()); // wall clock, as the server stamps its events
    sandbox.userUpdate('contacts', c.id, { phone: `+1 555 ${String(i).padStart(4, '0')}` });
  }
  const cycles = (await handle.query(statusQuery)).cycles - cyclesBefore;
  const end = Date.now() + 15_000;
  while (latencies.length < total && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const stats = sandbox.stats();
  const requests = stats.requests - requestsBefore;
  const rateLimited = stats.rateLimited - limitedBefore;
  const sorted = [...latencies].sort((a, b) => a - b);
  const closes = await continuedRuns(client, syncWorkflowId('hubspot', cfg.temporal.workflowIdPrefix));
  console.log(`received ${latencies.length}/${total} events; ${cycles} polling cycles completed during the stream; ${requests} API requests (${(requests / SECONDS).toFixed(1)}/s), ${rateLimited} answered 429`);
  if (sorted.length) {
    const [p50, p99, max] = [pct(sorted, 50), pct(sorted, 99), sorted[sorted.length - 1]!];
    const note =
      `${label}: sandbox change → signed webhook → API → signal → batch read → row committed → Redis event, ${RATE} changes/s for ${SECONDS} s; ` +
      `${latencies.length}/${total} received; max ${Math.round(max)} ms; ${cycles} polling cycles (every ${INTERVAL} s) ran meanwhile; ` +
      `${requests} API requests, ${rateLimited} 429s; continued-as-new ${closes.continued} times (${closes.held} with its webhook signals held)` +
      (limits ? '; sandbox limits 100 requests/10 s, 5 searches/s; engine budget at its defaults' : '; engine budget out of the way');
    emit({ figure: 'webhook_p50', system: 'hubspot', records: total, value: p50, unit: 'ms', bound: null, ratio: null, note });
    emit({ figure: 'webhook_p99', system: 'hubspot', records: total, value: p99, unit: 'ms', bound: 500, ratio: Math.min(1, 500 / p99), note: `${label}; goal: p99 under 500 ms (ratio 1 = met)` });
    console.log(`${label}: latency p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${max.toFixed(0)} ms; goal p99 < 500 ms: ${p99 < 500 ? 'met' : 'NOT met'}`);
  }
  if (process.env.BENCH_TRACE) await traceFetches(client, syncWorkflowId('hubspot', cfg.temporal.workflowIdPrefix), changedAt);
  sub.disconnect();
  await api.close();
  await handle.terminate('bench done').catch(() => undefined);
  await client.connection.close();
  await worker.stop();
  await sandbox.close();
  await database.drop();
}

/** How often the workflow continued-as-new, and how many of those runs held their webhook signals while closing. */
async function continuedRuns(client: Awaited<ReturnType<typeof connectClient>>, workflowId: string): Promise<{ continued: number; held: number }> {
  let continued = 0;
  let held = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const { events = [] } = await client.workflow.getHandle(workflowId, wf.runId).fetchHistory();
    if (!events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes) continue;
    continued++;
    if (events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'holdWebhookSignals')) held++;
  }
  return { continued, held };
}

/** Where a webhook fetch's time goes, from the workflow's histories (every run): queued, running, and the gap before the next. */
async function traceFetches(client: Awaited<ReturnType<typeof connectClient>>, workflowId: string, changedAt: Map<string, number>): Promise<void> {
  const ms = (t: unknown) => {
    const ts = t as { seconds?: { toNumber?: () => number } | number; nanos?: number } | null | undefined;
    const secs = typeof ts?.seconds === 'number' ? ts.seconds : (ts?.seconds?.toNumber?.() ?? 0);
    return secs * 1000 + (ts?.nanos ?? 0) / 1e6;
  };
  const queued: number[] = [];
  const running: number[] = [];
  const gaps: number[] = [];
  const toSignal: number[] = [];
  let runs = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs++;
    const { events = [] } = await client.workflow.getHandle(workflowId, wf.runId).fetchHistory();
    const sched = new Map<string, { name: string; at: number; started?: number }>();
    let lastDone = 0;
    for (const e of events ?? []) {
      const sig = e.workflowExecutionSignaledEventAttributes;
      if (sig?.signalName === 'webhook' && sig.input?.payloads?.[0]) {
        const change = defaultPayloadConverter.fromPayload<{ ids: string[] }>(sig.input.payloads[0] as never);
        for (const id of change.ids ?? []) {
          const t0 = changedAt.get(id);
          if (t0 !== undefined) toSignal.push(ms(e.eventTime) - t0);
        }
      }
      const a = e.activityTaskScheduledEventAttributes;
      if (a) {
        sched.set(String(e.eventId), { name: a.activityType?.name ?? '', at: ms(e.eventTime) });
        if (a.activityType?.name === 'pullByIds' && lastDone) gaps.push(ms(e.eventTime) - lastDone);
      }
      const st = e.activityTaskStartedEventAttributes;
      if (st) {
        const s0 = sched.get(String(st.scheduledEventId));
        if (s0) s0.started = ms(e.eventTime);
      }
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const s0 = sched.get(String(c.scheduledEventId));
        if (s0?.name === 'pullByIds' && s0.started) {
          queued.push(s0.started - s0.at);
          running.push(ms(e.eventTime) - s0.started);
          lastDone = ms(e.eventTime);
        }
      }
    }
  }
  const show = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? `p50 ${pct(s, 50).toFixed(0)} / p99 ${pct(s, 99).toFixed(0)} / max ${s[s.length - 1]!.toFixed(0)} ms` : '-';
  };
  console.log(`trace: ${runs} runs; change → webhook signal in history ${show(toSignal)}; ${running.length} webhook fetches: queued ${show(queued)}, running ${show(running)}, completion → next scheduled ${show(gaps)}`);
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  if (values.limits !== 'on') await run(false);
  if (values.limits !== 'off') await run(true);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
