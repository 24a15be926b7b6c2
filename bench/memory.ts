/**
 * Benchmark: the worker's memory over a backfill. A real worker process (src/worker.ts, as
 * `npm run worker` starts it) under Temporal syncs a HubSpot sandbox (its own process, rate limits
 * off) of N contacts into a fresh database, for each N (default 20,000, 50,000, 100,000); the
 * worker runs as `npm run worker` and the image run it (the prebuilt workflow bundle, src/bundle.ts,
 * and the worker's V8 flags, WORKER_NODE_FLAGS). Its RSS is sampled from /proc every 100 ms from its
 * start to the last contact committed, and its main-thread V8 heap from its /metrics every 500 ms.
 * Reports RSS at start-up (until the worker says it runs), steady (median of the backfill's second
 * half) and peak; the goal is a peak under 300 MB, not growing with N.
 * Usage: npx tsx bench/memory.ts [--sizes 20000,50000,100000] [--v8-defaults]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { prebuiltWorkflowBundle } from '../src/bundle';
import { WORKER_NODE_FLAGS } from '../src/worker';
import { baseEnv, terminateAll } from '../test/helpers';
import { benchDatabase, emit, runBench, startSandboxProcess } from './lib';
import { metricSum, rssMiB, startWorkerProcess, type WorkerProcess } from './workers';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '20000,50000,100000' }, 'v8-defaults': { type: 'boolean', default: false } } });
const SIZES = values.sizes!.split(',').map(Number);
/** --v8-defaults: the worker without its V8 flags, to show what they do */
const V8_DEFAULTS = values['v8-defaults']!;
const flagsNote = V8_DEFAULTS ? 'V8 defaults' : WORKER_NODE_FLAGS.join(' ');

/** The worker's main-thread V8 heap (used, total) and external memory, MiB, from its /metrics. */
async function heapMiB(w: WorkerProcess): Promise<{ used: number; total: number; external: number } | null> {
  const text = await w.metrics();
  if (!text) return null;
  const get = (name: string) => metricSum(text, `aurora_sync_process_${name}`) / 1048576;
  return { used: get('nodejs_heap_size_used_bytes'), total: get('nodejs_heap_size_total_bytes'), external: get('nodejs_external_memory_bytes') };
}

interface Sample {
  /** seconds since the worker was spawned */
  t: number;
  rss: number;
}

interface Backfill {
  seconds: number;
  /** highest RSS before the worker said it is running (modules loaded, bundle loaded, connected) */
  startup: number;
  /** median RSS over the second half of the backfill */
  steady: number;
  peak: number;
  /** when the peak was, seconds after the worker started */
  peakAt: number;
  /** the largest main-thread heap seen (used / total) and external memory, MiB */
  heap: { used: number; total: number; external: number };
}

async function backfill(n: number): Promise<Backfill> {
  const sandbox = await startSandboxProcess(['--seed-contacts', String(n), '--no-rate-limits']);
  const db = await benchDatabase();
  const id = randomUUID().slice(0, 8);
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...baseEnv(), POSTGRES_DB: db.name, HUBSPOT_API_KEY: `bench-token-${id}`, HUBSPOT_BASE_URL: sandbox.url, HUBSPOT_RATE_LIMIT_PER_10S: '1000000', HUBSPOT_SEARCH_PER_SECOND: '1000000',
    SYNC_INTERVAL: '3600', TEMPORAL_TASK_QUEUE: `bench-${id}`, WORKFLOW_ID_PREFIX: `bench-${id}:`, LOG_LEVEL: 'info',
    GOOGLE_USERS: '', GOOGLE_CREDENTIALS_PATH: '', FIREFLIES_API_KEY: '',
  };
  const pool = new Pool({ ...loadConfig(env).postgres, max: 1 });
  const connection = await Connection.connect({ address: loadConfig(env).temporal.address });
  const client = new Client({ connection });
  let worker: WorkerProcess | undefined;
  try {
    worker = await startWorkerProcess(env, { v8Defaults: V8_DEFAULTS });
    let startup = 0;
    const samples: Sample[] = [];
    const heap = { used: 0, total: 0, external: 0 };
    const t0 = performance.now();
    let synced = 0;
    let lastScrape = 0;
    for (;;) {
      const running = worker.running();
      const rss = rssMiB(worker.pid);
      if (running) samples.push({ t: (performance.now() - t0) / 1000, rss });
      else startup = Math.max(startup, rss);
      if (running && performance.now() - lastScrape > 500) {
        lastScrape = performance.now();
        const h = await heapMiB(worker);
        if (h) for (const k of ['used', 'total', 'external'] as const) heap[k] = Math.max(heap[k], h[k]);
      }
      if (running) {
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM contacts').catch(() => ({ rows: [{ n: '0' }] }));
        synced = Number(rows[0]!.n);
        if (synced >= n) break;
      }
      if (performance.now() - t0 > 15 * 60_000) throw new Error(`backfill of ${n} not done after 15 min (${synced} synced)`);
      if (worker.child.exitCode !== null) throw new Error(`worker exited (${worker.child.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const secondHalf = samples.slice(Math.floor(samples.length / 2)).map((x) => x.rss).sort((a, b) => a - b);
    return {
      seconds: (performance.now() - t0) / 1000,
      startup,
      steady: secondHalf[Math.floor(secondHalf.length / 2)] ?? 0,
      peak: Math.max(startup, ...samples.map((x) => x.rss)),
      peakAt: samples.reduce((a, b) => (b.rss > a.rss ? b : a), { t: 0, rss: 0 }).t,
      heap,
    };
  } finally {
    await terminateAll(client, env.WORKFLOW_ID_PREFIX!).catch(() => undefined);
    await worker?.stop();
    await sandbox.close();
    await connection.close();
    await pool.end();
    await db.drop();
  }
}

async function main() {
  console.log(`bench: peak RSS of a worker process under Temporal over HubSpot backfills of ${SIZES.join(', ')} contacts (node ${process.version}, worker flags: ${flagsNote})`);
  await prebuiltWorkflowBundle(); // built (if the sources changed) before the first worker, not inside its start-up
  for (const n of SIZES) {
    const r = await backfill(n);
    const mb = (mib: number) => (mib * 1.048576).toFixed(0);
    console.log(
      `${n} contacts: ${r.seconds.toFixed(0)} s; worker RSS: start-up ${mb(r.startup)} MB, steady (median of the backfill's second half) ${mb(r.steady)} MB, ` +
        `peak ${mb(r.peak)} MB (at ${r.peakAt.toFixed(0)} s); main-thread V8 heap at most ${mb(r.heap.used)} MB used of ${mb(r.heap.total)} MB, external ${mb(r.heap.external)} MB`,
    );
    emit({
      figure: 'peak_rss', system: 'worker', records: n, value: r.peak * 1.048576, unit: 'MB', bound: 300, ratio: 300 / (r.peak * 1.048576),
      note: `a worker process under Temporal (prebuilt workflow bundle, ${flagsNote}), HubSpot backfill (rate limits off), ${r.seconds.toFixed(0)} s; RSS at start-up ${mb(r.startup)} MB, steady ${mb(r.steady)} MB; goal under 300 MB, flat in N`,
    });
  }
}

runBench(main);
