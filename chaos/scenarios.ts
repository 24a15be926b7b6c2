/**
 * The fault scenarios. Each builds its own world (database, sandbox, task queue), makes changes on
 * one or both sides while it injects faults into real processes, waits for the sync to recover by
 * itself, and compares both sides record by record (verify.ts).
 */
import { ASSOC_READ_BATCH } from '../src/connectors/hubspot/connector';
import { createPrng } from '../src/sandbox/hubspot/generate';
import type { SeenEvent } from './events';
import { sleep, type Services } from './services';
import type { SystemName } from './systems';
import type { Verdict } from './verify';
import { count, createWorld, waitFor, type World, type WorldOptions } from './world';
import type { WorkerProc } from './workers';

export interface Sizes {
  /** records of the scenario 1 backfill */
  backfill: number;
  /** records the incremental scenarios start from */
  base: number;
  /** changes on each side in scenario 2 */
  changes: number;
  /** changes on each side per fault in scenarios 3 and 4 */
  faultChanges: number;
  kills: number;
  redisDownMs: number;
  apiDownMs: number;
  stormMs: number;
  /** how long a scenario may take to converge after its last fault */
  recoverTimeoutMs: number;
  /** SYNC_INTERVAL of scenario 1 (the others cycle every 5 s) and ACTIVITY_HEARTBEAT_TIMEOUT of all */
  backfillSyncInterval: number;
  heartbeatTimeout: number;
}

export const FULL: Sizes = { backfill: 20_000, base: 5_000, changes: 1_000, faultChanges: 300, kills: 5, redisDownMs: 30_000, apiDownMs: 60_000, stormMs: 60_000, recoverTimeoutMs: 600_000, backfillSyncInterval: 10, heartbeatTimeout: 5 };
export const QUICK: Sizes = { backfill: 2_000, base: 500, changes: 200, faultChanges: 60, kills: 5, redisDownMs: 10_000, apiDownMs: 15_000, stormMs: 15_000, recoverTimeoutMs: 240_000, backfillSyncInterval: 5, heartbeatTimeout: 5 };

export interface Row {
  scenario: string;
  /** HubSpot, Calendar, Gmail, Drive, Fireflies */
  system: string;
  faults: string;
  faultCount: number;
  verdict: Verdict | null;
  /** from the last fault cleared to both sides equal, s */
  recoverSeconds: number | null;
  totalSeconds: number;
  /** worker exits nobody asked for (restarted as a supervisor would) */
  workerCrashes: number;
  notes: string[];
  error?: string;
}

export interface Ctx {
  services: Services;
  sizes: Sizes;
  rng: () => number;
  log: (msg: string) => void;
}

/** PendingActivityState STARTED: running on a worker */
const STARTED = 2;
const int = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

type Events = () => SeenEvent[] | Promise<SeenEvent[]>;
export type Judged = { label: string; verdict: Verdict }[];

/** Polls until both sides are equal and every event is out (a cheap count first, then the full comparison). */
async function converge(w: World, timeoutMs: number, events: Events = () => w.events.received): Promise<{ judged: Judged; at: number | null }> {
  let last: Judged | null = null;
  let at = 0;
  let lastFull = 0;
  try {
    await waitFor('both sides equal', async () => {
      // The full comparison reads every record on both sides: when the counts say it cannot pass yet, only every 15 s.
      if ((await w.driver.localCount()) < w.driver.expectedCount() && Date.now() - lastFull < 15_000) return undefined;
      lastFull = Date.now();
      last = await w.driver.verify(await events());
      at = Date.now();
      return last.every((j) => j.verdict.dataOk) ? last : undefined;
    }, timeoutMs, 2_000);
  } catch (err) {
    if (last) return { judged: last, at: null };
    throw err;
  }
  // Both sides equal and the outbox relayed: the events are out; give a consumer a moment to get them.
  await sleep(1_500);
  return { judged: await w.driver.verify(await events()), at };
}

/** After convergence: a few quiet cycles must change nothing and announce nothing. */
async function quietCheck(w: World, events: Events = () => w.events.received): Promise<Judged> {
  await w.trigger();
  await sleep(Number(w.env.SYNC_INTERVAL) * 1_000 * 1.5 + 2_000);
  return w.driver.verify(await events());
}

async function startWorker(w: World, name?: string): Promise<WorkerProc> {
  const p = w.addWorker(name);
  p.start();
  await waitFor(`${p.name} ready`, async () => (await Promise.race([p.ready().then(() => true), sleep(1_000).then(() => false)])) || undefined, 120_000, 0);
  return p;
}

/** Sets up a synced base of n records (not measured) and starts the measured phase. */
async function syncedBase(ctx: Ctx, w: World, n: number, seeded?: string): Promise<string> {
  const what = seeded ?? w.driver.seedBase(n);
  const { judged, at } = await converge(w, ctx.sizes.recoverTimeoutMs);
  if (at === null) throw new Error(`chaos: the base (${what}) did not sync: ${judged.map((j) => `${j.label}: ${j.verdict.samples.slice(0, 3).join('; ')}`).join(' | ')}`);
  w.driver.startPhase();
  w.events.reset();
  return what;
}

const LABELS: Record<SystemName, string[]> = { hubspot: ['HubSpot'], google: ['Calendar', 'Gmail', 'Drive'], fireflies: ['Fireflies'] };

function rowsFor(system: SystemName, name: string, faults: string): Row[] {
  return LABELS[system].map((label) => ({ scenario: name, system: label, faults, faultCount: 0, verdict: null, recoverSeconds: null, totalSeconds: 0, workerCrashes: 0, notes: [] }));
}

/** Fills each system's row from the judgement, the recovery time from `from` to when both sides were equal. */
function judge(rows: Row[], c: { judged: Judged; at: number | null }, from: number): void {
  for (const r of rows) {
    const j = c.judged.find((x) => x.label === r.system);
    r.verdict = j ? { ...j.verdict, convergedAt: c.at ?? undefined } : null;
    r.recoverSeconds = c.at === null ? null : secs(from, c.at);
  }
}

function requiet(rows: Row[], judged: Judged): void {
  for (const r of rows) {
    const j = judged.find((x) => x.label === r.system);
    if (j && r.verdict) r.verdict = { ...j.verdict, convergedAt: r.verdict.convergedAt };
  }
}

const allOk = (rows: Row[]) => rows.every((r) => r.verdict?.ok);

/** Shared by the rows of one world: faults, notes, error, time. */
function share(rows: Row[], patch: Partial<Row>, note?: string): void {
  for (const r of rows) {
    Object.assign(r, patch);
    if (note) r.notes.push(note);
  }
}

async function run(ctx: Ctx, system: SystemName, rows: Row[], opts: WorldOptions, body: (w: World) => Promise<void>): Promise<Row[]> {
  const started = Date.now();
  const w = await createWorld(`${rows[0]!.scenario}_${system}`.replace(/\W+/g, '_').slice(0, 30), ctx.services, { heartbeatTimeoutSeconds: ctx.sizes.heartbeatTimeout, system, ...opts });
  try {
    await body(w);
  } catch (err) {
    share(rows, { error: (err as Error).message });
    ctx.log(`${rows[0]!.scenario} (${system}): ${(err as Error).message}`);
  } finally {
    share(rows, { workerCrashes: w.workers.reduce((n, p) => n + p.crashes, 0), totalSeconds: (Date.now() - started) / 1000 });
    for (const n of w.driver.notes) share(rows, {}, n);
    await w.close().catch(() => undefined);
  }
  return rows;
}

const secs = (from: number, to?: number) => Math.round(((to ?? Date.now()) - from) / 100) / 10;

/** 1. The worker SIGKILLed at random moments during a backfill, restarted each time. */
export function killDuringBackfill(ctx: Ctx, system: SystemName = 'hubspot'): Promise<Row[]> {
  // Each of the kills+1 stretches must see pages land: HubSpot hands its pages on in groups of
  // 1,000 records (one association read each), so its backfill holds at least a group a stretch.
  const n = system === 'hubspot' ? Math.max(ctx.sizes.backfill, (ctx.sizes.kills + 1) * ASSOC_READ_BATCH) : ctx.sizes.backfill;
  const rows = rowsFor(system, `1 backfill`, `worker SIGKILL x${ctx.sizes.kills} mid-backfill, restarted`);
  // Kills are the fault here: the sandboxes' quotas and rate limits off (they only make a backfill slower).
  return run(ctx, system, rows, { syncIntervalSeconds: ctx.sizes.backfillSyncInterval, latencyMs: 100, rateLimits: system === 'hubspot' }, async (w) => {
    const seeded = w.driver.seedBackfill(system === 'fireflies' ? Math.max(50, Math.round(n / 10)) : n);
    share(rows, {}, `seeded ${seeded}`);
    const total = w.driver.expectedCount();
    const worker = await startWorker(w);
    // One kill in each of kills+1 equal stretches of the backfill, at a random point of it.
    const points = Array.from({ length: ctx.sizes.kills }, (_, k) => (k + 0.3 + 0.6 * ctx.rng()) / (ctx.sizes.kills + 1));
    let lastRestart = Date.now();
    let kills = 0;
    for (const p of points) {
      const atRestart = await w.driver.localCount();
      // Progress by this worker, past the kill point, then a random moment within the next page or so.
      await waitFor(`backfill at ${Math.round(p * 100)} %`, async () => {
        const c = await w.driver.localCount();
        return (c >= p * total && c > atRestart) || c >= total || undefined;
      }, ctx.sizes.recoverTimeoutMs, 100);
      await sleep(int(ctx.rng, 0, 400));
      const have = await w.driver.localCount();
      if (have >= total) {
        share(rows, {}, `backfill finished before kill ${kills + 1}`);
        break;
      }
      await worker.kill('SIGKILL');
      kills++;
      ctx.log(`1 backfill (${system}): killed at ${have}/${total}`);
      worker.start();
      lastRestart = Date.now();
    }
    share(rows, { faultCount: kills });
    const c = await converge(w, ctx.sizes.recoverTimeoutMs);
    judge(rows, c, lastRestart);
    if (allOk(rows)) requiet(rows, await quietCheck(w));
  });
}

/** 2. The same during a two-way incremental (pull only for Fireflies): changes on each side in waves, a kill in each. */
export function killDuringIncremental(ctx: Ctx, system: SystemName = 'hubspot'): Promise<Row[]> {
  const { base, changes, kills } = ctx.sizes;
  const twoWay = system !== 'fireflies';
  const rows = rowsFor(system, twoWay ? `2 two-way ${changes.toLocaleString('en')}+${changes.toLocaleString('en')}` : `2 incremental ${changes.toLocaleString('en')} (pull only)`,
    `worker SIGKILL x${kills} mid-incremental, restarted`);
  return run(ctx, system, rows, { syncIntervalSeconds: 5, latencyMs: 100, rateLimits: system === 'hubspot' }, async (w) => {
    const worker = await startWorker(w);
    share(rows, {}, `base ${await syncedBase(ctx, w, system === 'fireflies' ? Math.round(base / 10) : base)}`);
    const touched = new Set<string>();
    const hits: string[] = [];
    let lastRestart = Date.now();
    for (let k = 0; k < kills; k++) {
      const wave = Math.floor(changes / kills) + (k < changes % kills ? 1 : 0);
      await w.driver.change(ctx.rng, wave, touched);
      await w.trigger();
      // Alternately inside a push (creates and updates sent out) and inside a pull.
      const running = await runningActivity(w, 20_000, !twoWay || k % 2 === 1 ? 'pullEntity' : 'pushEntity');
      await sleep(int(ctx.rng, 0, 300));
      await worker.kill('SIGKILL');
      share(rows, { faultCount: k + 1 });
      if (running) hits.push(running);
      worker.start();
      lastRestart = Date.now();
      await sleep(int(ctx.rng, 2_000, 6_000));
    }
    share(rows, {}, `${hits.length} of ${kills} kills while an activity ran (${[...new Set(hits)].join(', ')})`);
    judge(rows, await converge(w, ctx.sizes.recoverTimeoutMs), lastRestart);
    if (allOk(rows)) requiet(rows, await quietCheck(w));
  });
}

/** Waits until the sync workflow has an activity running on a worker; its name, or null if none came. */
async function runningActivity(w: World, timeoutMs: number, prefer?: string): Promise<string | null> {
  const client = await w.client();
  const started = Date.now();
  return waitFor('an activity running', async () => {
    const d = await client.workflow.getHandle(w.workflowId).describe();
    const act = (d.raw.pendingActivities ?? []).find((a) => Number(a.state) === STARTED && a.activityType?.name &&
      (!prefer || a.activityType.name === prefer || Date.now() - started > timeoutMs / 2));
    return act?.activityType?.name ?? undefined;
  }, timeoutMs, 50).catch(() => null);
}

/** Waits (briefly) for the sync workflow to be inside a cycle, so the fault lands mid-cycle. */
async function midCycle(w: World): Promise<boolean> {
  try {
    await waitFor('a cycle in progress', async () => (await w.status())?.state === 'syncing' || undefined, 15_000, 100);
    return true;
  } catch {
    return false;
  }
}

interface InfraFault {
  name: string;
  faults: (system: string) => string;
  /** injects the fault (mid-cycle) and clears it; returns when it is cleared */
  inject(w: World, ctx: Ctx, notes: string[], changeMore: () => Promise<void>): Promise<void>;
  /** judge events by the stream (pub/sub may miss what was published while a consumer reconnects) */
  byStream?: boolean;
}

const API_NAME: Record<SystemName, string> = { hubspot: 'HubSpot', google: 'the Google APIs', fireflies: 'Fireflies' };

export const INFRA: InfraFault[] = [
  {
    // Not a fault: the same changes and waits with nothing injected, to check the suite's own model of a clean run (`--only 3z`).
    name: '3z control',
    faults: () => 'none (control)',
    async inject(w, ctx, notes, changeMore) {
      await changeMore();
      await w.trigger();
    },
  },
  {
    name: '3a postgres restart',
    faults: () => 'Postgres crash-restarted (immediate) mid-cycle',
    async inject(w) {
      await w.services.pg.restart('immediate');
    },
  },
  {
    name: '3b redis down',
    faults: () => 'Redis stopped mid-cycle, changes while down',
    byStream: true,
    async inject(w, ctx, notes, changeMore) {
      await w.services.redis.stop();
      const downAt = Date.now();
      await sleep(Math.min(3_000, ctx.sizes.redisDownMs / 3));
      await changeMore();
      await w.trigger();
      await sleep(Math.max(0, ctx.sizes.redisDownMs - (Date.now() - downAt)));
      const pending = await count(w.db, 'SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL');
      notes.push(`${pending} events waiting in the outbox after ${Math.round(ctx.sizes.redisDownMs / 1000)} s down`);
      await w.services.redis.start();
    },
  },
  {
    name: '3c temporal restart',
    faults: () => 'Temporal dev server restarted mid-cycle',
    async inject(w) {
      await w.services.temporal.restart();
    },
  },
  {
    name: '3d API down, 5xx, 429',
    faults: (api) => `${api} unreachable, then 20 % 5xx + 429 storms`,
    async inject(w, ctx, notes, changeMore) {
      const f = w.driver.faults;
      await w.proxy.down();
      await sleep(Math.min(5_000, ctx.sizes.apiDownMs / 3));
      await changeMore();
      await w.trigger();
      await sleep(ctx.sizes.apiDownMs - Math.min(5_000, ctx.sizes.apiDownMs / 3));
      await w.proxy.up();
      const upAt = Date.now();
      f.reset();
      f.errors(0.2);
      await changeMore();
      await w.trigger();
      const end = Date.now() + Math.max(ctx.sizes.stormMs, f.minStormMs ?? 0);
      let storms = 0;
      while (Date.now() < end) {
        // A burst of 429s every 15 s; between them every request has its 20 % chance of a 5xx.
        // (Bursts of 10 every 10 s answered every request: the client retries about once a second after Retry-After: 1.)
        f.burst429(f.stormBurst ?? 5);
        storms++;
        await sleep(Math.min(15_000, end - Date.now()));
      }
      const stats = f.stats();
      const during = await w.driver.verify([]);
      notes.push(`storm (${Math.round(Math.max(ctx.sizes.stormMs, f.minStormMs ?? 0) / 1000)} s): 20 % 5xx and ${storms} bursts of ${f.stormBurst ?? 5} 429s: ${stats.faulted5xx} 5xx and ${stats.rateLimited} 429 answered of ${stats.requests} requests; ` +
        (during.every((j) => j.verdict.dataOk) ? `both sides equal before the storm ended (the API back ${secs(upAt)} s)` : 'not yet equal when the storm ended'));
      f.clear();
    },
  },
];

/** 3. Infrastructure faults, one after another on one synced world; a row per fault (and system). */
export async function infrastructure(ctx: Ctx, only?: string[], system: SystemName = 'hubspot'): Promise<Row[]> {
  const out: Row[] = [];
  const faults = INFRA.filter((f) => (only ? only.some((o) => f.name.startsWith(o)) : f.name !== '3z control'));
  const outer = rowsFor(system, '3 infrastructure', '');
  // The sandboxes' quotas and rate limits as the design has them.
  await run(ctx, system, outer, { syncIntervalSeconds: 5, latencyMs: 30 }, async (w) => {
    const worker = await startWorker(w);
    const baseNote = `base ${await syncedBase(ctx, w, system === 'fireflies' ? Math.round(ctx.sizes.base / 10) : ctx.sizes.base)}`;
    for (const f of faults) {
      const touched = new Set<string>(); // a record changes at most once per fault
      const rows = rowsFor(system, f.name, f.faults(API_NAME[system]));
      share(rows, {}, baseNote);
      const started = Date.now();
      const crashesBefore = worker.crashes;
      w.driver.startPhase();
      w.events.reset();
      const streamStart = (await w.events.stream()).length;
      const events = async () => (f.byStream ? (await w.events.stream()).slice(streamStart) : w.events.received);
      const notes: string[] = [];
      try {
        await w.driver.change(ctx.rng, ctx.sizes.faultChanges, touched);
        await w.trigger();
        if (!(await midCycle(w))) notes.push('no cycle seen in progress: fault injected between cycles');
        await f.inject(w, ctx, notes, () => w.driver.change(ctx.rng, Math.ceil(ctx.sizes.faultChanges / 2), touched));
        share(rows, { faultCount: 1 });
        const cleared = Date.now();
        judge(rows, await converge(w, ctx.sizes.recoverTimeoutMs, events), cleared);
        if (f.byStream) {
          notes.push(await outboxOrder(w, streamStart));
          const pub = await w.driver.verify(w.events.received);
          notes.push(`pub/sub: ${pub.reduce((n, j) => n + j.verdict.eventsMissing, 0)} of ${pub.reduce((n, j) => n + j.verdict.eventsExpected, 0)} missed by a subscriber that reconnected`);
        }
        if (allOk(rows)) requiet(rows, await quietCheck(w, events));
      } catch (err) {
        share(rows, { error: (err as Error).message });
        ctx.log(`${f.name} (${system}): ${(err as Error).message}`);
      }
      for (const n of notes) share(rows, {}, n);
      share(rows, { workerCrashes: worker.crashes - crashesBefore, totalSeconds: (Date.now() - started) / 1000 });
      out.push(...rows);
      ctx.log(`${f.name} (${system}): ${allOk(rows) ? 'ok' : 'NOT ok'} in ${rows[0]!.totalSeconds} s`);
    }
  });
  if (outer[0]!.error && !out.length) out.push(...outer);
  return out;
}

/** The stream after the fault against the outbox (id order): the same events in the same order? */
async function outboxOrder(w: World, streamStart: number): Promise<string> {
  const stream = (await w.events.stream()).slice(streamStart);
  const { rows } = await w.db.query<{ payload: { entity_id: string; action: string; local_version?: number; external_version?: number } }>(
    'SELECT payload FROM sync_outbox ORDER BY id',
  );
  const outbox = rows.map((r) => `${r.payload.entity_id}|${r.payload.action}|${r.payload.local_version ?? '-'}|${r.payload.external_version ?? '-'}`);
  const keys = stream.map((e) => `${e.entity_id}|${e.action}|${e.local_version ?? '-'}|${e.external_version ?? '-'}`);
  // The stream since the fault must be a contiguous, in-order run of the outbox (redeliveries aside).
  const dedup = keys.filter((k, i) => keys.indexOf(k) === i);
  const start = outbox.indexOf(dedup[0] ?? '');
  const inOrder = start >= 0 && dedup.every((k, i) => outbox[start + i] === k);
  return `stream: ${dedup.length} events since the fault, ${inOrder ? 'in outbox order' : 'NOT in outbox order'}${keys.length > dedup.length ? `, ${keys.length - dedup.length} redelivered` : ''}`;
}

/** 4. Two workers on one task queue; the one running the sync's activity is killed and not restarted. */
export function twoWorkers(ctx: Ctx, system: SystemName = 'hubspot'): Promise<Row[]> {
  const rows = rowsFor(system, '4 two workers, one killed', 'the worker running the activity SIGKILLed, not restarted');
  return run(ctx, system, rows, { syncIntervalSeconds: 5, latencyMs: 30 }, async (w) => {
    // The base is there before the workers start (their first listing is a full one): Fireflies lists by meeting
    // date, and a 30-day-old meeting that appears after the first listing is beyond its overlap window (see the notes).
    const seeded = w.driver.seedBase(system === 'fireflies' ? Math.round(ctx.sizes.base / 10) : ctx.sizes.base);
    const a = await startWorker(w, 'worker-a');
    const b = await startWorker(w, 'worker-b');
    share(rows, {}, `base ${await syncedBase(ctx, w, 0, seeded)}`);
    // Mostly Aurora creates: the writes a second run of an activity could duplicate.
    const touched = new Set<string>();
    await w.driver.change(ctx.rng, ctx.sizes.faultChanges, touched);
    const pushes = await w.driver.createLocal(ctx.sizes.faultChanges);
    const prefer = pushes ? 'pushEntity' : 'pullEntity';
    await w.trigger();
    const client = await w.client();
    const since = Date.now();
    const victim = await waitFor('an activity running on a worker', async () => {
      const d = await client.workflow.getHandle(w.workflowId).describe();
      for (const act of d.raw.pendingActivities ?? []) {
        if (Number(act.state) !== STARTED) continue;
        // Preferably the push, whose creates a second run could duplicate.
        if (act.activityType?.name !== prefer && Date.now() - since < 30_000) continue;
        const pid = Number(/^(\d+)@/.exec(act.lastWorkerIdentity ?? '')?.[1]);
        const proc = [a, b].find((p) => p.pid() === pid);
        if (proc && act.activityType?.name) return { proc, activity: act.activityType.name };
      }
      return undefined;
    }, 60_000, 100).catch(() => undefined);
    const target = victim?.proc ?? (ctx.rng() < 0.5 ? a : b);
    share(rows, { faultCount: 1 }, victim ? `killed ${target.name} while it ran ${victim.activity}` : `no activity seen running; killed ${target.name}`);
    await target.kill('SIGKILL');
    const killed = Date.now();
    judge(rows, await converge(w, ctx.sizes.recoverTimeoutMs), killed);
    if (allOk(rows)) requiet(rows, await quietCheck(w));
  });
}

export function rngFor(seedValue: number): () => number {
  return createPrng(seedValue);
}
