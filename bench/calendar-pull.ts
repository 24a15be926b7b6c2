/**
 * Benchmark: full Google Calendar pull of N events (default 20,000) of one user from the Google
 * sandbox into fresh databases, through the same activity code the worker runs (pullEntity, the
 * real googleapis client, service-account auth), as ratios to bounds measured in the same run:
 *  - pull under the per-user quota: events/s vs a bare googleapis listing of the same events from
 *    the same sandbox under the same quota (nothing written), or the quota's own bound (requests
 *    allowed per second × events per page), whichever is lower; and the API calls it took;
 *  - ingest, the API out of the way (the pages of a full listing recorded once, replayed to
 *    pullEntity from memory): events/s vs a plain batched upsert of the same events into a plain
 *    table of the same columns, and vs plain multi-row writes of the rows the engine keeps (the
 *    event row with its attendee rows, the registry entry, the outbox event).
 * Usage: npx tsx bench/calendar-pull.ts [--events 20000] [--quota 600] [--repeat 3]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { google } from 'googleapis';
import { OAuth2Client } from 'google-auth-library';
import { CALENDAR_EVENT } from '../src/connectors/google_workspace/calendar/entities';
import type { ChangePage } from '../src/connectors/types';
import { createConnectorPool } from '../src/deps';
import { startGoogleSandbox } from '../src/sandbox/google';
import { benchDatabase, benchEngine, central, emit, googleBenchEnv, plainOwnRows, plainUpsert, recordListing, replaying, rssSampler, runBench } from './lib';

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, quota: { type: 'string', default: '600' }, repeat: { type: 'string', default: '3' } } });
const N = Number(values.events);
const QUOTA = Number(values.quota);
const REPEAT = Number(values.repeat);
const USER = 'bench@acme.test';
const PAGE = 2500; // events.list maxResults, as the connector asks
const SYSTEM = 'google_workspace';
const TYPE = 'calendar_event';

const rss = rssSampler();

async function main() {
  console.log(`bench: full Google Calendar pull of ${N} events from the Google sandbox (node ${process.version}, quota ${QUOTA}/user/min)`);
  const sandbox = await startGoogleSandbox({ users: [USER], quotas: { perUserPerMinute: QUOTA } });
  for (let done = 0; done < N; done += 5000) sandbox.calendar.seed(USER, USER, Math.min(5000, N - done));
  const live = sandbox.calendar.list(USER, USER).length;
  const creds = googleBenchEnv(sandbox, [USER]);
  const env = { ...creds.env, GOOGLE_QUOTA_PER_USER_PER_MINUTE: String(QUOTA) };
  /** a full pullEntity into a fresh database; `pages`: replay these instead of asking the API */
  const pull = async (pages?: ChangePage[]) => {
    const db = await benchDatabase();
    try {
      const engine = await benchEngine({ POSTGRES_DB: db.name, ...env }, 4, pages ? { wrap: (c) => replaying(c, TYPE, pages) } : {});
      sandbox.resetQuotas();
      const before = sandbox.stats.requests;
      const t0 = performance.now();
      const res = await engine.acts.pullEntity({ system: SYSTEM, connection: USER, entityType: TYPE, cursor: null });
      const seconds = (performance.now() - t0) / 1000;
      const calls = sandbox.stats.requests - before;
      await engine.close();
      if (res.counts.created !== live) throw new Error(`pulled ${res.counts.created} of ${live}`);
      return { rate: live / seconds, calls };
    } finally {
      await db.drop();
    }
  };
  try {
    // The bound of the pull: a bare listing loop, same sandbox, same quota.
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: sandbox.auth.tokenFor(USER), expiry_date: Date.now() + 3_600_000 });
    const calendar = google.calendar({ version: 'v3', auth, rootUrl: sandbox.url });
    sandbox.resetQuotas();
    const t0 = performance.now();
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

    const engineRun = await pull();
    emit({
      figure: 'pull', system: 'calendar', records: live, value: engineRun.rate, unit: 'events/s', bound: Math.min(bareRate, quotaBound),
      note: `the lower of a bare googleapis listing under the same quota (${bareRate.toFixed(0)}/s) and the quota (${quotaBound.toFixed(0)}/s)`,
    });
    emit({ figure: 'api_calls', system: 'calendar', records: live, value: engineRun.calls, unit: 'calls', bound: requests, ratio: requests / engineRun.calls, note: 'the bare listing: one events.list page per 2,500' });
    console.log(`rate-limited answers: ${sandbox.stats.rateLimited}`);

    // Ingest: the recorded pages of a full listing through the connector, replayed.
    const db = await benchDatabase();
    let pages: ChangePage[] = [];
    try {
      const engine = await benchEngine({ POSTGRES_DB: db.name, ...env });
      sandbox.resetQuotas();
      pages = (await recordListing(createConnectorPool(engine.cfg, undefined, engine.redis).get(SYSTEM, USER), TYPE)).pages;
      await engine.close();
    } finally {
      await db.drop();
    }
    const stored = pages.map((p) => p.records.map((r) => ({ id: randomUUID(), externalId: r.externalId, fields: r.fields })));
    const ingest: number[] = [];
    const plain: number[] = [];
    const own: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      ingest.push((await pull(pages)).rate);
      const bdb = await benchDatabase();
      try {
        const engine = await benchEngine({ POSTGRES_DB: bdb.name, ...env });
        plain.push(await plainUpsert(engine.pool, CALENDAR_EVENT, stored.flat(), PAGE));
        own.push(await plainOwnRows(engine.pool, CALENDAR_EVENT, USER, SYSTEM, stored));
        await engine.close();
      } finally {
        await bdb.drop();
      }
    }
    emit({ figure: 'ingest', system: 'calendar', records: live, value: central(ingest), unit: 'events/s', bound: central(plain), note: `pages replayed (API out of the way) vs a plain batched upsert of the same events (${PAGE} per statement)` });
    emit({
      figure: 'ingest_own_rows', system: 'calendar', records: live, value: central(ingest), unit: 'events/s', bound: central(own),
      note: 'pages replayed vs plain multi-row writes of the rows the engine keeps (event with its attendee rows, registry entry, outbox event), one transaction per page',
    });
  } finally {
    emit({ figure: 'peak_rss', system: 'calendar', records: live, value: rss.peakMiB(), unit: 'MiB', bound: null, note: 'the benchmark process, sandbox in the same process' });
    await sandbox.close();
    creds.cleanup();
  }
}

runBench(main);
