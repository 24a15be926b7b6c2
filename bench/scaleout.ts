/**
 * Benchmark: scale-out. Several connections synced at once — Google Workspace users, one sync
 * workflow each (`sync:google_workspace:<user>`; HubSpot has one connection, the portal, per
 * installation, so it cannot give several on one task queue) — by one worker process, then by two
 * worker processes on the same task queue, each run on a fresh database and a fresh Google sandbox
 * (its own process, quotas off; the engine's own budgets set out of the way).
 *
 * Each run: the workers start (as `npm run worker` starts them) and finish their first cycles on
 * the empty sandbox; then E Calendar events are seeded into every user's calendar and every
 * connection's cycle is asked for at once (the `syncNow` update, Calendar only); the time is from
 * there to the last cycle's answer. Checked after each run, or the benchmark fails: local rows =
 * registry rows (distinct external ids) = outbox events = the events live in the sandbox (the
 * seeding cancels a few, which are not records), and the sandbox holds the same events as before
 * the sync (nothing created twice on either side). Per worker: the pull activities
 * it ran and the records it wrote (its own /metrics), and the CPU it used (/proc).
 *
 * Figures: the speed-up of two workers over one (bound 1.6×, which needs the cores to show it:
 * the note gives the machine's cores and how busy they were), and the spread (the busier worker's
 * share of the records; 50 % = even).
 * Usage: npx tsx bench/scaleout.ts [--users 8] [--events 2500] [--repeat 2]   (the fastest run of each kind counts)
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { prebuiltWorkflowBundle } from '../src/bundle';
import { loadConfig } from '../src/config';
import { syncNowUpdate, syncWorkflowId } from '../src/workflows/definitions';
import { baseEnv, terminateAll } from '../test/helpers';
import { benchDatabase, emit, runBench } from './lib';
import { metricSum, spawnNode, startWorkerProcess, type WorkerProcess } from './workers';

const { values } = parseArgs({ options: { users: { type: 'string', default: '8' }, events: { type: 'string', default: '2500' }, repeat: { type: 'string', default: '2' } } });
const USERS = Array.from({ length: Number(values.users) }, (_, i) => `scale${i + 1}@acme.test`);
const EVENTS = Number(values.events);
const REPEAT = Number(values.repeat);
const SYSTEM = 'google_workspace';
const TYPE = 'calendar_event';

interface PerWorker {
  activities: number;
  records: number;
  cpuSeconds: number;
}

interface Run {
  seconds: number;
  /** the events live in the sandbox (the seeding cancels some: those are not synced as records) */
  records: number;
  workers: PerWorker[];
  /** share of the machine's CPU time that was busy during the measured window */
  machineBusy: number;
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
}

/** The machine's busy and total CPU time so far (jiffies), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const nums = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = nums.reduce((a, b) => a + b, 0);
  return { busy: total - nums[3]! - (nums[4] ?? 0), total };
}

async function startGoogleSandbox(credentialsDir: string): Promise<{ url: string; tokenUrl: string; close(): Promise<void> }> {
  let found: { url: string; tokenUrl: string } | undefined;
  const child = spawnNode(['src/sandbox/google/main.ts', '--port', '0', '--users', USERS.join(','), '--no-quotas', '--write-credentials', credentialsDir], process.env, (l) => {
    const m = /listening on (http:\/\/\S+) \(token endpoint (\S+)\)/.exec(l);
    if (m) found = { url: m[1]!, tokenUrl: m[2]! };
  });
  const t0 = performance.now();
  while (!found) {
    if (child.exitCode !== null) throw new Error(`Google sandbox exited (${child.exitCode})`);
    if (performance.now() - t0 > 60_000) throw new Error('Google sandbox did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ...found,
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function run(workerCount: number): Promise<Run> {
  const credentialsDir = mkdtempSync(join(tmpdir(), 'aurora-scaleout-'));
  const sandbox = await startGoogleSandbox(credentialsDir);
  const db = await benchDatabase();
  const id = randomUUID().slice(0, 8);
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...baseEnv(), POSTGRES_DB: db.name, LOG_LEVEL: 'info', SYNC_INTERVAL: '3600',
    TEMPORAL_TASK_QUEUE: `bench-scaleout-${id}`, WORKFLOW_ID_PREFIX: `bench-${id}:`,
    GOOGLE_CREDENTIALS_PATH: join(credentialsDir, 'google-credentials.json'), GOOGLE_USERS: USERS.join(','),
    GOOGLE_API_ROOT_URL: sandbox.url, GOOGLE_TOKEN_URL: sandbox.tokenUrl, PUSH_CHANNELS: 'false',
    // The engine's own budgets out of the way too ("limits off").
    GOOGLE_QUOTA_PER_USER_PER_MINUTE: '1000000', GMAIL_QUOTA_UNITS_PER_USER_PER_MINUTE: '100000000', GMAIL_QUOTA_UNITS_PER_PROJECT_PER_MINUTE: '100000000',
    GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: '1000000',
    HUBSPOT_API_KEY: '', FIREFLIES_API_KEY: '',
  };
  const cfg = loadConfig(env);
  const pool = new Pool({ ...cfg.postgres, max: 1 });
  const connection = await Connection.connect({ address: cfg.temporal.address });
  const client = new Client({ connection });
  const workers: WorkerProcess[] = [];
  const handles = USERS.map((u) => client.workflow.getHandle(syncWorkflowId(SYSTEM, cfg.temporal.workflowIdPrefix, u)));
  const count = async (sql: string, args: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, args)).rows[0]!.n);
  try {
    for (let i = 0; i < workerCount; i++) workers.push(await startWorkerProcess(env, { name: `worker ${i + 1}` }));
    await Promise.all(workers.map((w) => w.whenRunning()));
    // First cycles on the empty sandbox (every type), so that what is timed is the sync, not the start.
    await Promise.all(handles.map((h) => h.executeUpdate(syncNowUpdate, { args: [{}] })));
    for (const u of USERS) {
      const res = await fetch(new URL(`_sandbox/google/calendar/${encodeURIComponent(u)}/calendars/${encodeURIComponent(u)}/seed`, sandbox.url), {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: EVENTS }),
      });
      if (res.status !== 201) throw new Error(`seeding ${u}: ${res.status} ${await res.text()}`);
    }
    const liveEvents = () =>
      Promise.all(USERS.map(async (u) => {
        const res = await fetch(new URL(`_sandbox/google/calendar/${encodeURIComponent(u)}/calendars/${encodeURIComponent(u)}/events`, sandbox.url));
        return ((await res.json()) as { items: unknown[] }).items.length;
      }));
    const seeded = await liveEvents();
    const total = seeded.reduce((a, b) => a + b, 0);
    const counters = async () =>
      Promise.all(workers.map(async (w) => {
        const text = (await w.metrics()) ?? '';
        return {
          activities: metricSum(text, 'aurora_sync_duration_seconds_count', { system: SYSTEM, type: TYPE, direction: 'pull' }),
          records: metricSum(text, 'aurora_sync_records_total', { system: SYSTEM, type: TYPE, direction: 'pull' }),
          cpuSeconds: cpuSeconds(w.pid),
        };
      }));
    const before = await counters();
    const cpu0 = machineCpu();
    const t0 = performance.now();
    await Promise.all(handles.map((h) => h.executeUpdate(syncNowUpdate, { args: [{ entityType: TYPE }] })));
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = machineCpu();
    const after = await counters();

    // No duplicates on either side, every record announced once.
    const rows = await count('SELECT count(*) AS n FROM calendar_events');
    const registry = await count('SELECT count(*) AS n FROM sync_registry WHERE external_system = $1 AND entity_type = $2', [SYSTEM, TYPE]);
    const distinct = await count('SELECT count(DISTINCT (connection, external_id)) AS n FROM sync_registry WHERE external_system = $1 AND entity_type = $2', [SYSTEM, TYPE]);
    const events = await count(`SELECT count(*) AS n FROM sync_outbox WHERE channel = $1`, [`aurora:sync:${TYPE}`]);
    const external = await liveEvents();
    const problems = [
      rows !== total && `${rows} local rows`,
      registry !== total && `${registry} registry rows`,
      distinct !== registry && `${registry - distinct} duplicate registry rows`,
      events !== total && `${events} events`,
      external.join() !== seeded.join() && `the sandbox holds ${external.join('/')} events per user, not ${seeded.join('/')}`,
    ].filter(Boolean);
    if (problems.length) throw new Error(`${workerCount} worker(s): expected ${total} of each, found ${problems.join(', ')}`);
    return {
      seconds,
      records: total,
      workers: after.map((a, i) => ({ activities: a.activities - before[i]!.activities, records: a.records - before[i]!.records, cpuSeconds: a.cpuSeconds - before[i]!.cpuSeconds })),
      machineBusy: (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total),
    };
  } finally {
    await terminateAll(client, env.WORKFLOW_ID_PREFIX!).catch(() => undefined);
    await Promise.all(workers.map((w) => w.stop()));
    await sandbox.close();
    await connection.close();
    await pool.end();
    await db.drop();
    rmSync(credentialsDir, { recursive: true, force: true });
  }
}

const describe = (r: Run) =>
  r.workers.map((w, i) => `worker ${i + 1}: ${w.activities} pull activities, ${w.records} records, ${w.cpuSeconds.toFixed(1)} s CPU`).join('; ');

async function main() {
  const cores = cpus().length;
  console.log(`bench: scale-out, ${USERS.length} Google users × ${EVENTS} Calendar events, one worker process vs two on one task queue (node ${process.version}, ${cores} cores)`);
  await prebuiltWorkflowBundle(); // built (if the sources changed) before the workers start, not inside their start-up
  const one: Run[] = [];
  const two: Run[] = [];
  for (let i = 0; i < REPEAT; i++) {
    for (const [n, runs] of [[1, one], [2, two]] as const) {
      const r = await run(n);
      runs.push(r);
      console.log(`${n} worker${n > 1 ? 's' : ''}: ${r.records} records in ${r.seconds.toFixed(1)} s (${(r.records / r.seconds).toFixed(0)}/s), machine CPU ${(r.machineBusy * 100).toFixed(0)} % busy; ${describe(r)}`);
    }
  }
  const best = (runs: Run[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const a = best(one);
  const b = best(two);
  const speedup = (a.seconds / a.records) / (b.seconds / b.records);
  const busiest = Math.max(...b.workers.map((w) => w.records)) / b.records;
  const cpuBound = a.machineBusy > 0.85;
  const workerCpu = (r: Run) => r.workers.reduce((n, w) => n + w.cpuSeconds, 0);
  emit({
    figure: 'scaleout_speedup', system: SYSTEM, records: b.records, value: speedup, unit: '×', bound: 1.6,
    note:
      `${USERS.length} connections (Google users) synced at once, limits off: 1 worker ${a.seconds.toFixed(1)} s (${a.records} records), 2 workers ${b.seconds.toFixed(1)} s (${b.records}); ` +
      `the worker processes used ${workerCpu(a).toFixed(1)} s / ${workerCpu(b).toFixed(1)} s of CPU; the machine's ${cores} cores were ${(a.machineBusy * 100).toFixed(0)} % / ${(b.machineBusy * 100).toFixed(0)} % busy ` +
      `(Postgres, Temporal, the sandbox and anything else running)` +
      (cpuBound ? ': the cores are saturated with one worker already, so this machine lacks the cores to show 1.6×' : ''),
  });
  emit({
    figure: 'scaleout_spread', system: SYSTEM, records: b.records, value: busiest * 100, unit: '%', bound: 50, ratio: 0.5 / busiest,
    note: `the busier of 2 workers' share of the records (50 % = even): ${describe(b)}; no duplicates (local rows = registry rows = events = ${b.records}, sandbox unchanged)`,
  });
}

runBench(main);
