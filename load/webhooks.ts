/**
 * Load: webhooks at a sustained rate across systems (default 10,000 events a minute for 5 minutes),
 * end to end through the real API, Temporal, worker, Postgres and Redis, against the sandboxes:
 *   - HubSpot: contact edits in the sandbox → its signed webhook batches (`contact.propertyChange`);
 *   - Google Calendar: event edits → push-channel notifications (X-Goog-* headers, channel token);
 *   - Gmail: label changes → Pub/Sub pushes (OIDC token and URL token) after users.watch;
 *   - Google Drive: renames, star changes and sharing-role changes made as the user in the Drive UI →
 *     changes.watch notifications (one channel each for files and permissions) → changes.list;
 *   - Fireflies: new transcripts and re-summarised ones → its signed v2 webhooks (`meeting.transcribed`,
 *     `meeting.summarized`) → a fetch of exactly that transcript. Its share is fixed in events a minute
 *     (--fireflies-per-minute, default 30), not a share of the rate: every delivery costs a GraphQL
 *     request of the key's budget (business plan: 60 a minute, enforced by the sandbox).
 * The API (src/api/main.ts) and the worker (src/worker.ts) run as deployed, each in its own process;
 * the sandboxes and the generator share this one. Every delivery passes through a measuring proxy in
 * front of the API, in a process of its own (load/proxy.ts; the sandboxes post to it, as they would
 * to a load balancer): it times each answer. Prints: events made, deliveries and answers by status,
 * API answer p50/p99/max (goal p99 < 50 ms), whether the final state equals the sandboxes' record by
 * record (nothing lost), the RSS of the API's and the worker's processes per minute (flat?), and the
 * sync workflows' history length (bounded by continue-as-new).
 * Usage: bash scripts/run.sh tsx load/webhooks.ts [--per-minute 10000] [--minutes 5] [--fireflies-per-minute 30]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { createPool } from '../src/store/db';
import { connectClient } from '../src/temporal';
import { startHubSpotSandbox } from '../src/sandbox/hubspot';
import { startGoogleSandbox } from '../src/sandbox/google';
import { startFirefliesSandbox } from '../src/sandbox/fireflies';
import { syncNowUpdate, syncWorkflowId } from '../src/workflows/definitions';
import { googleBenchEnv } from '../bench/lib';
import { freePort, metricSum, rssMiB, spawnNode, startWorkerProcess } from '../bench/workers';
import { terminateAll } from '../test/helpers';
import { WEBHOOK_OUTCOMES } from '../src/metrics';
import { driveLoad, firefliesLoad } from './systems';
import type { Kind, ProxyStats } from './proxy';

const { values } = parseArgs({
  options: {
    'per-minute': { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '5' },
    'fireflies-per-minute': { type: 'string', default: '30' },
    'drive-user': { type: 'string', default: 'bob@acme.test' },
  },
});
const PER_MINUTE = Number(values['per-minute']);
const MINUTES = Number(values.minutes);
/**
 * Fireflies events a minute: half new meetings (two deliveries: transcribed, summarized), half
 * re-summaries (one). Each delivery is at most one transcript read, so 30 events cost at most 45
 * of the business plan's 60 requests a minute (the free plan's 50 a day would last a minute).
 */
const FF_PER_MINUTE = Math.min(Number(values['fireflies-per-minute']), PER_MINUTE);
const FF_REQUESTS_PER_MINUTE = 60;
const ANA = 'ana@acme.test';
/**
 * Whose Drive changes: by default another user's (their own connection, so their own sync
 * workflow), as in a company where the edits come from many people. `--drive-user ana@acme.test`
 * puts Calendar, Gmail and Drive on one connection (4,000 events a minute to one workflow).
 */
const DRIVE_USER = values['drive-user'].toLowerCase();
const USERS = [...new Set([ANA, DRIVE_USER])];
const SECRET = 'load-client-secret';
const FF_SECRET = 'load-ff-webhook-secret-01';
const FF_KEY = 'load-ff-key';
const TOPIC = 'projects/aurora-sandbox/topics/gmail'; // the sandbox's project: users.watch refuses another project's topic
const PUSH_TOKEN = 'load-push-token-0123456789abcdef';
const PUSH_SA = 'gmail-push@aurora-sandbox.iam.gserviceaccount.com';
const AUDIENCE = 'https://aurora.example/api/webhooks/google';
/** The mix of the events other than Fireflies' (their share of the rate). */
const SHARE = { hubspot: 0.6, calendar: 0.15, gmail: 0.1, drive: 0.15 };
const KINDS: Kind[] = ['HubSpot', 'Calendar', 'Gmail', 'Drive', 'Fireflies'];

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts load/proxy.ts in its own process; resolves with its URL and its control calls. */
async function startProxy(env: NodeJS.ProcessEnv) {
  let port = 0;
  const child = spawnNode(['load/proxy.ts'], env, (l) => {
    const m = /^proxy listening (\d+)/.exec(l);
    if (m) port = Number(m[1]);
    else if (l.trim()) console.log(`  proxy: ${l.slice(0, 300)}`);
  });
  while (!port) {
    if (child.exitCode !== null) throw new Error(`the measuring proxy exited (${child.exitCode})`);
    await sleep(20);
  }
  const url = `http://127.0.0.1:${port}`;
  const call = async (path: string, method = 'POST') => (await fetch(`${url}${path}`, { method })).json();
  return {
    url,
    pid: child.pid!,
    target: (apiPort: number) => call(`/__load/target?port=${apiPort}`),
    reset: () => call('/__load/reset'),
    stats: () => call('/__load/stats', 'GET') as Promise<ProxyStats>,
    stop: () => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))),
  };
}

/** Starts the REST API (src/api/main.ts, as deployed) in its own process on `port`. */
async function startApiProcess(env: NodeJS.ProcessEnv, port: number) {
  let listening = false;
  const child = spawnNode(['src/api/main.ts'], { ...env, API_PORT: String(port), API_HOST: '127.0.0.1' }, (l) => {
    if (l.includes('api listening')) listening = true;
    else if (/"level":"(error|warn)"/.test(l) && !/not encrypted/.test(l)) console.log(`  api: ${l.slice(0, 300)}`);
  });
  const t0 = performance.now();
  while (!listening) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}) before it listened`);
    if (performance.now() - t0 > 60_000) throw new Error('the API did not listen within 60 s');
    await sleep(50);
  }
  return {
    pid: child.pid!,
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    stop: () => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))),
  };
}

async function main() {
  const base = loadConfig();
  const dbName = `aurora_load_${randomUUID().slice(0, 8)}`;
  const admin = new Pool({ ...base.postgres, max: 1 });
  await admin.query(`CREATE DATABASE ${dbName}`);
  const total = PER_MINUTE * MINUTES;
  const hubspot = await startHubSpotSandbox({ rateLimits: false });
  const contacts = hubspot.seed('contacts', 2_000);
  const google = await startGoogleSandbox({ users: USERS, quotas: false });
  google.calendar.seed(ANA, ANA, 500);
  google.gmail.seed(ANA, 300);
  // Fireflies with its business plan's limits on (60 requests a minute): the load must live within them.
  const ff = await startFirefliesSandbox({ keys: [{ key: FF_KEY, plan: 'business', email: ANA }] });
  const drive = driveLoad(google, DRIVE_USER, USERS.filter((u) => u !== DRIVE_USER));
  const fireflies = firefliesLoad(ff);
  const genv = googleBenchEnv(google, USERS);
  // The API, the worker and the measuring proxy each run in a process of their own, as deployed
  // (the sandboxes and this generator stand for the SaaS systems and share this one).
  const proxy = await startProxy(process.env);
  const proxyUrl = proxy.url;
  const id = randomUUID().slice(0, 8);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...genv.env,
    POSTGRES_DB: dbName,
    HUBSPOT_API_KEY: 'load-token',
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_CLIENT_SECRET: SECRET,
    // Sandbox limits off: this measures the engine, not an API budget (Fireflies excepted: see above).
    HUBSPOT_RATE_LIMIT_PER_10S: '1000000',
    HUBSPOT_SEARCH_PER_SECOND: '100000',
    GOOGLE_QUOTA_PER_USER_PER_MINUTE: '1000000',
    GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: '1000000',
    FIREFLIES_API_KEY: FF_KEY,
    FIREFLIES_API_URL: `${ff.url}/graphql`,
    FIREFLIES_PLAN: 'business',
    FIREFLIES_WEBHOOK_SECRET: FF_SECRET,
    PUSH_CHANNELS: 'true',
    PUBLIC_BASE_URL: proxyUrl,
    GMAIL_PUBSUB_TOPIC: TOPIC,
    GMAIL_PUSH_AUDIENCE: AUDIENCE,
    GMAIL_PUSH_SERVICE_ACCOUNT: PUSH_SA,
    GMAIL_PUSH_TOKEN: PUSH_TOKEN,
    SYNC_INTERVAL: '3600',
    TEMPORAL_TASK_QUEUE: `load-${id}`,
    WORKFLOW_ID_PREFIX: `load-${id}:`,
    METRICS_PORT: '0',
    LOG_LEVEL: 'info', // the worker's "worker running" and the API's "api listening" lines say they are up
  };
  const cfg = loadConfig(env);
  // The worker as `npm run worker` starts it: it starts the sync workflows and a first cycle of each.
  const worker = await startWorkerProcess(env, { name: 'worker', onLine: process.env.LOAD_TRACE ? (l) => console.log(`  worker> ${l.slice(0, 300)}`) : undefined });
  await worker.whenRunning();
  const db = createPool(cfg.postgres, 4);
  const client = await connectClient(cfg);
  const apiPort = await freePort();
  const api = await startApiProcess(env, apiPort);
  await proxy.target(apiPort);

  // The push subscription exists before users.watch names its topic (as in a real project).
  google.gmail.pubsub.configure({ topic: TOPIC, endpoint: `${proxyUrl}/api/webhooks/google`, token: PUSH_TOKEN, oidc: { serviceAccountEmail: PUSH_SA, audience: AUDIENCE } });
  // Backfill every system once (this also opens the Calendar and Drive channels and the Gmail watch).
  const targets: { system: string; connection?: string }[] = [{ system: 'hubspot' }, ...USERS.map((u) => ({ system: 'google_workspace', connection: u })), { system: 'fireflies' }];
  for (const t of targets) {
    await client.workflow.getHandle(syncWorkflowId(t.system, cfg.temporal.workflowIdPrefix, t.connection)).executeUpdate(syncNowUpdate, { args: [{}] });
  }
  hubspot.webhooks.configure({ targetUrl: `${proxyUrl}/api/webhooks/hubspot`, clientSecret: SECRET, batchWindowMs: 100 });
  ff.webhooks.configure({ url: `${proxyUrl}/api/webhooks/fireflies`, secret: FF_SECRET, version: 'v2' });
  await proxy.reset();
  ff.resetStats();

  const events = google.calendar.list(ANA, ANA).filter((e) => e.status !== 'cancelled');
  const threads = google.gmail.threads(ANA, { labelIds: ['INBOX'] });
  const wantContact = new Map<string, string>();
  const wantEvent = new Map<string, string>();
  const wantStar = new Map<string, boolean>();
  const rss = { api: [] as number[], worker: [] as number[], sandboxes: [] as number[] };
  const sampler = setInterval(() => {
    rss.api.push(rssMiB(api.pid));
    rss.worker.push(rssMiB(worker.pid));
    rss.sandboxes.push(process.memoryUsage().rss / 2 ** 20);
  }, 1_000);
  let answered = 0;
  const ffShare = FF_PER_MINUTE / PER_MINUTE;
  const others = total - Math.floor(total * ffShare);
  const sharesText = `HubSpot ${SHARE.hubspot * 100} %, Calendar ${SHARE.calendar * 100} %, Gmail ${SHARE.gmail * 100} %, Drive ${SHARE.drive * 100} % of ${others}; Fireflies ${FF_PER_MINUTE} a minute`;
  console.log(`load: ${PER_MINUTE} webhook events a minute for ${MINUTES} min (${total} events: ${sharesText}), node ${process.version}`);
  console.log(`  Google: Calendar and Gmail of ${ANA}, Drive of ${DRIVE_USER} (${USERS.length} connection${USERS.length > 1 ? 's' : ''})`);
  console.log(
    `  Fireflies' rate is its budget's: each event is one or two deliveries and each delivery at most one transcript read, so ${FF_PER_MINUTE} a minute ` +
      `cost at most ${Math.ceil(FF_PER_MINUTE * 1.5)} of the business plan's ${FF_REQUESTS_PER_MINUTE} requests a minute (enforced by the sandbox)`,
  );
  const start = performance.now();
  const made: Record<Kind, number> = { HubSpot: 0, Calendar: 0, Gmail: 0, Drive: 0, Fireflies: 0 };
  let other = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 60_000) / PER_MINUTE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    // Fireflies' events evenly spread at their own rate; the others by share, deterministic.
    const isFireflies = Math.floor((i + 1) * ffShare) > Math.floor(i * ffShare);
    const r = isFireflies ? 0 : (other++ * 0.6180339887) % 1;
    if (isFireflies) {
      fireflies.change(made.Fireflies++);
    } else if (r < SHARE.hubspot) {
      const c = contacts[i % contacts.length]!;
      const phone = `+1 555 ${String(i % 10_000).padStart(4, '0')}`;
      hubspot.userUpdate('contacts', c.id, { phone });
      wantContact.set(c.id, phone);
      made.HubSpot++;
    } else if (r < SHARE.hubspot + SHARE.calendar) {
      const e = events[i % events.length]!;
      const summary = `Load ${i}`;
      google.calendar.userPatch(ANA, ANA, e.id, { summary });
      wantEvent.set(e.id, summary);
      made.Calendar++;
    } else if (r < SHARE.hubspot + SHARE.calendar + SHARE.gmail) {
      const t = threads[i % threads.length]!;
      const star = !(wantStar.get(t.id) ?? false);
      google.gmail.modifyThread(ANA, t.id, star ? { addLabelIds: ['STARRED'] } : { removeLabelIds: ['STARRED'] });
      wantStar.set(t.id, star);
      made.Gmail++;
    } else {
      drive.change(i);
      made.Drive++;
    }
    if (i % PER_MINUTE === PER_MINUTE - 1) {
      answered = Object.values((await proxy.stats()).bySystem).reduce((a, t) => a + t.length, 0);
      const at = (xs: number[]) => (xs[xs.length - 1] ?? NaN).toFixed(0);
      console.log(`  minute ${Math.round((i + 1) / PER_MINUTE)}: ${i + 1} events made, ${answered} deliveries answered, rss API ${at(rss.api)} / worker ${at(rss.worker)} MiB`);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  const ffRequests = ff.stats.requests;

  // Nothing lost: wait until Aurora equals the sandboxes for every record changed (at most 120 s).
  const check = async () => {
    const { rows: cs } = await db.query<{ external_id: string; phone: string }>(
      `SELECT r.external_id, c.phone FROM contacts c JOIN sync_registry r ON r.local_id = c.id AND r.external_system = 'hubspot' AND r.entity_type = 'contact' WHERE r.external_id = ANY($1)`,
      [[...wantContact.keys()]],
    );
    const { rows: es } = await db.query<{ external_id: string; summary: string }>(
      `SELECT r.external_id, e.summary FROM calendar_events e JOIN sync_registry r ON r.local_id = e.id AND r.entity_type = 'calendar_event' WHERE r.external_id = ANY($1)`,
      [[...wantEvent.keys()]],
    );
    const { rows: ts } = await db.query<{ external_id: string; priority: string }>(
      `SELECT r.external_id, t.priority FROM email_threads t JOIN sync_registry r ON r.local_id = t.id AND r.entity_type = 'email' WHERE r.external_id = ANY($1)`,
      [[...wantStar.keys()]],
    );
    const got = { c: new Map(cs.map((x) => [x.external_id, x.phone])), e: new Map(es.map((x) => [x.external_id, x.summary])), t: new Map(ts.map((x) => [x.external_id, x.priority])) };
    const d = await drive.lost(db);
    return {
      HubSpot: [...wantContact].filter(([k, v]) => got.c.get(k) !== hubspot.get('contacts', k)?.properties.phone || got.c.get(k) !== v).length,
      Calendar: [...wantEvent].filter(([k, v]) => got.e.get(k) !== v).length,
      // against Gmail's own state (what the sandbox holds), and against what was asked of it
      Gmail: [...wantStar].filter(([k, v]) => {
        const starred = google.gmail.thread(ANA, k)?.messages.some((m) => m.labelIds.includes('STARRED')) ?? false;
        if (starred !== v && process.env.LOAD_TRACE) console.log(`gmail sandbox ${k}: starred=${starred}, asked ${v}`);
        if (/starred|urgent/.test(got.t.get(k) ?? '') !== starred && process.env.LOAD_TRACE) console.log(`gmail aurora ${k}: ${got.t.get(k)} vs starred=${starred}`);
        return /starred|urgent/.test(got.t.get(k) ?? '') !== starred || starred !== v;
      }).length,
      Drive: d.files,
      DrivePermissions: d.permissions,
      Fireflies: await fireflies.lost(db),
    };
  };
  const lostCount = (l: Awaited<ReturnType<typeof check>>) => Object.values(l).reduce((a, b) => a + b, 0);
  const settleStart = performance.now();
  let lost = await check();
  while (lostCount(lost) > 0 && performance.now() - settleStart < 120_000) {
    await sleep(1_000);
    lost = await check();
  }
  const settled = ((performance.now() - settleStart) / 1000).toFixed(1);
  clearInterval(sampler);
  const history: Record<string, number> = {};
  for (const t of targets) {
    const wfId = syncWorkflowId(t.system, cfg.temporal.workflowIdPrefix, t.connection);
    const d = await client.workflow.getHandle(wfId).describe();
    history[wfId] = d.historyLength;
  }

  const measured = await proxy.stats();
  const sorted = Object.values(measured.bySystem).flat().sort((a, b) => a - b);
  const perMinute = (mib: number[]) => {
    const out: string[] = [];
    for (let m = 0; m * 60 < mib.length; m++) out.push(`${Math.max(...mib.slice(m * 60, m * 60 + 60)).toFixed(0)}`);
    return out.join(' / ');
  };
  const perSystem = KINDS.map((k) => {
    const s = [...(measured.bySystem[k] ?? [])].sort((a, b) => a - b);
    return `${k} ${s.length}: ${pct(s, 50).toFixed(1)} / ${pct(s, 99).toFixed(1)} / ${(s[s.length - 1] ?? NaN).toFixed(1)}`;
  });
  const ffStats = ff.stats;
  console.log('');
  console.log('| figure | value |');
  console.log('|---|---|');
  console.log(`| events made | ${total} in ${elapsed.toFixed(0)} s (${KINDS.map((k) => `${k} ${made[k]}`).join(', ')}); ${((total / elapsed) * 60).toFixed(0)} a minute |`);
  console.log(`| the mix | ${sharesText} (Fireflies: its budget's rate, see above) |`);
  console.log(`| deliveries answered | ${sorted.length} (${Object.entries(measured.byStatus).map(([k, v]) => `${k}: ${v}`).join(', ')}) |`);
  console.log(`| API answer p50 / p99 / max | ${pct(sorted, 50).toFixed(1)} / ${pct(sorted, 99).toFixed(1)} / ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms (goal p99 < 50 ms: ${pct(sorted, 99) < 50 ? 'met' : 'NOT met'}) |`);
  console.log(`| per system: deliveries, p50 / p99 / max ms | ${perSystem.join('; ')} |`);
  console.log(
    `| lost (Aurora ≠ sandbox after ${settled} s) | HubSpot ${lost.HubSpot} of ${wantContact.size} contacts, Calendar ${lost.Calendar} of ${wantEvent.size} events, ` +
      `Gmail ${lost.Gmail} of ${wantStar.size} threads, Drive ${lost.Drive} of ${drive.files()} files (name, star) and ${lost.DrivePermissions} of their permission sets (${drive.roleChanges()} role changes), ` +
      `Fireflies ${lost.Fireflies} of ${fireflies.touched()} transcripts (${fireflies.describe()}) |`,
  );
  console.log(`| peak RSS per minute, API process | ${perMinute(rss.api)} MiB |`);
  console.log(`| peak RSS per minute, worker process | ${perMinute(rss.worker)} MiB |`);
  console.log(`| peak RSS per minute, sandboxes and generator (one process) | ${perMinute(rss.sandboxes)} MiB |`);
  const apiText = await api.metrics();
  const outcomes = ['hubspot', 'google_workspace', 'fireflies'].flatMap((system) =>
    WEBHOOK_OUTCOMES.map((outcome) => [`${system} ${outcome}`, metricSum(apiText, 'aurora_sync_webhooks_total', { system, outcome })] as const).filter(([, n]) => n > 0),
  ).map(([k, n]) => `${k}: ${n}`);
  console.log(`| webhook outcomes (the API's verdicts) | ${outcomes.join(', ')} |`);
  console.log(`| Gmail Pub/Sub (sandbox) | ${JSON.stringify(google.gmail.pubsub.stats)}; watches ${JSON.stringify(google.gmail.watches().map((w) => ({ topic: w.topicName, exp: w.expiration })))} |`);
  console.log(
    `| Fireflies budget (sandbox) | ${ffRequests} GraphQL requests during the ${elapsed.toFixed(0)} s of load (${((ffRequests / elapsed) * 60).toFixed(1)} a minute of ${FF_REQUESTS_PER_MINUTE}), ` +
      `${ffStats.requests} until settled, ${ffStats.rateLimited} refused; webhooks ${JSON.stringify(ff.webhooks.stats)} |`,
  );
  console.log(`| sync workflow history (current run) | ${Object.entries(history).map(([k, v]) => `${k.split(':').slice(1).join(':')}: ${v} events`).join(', ')} |`);

  await api.stop();
  await proxy.stop();
  await worker.stop();
  await terminateAll(client, cfg.temporal.workflowIdPrefix);
  await client.connection.close();
  await db.end();
  await hubspot.close();
  await google.close();
  await ff.close();
  genv.cleanup();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  process.exit(lostCount(lost) > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
