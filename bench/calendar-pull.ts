/**
 * Benchmark: full Google Calendar pull of N events (default 20,000) from the Google sandbox into
 * Postgres, through the same activity code the worker runs (pullEntity, the real googleapis
 * client, service-account auth), reported as a ratio to the bound measured in the same run: the
 * rate at which a bare googleapis loop can list the same events from the same sandbox under the
 * same per-user quota (nothing written anywhere), and the quota's own bound
 * (requests allowed per second × events per page), whichever is lower.
 * Usage: npx tsx bench/calendar-pull.ts [--events 20000] [--quota 600]
 */
import { parseArgs } from 'node:util';
import { google } from 'googleapis';
import { OAuth2Client } from 'google-auth-library';
import { startGoogleSandbox } from '../src/sandbox/google';
import { benchDatabase, benchEngine, googleBenchEnv, rssSampler, runBench } from './lib';

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, quota: { type: 'string', default: '600' } } });
const N = Number(values.events);
const QUOTA = Number(values.quota);
const USER = 'bench@acme.test';
const PAGE = 2500; // events.list maxResults, as the connector asks

const rss = rssSampler();

async function main() {
  console.log(`bench: full Google Calendar pull of ${N} events from the Google sandbox (node ${process.version}, quota ${QUOTA}/user/min)`);
  const sandbox = await startGoogleSandbox({ users: [USER], quotas: { perUserPerMinute: QUOTA } });
  for (let done = 0; done < N; done += 5000) sandbox.calendar.seed(USER, USER, Math.min(5000, N - done));
  const live = sandbox.calendar.list(USER, USER).length;
  const creds = googleBenchEnv(sandbox, [USER]);
  const db = await benchDatabase();
  try {
    // The bound: a bare listing loop, same sandbox, same quota.
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: sandbox.auth.tokenFor(USER), expiry_date: Date.now() + 3_600_000 });
    const calendar = google.calendar({ version: 'v3', auth, rootUrl: sandbox.url });
    let t0 = performance.now();
    let listed = 0;
    let pageToken: string | undefined;
    let requests = 0;
    do {
      const res = await calendar.events.list({ calendarId: USER, maxResults: PAGE, pageToken }, { retry: false });
      requests++;
      listed += res.data.items?.length ?? 0;
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    const bareRate = listed / ((performance.now() - t0) / 1000);
    const quotaBound = (QUOTA / 60) * PAGE;

    // The engine.
    const engine = await benchEngine({ POSTGRES_DB: db.name, ...creds.env, GOOGLE_QUOTA_PER_USER_PER_MINUTE: String(QUOTA) });
    const { acts } = engine;
    const before = sandbox.stats.requests;
    t0 = performance.now();
    const res = await acts.pullEntity({ system: 'google_workspace', connection: USER, entityType: 'calendar_event', cursor: null });
    const seconds = (performance.now() - t0) / 1000;
    const calls = sandbox.stats.requests - before;
    await engine.close();
    if (res.counts.created !== live) throw new Error(`pulled ${res.counts.created} of ${live}`);
    const rate = live / seconds;
    const bound = Math.min(bareRate, quotaBound);
    console.log(
      `full pull: ${rate.toFixed(0)} events/s (${live} live events in ${seconds.toFixed(1)} s, ${calls} API calls); ` +
        `bound ${bound.toFixed(0)} events/s (bare listing ${bareRate.toFixed(0)} in ${requests} calls, quota ${quotaBound.toFixed(0)}); ratio ${(rate / bound).toFixed(2)}`,
    );
    console.log(`rate-limited answers: ${sandbox.stats.rateLimited}`);
  } finally {
    console.log(`peak RSS (pulling process, sandbox in the same process): ${rss.stop()}`);
    await sandbox.close();
    await db.drop();
    creds.cleanup();
  }
}

runBench(main);
