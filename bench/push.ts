/**
 * Benchmark: push of N local changes (default 20,000 new contacts, then the same contacts edited)
 * to the HubSpot sandbox (in its own process, rate limits off), through the activity the worker
 * runs (pushEntity), against bounds measured in the same run:
 *  - write calls: N changes should cost ⌈N/100⌉ batch calls (HubSpot's batch size), plus
 *    association calls where associations changed (none here);
 *  - push ingest: changes/s against the sandbox's own request handling — a bare loop of the same
 *    connector's batch writes of the same records, 100 per call, against a second sandbox process
 *    (nothing read or written in Postgres).
 *  - Google Calendar: M local events (default 2,000) of one user created, then each edited, pushed
 *    through pushEntity to the Google sandbox (quotas out of the way): the API calls against the
 *    minimum (events.insert and events.patch take one event per call in the googleapis client, so
 *    one call per event; calendar listings answered once), and events/s against a bare loop of the
 *    same connector's writes of the same events for another user of the same sandbox.
 * The HubSpot figures are the central of `--repeat` runs (default 3), bound and engine measured in
 * turn in each, each run on a fresh database: the machine's speed drifts within minutes.
 * Usage: npx tsx bench/push.ts [--records 20000] [--events 2000] [--only hubspot|calendar] [--repeat 3]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { HubSpotConnector } from '../src/connectors/hubspot/connector';
import { SharedWindowLimiter } from '../src/core/ratelimit';
import type { Connector, WriteCreate, WriteUpdate } from '../src/connectors/types';
import { CALENDAR_EVENT } from '../src/connectors/google_workspace/calendar/entities';
import type { Canonical } from '../src/core/model';
import { createConnectorPool } from '../src/deps';
import { startGoogleSandbox } from '../src/sandbox/google';
import { benchDatabase, benchEngine, central, emit, googleBenchEnv, runBench, startSandboxProcess } from './lib';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' }, events: { type: 'string', default: '2000' }, only: { type: 'string' }, repeat: { type: 'string', default: '3' } } });
const N = Number(values.records);
const M = Number(values.events);
const SYSTEM = 'hubspot';
const BATCH = 100;
const REPEAT = Number(values.repeat);

const startSandbox = () => startSandboxProcess(['--no-rate-limits']);

function connector(url: string, redis: Redis): HubSpotConnector {
  const key = `aurora:ratelimit:bench:${randomUUID()}`;
  return new HubSpotConnector({
    connection: 'default', accessToken: 'bench-token', baseUrl: url, ratePer10s: 1_000_000, searchPerSecond: 1_000_000, searchLookbackMs: 0,
    budgets: { general: new SharedWindowLimiter(redis, `${key}:10s`, 1_000_000, 10_000), search: new SharedWindowLimiter(redis, `${key}:search`, 1_000_000, 1_000) },
  });
}

const person = (i: number, rep: number, phone = `+1 555 ${String(i).padStart(6, '0')}`) => ({
  first_name: `First${i}`, last_name: `Last${i}`, email: `push${i}.${rep}@bench.test`, phone, linkedin_url: null, company_id: null,
});

async function main() {
  if (values.only !== 'calendar') await hubspot();
  if (values.only !== 'hubspot') await calendar();
}

async function hubspot() {
  console.log(`bench: push of ${N} new contacts, then ${N} edits, to the HubSpot sandbox, ${REPEAT} times, bound and engine in turn (node ${process.version})`);
  const bare = await startSandbox();
  const open = await startSandbox();
  const rates = { bareCreate: [] as number[], bareUpdate: [] as number[], create: [] as number[], update: [] as number[] };
  const calls = { create: 0, update: 0 };
  try {
    for (let rep = 0; rep < REPEAT; rep++) {
      const ids = Array.from({ length: N }, () => randomUUID());
      const db = await benchDatabase();
      try {
        let hub: HubSpotConnector | undefined;
        const engine = await benchEngine({ POSTGRES_DB: db.name }, 4, {
          connectors: (_cfg, redis) => {
            hub = connector(open.url, redis);
            return { get: () => hub!, configured: () => new Map([[SYSTEM, ['default']]]) };
          },
        });
        // The bound: the connector's own batch writes of the same records, nothing in Postgres.
        const direct = connector(bare.url, engine.redis);
        await direct.prepare('contact');
        let t0 = performance.now();
        const created: string[] = [];
        for (let i = 0; i < N; i += BATCH) {
          const batch: WriteCreate[] = ids.slice(i, i + BATCH).map((localId, k) => ({ localId, fields: person(i + k, rep) }));
          for (const o of await direct.create('contact', batch)) if (o.ok) created.push(o.externalId);
        }
        rates.bareCreate.push(N / ((performance.now() - t0) / 1000));
        t0 = performance.now();
        for (let i = 0; i < N; i += BATCH) {
          const batch: WriteUpdate[] = created.slice(i, i + BATCH).map((externalId, k) => ({
            localId: ids[i + k]!, externalId, fields: person(i + k, rep, `+1 666 ${i + k}`), previous: person(i + k, rep), changed: ['phone'],
          }));
          await direct.update('contact', batch);
        }
        rates.bareUpdate.push(N / ((performance.now() - t0) / 1000));

        // The engine: N new local contacts, pushed; then every one edited, pushed.
        await engine.pool.query(
          `INSERT INTO contacts (id, first_name, last_name, email, phone)
           SELECT id, 'First' || (o - 1), 'Last' || (o - 1), 'push' || (o - 1) || '.' || $2 || '@bench.test', '+1 555 ' || lpad((o - 1)::text, 6, '0')
             FROM unnest($1::text[]) WITH ORDINALITY AS x(id, o)`,
          [ids, rep],
        );
        const run = async () => {
          const calls0 = hub?.calls.total ?? 0;
          const t = performance.now();
          const res = await engine.acts.pushEntity({ system: SYSTEM, entityType: 'contact' });
          return { seconds: (performance.now() - t) / 1000, calls: hub!.calls.total - calls0, res };
        };
        await hub?.prepare('contact');
        const first = await run();
        if (first.res.created !== N) throw new Error(`pushed ${first.res.created} of ${N} creates: ${JSON.stringify(first.res)}`);
        await engine.pool.query(`UPDATE contacts SET phone = '+1 666 ' || substr(email, 5, position('.' in email) - 5)`);
        const second = await run();
        if (second.res.updated !== N) throw new Error(`pushed ${second.res.updated} of ${N} updates: ${JSON.stringify(second.res)}`);
        await engine.close();
        rates.create.push(N / first.seconds);
        rates.update.push(N / second.seconds);
        calls.create = Math.max(calls.create, first.calls);
        calls.update = Math.max(calls.update, second.calls);
        console.log(`  run ${rep + 1}: creates ${(N / first.seconds).toFixed(0)}/s (bare ${rates.bareCreate[rep]!.toFixed(0)}/s), edits ${(N / second.seconds).toFixed(0)}/s (bare ${rates.bareUpdate[rep]!.toFixed(0)}/s)`);
      } finally {
        await db.drop();
      }
    }
    const min = Math.ceil(N / BATCH);
    const runs = `central of ${REPEAT} runs, bound and engine measured in turn`;
    emit({ figure: 'push_calls', system: SYSTEM, records: N, value: calls.create, unit: 'calls', bound: min, ratio: min / calls.create, note: `${N} new local contacts: ⌈N/100⌉ batch upserts (no associations to write)` });
    emit({ figure: 'push_calls_updates', system: SYSTEM, records: N, value: calls.update, unit: 'calls', bound: min, ratio: min / calls.update, note: `${N} local edits (one field each): ⌈N/100⌉ batch updates` });
    emit({ figure: 'push', system: SYSTEM, records: N, value: central(rates.create), unit: 'records/s', bound: central(rates.bareCreate), note: `creates, rate limits off: vs the same batch upserts sent by a bare loop of the connector (nothing in Postgres); ${runs}` });
    emit({ figure: 'push_updates', system: SYSTEM, records: N, value: central(rates.update), unit: 'records/s', bound: central(rates.bareUpdate), note: `edits, rate limits off: vs the same batch updates sent by a bare loop of the connector; ${runs}` });
  } finally {
    await bare.close();
    await open.close();
  }
}

const GOOGLE = 'google_workspace';
const USER = 'push@acme.test';
const BARE_USER = 'bare@acme.test';

/** The canonical fields of bench event i (a timed half hour), edited: a new summary. */
function event(i: number, edited = false): Canonical {
  const start = Date.UTC(2027, 0, 4, 9) + i * 3_600_000;
  const fields = Object.fromEntries(Object.keys(CALENDAR_EVENT.fields).map((f) => [f, null])) as Canonical;
  return { ...fields, summary: `Bench ${i}${edited ? ' (edited)' : ''}`, start_at: new Date(start).toISOString(), end_at: new Date(start + 1_800_000).toISOString(), status: 'confirmed' };
}

async function calendar() {
  console.log(`bench: push of ${M} new Calendar events, then ${M} edits, to the Google sandbox (node ${process.version})`);
  const sandbox = await startGoogleSandbox({ users: [USER, BARE_USER], quotas: { perUserPerMinute: 1_000_000_000, perProjectPerMinute: 1_000_000_000 } });
  const creds = googleBenchEnv(sandbox, [USER, BARE_USER]);
  const db = await benchDatabase();
  try {
    const engine = await benchEngine({ POSTGRES_DB: db.name, ...creds.env, GOOGLE_QUOTA_PER_USER_PER_MINUTE: '1000000000' });
    const ids = Array.from({ length: M }, () => randomUUID());
    // The bound: the same connector's writes of the same events (another user, same sandbox), nothing in Postgres.
    const bare: Connector = createConnectorPool(engine.cfg, undefined, engine.redis).get(GOOGLE, BARE_USER);
    await bare.prepare?.(CALENDAR_EVENT.type);
    let t0 = performance.now();
    const created: string[] = [];
    for (let i = 0; i < M; i += bare.batchSize) {
      const batch: WriteCreate[] = ids.slice(i, i + bare.batchSize).map((localId, k) => ({ localId: `bare-${localId}`, fields: event(i + k) }));
      for (const o of await bare.create(CALENDAR_EVENT.type, batch)) if (o.ok) created.push(o.externalId);
    }
    const bareCreate = M / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let i = 0; i < M; i += bare.batchSize) {
      const batch: WriteUpdate[] = created.slice(i, i + bare.batchSize).map((externalId, k) => ({
        localId: `bare-${ids[i + k]}`, externalId, fields: event(i + k, true), previous: event(i + k), changed: ['summary'],
      }));
      await bare.update(CALENDAR_EVENT.type, batch);
    }
    const bareUpdate = M / ((performance.now() - t0) / 1000);

    await engine.pool.query(
      `INSERT INTO calendar_events (id, mailbox, summary, start_at, end_at, status)
       SELECT id, $2, 'Bench ' || (o - 1), s, s + interval '30 minutes', 'confirmed'
         FROM unnest($1::text[]) WITH ORDINALITY AS x(id, o), LATERAL (SELECT timestamptz '2027-01-04 09:00Z' + (o - 1) * interval '1 hour') AS t(s)`,
      [ids, USER],
    );
    const run = async () => {
      const before = sandbox.stats;
      const t = performance.now();
      const res = await engine.acts.pushEntity({ system: GOOGLE, connection: USER, entityType: CALENDAR_EVENT.type });
      const after = sandbox.stats;
      const routes = Object.entries(after.byRoute).map(([k, v]) => [k, v - (before.byRoute[k] ?? 0)] as const).filter(([, v]) => v > 0);
      return { seconds: (performance.now() - t) / 1000, calls: after.requests - before.requests, routes: Object.fromEntries(routes), res };
    };
    const first = await run();
    if (first.res.created !== M) throw new Error(`pushed ${first.res.created} of ${M} event creates: ${JSON.stringify(first.res)}`);
    await engine.pool.query(`UPDATE calendar_events SET summary = summary || ' (edited)' WHERE mailbox = $1`, [USER]);
    const second = await run();
    if (second.res.updated !== M) throw new Error(`pushed ${second.res.updated} of ${M} event edits: ${JSON.stringify(second.res)}`);
    await engine.close();
    console.log(`calendar push calls by route: creates ${JSON.stringify(first.routes)}; edits ${JSON.stringify(second.routes)}`);

    emit({ figure: 'push_calls', system: 'calendar', records: M, value: first.calls, unit: 'calls', bound: M, ratio: M / first.calls, note: `${M} new local events: one events.insert per event (the googleapis client writes one event per call)` });
    emit({ figure: 'push_calls_updates', system: 'calendar', records: M, value: second.calls, unit: 'calls', bound: M, ratio: M / second.calls, note: `${M} local edits (the summary): one events.patch per event` });
    emit({ figure: 'push', system: 'calendar', records: M, value: M / first.seconds, unit: 'events/s', bound: bareCreate, note: 'creates, quotas out of the way: vs the same connector writing the same events in a bare loop (nothing in Postgres)' });
    emit({ figure: 'push_updates', system: 'calendar', records: M, value: M / second.seconds, unit: 'events/s', bound: bareUpdate, note: 'edits: vs the same connector patching the same events in a bare loop' });
  } finally {
    await db.drop();
    await sandbox.close();
    creds.cleanup();
  }
}

runBench(main);
