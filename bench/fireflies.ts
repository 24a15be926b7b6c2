/**
 * Benchmark: Fireflies transcripts synced per request — the unit that matters under a 50-a-day
 * budget — against the minimum possible for the same data, through the activities the worker
 * runs (pullEntity of transcripts then action items, the real connector and Redis budget) against
 * the Fireflies sandbox.
 *
 * (a) backfill of N seeded transcripts: the minimum is ceil(N / 50) list requests (50 is
 *     Fireflies' largest page; nothing can bring more transcripts per request).
 * (b) a working day: D cycles, each after M new meetings (some of whose summaries finish only
 *     after the next cycle): the minimum is one request per cycle that has something new (ceil(new/50)),
 *     plus nothing for a quiet cycle — which cannot be told from a busy one without asking, so the
 *     engine's one request per quiet cycle is counted against it.
 * Usage: npx tsx bench/fireflies.ts [--transcripts 1000] [--cycles 10] [--per-cycle 6]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { ChangeCursor } from '../src/connectors/types';
import { startFirefliesSandbox } from '../src/sandbox/fireflies';
import { benchDatabase, benchEngine, emit, runBench } from './lib';

const { values } = parseArgs({ options: { transcripts: { type: 'string', default: '1000' }, cycles: { type: 'string', default: '10' }, 'per-cycle': { type: 'string', default: '6' } } });
const N = Number(values.transcripts);
const CYCLES = Number(values.cycles);
const PER_CYCLE = Number(values['per-cycle']);
const KEY = `bench-${randomUUID()}`;

async function main() {
  console.log(`bench: Fireflies pull of ${N} transcripts, then ${CYCLES} cycles of ${PER_CYCLE} new meetings (node ${process.version})`);
  const sandbox = await startFirefliesSandbox({ keys: [{ key: KEY, plan: 'business', email: 'ana@acme.test' }] });
  sandbox.transcripts.seed(N, { pendingShare: 0 });
  const db = await benchDatabase();
  try {
    const engine = await benchEngine({ POSTGRES_DB: db.name, FIREFLIES_API_KEY: KEY, FIREFLIES_API_URL: `${sandbox.url}/graphql`, FIREFLIES_PLAN: 'business' });
    const { acts, pool } = engine;
    const cursors: Record<string, ChangeCursor | null> = { transcript: null, action_item: null };
    const cycle = async () => {
      const out: Record<string, number> = {};
      for (const entityType of ['transcript', 'action_item']) {
        const r = await acts.pullEntity({ system: 'fireflies', entityType, cursor: cursors[entityType]! });
        cursors[entityType] = r.cursor;
        out[entityType] = r.counts.created + r.counts.updated;
      }
      return out;
    };

    // (a) backfill
    let t0 = performance.now();
    const backfill = await cycle();
    const seconds = (performance.now() - t0) / 1000;
    const requestsA = sandbox.stats.requests;
    const minA = Math.ceil(N / 50);
    const items = Number((await pool.query('SELECT count(*) n FROM action_items')).rows[0].n);
    if (backfill.transcript !== N) throw new Error(`backfill synced ${backfill.transcript} of ${N}`);
    emit({ figure: 'backfill_requests', system: 'fireflies', records: N, value: requestsA, unit: 'requests', bound: minA, ratio: minA / requestsA, note: `fewest possible: ⌈N/50⌉ (50 transcripts per request, Fireflies' largest page); ${(N / seconds).toFixed(0)} transcripts/s` });
    console.log(
      `(a) backfill: ${N} transcripts (${items} action items) in ${requestsA} requests = ${(N / requestsA).toFixed(1)} transcripts/request; ` +
        `minimum ${minA} requests (${(N / minA).toFixed(1)}/request) → ratio ${(minA / requestsA).toFixed(2)}; ${seconds.toFixed(1)} s, ${(N / seconds).toFixed(0)} transcripts/s`,
    );

    // (b) a working day: new meetings, a third of them summarised only after the next cycle.
    t0 = performance.now();
    let pending: string[] = [];
    let synced = 0;
    let minB = 0;
    const before = sandbox.stats.requests;
    for (let c = 0; c < CYCLES; c++) {
      let news = pending.length;
      for (const id of pending) sandbox.transcripts.summarize(id, { notify: false });
      pending = [];
      for (let i = 0; i < PER_CYCLE; i++) {
        const late = i % 3 === 0;
        const t = sandbox.transcripts.add({ date: Date.now() - 3_600_000 + i * 1000, summary: late ? null : undefined });
        if (late) pending.push(t.id);
        news++;
      }
      const r = await cycle();
      synced += r.transcript;
      minB += Math.ceil(news / 50);
    }
    const requestsB = sandbox.stats.requests - before;
    emit({ figure: 'cycle_requests', system: 'fireflies', records: synced, value: requestsB, unit: 'requests', bound: minB, ratio: minB / requestsB, note: `${CYCLES} cycles of ${PER_CYCLE} new meetings (a third summarised a cycle later): one request per cycle with news` });
    console.log(
      `(b) ${CYCLES} cycles: ${synced} transcript versions synced (new, then summarised) in ${requestsB} requests = ${(synced / requestsB).toFixed(1)}/request; ` +
        `minimum ${minB} → ratio ${(minB / requestsB).toFixed(2)}; ${((performance.now() - t0) / CYCLES).toFixed(0)} ms per cycle`,
    );
    // A quiet cycle costs one request (the overlap is read again) and writes nothing.
    const quietBefore = sandbox.stats.requests;
    const quiet = await cycle();
    emit({ figure: 'idle_api_calls', system: 'fireflies', records: null, value: sandbox.stats.requests - quietBefore, unit: 'requests', bound: 2, ratio: Math.min(1, 2 / Math.max(1, sandbox.stats.requests - quietBefore)), note: 'a quiet cycle: at most one request per entity type (transcripts, action items)' });
    console.log(`quiet cycle: ${sandbox.stats.requests - quietBefore} request(s), ${quiet.transcript + quiet.action_item} records written; rate-limited answers: ${sandbox.stats.rateLimited}`);
    await engine.close();
  } finally {
    await sandbox.close();
    await db.drop();
  }
}

runBench(main);
