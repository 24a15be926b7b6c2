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
import { drive } from 'googleapis/build/src/apis/drive';
import { OAuth2Client } from 'google-auth-library';
import { FILE_FIELDS } from '../src/connectors/google_workspace/drive/mapping';
import { startGoogleSandbox } from '../src/sandbox/google';
import { benchDatabase, benchEngine, emit, googleBenchEnv, rssSampler, runBench } from './lib';

const { values } = parseArgs({ options: { files: { type: 'string', default: '50000' }, quota: { type: 'string', default: '12000' } } });
const N = Number(values.files);
const QUOTA = Number(values.quota);
const USER = 'bench@acme.test';
const PAGE = 1000; // files.list pageSize, as the connector asks

const rss = rssSampler();

async function main() {
  console.log(`bench: full Google Drive listing of ${N} files from the Google sandbox (node ${process.version}, quota ${QUOTA}/user/min)`);
  const sandbox = await startGoogleSandbox({ users: [USER], drive: { quotas: { perUserPerMinute: QUOTA, perProjectPerMinute: Math.max(QUOTA, 12_000) } } });
  sandbox.drive.seed(USER, N, { folders: Math.round(N / 20), depth: 5 });
  const total = sandbox.drive.list(USER).length + 1; // + the My Drive root
  const creds = googleBenchEnv(sandbox, [USER]);
  const db = await benchDatabase();
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
    const engine = await benchEngine({ POSTGRES_DB: db.name, ...creds.env, GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: String(QUOTA) });
    const { acts, pool } = engine;
    const before = sandbox.stats.requests;
    t0 = performance.now();
    const res = await acts.pullEntity({ system: 'google_workspace', connection: USER, entityType: 'drive_file', cursor: null });
    const seconds = (performance.now() - t0) / 1000;
    const calls = sandbox.stats.requests - before;
    const linked = Number((await pool.query("SELECT count(*) n FROM drive_files WHERE parents IS NOT NULL")).rows[0].n);
    await engine.close();
    if (res.counts.created !== total) throw new Error(`pulled ${res.counts.created} of ${total}`);
    if (linked !== total - 1) throw new Error(`${linked} of ${total - 1} files linked to their folder`);
    const rate = total / seconds;
    const bound = Math.min(bareRate, quotaBound);
    emit({
      figure: 'pull', system: 'drive', records: total, value: rate, unit: 'files/s', bound,
      note: `every parent linked; the lower of a bare googleapis files.list loop under the same quota (${bareRate.toFixed(0)}/s) and the quota (${quotaBound.toFixed(0)}/s)`,
    });
    emit({ figure: 'api_calls', system: 'drive', records: total, value: calls, unit: 'calls', bound: requests, ratio: requests / calls, note: 'the bare listing: one files.list page per 1,000' });
    console.log(
      `full pull: ${rate.toFixed(0)} files/s (${total} files and folders in ${seconds.toFixed(1)} s, ${calls} API calls, every parent linked); ` +
        `bound ${bound.toFixed(0)} files/s (bare listing ${bareRate.toFixed(0)} in ${requests} calls, quota ${quotaBound.toFixed(0)}); ratio ${(rate / bound).toFixed(2)}`,
    );
    console.log(`rate-limited answers: ${sandbox.stats.rateLimited}`);
  } finally {
    emit({ figure: 'peak_rss', system: 'drive', records: N, value: rss.peakMiB(), unit: 'MiB', bound: null, note: 'the benchmark process, sandbox in the same process' });
    await sandbox.close();
    await db.drop();
    creds.cleanup();
  }
}

runBench(main);
