/**
 * Benchmark: the worker's memory over a backfill. A real worker process (src/worker.ts, as
 * `npm run worker` starts it) under Temporal syncs a HubSpot sandbox (its own process, rate limits
 * off) of N contacts into a fresh database, for each N (default 20,000, 50,000, 100,000); the
 * worker's RSS is sampled from /proc every 100 ms from its start (which bundles the workflow code)
 * to the last contact committed. Reports the peak during the backfill and at start-up; the goal is
 * under 300 MB and not growing with N.
 * Usage: npx tsx bench/memory.ts [--sizes 20000,50000,100000]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { baseEnv, terminateAll } from '../test/helpers';
import { benchDatabase, emit, runBench } from './lib';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '20000,50000,100000' } } });
const SIZES = values.sizes!.split(',').map(Number);
const ROOT = join(__dirname, '..');

function spawnLogged(args: string[], env: NodeJS.ProcessEnv, onLine: (l: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout!, child.stderr!]) {
    let rest = '';
    s.on('data', (d: Buffer) => {
      rest += d.toString();
      const lines = rest.split('\n');
      rest = lines.pop()!;
      lines.forEach(onLine);
    });
  }
  return child;
}

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

async function backfill(n: number): Promise<{ startup: number; peak: number; seconds: number }> {
  let url = '';
  const sandbox = spawnLogged(['src/sandbox/hubspot/main.ts', '--port', '0', '--seed-contacts', String(n), '--no-rate-limits'], process.env, (l) => {
    const m = /listening on (http:\/\/\S+)/.exec(l);
    if (m) url = m[1]!;
  });
  const db = await benchDatabase();
  const id = randomUUID().slice(0, 8);
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...baseEnv(), POSTGRES_DB: db.name, HUBSPOT_API_KEY: `bench-token-${id}`, HUBSPOT_RATE_LIMIT_PER_10S: '1000000', HUBSPOT_SEARCH_PER_SECOND: '1000000',
    SYNC_INTERVAL: '3600', TEMPORAL_TASK_QUEUE: `bench-${id}`, WORKFLOW_ID_PREFIX: `bench-${id}:`, METRICS_PORT: '0', LOG_LEVEL: 'info',
    GOOGLE_USERS: '', GOOGLE_CREDENTIALS_PATH: '', FIREFLIES_API_KEY: '',
  };
  const pool = new Pool({ ...loadConfig(env).postgres, max: 1 });
  const connection = await Connection.connect({ address: loadConfig(env).temporal.address });
  const client = new Client({ connection });
  let worker: ChildProcess | undefined;
  try {
    while (!url) await new Promise((r) => setTimeout(r, 50));
    env.HUBSPOT_BASE_URL = url;
    let running = false;
    worker = spawnLogged(['src/worker.ts'], env, (l) => {
      if (l.includes('worker running')) running = true;
      else if (/"level":"(error|warn)"/.test(l)) console.log(`  worker: ${l.slice(0, 300)}`);
    });
    const pid = worker.pid!;
    let peak = 0;
    let startup = 0;
    const t0 = performance.now();
    let synced = 0;
    for (;;) {
      const rss = rssMiB(pid);
      if (running) peak = Math.max(peak, rss);
      else startup = Math.max(startup, rss);
      if (running) {
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM contacts').catch(() => ({ rows: [{ n: '0' }] }));
        synced = Number(rows[0]!.n);
        if (synced >= n) break;
      }
      if (performance.now() - t0 > 15 * 60_000) throw new Error(`backfill of ${n} not done after 15 min (${synced} synced)`);
      if (worker.exitCode !== null) throw new Error(`worker exited (${worker.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { startup, peak, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await terminateAll(client, env.WORKFLOW_ID_PREFIX!).catch(() => undefined);
    worker?.kill('SIGTERM');
    if (worker && worker.exitCode === null) await new Promise((r) => worker!.once('exit', r));
    sandbox.kill('SIGTERM');
    await connection.close();
    await pool.end();
    await db.drop();
  }
}

async function main() {
  console.log(`bench: peak RSS of a worker process under Temporal over HubSpot backfills of ${SIZES.join(', ')} contacts (node ${process.version})`);
  for (const n of SIZES) {
    const r = await backfill(n);
    console.log(`${n} contacts: ${r.seconds.toFixed(0)} s; worker RSS at start-up ${r.startup.toFixed(0)} MiB, peak during the backfill ${r.peak.toFixed(0)} MiB`);
    emit({ figure: 'peak_rss', system: 'worker', records: n, value: r.peak * 1.048576, unit: 'MB', bound: 300, ratio: 300 / (r.peak * 1.048576), note: `a worker process under Temporal, HubSpot backfill (rate limits off), ${r.seconds.toFixed(0)} s; start-up (bundling the workflows) ${(r.startup * 1.048576).toFixed(0)} MB; goal under 300 MB, flat in N` });
  }
}

runBench(main);
