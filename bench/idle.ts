/**
 * Benchmark: what a quiet cycle costs, on the real path — a worker under Temporal running the
 * sync workflow of HubSpot (companies, contacts, deals) and of one Google user (calendar events,
 * labels, threads, files, permissions), each cycle started through the workflow's syncNow update:
 *  - API calls per entity type and connection in a cycle where nothing changed (bound: 1);
 *  - Postgres rows written in it (inserted + updated + deleted in the benchmark database's tables,
 *    pg_stat_user_tables; bound 0) and the transactions it committed (pg_stat_database);
 *  - events published (outbox rows; bound 0);
 *  - Temporal history events per quiet cycle, and per 1,000 records synced by the backfill.
 * Usage: npx tsx bench/idle.ts [--records 2000] [--cycles 3]
 */
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { syncWorkflowId } from '../src/workflows/definitions';
import { harness, type Harness } from '../test/helpers';
import { emit, runBench } from './lib';

const { values } = parseArgs({ options: { records: { type: 'string', default: '2000' }, cycles: { type: 'string', default: '3' } } });
const N = Number(values.records);
const CYCLES = Number(values.cycles);
const USER = 'idle@acme.test';

interface Counters { requests: number; writes: number; commits: number; events: number; tables: Map<string, number> }

async function counters(h: Harness, google: { stats: { requests: number } } | null, db: Pool): Promise<Counters> {
  // Backends report their statistics when idle, at most once a second: let them.
  await new Promise((r) => setTimeout(r, 1500));
  // Rows of the engine's tables (pg_stat_database would count autovacuum's own catalog writes too).
  const { rows } = await db.query<{ w: string; c: string }>(
    `SELECT (SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables) AS w, xact_commit AS c FROM pg_stat_database WHERE datname = current_database()`,
  );
  const events = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM sync_outbox')).rows[0]!.n);
  const { rows: t } = await db.query<{ relname: string; w: string }>('SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS w FROM pg_stat_user_tables');
  return {
    tables: new Map(t.map((r) => [r.relname, Number(r.w)])), requests: h.sandbox.stats().requests + (google?.stats.requests ?? 0), writes: Number(rows[0]!.w), commits: Number(rows[0]!.c), events };
}

async function historyLength(h: Harness, system: string, connection?: string): Promise<number> {
  const history = await h.client.workflow.getHandle(syncWorkflowId(system, h.cfg.temporal.workflowIdPrefix, connection)).fetchHistory();
  return history.events?.length ?? 0;
}

async function main() {
  console.log(`bench: quiet cycles after a backfill of ${N} HubSpot contacts (+ companies, deals) and one Google user, under Temporal (node ${process.version})`);
  const h = await harness({ sandbox: { rateLimits: false }, google: { users: [USER] } });
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
      const name = t.system === 'hubspot' ? 'hubspot' : 'google';
      let calls = 0;
      let writes = 0;
      let commits = 0;
      let events = 0;
      let history = 0;
      const byTable = new Map<string, number>();
      for (let i = 0; i < CYCLES; i++) {
        const h0 = await historyLength(h, t.system, t.connection);
        const before = await counters(h, h.google, h.db);
        await h.cycleOf({ system: t.system, connection: t.connection });
        const after = await counters(h, h.google, h.db);
        history += (await historyLength(h, t.system, t.connection)) - h0;
        calls += after.requests - before.requests;
        // The counters' own reads are transactions too (two per reading).
        commits += after.commits - before.commits;
        writes += after.writes - before.writes;
        events += after.events - before.events;
        for (const [name, n] of after.tables) if (n - (before.tables.get(name) ?? 0)) byTable.set(name, (byTable.get(name) ?? 0) + n - (before.tables.get(name) ?? 0));
      }
      const where = [...byTable].map(([name, n]) => `${name} ${+(n / CYCLES).toFixed(1)}`).join(', ');
      const perType = calls / CYCLES / t.types;
      emit({ figure: 'idle_api_calls', system: name, records: null, value: perType, unit: 'calls/type/cycle', bound: 1, ratio: perType ? Math.min(1, 1 / perType) : 1, note: `a quiet cycle of ${t.types} entity types, one connection; at most one call per type` });
      emit({ figure: 'idle_pg_writes', system: name, records: null, value: writes / CYCLES, unit: 'rows/cycle', bound: 0, ratio: null, note: `rows inserted, updated or deleted per quiet cycle (pg_stat_user_tables)${where ? `: ${where}` : ''}; ${(commits / CYCLES).toFixed(0)} transactions committed per cycle` });
      emit({ figure: 'idle_events', system: name, records: null, value: events / CYCLES, unit: 'events/cycle', bound: 0, ratio: null, note: 'outbox rows per quiet cycle' });
      emit({ figure: 'idle_history_events', system: name, records: null, value: history / CYCLES, unit: 'events/cycle', bound: null, ratio: null, note: 'Temporal history events of the sync workflow per quiet cycle (syncNow update included)' });
    }
  } finally {
    await h.close();
  }
}

runBench(main);
