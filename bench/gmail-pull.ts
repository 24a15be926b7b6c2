/**
 * Benchmark: full Gmail backfill from the Google sandbox into Postgres, through the activity code
 * the worker runs (pullEntity, the real googleapis client, service-account auth), as a ratio to
 * the bound measured in the same run:
 *   - one mailbox of N threads (default 10,000) under a per-user unit quota Q per rolling minute.
 *     The backfill costs U units (threads.get 10 per thread, threads.list 10 per 500, the profile);
 *     a rolling window lets the first Q go at once and each further Q a window later, so no client
 *     can finish before ceil(U / Q) − 1 minutes: the quota bound is N over that time. The bound used is the lower of it and a bare
 *     googleapis loop making the same calls with nothing written (against a sandbox without quota);
 *   - several mailboxes at once (default 3 × N/3), each with the same per-user quota but a
 *     per-project quota of Q for all of them: the project's bound, computed the same way.
 * Gmail's real quotas are 15,000 units/user/min and 1,200,000/project/min; the default Q (40,000)
 * keeps each run near two minutes (U is 2.5 Q) — the ratio is what is compared.
 * Usage: npx tsx bench/gmail-pull.ts [--threads 10000] [--quota 40000] [--mailboxes 3]
 */
import { parseArgs } from 'node:util';
import { google } from 'googleapis';
import { OAuth2Client } from 'google-auth-library';
import { startGoogleSandbox } from '../src/sandbox/google';
import { benchDatabase, benchEngine, emit, googleBenchEnv, rssSampler, runBench } from './lib';
import { METADATA_HEADERS } from '../src/connectors/google_workspace/gmail/mapping';
import { THREADS_PAGE_SIZE, UNITS } from '../src/connectors/google_workspace/gmail/client';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '10000' }, quota: { type: 'string', default: '40000' }, mailboxes: { type: 'string', default: '3' } } });
const N = Number(values.threads);
const QUOTA = Number(values.quota);
const M = Number(values.mailboxes);
/** the project quota of the second run: what one mailbox may take alone, so it binds */
const PROJECT = QUOTA;
const SOLO = 'bench@acme.test';
const TEAM = Array.from({ length: M }, (_, i) => `user${i + 1}@acme.test`);
const UNITS_PER_THREAD = UNITS.threadsGet + UNITS.threadsList / THREADS_PAGE_SIZE;
const CONCURRENCY = 8;

const rss = rssSampler();

async function main() {
  console.log(`bench: Gmail backfill from the Google sandbox (node ${process.version}): ${N} threads in one mailbox at ${QUOTA} units/user/min; then ${M} mailboxes × ${Math.round(N / M)} at ${PROJECT} units/project/min`);
  const sandbox = await startGoogleSandbox({ users: [SOLO, ...TEAM], gmail: { quotas: { perUserPerMinute: QUOTA, perProjectPerMinute: 1e12, mode: 'mixed' } } });
  for (let done = 0; done < N; done += 2500) sandbox.gmail.seed(SOLO, Math.min(2500, N - done));
  for (const u of TEAM) sandbox.gmail.seed(u, Math.round(N / M));
  const creds = googleBenchEnv(sandbox, [SOLO, ...TEAM]);
  const db = await benchDatabase();
  try {
    const total = sandbox.gmail.threads(SOLO, { includeSpamTrash: true }).length;
    // The bound: a bare loop making the same calls (threads.list, threads.get metadata, 8 in flight),
    // nothing written, against a sandbox with the same mailbox and no quota: how fast the sandbox answers.
    const bare = await startGoogleSandbox({ users: [SOLO], quotas: false });
    for (let done = 0; done < N; done += 2500) bare.gmail.seed(SOLO, Math.min(2500, N - done));
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: bare.auth.tokenFor(SOLO), expiry_date: Date.now() + 3_600_000 });
    const gmail = google.gmail({ version: 'v1', auth: auth as never, rootUrl: bare.url });
    let t0 = performance.now();
    let read = 0;
    let pageToken: string | undefined;
    do {
      const page = await gmail.users.threads.list({ userId: SOLO, maxResults: THREADS_PAGE_SIZE, includeSpamTrash: true, pageToken });
      const ids = (page.data.threads ?? []).map((t) => t.id!);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ids.length) {
            const id = ids[next++]!;
            await gmail.users.threads.get({ userId: SOLO, id, format: 'metadata', metadataHeaders: METADATA_HEADERS }, { retry: false });
            read++;
          }
        }),
      );
      pageToken = page.data.nextPageToken ?? undefined;
    } while (pageToken);
    const bareRate = read / ((performance.now() - t0) / 1000);
    await bare.close();
    /**
     * Threads per second no client can beat under a rolling-window quota of `q` units/min: the first
     * q units may go at once, each further q only a window after the previous ones, so spending U
     * units takes at least ceil(U / q) − 1 whole windows.
     */
    const windowBound = (threads: number, q: number) => {
      const units = threads * UNITS_PER_THREAD + UNITS.getProfile;
      const minutes = Math.ceil(units / q) - 1;
      return minutes > 0 ? threads / (minutes * 60) : Infinity;
    };
    const quotaBound = windowBound(total, QUOTA);

    const engine = await benchEngine(
      { POSTGRES_DB: db.name, ...creds.env, GMAIL_QUOTA_UNITS_PER_USER_PER_MINUTE: String(QUOTA), GMAIL_QUOTA_UNITS_PER_PROJECT_PER_MINUTE: String(PROJECT) },
      8,
    );
    const { acts } = engine;
    const pull = (connection: string) => acts.pullEntity({ system: 'google_workspace', connection, entityType: 'email', cursor: null });

    const limited0 = sandbox.stats.rateLimited;
    const calls0 = sandbox.stats.requests;
    const units0 = JSON.stringify(sandbox.stats.quotaUnits);
    t0 = performance.now();
    const solo = await pull(SOLO);
    console.log(`  (${sandbox.stats.requests - calls0} API calls; sandbox units ${units0} → ${JSON.stringify(sandbox.stats.quotaUnits)})`);
    const seconds = (performance.now() - t0) / 1000;
    if (solo.counts.created !== total) throw new Error(`pulled ${solo.counts.created} of ${total}`);
    const rate = total / seconds;
    const bound = Math.min(bareRate, quotaBound);
    emit({
      figure: 'pull', system: 'gmail', records: total, value: rate, unit: 'threads/s', bound,
      note: `one mailbox, ${QUOTA.toLocaleString('en-US')} units/user/min: the lower of the rolling-window quota bound (${quotaBound.toFixed(0)}/s) and a bare googleapis loop of the same calls (${bareRate.toFixed(0)}/s)`,
    });
    emit({
      figure: 'api_calls', system: 'gmail', records: total, value: sandbox.stats.requests - calls0, unit: 'calls', bound: total + Math.ceil(total / THREADS_PAGE_SIZE) + 1,
      ratio: (total + Math.ceil(total / THREADS_PAGE_SIZE) + 1) / (sandbox.stats.requests - calls0), note: 'one threads.get per thread, one threads.list per page, the profile',
    });
    console.log(
      `one mailbox: ${rate.toFixed(0)} threads/s (${total} threads in ${seconds.toFixed(1)} s); bound ${bound.toFixed(0)} threads/s ` +
        `(quota ${quotaBound.toFixed(0)}, bare loop ${bareRate.toFixed(0)}); ratio ${(rate / bound).toFixed(2)}; refused by quota: ${sandbox.stats.rateLimited - limited0}`,
    );

    // Several mailboxes at once, the project budget binding. The run above spent units of the same
    // project budget (same credentials) in the last minute: let them leave the window first.
    await new Promise((r) => setTimeout(r, 62_000));
    const teamTotal = TEAM.reduce((n, u) => n + sandbox.gmail.threads(u, { includeSpamTrash: true }).length, 0);
    const limited1 = sandbox.stats.rateLimited;
    t0 = performance.now();
    const results = await Promise.all(TEAM.map((u) => pull(u)));
    const teamSeconds = (performance.now() - t0) / 1000;
    const created = results.reduce((n, r) => n + r.counts.created, 0);
    if (created !== teamTotal) throw new Error(`pulled ${created} of ${teamTotal}`);
    const teamRate = teamTotal / teamSeconds;
    const projectBound = windowBound(teamTotal, Math.min(PROJECT, QUOTA * M));
    emit({
      figure: 'pull_mailboxes', system: 'gmail', records: teamTotal, value: teamRate, unit: 'threads/s', bound: projectBound,
      note: `${M} mailboxes at once, the project quota (${PROJECT.toLocaleString('en-US')} units/min) binding: its rolling-window bound`,
    });
    console.log(
      `${M} mailboxes at once: ${teamRate.toFixed(0)} threads/s (${teamTotal} threads in ${teamSeconds.toFixed(1)} s); project bound ${projectBound.toFixed(0)} threads/s; ` +
        `ratio ${(teamRate / projectBound).toFixed(2)}; refused by quota: ${sandbox.stats.rateLimited - limited1}`,
    );
    await engine.close();
  } finally {
    emit({ figure: 'peak_rss', system: 'gmail', records: N, value: rss.peakMiB(), unit: 'MiB', bound: null, note: 'the benchmark process, sandbox in the same process' });
    await sandbox.close();
    await db.drop();
    creds.cleanup();
  }
}

runBench(main);
