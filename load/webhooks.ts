/**
 * Load: webhooks at a sustained rate across systems (default 10,000 events a minute for 5 minutes),
 * end to end through the real API, Temporal, worker, Postgres and Redis, against the sandboxes:
 *   - HubSpot: contact edits in the sandbox → its signed webhook batches (`contact.propertyChange`);
 *   - Google Calendar: event edits → push-channel notifications (X-Goog-* headers, channel token);
 *   - Gmail: label changes → Pub/Sub pushes (OIDC token and URL token) after users.watch.
 * Every delivery passes through a measuring proxy in front of the API (the sandboxes post to it,
 * as they would to a load balancer): it times each answer. Prints: events made, deliveries and
 * answers by status, API answer p50/p99/max (goal p99 < 50 ms), whether the final state equals the
 * sandboxes' record by record (nothing lost), RSS of the process running the API and the worker
 * per minute (flat?), and the sync workflows' history length (bounded by continue-as-new).
 * Usage: bash scripts/run.sh tsx load/webhooks.ts [--per-minute 10000] [--minutes 5]
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { buildApi } from '../src/api/server';
import { startWorker } from '../src/worker';
import { connectClient, ensureSyncWorkflow } from '../src/temporal';
import { startHubSpotSandbox } from '../src/sandbox/hubspot';
import { startGoogleSandbox } from '../src/sandbox/google';
import { syncNowUpdate, syncWorkflowId } from '../src/workflows/definitions';
import { configuredSystems } from '../src/deps';
import { googleBenchEnv } from '../bench/lib';
import { createMetrics } from '../src/metrics';

const { values } = parseArgs({ options: { 'per-minute': { type: 'string', default: '10000' }, minutes: { type: 'string', default: '5' } } });
const PER_MINUTE = Number(values['per-minute']);
const MINUTES = Number(values.minutes);
const ANA = 'ana@acme.test';
const SECRET = 'load-client-secret';
const TOPIC = 'projects/aurora-sandbox/topics/gmail'; // the sandbox's project: users.watch refuses another project's topic
const PUSH_TOKEN = 'load-push-token-0123456789abcdef';
const PUSH_SA = 'gmail-push@aurora-sandbox.iam.gserviceaccount.com';
const AUDIENCE = 'https://aurora.example/api/webhooks/google';

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pass-through HTTP proxy that times every answer of the API. */
function measuringProxy(target: () => number) {
  const times: number[] = [];
  const byStatus: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    const up = request({ host: '127.0.0.1', port: target(), path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => {
        times.push(performance.now() - t0);
        const key = `${req.url?.split('?')[0]} ${answer.statusCode}`;
        byStatus[key] = (byStatus[key] ?? 0) + 1;
      });
    });
    up.on('error', () => {
      byStatus['proxy error'] = (byStatus['proxy error'] ?? 0) + 1;
      res.writeHead(502).end();
    });
    req.pipe(up);
  });
  return { server, times, byStatus };
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const base = loadConfig();
  const dbName = `aurora_load_${randomUUID().slice(0, 8)}`;
  const admin = new Pool({ ...base.postgres, max: 1 });
  await admin.query(`CREATE DATABASE ${dbName}`);
  const total = PER_MINUTE * MINUTES;
  // The mix: HubSpot 70 %, Calendar 20 %, Gmail 10 % of the events.
  const share = { hubspot: 0.7, calendar: 0.2, gmail: 0.1 };
  const hubspot = await startHubSpotSandbox({ rateLimits: false });
  const contacts = hubspot.seed('contacts', 2_000);
  const google = await startGoogleSandbox({ users: [ANA], quotas: false });
  google.calendar.seed(ANA, ANA, 500);
  google.gmail.seed(ANA, 300);
  const genv = googleBenchEnv(google, [ANA]);
  let apiPort = 0;
  const proxy = measuringProxy(() => apiPort);
  await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', () => r()));
  const proxyUrl = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  const id = randomUUID().slice(0, 8);
  const cfg = loadConfig({
    ...process.env,
    ...genv.env,
    POSTGRES_DB: dbName,
    HUBSPOT_API_KEY: 'load-token',
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_CLIENT_SECRET: SECRET,
    // Sandbox limits off: this measures the engine, not an API budget.
    HUBSPOT_RATE_LIMIT_PER_10S: '1000000',
    HUBSPOT_SEARCH_PER_SECOND: '100000',
    GOOGLE_QUOTA_PER_USER_PER_MINUTE: '1000000',
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
    API_PORT: '0',
    LOG_LEVEL: 'error',
  });
  const worker = await startWorker(cfg, { ensureWorkflows: false, serveMetrics: false, relayIntervalMs: 100 });
  const db = worker.deps.db;
  const client = await connectClient(cfg);
  const apiMetrics = createMetrics();
  const api = buildApi({ cfg, db, temporal: client, metrics: apiMetrics, configuredSystems: configuredSystems(cfg) });
  await api.listen({ host: '127.0.0.1', port: 0 });
  apiPort = (api.server.address() as { port: number }).port;

  // The push subscription exists before users.watch names its topic (as in a real project).
  google.gmail.pubsub.configure({ topic: TOPIC, endpoint: `${proxyUrl}/api/webhooks/google`, token: PUSH_TOKEN, oidc: { serviceAccountEmail: PUSH_SA, audience: AUDIENCE } });
  // Backfill both systems once (this also opens the Calendar channel and the Gmail watch).
  const targets = [{ system: 'hubspot' }, { system: 'google_workspace', connection: ANA }];
  for (const t of targets) {
    await ensureSyncWorkflow(client, cfg, t, { runImmediately: false });
    await client.workflow.getHandle(syncWorkflowId(t.system, cfg.temporal.workflowIdPrefix, t.connection)).executeUpdate(syncNowUpdate, { args: [{}] });
  }
  hubspot.webhooks.configure({ targetUrl: `${proxyUrl}/api/webhooks/hubspot`, clientSecret: SECRET, batchWindowMs: 100 });
  proxy.times.length = 0;
  for (const k of Object.keys(proxy.byStatus)) delete proxy.byStatus[k];

  const events = google.calendar.list(ANA, ANA).filter((e) => e.status !== 'cancelled');
  const threads = google.gmail.threads(ANA, { labelIds: ['INBOX'] });
  const wantContact = new Map<string, string>();
  const wantEvent = new Map<string, string>();
  const wantStar = new Map<string, boolean>();
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 1_000);
  console.log(`load: ${PER_MINUTE} webhook events a minute for ${MINUTES} min (${total} events: HubSpot ${share.hubspot * 100} %, Calendar ${share.calendar * 100} %, Gmail ${share.gmail * 100} %), node ${process.version}`);
  const start = performance.now();
  const made = { hubspot: 0, calendar: 0, gmail: 0 };
  for (let i = 0; i < total; i++) {
    const due = start + (i * 60_000) / PER_MINUTE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const r = (i * 0.6180339887) % 1; // evenly spread, deterministic
    if (r < share.hubspot) {
      const c = contacts[i % contacts.length]!;
      const phone = `+1 555 ${String(i % 10_000).padStart(4, '0')}`;
      hubspot.userUpdate('contacts', c.id, { phone });
      wantContact.set(c.id, phone);
      made.hubspot++;
    } else if (r < share.hubspot + share.calendar) {
      const e = events[i % events.length]!;
      const summary = `Load ${i}`;
      google.calendar.userPatch(ANA, ANA, e.id, { summary });
      wantEvent.set(e.id, summary);
      made.calendar++;
    } else {
      const t = threads[i % threads.length]!;
      const star = !(wantStar.get(t.id) ?? false);
      google.gmail.modifyThread(ANA, t.id, star ? { addLabelIds: ['STARRED'] } : { removeLabelIds: ['STARRED'] });
      wantStar.set(t.id, star);
      made.gmail++;
    }
    if (i % PER_MINUTE === PER_MINUTE - 1) console.log(`  minute ${Math.round((i + 1) / PER_MINUTE)}: ${i + 1} events made, ${proxy.times.length} deliveries answered, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  }
  const elapsed = (performance.now() - start) / 1000;

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
    const lost = {
      hubspot: [...wantContact].filter(([k, v]) => got.c.get(k) !== hubspot.get('contacts', k)?.properties.phone || got.c.get(k) !== v).length,
      calendar: [...wantEvent].filter(([k, v]) => got.e.get(k) !== v).length,
      // against Gmail's own state (what the sandbox holds), and against what was asked of it
      gmail: [...wantStar].filter(([k, v]) => {
        const starred = google.gmail.thread(ANA, k)?.messages.some((m) => m.labelIds.includes('STARRED')) ?? false;
        if (starred !== v && process.env.LOAD_TRACE) console.log(`gmail sandbox ${k}: starred=${starred}, asked ${v}`);
        if (/starred|urgent/.test(got.t.get(k) ?? '') !== starred && process.env.LOAD_TRACE) console.log(`gmail aurora ${k}: ${got.t.get(k)} vs starred=${starred}`);
        return /starred|urgent/.test(got.t.get(k) ?? '') !== starred || starred !== v;
      }).length,
    };
    return lost;
  };
  const settleStart = performance.now();
  let lost = await check();
  while (lost.hubspot + lost.calendar + lost.gmail > 0 && performance.now() - settleStart < 120_000) {
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

  const sorted = [...proxy.times].sort((a, b) => a - b);
  const perMinute = (ms: number[]) => {
    const out: string[] = [];
    for (let m = 0; m * 60 < ms.length; m++) out.push(`${(Math.max(...ms.slice(m * 60, m * 60 + 60)) / 2 ** 20).toFixed(0)}`);
    return out.join(' / ');
  };
  console.log('');
  console.log('| figure | value |');
  console.log('|---|---|');
  console.log(`| events made | ${total} in ${elapsed.toFixed(0)} s (HubSpot ${made.hubspot}, Calendar ${made.calendar}, Gmail ${made.gmail}); ${((total / elapsed) * 60).toFixed(0)} a minute |`);
  console.log(`| deliveries answered | ${sorted.length} (${Object.entries(proxy.byStatus).map(([k, v]) => `${k}: ${v}`).join(', ')}) |`);
  console.log(`| API answer p50 / p99 / max | ${pct(sorted, 50).toFixed(1)} / ${pct(sorted, 99).toFixed(1)} / ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms (goal p99 < 50 ms: ${pct(sorted, 99) < 50 ? 'met' : 'NOT met'}) |`);
  console.log(`| lost (Aurora ≠ sandbox after ${settled} s) | HubSpot ${lost.hubspot} of ${wantContact.size} contacts, Calendar ${lost.calendar} of ${wantEvent.size} events, Gmail ${lost.gmail} of ${wantStar.size} threads |`);
  console.log(`| peak RSS per minute (API + worker, one process) | ${perMinute(rss)} MiB |`);
  const outcomes = (await apiMetrics.webhooks.get()).values.filter((v) => v.value > 0).map((v) => `${v.labels.system} ${v.labels.outcome}: ${v.value}`);
  console.log(`| webhook outcomes (the API's verdicts) | ${outcomes.join(', ')} |`);
  console.log(`| Gmail Pub/Sub (sandbox) | ${JSON.stringify(google.gmail.pubsub.stats)}; watches ${JSON.stringify(google.gmail.watches().map((w) => ({ topic: w.topicName, exp: w.expiration })))} |`);
  console.log(`| sync workflow history (current run) | ${Object.entries(history).map(([k, v]) => `${k.split(':').slice(1).join(':')}: ${v} events`).join(', ')} |`);

  await api.close();
  proxy.server.close();
  for (const t of targets) await client.workflow.getHandle(syncWorkflowId(t.system, cfg.temporal.workflowIdPrefix, t.connection)).terminate('load done').catch(() => undefined);
  await client.connection.close();
  await worker.stop();
  await hubspot.close();
  await google.close();
  genv.cleanup();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  process.exit(lost.hubspot + lost.calendar + lost.gmail > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
