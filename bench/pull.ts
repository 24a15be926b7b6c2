/**
 * Benchmark: full pull of N contacts (default 20,000) from the HubSpot sandbox (in its own process)
 * into fresh databases, through the same activity code the worker runs (pullEntity), reported as
 * ratios to bounds measured or derived in the same run:
 *  - pull, rate limits on (100 requests / 10 s, 5 searches / s): records/s vs the rate-limit bound
 *    (requests allowed per second × records per request, for each limit that applies);
 *  - API calls per 1,000 records vs the fewest this API allows (one search page per 200, one
 *    association batch read per 1,000);
 *  - ingest, the API out of the way (the pages of a full listing recorded once, then replayed to
 *    pullEntity from memory: decisions, rows, registry, events, cursor): records/s vs a plain
 *    batched upsert of the same records into a plain table, and vs plain multi-row writes of the
 *    rows the engine keeps per record (contact, registry entry, outbox event);
 *  - pull, rate limits off: records/s end to end vs the lower of the plain upsert and a bare
 *    listing through the connector (nothing written);
 *  - the process's peak RSS.
 * Each figure is printed as a JSON line (bench/lib.ts `emit`); `npm run bench` collects them.
 * Usage: npx tsx bench/pull.ts [--records 20000] [--repeat 3]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { HubSpotConnector } from '../src/connectors/hubspot/connector';
import { hubspotSpec } from '../src/connectors/hubspot/entities';
import { SharedWindowLimiter } from '../src/core/ratelimit';
import { refFields } from '../src/core/model';
import type { ChangePage } from '../src/connectors/types';
import { benchDatabase, benchEngine, central, emit, plainOwnRows, plainUpsert, recordListing, replaying, rssSampler, runBench, startSandboxProcess } from './lib';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' }, repeat: { type: 'string', default: '3' } } });
const N = Number(values.records);
const REPEAT = Number(values.repeat);
const SYSTEM = 'hubspot';
const spec = hubspotSpec('contact');
const rss = rssSampler();

/** The sandbox runs in its own process, so the figures are the pulling process's alone. */
const startSandbox = (rateLimits: boolean) => startSandboxProcess(['--seed-contacts', String(N), ...(rateLimits ? [] : ['--no-rate-limits'])]);

/** The worker's connector, with the same Redis-shared budgets. */
function connector(url: string, redis: Redis, rateLimits: boolean): HubSpotConnector {
  const key = `aurora:ratelimit:bench:${randomUUID()}`;
  const [per10s, perSecond] = rateLimits ? [100, 5] : [1_000_000, 1_000_000];
  return new HubSpotConnector({
    connection: 'default', accessToken: 'bench-token', baseUrl: url, ratePer10s: per10s, searchPerSecond: perSecond, searchLookbackMs: 0,
    budgets: {
      general: new SharedWindowLimiter(redis, `${key}:10s`, per10s, 10_000),
      search: new SharedWindowLimiter(redis, `${key}:search`, perSecond, 1_000),
    },
  });
}

/** A full pullEntity of the contacts into a fresh database; `pages`: replay these instead of asking the API. */
async function pull(url: string, rateLimits: boolean, pages?: ChangePage[]): Promise<{ rate: number; seconds: number; calls: number; searches: number }> {
  const db = await benchDatabase();
  let hub: HubSpotConnector | undefined;
  try {
    const engine = await benchEngine({ POSTGRES_DB: db.name }, 4, {
      connectors: (_cfg, redis) => {
        hub = connector(url, redis, rateLimits);
        const c = pages ? replaying(hub, 'contact', pages) : hub;
        return { get: () => c, configured: () => new Map([[SYSTEM, ['default']]]) };
      },
    });
    const t0 = performance.now();
    const res = await engine.acts.pullEntity({ system: SYSTEM, entityType: 'contact', cursor: null });
    const seconds = (performance.now() - t0) / 1000;
    await engine.close();
    if (res.counts.created !== N) throw new Error(`pulled ${res.counts.created} of ${N}`);
    return { rate: N / seconds, seconds, calls: hub!.calls.total, searches: hub!.calls.search };
  } finally {
    await db.drop();
  }
}

/** The recorded pages as the engine would store them here: associations to records not synced are dropped. */
function asStored(pages: ChangePage[]) {
  const refs = refFields(spec).map(([f]) => f);
  return pages.map((p) => p.records.map((r) => ({ id: randomUUID(), externalId: r.externalId, fields: { ...r.fields, ...Object.fromEntries(refs.map((f) => [f, null])) } })));
}

async function main() {
  console.log(`bench: full pull of ${N} contacts from the HubSpot sandbox (node ${process.version})`);

  // Rate limits on.
  const limitedSandbox = await startSandbox(true);
  const limited = await pull(limitedSandbox.url, true).finally(() => limitedSandbox.close());
  const bySearch = 5 * (N / limited.searches);
  const byAll = (100 / 10) * (N / limited.calls);
  emit({
    figure: 'pull', system: SYSTEM, records: N, value: limited.rate, unit: 'records/s', bound: Math.min(bySearch, byAll),
    note: `rate limits on (100 req/10 s, 5 searches/s): allowed requests/s × records per request (search ${bySearch.toFixed(0)}, all requests ${byAll.toFixed(0)})`,
  });
  const minCalls = Math.ceil(N / 200) + Math.ceil(N / 1000);
  emit({
    figure: 'api_calls', system: SYSTEM, records: N, value: (limited.calls / N) * 1000, unit: 'calls/1k records', bound: (minCalls / N) * 1000,
    ratio: minCalls / limited.calls, note: 'fewest possible: one search page per 200, one association batch read per 1,000',
  });

  // Rate limits off.
  const open = await startSandbox(false);
  try {
    // The pages of a full listing, through the connector, nothing written (also the bare listing's rate).
    const listings: number[] = [];
    let pages: ChangePage[] = [];
    const db = await benchDatabase();
    try {
      const engine = await benchEngine({ POSTGRES_DB: db.name });
      for (let i = 0; i < REPEAT; i++) {
        const l = await recordListing(connector(open.url, engine.redis, false), 'contact');
        if (l.records !== N) throw new Error(`listed ${l.records} of ${N}`);
        listings.push(N / l.seconds);
        pages = l.pages;
      }
      await engine.close();
    } finally {
      await db.drop();
    }
    const stored = asStored(pages);

    // Ingest, bound and value measured in turn, REPEAT times each.
    const ingest: number[] = [];
    const plain: number[] = [];
    const own: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      ingest.push((await pull(open.url, false, pages)).rate);
      const bdb = await benchDatabase();
      try {
        const engine = await benchEngine({ POSTGRES_DB: bdb.name });
        plain.push(await plainUpsert(engine.pool, spec, stored.flat(), 200));
        own.push(await plainOwnRows(engine.pool, spec, 'default', SYSTEM, stored));
        await engine.close();
      } finally {
        await bdb.drop();
      }
    }
    const ingestRate = central(ingest);
    emit({ figure: 'ingest', system: SYSTEM, records: N, value: ingestRate, unit: 'records/s', bound: central(plain), note: 'pages replayed (API out of the way) vs a plain batched upsert of the same records (200 per statement)' });
    emit({ figure: 'ingest_own_rows', system: SYSTEM, records: N, value: ingestRate, unit: 'records/s', bound: central(own), note: 'pages replayed vs plain multi-row writes of the rows the engine keeps (contact, registry entry, outbox event), one transaction per page' });

    const live = await pull(open.url, false);
    const bare = central(listings);
    emit({
      figure: 'pull_limits_off', system: SYSTEM, records: N, value: live.rate, unit: 'records/s', bound: Math.min(central(plain), bare),
      note: `rate limits off, end to end: the lower of the plain upsert and a bare listing through the connector (${bare.toFixed(0)} records/s)`,
    });
  } finally {
    await open.close();
  }
  emit({ figure: 'peak_rss', system: SYSTEM, records: N, value: rss.peakMiB(), unit: 'MiB', bound: null, note: 'the benchmark process (engine activities in-process, sandbox in its own)' });
}

runBench(main);
