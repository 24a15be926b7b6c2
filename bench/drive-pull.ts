/**
 * Benchmark: full Google Drive listing of N files and folders (default 50,000) from the Google
 * sandbox into Postgres, through the same activity code the worker runs (pullEntity of drive_file,
 * the real googleapis client, service-account auth), reported as a ratio to the bound measured in
 * the same run: the rate at which a bare googleapis loop lists the same files with the same fields
 * from the same sandbox under the same per-user quota (nothing written anywhere), and the quota's
 * own bound (requests allowed per second × 1,000 files per page), whichever is lower.
 * Usage: npx tsx bench/drive-pull.ts [--files 50000] [--quota 12000]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { drive } from 'googleapis/build/src/apis/drive';
import { OAuth2Client } from 'google-auth-library';
import { loadConfig } from '../src/config';
import { activitySettings, createActivities } from '../src/activities';
import { FILE_FIELDS } from '../src/connectors/google_workspace/drive/mapping';
import { createConnectorPool, createRedis } from '../src/deps';
import { createMetrics } from '../src/metrics';
import { createPool } from '../src/store/db';
import { migrate } from '../src/store/migrate';
import { startGoogleSandbox } from '../src/sandbox/google';

const { values } = parseArgs({ options: { files: { type: 'string', default: '50000' }, quota: { type: 'string', default: '12000' } } });
const N = Number(values.files);
const QUOTA = Number(values.quota);
const USER = 'bench@acme.test';
const PAGE = 1000; // files.list pageSize, as the connector asks

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 25);

async function main() {
  console.log(`bench: full Google Drive listing of ${N} files from the Google sandbox (node ${process.version}, quota ${QUOTA}/user/min)`);
  const sandbox = await startGoogleSandbox({ users: [USER], drive: { quotas: { perUserPerMinute: QUOTA, perProjectPerMinute: Math.max(QUOTA, 12_000) } } });
  sandbox.drive.seed(USER, N, { folders: Math.round(N / 20), depth: 5 });
  const total = sandbox.drive.list(USER).length + 1; // + the My Drive root
  const dir = mkdtempSync(join(tmpdir(), 'aurora-bench-'));
  writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify(sandbox.auth.serviceAccount()));
  const base = loadConfig();
  const name = `aurora_bench_${randomUUID().slice(0, 8)}`;
  const admin = new Pool({ ...base.postgres, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    // The bound: a bare listing loop, same sandbox, same quota, same fields.
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: sandbox.auth.tokenFor(USER), expiry_date: Date.now() + 3_600_000 });
    const api = drive({ version: 'v3', auth: auth as never, rootUrl: sandbox.url, retry: false });
    let t0 = performance.now();
    let listed = 0;
    let requests = 0;
    let pageToken: string | undefined;
    do {
      const res = await api.files.list({ pageSize: PAGE, pageToken, corpora: 'allDrives', includeItemsFromAllDrives: true, supportsAllDrives: true, fields: `nextPageToken,files(${FILE_FIELDS})` });
      requests++;
      listed += res.data.files?.length ?? 0;
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    const bareRate = listed / ((performance.now() - t0) / 1000);
    const quotaBound = (QUOTA / 60) * PAGE;
    sandbox.resetQuotas();

    // The engine.
    const cfg = loadConfig({
      ...process.env,
      POSTGRES_DB: name,
      GOOGLE_CREDENTIALS_PATH: join(dir, 'google-credentials.json'),
      GOOGLE_USERS: USER,
      GOOGLE_API_ROOT_URL: sandbox.url,
      GOOGLE_TOKEN_URL: sandbox.tokenUrl,
      GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: String(QUOTA),
      PUSH_CHANNELS: 'false',
    });
    const pool = createPool(cfg.postgres, 4);
    await migrate(pool);
    const redis = createRedis(cfg.redis);
    await new Promise((r) => setTimeout(r, 100));
    const metrics = createMetrics();
    const acts = createActivities({ db: pool, redis, metrics, connectors: createConnectorPool(cfg, metrics, redis), settings: activitySettings(cfg) });
    const before = sandbox.stats.requests;
    t0 = performance.now();
    const res = await acts.pullEntity({ system: 'google_workspace', connection: USER, entityType: 'drive_file', cursor: null });
    const seconds = (performance.now() - t0) / 1000;
    const calls = sandbox.stats.requests - before;
    const linked = Number((await pool.query("SELECT count(*) n FROM drive_files WHERE parents IS NOT NULL")).rows[0].n);
    redis.disconnect();
    await pool.end();
    if (res.counts.created !== total) throw new Error(`pulled ${res.counts.created} of ${total}`);
    if (linked !== total - 1) throw new Error(`${linked} of ${total - 1} files linked to their folder`);
    const rate = total / seconds;
    const bound = Math.min(bareRate, quotaBound);
    console.log(
      `full pull: ${rate.toFixed(0)} files/s (${total} files and folders in ${seconds.toFixed(1)} s, ${calls} API calls, every parent linked); ` +
        `bound ${bound.toFixed(0)} files/s (bare listing ${bareRate.toFixed(0)} in ${requests} calls, quota ${quotaBound.toFixed(0)}); ratio ${(rate / bound).toFixed(2)}`,
    );
    console.log(`rate-limited answers: ${sandbox.stats.rateLimited}`);
  } finally {
    clearInterval(sampler);
    console.log(`peak RSS (pulling process, sandbox in the same process): ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
    await sandbox.close();
    // WITH (FORCE) is refused when a session of another role (e.g. autovacuum) is in it: then a plain drop, a little later.
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(async () => {
      await new Promise((r) => setTimeout(r, 2000));
      await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch((e: unknown) => console.log(`could not drop ${name}: ${String(e)}`));
    });
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
