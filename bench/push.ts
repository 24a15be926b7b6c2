/**
 * Benchmark: push of N local changes (default 20,000 new contacts, then the same contacts edited)
 * to the HubSpot sandbox (in its own process, rate limits off), through the activity the worker
 * runs (pushEntity), against bounds measured in the same run:
 *  - write calls: N changes should cost ⌈N/100⌉ batch calls (HubSpot's batch size), plus
 *    association calls where associations changed (none here);
 *  - push ingest: changes/s against the sandbox's own request handling — a bare loop of the same
 *    connector's batch writes of the same records, 100 per call, against a second sandbox process
 *    (nothing read or written in Postgres).
 * Usage: npx tsx bench/push.ts [--records 20000]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { HubSpotConnector } from '../src/connectors/hubspot/connector';
import { SharedWindowLimiter } from '../src/core/ratelimit';
import type { WriteCreate, WriteUpdate } from '../src/connectors/types';
import { benchDatabase, benchEngine, emit, runBench, startSandboxProcess } from './lib';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' } } });
const N = Number(values.records);
const SYSTEM = 'hubspot';
const BATCH = 100;

const startSandbox = () => startSandboxProcess(['--no-rate-limits']);

function connector(url: string, redis: Redis): HubSpotConnector {
  const key = `aurora:ratelimit:bench:${randomUUID()}`;
  return new HubSpotConnector({
    connection: 'default', accessToken: 'bench-token', baseUrl: url, ratePer10s: 1_000_000, searchPerSecond: 1_000_000, searchLookbackMs: 0,
    budgets: { general: new SharedWindowLimiter(redis, `${key}:10s`, 1_000_000, 10_000), search: new SharedWindowLimiter(redis, `${key}:search`, 1_000_000, 1_000) },
  });
}

const person = (i: number, phone = `+1 555 ${String(i).padStart(6, '0')}`) => ({
  first_name: `First${i}`, last_name: `Last${i}`, email: `push${i}@bench.test`, phone, linkedin_url: null, company_id: null,
});

async function main() {
  console.log(`bench: push of ${N} new contacts, then ${N} edits, to the HubSpot sandbox (node ${process.version})`);
  const ids = Array.from({ length: N }, () => randomUUID());
  const bare = await startSandbox();
  const open = await startSandbox();
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
      const batch: WriteCreate[] = ids.slice(i, i + BATCH).map((localId, k) => ({ localId, fields: person(i + k) }));
      for (const o of await direct.create('contact', batch)) if (o.ok) created.push(o.externalId);
    }
    const bareCreate = N / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const batch: WriteUpdate[] = created.slice(i, i + BATCH).map((externalId, k) => ({
        localId: ids[i + k]!, externalId, fields: person(i + k, `+1 666 ${i + k}`), previous: person(i + k), changed: ['phone'],
      }));
      await direct.update('contact', batch);
    }
    const bareUpdate = N / ((performance.now() - t0) / 1000);

    // The engine: N new local contacts, pushed; then every one edited, pushed.
    await engine.pool.query(
      `INSERT INTO contacts (id, first_name, last_name, email, phone)
       SELECT id, 'First' || (o - 1), 'Last' || (o - 1), 'push' || (o - 1) || '@bench.test', '+1 555 ' || lpad((o - 1)::text, 6, '0')
         FROM unnest($1::text[]) WITH ORDINALITY AS x(id, o)`,
      [ids],
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
    await engine.pool.query(`UPDATE contacts SET phone = '+1 666 ' || substr(email, 5, position('@' in email) - 5)`);
    const second = await run();
    if (second.res.updated !== N) throw new Error(`pushed ${second.res.updated} of ${N} updates: ${JSON.stringify(second.res)}`);
    await engine.close();

    const min = Math.ceil(N / BATCH);
    emit({ figure: 'push_calls', system: SYSTEM, records: N, value: first.calls, unit: 'calls', bound: min, ratio: min / first.calls, note: `${N} new local contacts: ⌈N/100⌉ batch upserts (no associations to write)` });
    emit({ figure: 'push_calls_updates', system: SYSTEM, records: N, value: second.calls, unit: 'calls', bound: min, ratio: min / second.calls, note: `${N} local edits (one field each): ⌈N/100⌉ batch updates` });
    emit({ figure: 'push', system: SYSTEM, records: N, value: N / first.seconds, unit: 'records/s', bound: bareCreate, note: 'creates, rate limits off: vs the same batch upserts sent by a bare loop of the connector (nothing in Postgres)' });
    emit({ figure: 'push_updates', system: SYSTEM, records: N, value: N / second.seconds, unit: 'records/s', bound: bareUpdate, note: 'edits, rate limits off: vs the same batch updates sent by a bare loop of the connector' });
  } finally {
    await db.drop();
    await bare.close();
    await open.close();
  }
}

runBench(main);
