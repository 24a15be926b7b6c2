/**
 * The fault scenarios. Each builds its own world (database, sandbox, task queue), makes changes on
 * one or both sides while it injects faults into real processes, waits for the sync to recover by
 * itself, and compares both sides record by record (verify.ts).
 */
import { createPrng } from '../src/sandbox/hubspot/generate';
import type { SeenEvent } from './events';
import { sleep, type Services } from './services';
import { Ledger, verify, type Verdict } from './verify';
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

/** Seeds n contacts in the sandbox and enters them in the ledger. */
function seed(w: World, ledger: Ledger, n: number): void {
  for (const r of w.sandbox.seed('contacts', n)) ledger.changed('external', r.id, {});
}

/** Polls until both sides are equal and every event is out (cheap counts first, then the full comparison). */
type Events = () => SeenEvent[] | Promise<SeenEvent[]>;

async function converge(w: World, ledger: Ledger, timeoutMs: number, events: Events = () => w.events.received): Promise<Verdict> {
  let last: Verdict | null = null;
  let at = 0;
  const expected = ledger.external.size + ledger.local.size;
  try {
    await waitFor('both sides equal', async () => {
      const n = await count(w.db, 'SELECT count(*) n FROM contacts WHERE deleted_at IS NULL');
      if (n < expected || w.sandbox.list('contacts').length < expected) return undefined;
      last = await verify(w.db, w.sandbox, ledger, await events());
      at = Date.now();
      return last.dataOk ? last : undefined;
    }, timeoutMs, 2_000);
  } catch (err) {
    if (last) return last;
    throw err;
  }
  // Both sides equal and the outbox relayed: the events are out; give a consumer a moment to get them.
  await sleep(1_500);
  return { ...(await verify(w.db, w.sandbox, ledger, await events())), convergedAt: at };
}

/** After convergence: a few quiet cycles must change nothing and announce nothing. */
async function quietCheck(w: World, ledger: Ledger, events: Events = () => w.events.received): Promise<Verdict> {
  await w.trigger();
  await sleep(Number(w.env.SYNC_INTERVAL) * 1_000 * 1.5 + 2_000);
  return verify(w.db, w.sandbox, ledger, await events());
}

async function startWorker(w: World, name?: string): Promise<WorkerProc> {
  const p = w.addWorker(name);
  p.start();
  await waitFor(`${p.name} ready`, async () => (await Promise.race([p.ready().then(() => true), sleep(1_000).then(() => false)])) || undefined, 120_000, 0);
  return p;
}

/** Sets up a synced base of n records (not measured) and starts the measured phase. */
async function syncedBase(ctx: Ctx, w: World, ledger: Ledger, n: number): Promise<void> {
  seed(w, ledger, n);
  await converge(w, ledger, ctx.sizes.recoverTimeoutMs);
  ledger.startPhase();
  w.events.reset();
}

let uniq = 0;
/** Makes changes on both sides: `n` each, 90 % edits of records not yet changed in this phase, 10 % creates. */
async function changeBothSides(ctx: Ctx, w: World, ledger: Ledger, n: number, touched: Set<string>): Promise<void> {
  const creates = Math.max(1, Math.round(n / 10));
  const edits = n - creates;
  const { rows } = await w.db.query<{ id: string; external_id: string }>(
    `SELECT local_id AS id, external_id FROM sync_registry WHERE external_system = 'hubspot' AND entity_type = 'contact' AND NOT deleted AND external_id IS NOT NULL`,
  );
  const pool = rows.filter((r) => !touched.has(r.id));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.rng() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  if (pool.length < 2 * edits) throw new Error(`chaos: only ${pool.length} untouched records for ${2 * edits} edits`);
  const hub = pool.slice(0, edits);
  const aur = pool.slice(edits, 2 * edits);
  const tag = `${Date.now().toString(36)}${(uniq++).toString(36)}`;
  // HubSpot side: a user edits last name and phone.
  for (const [i, r] of hub.entries()) {
    touched.add(r.id);
    const last = `Hub${tag}x${i}`;
    const phone = `+1555${String(int(ctx.rng, 0, 9_999_999)).padStart(7, '0')}`;
    w.sandbox.userUpdate('contacts', r.external_id, { lastname: last, phone });
    bump(ledger, r.id, r.external_id, { last_name: last, phone });
  }
  for (let i = 0; i < creates; i++) {
    const rec = w.sandbox.userCreate('contacts', { firstname: 'Hubcreated', lastname: `Hub${tag}c${i}`, email: `hub-${tag}-${i}@chaos.example` });
    ledger.changed('external', rec.id, { last_name: `Hub${tag}c${i}` });
  }
  // Aurora side: SQL updates and inserts, as Aurora's own code makes them.
  const ids = aur.map((r) => r.id);
  const lasts = aur.map((_, i) => `Aur${tag}x${i}`);
  const linked = aur.map((_, i) => `https://www.linkedin.com/in/aur-${tag}-${i}`);
  for (const r of aur) touched.add(r.id);
  await w.db.query(
    `UPDATE contacts c SET last_name = x.last, linkedin_url = x.li FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, last, li) WHERE c.id = x.id`,
    [ids, lasts, linked],
  );
  for (const [i, r] of aur.entries()) bump(ledger, r.id, r.external_id, { last_name: lasts[i]!, linkedin_url: linked[i]! });
  const { rows: created } = await w.db.query<{ id: string; last_name: string }>(
    `INSERT INTO contacts (first_name, last_name, email) SELECT 'Aurcreated', 'Aur' || $1 || 'c' || g, 'aur-' || $1 || '-' || g || '@chaos.example' FROM generate_series(1, $2::int) g RETURNING id, last_name`,
    [tag, creates],
  );
  for (const r of created) {
    ledger.changed('local', r.id, { last_name: r.last_name });
    touched.add(r.id);
  }
}

function bump(ledger: Ledger, localId: string, externalId: string, expect: Record<string, string>): void {
  if (ledger.local.has(localId)) ledger.changed('local', localId, expect);
  else ledger.changed('external', externalId, expect);
}

function row(name: string, faults: string): Row {
  return { scenario: name, faults, faultCount: 0, verdict: null, recoverSeconds: null, totalSeconds: 0, workerCrashes: 0, notes: [] };
}

async function run(ctx: Ctx, r: Row, opts: WorldOptions, body: (w: World) => Promise<void>): Promise<Row> {
  const started = Date.now();
  const w = await createWorld(r.scenario.replace(/\W+/g, '_'), ctx.services, { heartbeatTimeoutSeconds: ctx.sizes.heartbeatTimeout, ...opts });
  try {
    await body(w);
  } catch (err) {
    r.error = (err as Error).message;
    ctx.log(`${r.scenario}: ${r.error}`);
  } finally {
    r.workerCrashes = w.workers.reduce((n, p) => n + p.crashes, 0);
    r.totalSeconds = (Date.now() - started) / 1000;
    await w.close().catch(() => undefined);
  }
  return r;
}

const secs = (from: number, to?: number) => Math.round(((to ?? Date.now()) - from) / 100) / 10;

/** 1. The worker SIGKILLed at random moments during a backfill, restarted each time. */
export function killDuringBackfill(ctx: Ctx): Promise<Row> {
  const n = ctx.sizes.backfill;
  const r = row(`1 backfill ${n.toLocaleString('en')}`, `worker SIGKILL x${ctx.sizes.kills} mid-backfill, restarted`);
  return run(ctx, r, { syncIntervalSeconds: ctx.sizes.backfillSyncInterval, latencyMs: 100 }, async (w) => {
    const ledger = new Ledger();
    seed(w, ledger, n);
    const worker = await startWorker(w);
    // One kill in each of kills+1 equal stretches of the backfill, at a random point of it.
    const points = Array.from({ length: ctx.sizes.kills }, (_, k) => (k + 0.3 + 0.6 * ctx.rng()) / (ctx.sizes.kills + 1));
    let lastRestart = Date.now();
    for (const p of points) {
      const atRestart = await count(w.db, 'SELECT count(*) n FROM contacts');
      // Progress by this worker, past the kill point, then a random moment within the next page or so.
      await waitFor(`backfill at ${Math.round(p * 100)} %`, async () => {
        const c = await count(w.db, 'SELECT count(*) n FROM contacts');
        return (c >= p * n && c > atRestart) || c >= n || undefined;
      }, ctx.sizes.recoverTimeoutMs, 100);
      await sleep(int(ctx.rng, 0, 400));
      const have = await count(w.db, 'SELECT count(*) n FROM contacts');
      if (have >= n) {
        r.notes.push(`backfill finished before kill ${r.faultCount + 1}`);
        break;
      }
      await worker.kill('SIGKILL');
      r.faultCount++;
      ctx.log(`${r.scenario}: killed at ${have}/${n}`);
      worker.start();
      lastRestart = Date.now();
    }
    r.verdict = await converge(w, ledger, ctx.sizes.recoverTimeoutMs);
    r.recoverSeconds = r.verdict.convergedAt ? secs(lastRestart, r.verdict.convergedAt) : null;
    if (r.verdict.ok) r.verdict = await quietCheck(w, ledger);
  });
}

/** 2. The same during a two-way incremental: changes on each side in waves, a kill in each. */
export function killDuringIncremental(ctx: Ctx): Promise<Row> {
  const { base, changes, kills } = ctx.sizes;
  const r = row(`2 two-way ${changes.toLocaleString('en')}+${changes.toLocaleString('en')}`, `worker SIGKILL x${kills} mid-incremental, restarted`);
  return run(ctx, r, { syncIntervalSeconds: 5, latencyMs: 100 }, async (w) => {
    const ledger = new Ledger();
    const worker = await startWorker(w);
    await syncedBase(ctx, w, ledger, base);
    const touched = new Set<string>();
    const hits: string[] = [];
    let lastRestart = Date.now();
    for (let k = 0; k < kills; k++) {
      const wave = Math.floor(changes / kills) + (k < changes % kills ? 1 : 0);
      await changeBothSides(ctx, w, ledger, wave, touched);
      await w.trigger();
      // Alternately inside a push (creates and updates sent to HubSpot) and inside a pull.
      const running = await runningActivity(w, 20_000, k % 2 === 0 ? 'pushEntity' : 'pullEntity');
      await sleep(int(ctx.rng, 0, 300));
      await worker.kill('SIGKILL');
      r.faultCount++;
      if (running) hits.push(running);
      worker.start();
      lastRestart = Date.now();
      await sleep(int(ctx.rng, 2_000, 6_000));
    }
    r.notes.push(`${hits.length} of ${kills} kills while an activity ran (${[...new Set(hits)].join(', ')})`);
    r.verdict = await converge(w, ledger, ctx.sizes.recoverTimeoutMs);
    r.recoverSeconds = r.verdict.convergedAt ? secs(lastRestart, r.verdict.convergedAt) : null;
    if (r.verdict.ok) r.verdict = await quietCheck(w, ledger);
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
  faults: string;
  /** injects the fault (mid-cycle) and clears it; returns when it is cleared */
  inject(w: World, ctx: Ctx, r: Row, changeMore: () => Promise<void>, ledger: Ledger): Promise<void>;
  /** judge events by the stream (pub/sub may miss what was published while a consumer reconnects) */
  byStream?: boolean;
}

export const INFRA: InfraFault[] = [
  {
    name: '3a postgres restart',
    faults: 'Postgres crash-restarted (immediate) mid-cycle',
    async inject(w) {
      await w.services.pg.restart('immediate');
    },
  },
  {
    name: '3b redis down',
    faults: 'Redis stopped mid-cycle, changes while down',
    byStream: true,
    async inject(w, ctx, r, changeMore) {
      await w.services.redis.stop();
      const downAt = Date.now();
      await sleep(Math.min(3_000, ctx.sizes.redisDownMs / 3));
      await changeMore();
      await w.trigger();
      await sleep(Math.max(0, ctx.sizes.redisDownMs - (Date.now() - downAt)));
      const pending = await count(w.db, 'SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL');
      r.notes.push(`${pending} events waiting in the outbox after ${Math.round(ctx.sizes.redisDownMs / 1000)} s down`);
      await w.services.redis.start();
    },
  },
  {
    name: '3c temporal restart',
    faults: 'Temporal dev server restarted mid-cycle',
    async inject(w) {
      await w.services.temporal.restart();
    },
  },
  {
    name: '3d API down, 5xx, 429',
    faults: 'HubSpot unreachable, then 20 % 5xx + 429 storms',
    async inject(w, ctx, r, changeMore, ledger) {
      await w.proxy.down();
      await sleep(Math.min(5_000, ctx.sizes.apiDownMs / 3));
      await changeMore();
      await w.trigger();
      await sleep(ctx.sizes.apiDownMs - Math.min(5_000, ctx.sizes.apiDownMs / 3));
      await w.proxy.up();
      const upAt = Date.now();
      w.sandbox.resetStats();
      w.sandbox.faults.set({ error5xxRate: 0.2 });
      await changeMore();
      await w.trigger();
      const end = Date.now() + ctx.sizes.stormMs;
      let storms = 0;
      while (Date.now() < end) {
        // A burst of 429s every 15 s; between them every request has its 20 % chance of a 5xx.
        // (Bursts of 10 every 10 s answered every request: the client retries about once a second after Retry-After: 1.)
        w.sandbox.faults.set({ rateLimitBurst: 5 });
        storms++;
        await sleep(Math.min(15_000, end - Date.now()));
      }
      const stats = w.sandbox.stats();
      const during = await verify(w.db, w.sandbox, ledger, []);
      r.notes.push(`storm: 20 % 5xx and ${storms} bursts of 5 429s: ${stats.faulted - stats.rateLimited} 5xx and ${stats.rateLimited} 429 answered of ${stats.requests} requests; ` +
        (during.dataOk ? `both sides equal before the storm ended (the API back ${secs(upAt)} s)` : 'not yet equal when the storm ended'));
      w.sandbox.faults.clear();
    },
  },
];

/** 3. Infrastructure faults, one after another on one synced world; a row per fault. */
export async function infrastructure(ctx: Ctx, only?: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  const faults = INFRA.filter((f) => !only || only.some((o) => f.name.startsWith(o)));
  const outer = row('3 infrastructure', '');
  await run(ctx, outer, { syncIntervalSeconds: 5, latencyMs: 30 }, async (w) => {
    const ledger = new Ledger();
    const worker = await startWorker(w);
    await syncedBase(ctx, w, ledger, ctx.sizes.base);
    for (const f of faults) {
      const touched = new Set<string>(); // a record changes at most once per fault
      const r = row(f.name, f.faults);
      const started = Date.now();
      const crashesBefore = worker.crashes;
      ledger.startPhase();
      w.events.reset();
      const streamStart = (await w.events.stream()).length;
      const events = async () => (f.byStream ? (await w.events.stream()).slice(streamStart) : w.events.received);
      try {
        await changeBothSides(ctx, w, ledger, ctx.sizes.faultChanges, touched);
        await w.trigger();
        if (!(await midCycle(w))) r.notes.push('no cycle seen in progress: fault injected between cycles');
        await f.inject(w, ctx, r, () => changeBothSides(ctx, w, ledger, Math.ceil(ctx.sizes.faultChanges / 2), touched), ledger);
        r.faultCount = 1;
        const cleared = Date.now();
        r.verdict = await converge(w, ledger, ctx.sizes.recoverTimeoutMs, events);
        r.recoverSeconds = r.verdict.convergedAt ? secs(cleared, r.verdict.convergedAt) : null;
        if (f.byStream) {
          const order = await outboxOrder(w, streamStart);
          r.notes.push(order);
          const pub = await verify(w.db, w.sandbox, ledger, w.events.received);
          r.notes.push(`pub/sub: ${pub.eventsMissing} of ${pub.eventsExpected} missed by a subscriber that reconnected`);
        }
        if (r.verdict.ok) r.verdict = await quietCheck(w, ledger, events);
      } catch (err) {
        r.error = (err as Error).message;
        ctx.log(`${r.scenario}: ${r.error}`);
      }
      r.workerCrashes = worker.crashes - crashesBefore;
      r.totalSeconds = (Date.now() - started) / 1000;
      rows.push(r);
      ctx.log(`${r.scenario}: ${r.verdict?.ok ? 'ok' : 'NOT ok'} in ${r.totalSeconds} s`);
    }
  });
  if (outer.error && !rows.length) rows.push(outer);
  return rows;
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
export function twoWorkers(ctx: Ctx): Promise<Row> {
  const r = row('4 two workers, one killed', 'the worker running the activity SIGKILLed, not restarted');
  return run(ctx, r, { syncIntervalSeconds: 5, latencyMs: 30 }, async (w) => {
    const ledger = new Ledger();
    const a = await startWorker(w, 'worker-a');
    const b = await startWorker(w, 'worker-b');
    await syncedBase(ctx, w, ledger, ctx.sizes.base);
    // Mostly Aurora creates: the writes a second run of an activity could duplicate.
    const touched = new Set<string>();
    await changeBothSides(ctx, w, ledger, ctx.sizes.faultChanges, touched);
    const { rows: created } = await w.db.query<{ id: string; last_name: string }>(
      `INSERT INTO contacts (first_name, last_name, email) SELECT 'Twocreated', 'Two' || g, 'two-' || g || '-' || $1 || '@chaos.example' FROM generate_series(1, $2::int) g RETURNING id, last_name`,
      [Date.now().toString(36), ctx.sizes.faultChanges],
    );
    for (const c of created) ledger.changed('local', c.id, { last_name: c.last_name });
    await w.trigger();
    const client = await w.client();
    const since = Date.now();
    const victim = await waitFor('an activity running on a worker', async () => {
      const d = await client.workflow.getHandle(w.workflowId).describe();
      for (const act of d.raw.pendingActivities ?? []) {
        if (Number(act.state) !== STARTED) continue;
        // Preferably the push, whose creates a second run could duplicate.
        if (act.activityType?.name !== 'pushEntity' && Date.now() - since < 30_000) continue;
        const pid = Number(/^(\d+)@/.exec(act.lastWorkerIdentity ?? '')?.[1]);
        const proc = [a, b].find((p) => p.pid() === pid);
        if (proc && act.activityType?.name) return { proc, activity: act.activityType.name };
      }
      return undefined;
    }, 60_000, 100).catch(() => undefined);
    const target = victim?.proc ?? (ctx.rng() < 0.5 ? a : b);
    r.notes.push(victim ? `killed ${target.name} while it ran ${victim.activity}` : `no activity seen running; killed ${target.name}`);
    await target.kill('SIGKILL');
    r.faultCount = 1;
    const killed = Date.now();
    r.verdict = await converge(w, ledger, ctx.sizes.recoverTimeoutMs);
    r.recoverSeconds = r.verdict.convergedAt ? secs(killed, r.verdict.convergedAt) : null;
    if (r.verdict.ok) r.verdict = await quietCheck(w, ledger);
  });
}

export function rngFor(seedValue: number): () => number {
  return createPrng(seedValue);
}
