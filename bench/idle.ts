/**
 * Benchmark: what a quiet cycle costs, on the real path — a worker under Temporal running the
 * sync workflow of HubSpot (companies, contacts, deals) and of one Google user (calendar events,
 * labels, threads, files, permissions), each cycle started through the workflow's syncNow update:
 *  - API calls per entity type and connection in a cycle where nothing changed (bound: 1), by route;
 *  - Postgres rows written in it (bound 0): every row of the benchmark database's tables compared
 *    before and after by primary key and row version (ctid, xmin, xmax), so an insert, an update
 *    (even to the same values), a delete or a row lock counts, exactly and at once (pg_stat counters
 *    reach the statistics only when a backend flushes them, up to 10 s later);
 *  - the Postgres transactions the cycle's activities committed (every statement outside
 *    BEGIN … COMMIT is one), by activity; the worker's outbox relay, polling on its own timer, apart;
 *  - events published (outbox rows; bound 0);
 *  - Temporal history events per quiet cycle, and per 1,000 records synced by the backfill.
 * Usage: npx tsx bench/idle.ts [--records 2000] [--cycles 3] [--channels]
 *   --channels: with push channels (Calendar and Drive watches, the Gmail watch) opened and kept,
 *   as a deployment with PUBLIC_BASE_URL runs (notifications go nowhere here)
 */
import { parseArgs } from 'node:util';
import { Context } from '@temporalio/activity';
import pg, { type Pool } from 'pg';
import { syncWorkflowId } from '../src/workflows/definitions';
import { harness, type Harness } from '../test/helpers';
import { emit, runBench } from './lib';

/** Every row of every table of the database (schema public): primary key → row version. */
export type RowVersions = Map<string, Map<string, string>>;

export async function rowVersions(db: Pool): Promise<RowVersions> {
  const { rows: tables } = await db.query<{ relname: string; pk: string[] | null }>(
    `SELECT c.relname, (SELECT array_agg(quote_ident(a.attname) ORDER BY k.ord) FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  const out: RowVersions = new Map();
  for (const t of tables) {
    // Without a primary key the row's place stands for it (an update then counts as a delete and an insert).
    const key = t.pk ? `row(${t.pk.join(', ')})::text` : 'ctid::text';
    const { rows } = await db.query<{ k: string; v: string }>(`SELECT ${key} AS k, ctid::text || ' ' || xmin::text || ' ' || xmax::text AS v FROM ${pg.escapeIdentifier(t.relname)}`);
    out.set(t.relname, new Map(rows.map((r) => [r.k, r.v])));
  }
  return out;
}

/** Rows inserted, changed (new version or locked) and deleted between two readings, per table. */
export function rowChanges(before: RowVersions, after: RowVersions): Map<string, number> {
  const changes = new Map<string, number>();
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(table) ?? new Map<string, string>();
    const a = after.get(table) ?? new Map<string, string>();
    let n = 0;
    for (const [k, v] of a) if (b.get(k) !== v) n++;
    for (const k of b.keys()) if (!a.has(k)) n++;
    if (n) changes.set(table, n);
  }
  return changes;
}

/**
 * Counts the transactions this process's Postgres clients commit, by the activity that sent them
 * ('' outside activities: the worker's outbox relay, this benchmark's own readings).
 */
function countTransactions(): { byActivity: Map<string, number>; reset(): void } {
  const byActivity = new Map<string, number>();
  const inBlock = new WeakSet<object>();
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: object, ...args: unknown[]) {
    const first = args[0];
    const text = (typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '')).trim().toUpperCase();
    let activity = '';
    try {
      activity = Context.current().info.activityType;
    } catch {
      // not inside an activity
    }
    if (text.startsWith('BEGIN')) inBlock.add(this);
    else if (text.startsWith('COMMIT') || text.startsWith('ROLLBACK')) inBlock.delete(this);
    if (!inBlock.has(this) || text.startsWith('BEGIN')) byActivity.set(activity, (byActivity.get(activity) ?? 0) + 1);
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  return { byActivity, reset: () => byActivity.clear() };
}

function routes(h: Harness): Map<string, number> {
  return new Map([...Object.entries(h.sandbox.stats().byRoute), ...Object.entries(h.google?.stats.byRoute ?? {})]);
}

async function historyLength(h: Harness, system: string, connection?: string): Promise<number> {
  const history = await h.client.workflow.getHandle(syncWorkflowId(system, h.cfg.temporal.workflowIdPrefix, connection)).fetchHistory();
  return history.events?.length ?? 0;
}

const perCycle = (m: Map<string, number>, cycles: number) =>
  [...m].filter(([, n]) => n).map(([name, n]) => `${name || 'outside activities'} ${+(n / cycles).toFixed(1)}`).join(', ');

async function main() {
  const { values } = parseArgs({ options: { records: { type: 'string', default: '2000' }, cycles: { type: 'string', default: '3' }, channels: { type: 'boolean', default: false } } });
  const N = Number(values.records);
  const CYCLES = Number(values.cycles);
  const USER = 'idle@acme.test';
  console.log(`bench: quiet cycles after a backfill of ${N} HubSpot contacts (+ companies, deals) and one Google user, under Temporal (node ${process.version})`);
  const transactions = countTransactions();
  const channels = values.channels ? { PUSH_CHANNELS: 'true', PUBLIC_BASE_URL: 'http://127.0.0.1:9', GMAIL_PUBSUB_TOPIC: 'projects/aurora-sandbox/topics/gmail' } : undefined;
  const h = await harness({ sandbox: { rateLimits: false }, google: { users: [USER] }, env: channels });
  try {
    h.sandbox.seed('companies', Math.round(N / 10));
    h.sandbox.seed('contacts', N);
    h.sandbox.seed('deals', Math.round(N / 10));
    h.google!.calendar.seed(USER, USER, Math.round(N / 4));
    h.google!.gmail.seed(USER, Math.round(N / 10));
    h.google!.drive.seed(USER, Math.round(N / 4), { folders: 10, depth: 2 });
    const targets = [
      { system: 'hubspot', connection: undefined, types: 3 },
      { system: 'google_workspace', connection: USER, types: 5 },
    ];
    // The backfill: the first cycle of each connection.
    let synced = 0;
    let backfillEvents = 0;
    for (const t of targets) {
      const summary = await h.cycleOf({ system: t.system, connection: t.connection });
      for (const e of Object.values(summary.entities)) synced += (e.lastPull?.created ?? 0) + (e.lastPull?.updated ?? 0);
      backfillEvents += await historyLength(h, t.system, t.connection);
    }
    emit({
      figure: 'history_events_per_1k', system: 'temporal', records: synced, value: (backfillEvents / synced) * 1000, unit: 'events/1k records', bound: null,
      note: `sync workflow history of the backfill cycle of both connections (${backfillEvents} events for ${synced} records)`,
    });
    // Quiet cycles: nothing changed anywhere since.
    await h.cycle(); // settles what the backfill left (e.g. associations linked after both sides existed)
    await h.cycleOf({ system: 'google_workspace', connection: USER });
    for (const t of targets) {
      const name = (t.system === 'hubspot' ? 'hubspot' : 'google') + (channels && t.system !== 'hubspot' ? ' (push channels on)' : '');
      const calls = new Map<string, number>();
      const written = new Map<string, number>();
      const byActivity = new Map<string, number>();
      let events = 0;
      let history = 0;
      let seconds = 0;
      for (let i = 0; i < CYCLES; i++) {
        const h0 = await historyLength(h, t.system, t.connection);
        const rows0 = await rowVersions(h.db);
        const events0 = await outboxRows(h.db);
        const routes0 = routes(h);
        transactions.reset();
        const t0 = performance.now();
        await h.cycleOf({ system: t.system, connection: t.connection });
        seconds += (performance.now() - t0) / 1000;
        for (const [a, n] of transactions.byActivity) byActivity.set(a, (byActivity.get(a) ?? 0) + n);
        for (const [route, n] of routes(h)) if (n - (routes0.get(route) ?? 0)) calls.set(route, (calls.get(route) ?? 0) + n - (routes0.get(route) ?? 0));
        for (const [table, n] of rowChanges(rows0, await rowVersions(h.db))) written.set(table, (written.get(table) ?? 0) + n);
        events += (await outboxRows(h.db)) - events0;
        history += (await historyLength(h, t.system, t.connection)) - h0;
      }
      const perType = [...calls.values()].reduce((a, b) => a + b, 0) / CYCLES / t.types;
      const writes = [...written.values()].reduce((a, b) => a + b, 0) / CYCLES;
      const background = byActivity.get('') ?? 0;
      byActivity.delete('');
      const inCycle = [...byActivity.values()].reduce((a, b) => a + b, 0) / CYCLES;
      emit({
        figure: 'idle_api_calls', system: name, records: null, value: perType, unit: 'calls/type/cycle', bound: 1, ratio: perType ? Math.min(1, 1 / perType) : 1,
        note: `a quiet cycle of ${t.types} entity types, one connection; at most one call per type (${perCycle(calls, CYCLES)})`,
      });
      emit({
        figure: 'idle_pg_writes', system: name, records: null, value: writes, unit: 'rows/cycle', bound: 0, ratio: null,
        note: `rows inserted, changed (or locked) or deleted per quiet cycle, every table compared by row version${written.size ? `: ${perCycle(written, CYCLES)}` : ''}; ` +
          `${inCycle.toFixed(0)} transactions committed per cycle (${perCycle(byActivity, CYCLES)}), ` +
          `besides the worker's outbox relay polling on its timer (${(background / seconds).toFixed(1)}/s)`,
      });
      emit({ figure: 'idle_events', system: name, records: null, value: events / CYCLES, unit: 'events/cycle', bound: 0, ratio: null, note: 'outbox rows per quiet cycle' });
      emit({ figure: 'idle_history_events', system: name, records: null, value: history / CYCLES, unit: 'events/cycle', bound: null, ratio: null, note: 'Temporal history events of the sync workflow per quiet cycle (syncNow update included)' });
    }
  } finally {
    await h.close();
  }
}

async function outboxRows(db: Pool): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM sync_outbox')).rows[0]!.n);
}

if (require.main === module) runBench(main);
