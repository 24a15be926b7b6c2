/**
 * Benchmark: full pull of N contacts (default 20,000) from the HubSpot sandbox into Postgres,
 * through the same activity code the worker runs (pullEntity), reported as ratios to bounds
 * measured or derived in the same run:
 *  (a) rate limits on: records/s vs the rate-limit bound (allowed requests/s x records/request);
 *  (b) rate limits off: records/s vs a plain batched upsert of the same rows into Postgres;
 *  plus API calls per 1,000 records and the process's peak RSS.
 * Usage: npm run bench  (or: npx tsx bench/pull.ts [--records 20000])
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { activitySettings, createActivities } from '../src/activities';
import { HubSpotConnector } from '../src/connectors/hubspot/connector';
import { toCanonical } from '../src/connectors/hubspot/mapping';
import { createMetrics } from '../src/metrics';
import { createPool } from '../src/store/db';
import { migrate } from '../src/store/migrate';
import { createRedis } from '../src/deps';
import { SharedWindowLimiter } from '../src/core/ratelimit';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' } } });
const N = Number(values.records);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 25);

async function withDatabase<T>(fn: (cfg: ReturnType<typeof loadConfig>, pool: Pool) => Promise<T>): Promise<T> {
  const base = loadConfig();
  const name = `aurora_bench_${randomUUID().slice(0, 8)}`;
  const admin = new Pool({ ...base.postgres, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const cfg = loadConfig({ ...process.env, POSTGRES_DB: name });
  const pool = createPool(cfg.postgres, 4);
  try {
    await migrate(pool);
    return await fn(cfg, pool);
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** The sandbox runs in its own process, so the figures are the pulling process's alone. */
async function startSandbox(rateLimits: boolean): Promise<{ url: string; child: ChildProcess }> {
  const args = ['--import', 'tsx', join(__dirname, '..', 'src', 'sandbox', 'hubspot', 'main.ts'), '--port', '0', '--seed-contacts', String(N)];
  if (!rateLimits) args.push('--no-rate-limits');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited (${code})`)));
  });
  return { url, child };
}

async function fullPull(rateLimits: boolean) {
  const { url, child } = await startSandbox(rateLimits);
  const sandbox = {
    url,
    list: async () => ((await (await fetch(`${url}/_sandbox/objects/contacts`)).json()) as { results: { id: string; properties: Record<string, string | null> }[] }).results,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
  try {
    return await withDatabase(async (cfg, pool) => {
      const redis = createRedis(cfg.redis);
      await new Promise((r) => setTimeout(r, 100));
      // The same budgets the worker uses: shared through Redis.
      const key = `aurora:ratelimit:bench:${randomUUID()}`;
      const [per10s, perSecond] = rateLimits ? [100, 5] : [1_000_000, 1_000_000];
      const connector = new HubSpotConnector({
        connection: 'default',
        accessToken: 'bench-token',
        baseUrl: sandbox.url,
        ratePer10s: per10s,
        searchPerSecond: perSecond,
        searchLookbackMs: 0,
        budgets: {
          general: new SharedWindowLimiter(redis, `${key}:10s`, per10s, 10_000),
          search: new SharedWindowLimiter(redis, `${key}:search`, perSecond, 1_000),
        },
      });
      const acts = createActivities({
        db: pool, redis, metrics: createMetrics(), settings: activitySettings(cfg),
        connectors: { get: () => connector, configured: () => new Map([['hubspot', ['default']]]) },
      });
      const t0 = performance.now();
      const res = await acts.pullEntity({ system: 'hubspot', entityType: 'contact', cursor: null });
      const seconds = (performance.now() - t0) / 1000;
      redis.disconnect();
      if (res.counts.created !== N) throw new Error(`pulled ${res.counts.created} of ${N}`);
      return { seconds, rate: N / seconds, calls: connector.calls.total, searches: connector.calls.search, records: await sandbox.list() };
    });
  } finally {
    await sandbox.close();
  }
}

/** The floor for the Postgres side: the same rows, batched multi-row upserts, nothing else. */
async function plainUpsert(rows: { id: string; properties: Record<string, string | null> }[]) {
  return withDatabase(async (_cfg, pool) => {
    await pool.query(`CREATE TABLE plain_contacts (id text PRIMARY KEY, first_name text, last_name text, email text, phone text, linkedin_url text)`);
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 200) {
      const batch = rows.slice(i, i + 200).map((r) => ({ id: r.id, ...toCanonical('contact', r) }));
      await pool.query(
        `INSERT INTO plain_contacts SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, first_name text, last_name text, email text, phone text, linkedin_url text)
         ON CONFLICT (id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, email = EXCLUDED.email,
           phone = EXCLUDED.phone, linkedin_url = EXCLUDED.linkedin_url`,
        [JSON.stringify(batch)],
      );
    }
    return N / ((performance.now() - t0) / 1000);
  });
}

async function main() {
  console.log(`bench: full pull of ${N} contacts from the HubSpot sandbox (node ${process.version})`);
  const limited = await fullPull(true);
  // Bound: requests allowed per second x records per request, for each limit that applies:
  // searches (5/s) and all requests (100 per 10 s), with the records per request this pull achieved
  // (each page of 200 also reads its associations).
  const bySearch = 5 * (N / limited.searches);
  const byAll = (100 / 10) * (N / limited.calls);
  const bound = Math.min(bySearch, byAll);
  console.log(
    `(a) rate limits on : ${limited.rate.toFixed(0)} records/s in ${limited.seconds.toFixed(1)} s; ` +
      `bound ${bound.toFixed(0)} records/s (search ${bySearch.toFixed(0)}, all requests ${byAll.toFixed(0)}); ratio ${(limited.rate / bound).toFixed(2)}`,
  );
  const open = await fullPull(false);
  const plain = await plainUpsert(open.records);
  console.log(`(b) rate limits off: ${open.rate.toFixed(0)} records/s; plain batched Postgres upsert ${plain.toFixed(0)} records/s; ratio ${(open.rate / plain).toFixed(2)}`);
  console.log(`API calls per 1,000 records: ${((limited.calls / N) * 1000).toFixed(2)} (a), ${((open.calls / N) * 1000).toFixed(2)} (b)`);
  clearInterval(sampler);
  console.log(`peak RSS of the pulling process: ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
