/**
 * The demo: full two-way HubSpot, Google Calendar, Gmail and Drive syncs (and Fireflies, pull-only) against the built-in sandboxes, no
 * credentials needed. Seeds both sides, runs the worker (metrics on :9100) and the API (:8000),
 * performs a cycle per system, makes a change on each side and syncs again, shows a change arriving
 * in real time (a signed HubSpot webhook, a Calendar push notification), prints what happened and
 * where to look, then keeps running (cycling every SYNC_INTERVAL) until Ctrl-C. `--once` exits after
 * the first cycles.
 */
import { parseArgs } from 'node:util';
import { threadLabels } from './connectors/google_workspace/gmail/mapping';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Pool } from 'pg';
import Redis from 'ioredis';
import { loadConfigOrExit } from './config';
import { checkServices, describeServiceError } from './core/preflight';
import { buildApi } from './api/server';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { newCodecKeysFile } from './core/codec';
import { join } from 'node:path';
import { startHubSpotSandbox } from './sandbox/hubspot';
import { startGoogleSandbox } from './sandbox/google';
import { startFirefliesSandbox } from './sandbox/fireflies';
import { configuredSystems } from './deps';
import { startWorker } from './worker';
import { connectClient, ensureSyncWorkflow } from './temporal';
import { syncNowUpdate, syncWorkflowId, type CycleSummary } from './workflows/definitions';
import { syncStatus } from './store/status';
import { CONNECTORS } from './connectors/registry';

const { values } = parseArgs({
  options: {
    once: { type: 'boolean' },
    seed: { type: 'string', default: '300' },
    'sandbox-port': { type: 'string', default: process.env.DEMO_SANDBOX_PORT ?? '4010' },
    'google-sandbox-port': { type: 'string', default: process.env.DEMO_GOOGLE_SANDBOX_PORT ?? '4020' },
    'fireflies-sandbox-port': { type: 'string', default: process.env.DEMO_FIREFLIES_SANDBOX_PORT ?? '4030' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('npm run demo [-- --once] [--seed N] [--sandbox-port 4010] [--google-sandbox-port 4020] [--fireflies-sandbox-port 4030]');
  process.exit(0);
}

const DEMO_DB = process.env.DEMO_POSTGRES_DB ?? 'aurora_demo';
const GOOGLE_USERS = ['ana@acme.test', 'ben@acme.test'];
const GMAIL_TOPIC = 'projects/aurora-sandbox/topics/gmail';
const GMAIL_PUSH_SA = 'gmail-push@aurora-sandbox.iam.gserviceaccount.com';
const GMAIL_PUSH_AUDIENCE = 'aurora-demo-gmail-push';
const GMAIL_PUSH_TOKEN = 'demo-gmail-push-token-0123456789';
const FIREFLIES_KEY = 'fireflies-demo-key';
const FIREFLIES_SECRET = 'demo-fireflies-secret';

/** Polls until the query returns a row (true) or 15 s have passed (false). */
async function rowWithin(db: Pool, sql: string, params: unknown[] = [], ms = 15_000): Promise<boolean> {
  const t = Date.now();
  while (Date.now() - t < ms) {
    if ((await db.query(sql, params)).rows.length) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

function line(s = '') {
  process.stdout.write(s + '\n');
}
function printCycle(title: string, summary: CycleSummary) {
  line(`\n== ${title}`);
  for (const [type, st] of Object.entries(summary.entities)) {
    const p = st.lastPull ?? {};
    const q = st.lastPush ?? {};
    line(
      `  ${type.padEnd(14)} pull: ${p.created ?? 0} created, ${p.updated ?? 0} updated, ${p.deleted ?? 0} deleted, ${p.unchanged ?? 0} unchanged, ${p.conflicts ?? 0} conflicts` +
        ` | push: ${q.created ?? 0} created, ${q.updated ?? 0} updated, ${q.deleted ?? 0} deleted, ${q.errors ?? 0} errors` +
        (st.lastError ? ` | ERROR ${st.lastError}` : ''),
    );
  }
}

async function recreateDatabase(base: ReturnType<typeof loadConfigOrExit>) {
  const admin = new Pool({ ...base.postgres, max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${DEMO_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DEMO_DB}`);
  await admin.end();
}

async function main() {
  await checkServices(loadConfigOrExit(), ['postgres', 'redis', 'temporal']);
  const seedN = Math.max(10, Number(values.seed));
  const sandbox = await startHubSpotSandbox({ port: Number(values['sandbox-port']), rateLimits: true, searchLagMs: 500 });
  sandbox.seed('companies', Math.round(seedN / 5));
  sandbox.seed('contacts', seedN);
  sandbox.seed('deals', Math.round(seedN / 3));
  // HubSpot-side associations: each contact works at a company; each deal has a company and two contacts.
  const companies = sandbox.list('companies');
  const contacts = sandbox.list('contacts');
  contacts.forEach((c, i) => sandbox.userAssociate('contacts', c.id, 'companies', companies[i % companies.length]!.id));
  sandbox.list('deals').forEach((d, i) => {
    sandbox.userAssociate('deals', d.id, 'companies', companies[i % companies.length]!.id);
    sandbox.userAssociate('deals', d.id, 'contacts', contacts[(2 * i) % contacts.length]!.id);
    sandbox.userAssociate('deals', d.id, 'contacts', contacts[(2 * i + 1) % contacts.length]!.id);
  });

  // Google: two users; Ana has a team calendar besides her primary one. A service-account key
  // with domain-wide delegation, as production has it (the sandbox issues it).
  const google = await startGoogleSandbox({ port: Number(values['google-sandbox-port']), users: GOOGLE_USERS });
  const team = google.calendar.addCalendar(GOOGLE_USERS[0]!, { summary: 'Sales team', timeZone: 'Europe/Berlin' });
  google.calendar.seed(GOOGLE_USERS[0]!, GOOGLE_USERS[0]!, Math.round(seedN / 3));
  google.calendar.seed(GOOGLE_USERS[0]!, team.id, Math.round(seedN / 6));
  google.calendar.seed(GOOGLE_USERS[1]!, GOOGLE_USERS[1]!, Math.round(seedN / 3));
  for (const u of GOOGLE_USERS) google.gmail.seed(u, Math.round(seedN / 2));
  for (const u of GOOGLE_USERS) google.drive.seed(u, Math.round(seedN / 3));
  const credentialsDir = join(process.cwd(), '.data', 'demo');
  mkdirSync(credentialsDir, { recursive: true });
  writeFileSync(join(credentialsDir, 'google-credentials.json'), JSON.stringify(google.auth.serviceAccount()), { mode: 0o600 });
  // Payloads in Temporal encrypted with a demo key, made once and kept (earlier demo histories stay readable).
  const codecKeysPath = process.env.TEMPORAL_CODEC_KEYS_PATH || join(credentialsDir, 'temporal-codec-keys.json');
  if (!existsSync(codecKeysPath)) writeFileSync(codecKeysPath, newCodecKeysFile('demo-1'), { mode: 0o600 });

  // Fireflies: one API key on the Free plan (50 requests a day), meetings with the local contacts.
  const fireflies = await startFirefliesSandbox({ port: Number(values['fireflies-sandbox-port']), keys: [{ key: FIREFLIES_KEY, plan: 'free', email: GOOGLE_USERS[0]! }] });
  fireflies.transcripts.seed(Math.round(seedN / 10), { people: Array.from({ length: 10 }, (_, i) => ({ email: `local${i + 1}@aurora.example`, name: `Local${i + 1} Person` })) });

  const base = loadConfigOrExit();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await recreateDatabase(base);
  const cfg = loadConfigOrExit({
    ...process.env,
    POSTGRES_DB: DEMO_DB,
    HUBSPOT_API_KEY: 'demo-sandbox-token',
    HUBSPOT_BASE_URL: sandbox.url,
    SYNC_INTERVAL: process.env.SYNC_INTERVAL ?? '60',
    HUBSPOT_SEARCH_LOOKBACK_MS: '5000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    API_TOKEN: process.env.API_TOKEN ?? 'demo-token',
    HUBSPOT_CLIENT_SECRET: 'demo-client-secret',
    GOOGLE_CREDENTIALS_PATH: join(credentialsDir, 'google-credentials.json'),
    TEMPORAL_CODEC_KEYS_PATH: codecKeysPath,
    GOOGLE_USERS: GOOGLE_USERS.join(','),
    GOOGLE_API_ROOT_URL: google.url,
    GOOGLE_TOKEN_URL: google.tokenUrl,
    // Calendar push channels post to the API (Google itself requires https; the sandbox takes http).
    PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 8000}`,
    PUSH_CHANNELS: 'true',
    // Gmail: users.watch publishes to this topic; the sandbox's Pub/Sub push subscription posts to
    // the API with an OIDC token and a URL token, both verified.
    GMAIL_PUBSUB_TOPIC: GMAIL_TOPIC,
    GMAIL_PUSH_AUDIENCE: GMAIL_PUSH_AUDIENCE,
    GMAIL_PUSH_SERVICE_ACCOUNT: GMAIL_PUSH_SA,
    GMAIL_PUSH_TOKEN: GMAIL_PUSH_TOKEN,
    FIREFLIES_API_KEY: FIREFLIES_KEY,
    FIREFLIES_API_URL: `${fireflies.url}/graphql`,
    FIREFLIES_WEBHOOK_SECRET: FIREFLIES_SECRET,
  });

  // A fresh demo: the previous demo's workflow (if any) belongs to a database we just dropped.
  const client = await connectClient(cfg);
  const wfId = syncWorkflowId('hubspot', cfg.temporal.workflowIdPrefix);
  const googleWfIds = GOOGLE_USERS.map((u) => syncWorkflowId('google_workspace', cfg.temporal.workflowIdPrefix, u));
  const firefliesWfId = syncWorkflowId('fireflies', cfg.temporal.workflowIdPrefix);
  for (const id of [wfId, ...googleWfIds, firefliesWfId]) await client.workflow.getHandle(id).terminate('demo restarted').catch(() => undefined);

  const worker = await startWorker(cfg, { ensureWorkflows: false });
  const db = worker.deps.db;
  const api = buildApi({ cfg, db, temporal: client, configuredSystems: configuredSystems(cfg) });
  await api.listen({ host: cfg.api.host, port: cfg.api.port });

  // Aurora-side records that HubSpot does not have yet.
  await db.query(`INSERT INTO companies (name, domain, industry, total_deal_value)
    VALUES ('Aurora Labs', 'aurora-labs.example', 'Software', 125000), ('Northwind Traders', 'northwind.example', 'Retail', 48000)`);
  await db.query(`INSERT INTO contacts (first_name, last_name, email, phone, linkedin_url, company_id)
    SELECT 'Local' || g, 'Person', 'local' || g || '@aurora.example', '+1 415 555 ' || lpad(g::text, 4, '0'),
           'https://www.linkedin.com/in/local' || g, (SELECT id FROM companies WHERE name = 'Aurora Labs')
    FROM generate_series(1, 10) g`);
  await db.query(`INSERT INTO deals (name, amount, stage, probability, close_date, company_id)
    VALUES ('Aurora Labs - platform', 125000, 'contractsent', 0.9, '2027-01-31', (SELECT id FROM companies WHERE name = 'Aurora Labs'))`);
  await db.query(`INSERT INTO deal_contacts (deal_id, contact_id)
    SELECT d.id, c.id FROM deals d, contacts c WHERE d.name = 'Aurora Labs - platform' AND c.email IN ('local1@aurora.example', 'local2@aurora.example')`);

  const sub = new Redis({ host: cfg.redis.host, port: cfg.redis.port, password: cfg.redis.password });
  let events = 0;
  const byChannel: Record<string, number> = {};
  sub.on('pmessage', (_p, channel) => {
    events++;
    byChannel[channel] = (byChannel[channel] ?? 0) + 1;
  });
  await sub.psubscribe('aurora:sync:*');

  line(`Aurora Sync demo: HubSpot sandbox at ${sandbox.url} (seeded ${seedN} contacts, ${Math.round(seedN / 5)} companies, ${Math.round(seedN / 3)} deals; rate limits on)`);
  await ensureSyncWorkflow(client, cfg, { system: 'hubspot' }, { runImmediately: false });
  const handle = client.workflow.getHandle(wfId);
  const t0 = Date.now();
  const first = await handle.executeUpdate(syncNowUpdate, { args: [{}] });
  printCycle(`cycle 1: backfill both ways (${((Date.now() - t0) / 1000).toFixed(1)} s)`, first);

  // A HubSpot user edits a contact; Aurora edits another; both flow across.
  const remote = sandbox.list('contacts')[0]!;
  sandbox.userUpdate('contacts', remote.id, { jobtitle: 'VP Sales', phone: '+1 212 555 0199' });
  const { rows } = await db.query(`SELECT c.id, c.email FROM contacts c JOIN sync_registry r ON r.local_id = c.id
    WHERE r.external_id <> $1 ORDER BY c.id LIMIT 1`, [remote.id]);
  await db.query("UPDATE contacts SET last_name = 'Edited-in-Aurora' WHERE id = $1", [rows[0].id]);
  await new Promise((r) => setTimeout(r, 700)); // let the sandbox's search index catch up
  printCycle('cycle 2: one edit on each side', await handle.executeUpdate(syncNowUpdate, { args: [{}] }));
  printCycle('cycle 3: nothing changed, nothing written', await handle.executeUpdate(syncNowUpdate, { args: [{}] }));
  await new Promise((r) => setTimeout(r, 1500));

  // Real time: the sandbox sends signed webhooks to the API, which signals the workflow.
  sandbox.webhooks.configure({
    targetUrl: `http://127.0.0.1:${cfg.api.port}/api/webhooks/hubspot`,
    signatureUri: `${cfg.webhooks.publicBaseUrl}/api/webhooks/hubspot`,
    clientSecret: 'demo-client-secret',
    batchWindowMs: 50,
  });
  const live = sandbox.list('contacts')[1]!;
  const t1 = Date.now();
  sandbox.userUpdate('contacts', live.id, { firstname: 'Realtime' });
  const arrived = await rowWithin(db, `SELECT 1 FROM contacts c JOIN sync_registry s ON s.local_id = c.id WHERE s.external_id = $1 AND c.first_name = 'Realtime'`,
      [live.id],);
  line(`\n== webhook: a HubSpot edit of contact ${live.id} ${arrived ? `was in Postgres after ${Date.now() - t1} ms (no polling cycle)` : 'did NOT arrive within 15 s'}`);
  await new Promise((r) => setTimeout(r, 500));

  // Google Calendar, per user: backfill, an edit on each side, a quiet cycle, a push notification.
  const ana = GOOGLE_USERS[0]!;
  line(`\nGoogle sandbox at ${google.url}: ${GOOGLE_USERS.join(', ')} (${google.calendar.calendars(ana).length} calendars for ${ana}); service account with domain-wide delegation`);
  const calendarCycle = async (user: string) => {
    await ensureSyncWorkflow(client, cfg, { system: 'google_workspace', connection: user }, { runImmediately: false });
    return client.workflow.getHandle(syncWorkflowId('google_workspace', cfg.temporal.workflowIdPrefix, user)).executeUpdate(syncNowUpdate, { args: [{}] });
  };
  for (const user of GOOGLE_USERS) {
    const t = Date.now();
    const summary = await calendarCycle(user);
    printCycle(`google ${user} (calendar, gmail, drive), cycle 1: backfill both ways (${((Date.now() - t) / 1000).toFixed(1)} s)`, summary);
  }
  const googleSide = google.calendar.list(ana, ana)[0]!;
  google.calendar.userPatch(ana, ana, googleSide.id, { summary: 'Renamed in Google Calendar', location: 'Room 4' });
  // Google lets only an event's organizer rename it (an invitation's rename is refused with 403 forbiddenForNonOrganizer).
  await db.query(`UPDATE calendar_events SET summary = 'Renamed in Aurora' WHERE id = (
    SELECT e.id FROM calendar_events e JOIN sync_registry r ON r.local_id = e.id WHERE e.mailbox = $1 AND r.external_id <> $2 AND e.deleted_at IS NULL
      AND e.organizer_email = $1 ORDER BY e.id LIMIT 1)`, [ana, googleSide.id]);
  await db.query(`INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, start_time_zone, end_time_zone, status, attendees)
    VALUES ($1, $2, 'Quarterly review (planned in Aurora)', now() + interval '7 days', now() + interval '7 days 1 hour', 'Europe/Berlin', 'Europe/Berlin', 'confirmed',
            '[{"email":"local1@aurora.example","responseStatus":"needsAction"}]')`, [ana, team.id]);
  printCycle(`google ${ana}, cycle 2: one edit on each side, one event created in Aurora`, await calendarCycle(ana));
  printCycle(`google ${ana}, cycle 3: nothing changed, nothing written`, await calendarCycle(ana));
  const pushed = google.calendar.list(ana, ana)[1]!;
  const t2 = Date.now();
  google.calendar.userPatch(ana, ana, pushed.id, { summary: 'Moved by a push notification' });
  const notified = await rowWithin(db, `SELECT 1 FROM calendar_events WHERE summary = 'Moved by a push notification'`);
  line(`\n== push channel: a Google Calendar edit of event ${pushed.id} ${notified ? `was in Postgres after ${Date.now() - t2} ms (the notified workflow pulled at once, not on its timer)` : 'did NOT arrive within 15 s'}`);
  await new Promise((r) => setTimeout(r, 500));

  // Gmail (same workflows: each cycle above also synced the mailboxes): an edit on each side, then a push.
  const { rows: gm } = await db.query(`SELECT (SELECT count(*) FROM email_threads WHERE mailbox = $1)::int AS t, (SELECT count(*) FROM email_messages WHERE mailbox = $1)::int AS m,
    (SELECT count(*) FROM email_labels WHERE mailbox = $1 AND label_type = 'user')::int AS l,
    (SELECT count(DISTINCT p.contact_id) FROM email_thread_participants p JOIN email_threads t ON t.id = p.thread_id WHERE t.mailbox = $1)::int AS c`, [ana]);
  line(`\nGmail ${ana}: ${gm[0].t} threads, ${gm[0].m} messages, ${gm[0].l} user labels; ${gm[0].c} Aurora contacts among the participants`);
  const inbox = google.gmail.threads(ana, { labelIds: ['INBOX'] });
  const starredInAurora = inbox[0]!;
  const labelledInGmail = inbox[1]!;
  const userLabel = google.gmail.labels(ana).find((l) => l.type === 'user')!;
  google.gmail.modifyThread(ana, labelledInGmail.id, { addLabelIds: [userLabel.id] });
  await db.query(`UPDATE email_threads SET priority = 'urgent', unread = false
    WHERE id = (SELECT local_id FROM sync_registry WHERE entity_type = 'email' AND connection = $2 AND external_id = $1)`, [starredInAurora.id, ana]);
  printCycle(`gmail ${ana}: a label added in Gmail, a thread marked urgent (STARRED + IMPORTANT) and read in Aurora`, await calendarCycle(ana));
  // A thread's labels are the union over its messages (as Gmail shows a conversation): urgent is
  // STARRED and IMPORTANT on the thread, read is no message UNREAD. A thread that was already
  // important keeps IMPORTANT on the messages that had it (only the change is sent).
  const starredThread = threadLabels(google.gmail.thread(ana, starredInAurora.id)!.messages);
  const starred = starredThread.has('STARRED') && starredThread.has('IMPORTANT') && !starredThread.has('UNREAD');
  line(`  in Gmail, thread ${starredInAurora.id} is ${starred ? 'starred, important and read' : 'NOT updated'}`);
  google.gmail.pubsub.configure({ topic: GMAIL_TOPIC, endpoint: `${cfg.webhooks.publicBaseUrl}/api/webhooks/google`, token: GMAIL_PUSH_TOKEN, oidc: { serviceAccountEmail: GMAIL_PUSH_SA, audience: GMAIL_PUSH_AUDIENCE } });
  const t4 = Date.now();
  const mail = google.gmail.deliver(ana, { from: 'Local1 Person <local1@aurora.example>', to: ana, subject: 'Demo: contract question', text: 'Can we sign this week?' });
  const mailed = await rowWithin(db, `SELECT 1 FROM email_threads t JOIN sync_registry r ON r.local_id = t.id WHERE r.external_id = $1`, [mail.threadId]);
  line(`\n== Gmail push (Pub/Sub, OIDC-verified): new mail in thread ${mail.threadId} ${mailed ? `was in Postgres after ${Date.now() - t4} ms (history read at once, not on the timer)` : 'did NOT arrive within 15 s'}`);
  const { rows: sender } = await db.query(`SELECT p.email, p.contact_id FROM email_thread_participants p JOIN sync_registry r ON r.local_id = p.thread_id
    WHERE r.external_id = $1 AND 'from' = ANY (p.roles)`, [mail.threadId]);
  if (sender[0]) line(`  its sender ${sender[0].email} is ${sender[0].contact_id ? `Aurora contact ${sender[0].contact_id} (email_thread_participants.contact_id)` : 'not an Aurora contact'}`);
  await new Promise((r) => setTimeout(r, 500));

  // Google Drive (same workflows): a rename in Drive, a star and a rename in Aurora.
  const { rows: dv } = await db.query(`SELECT (SELECT count(*) FROM drive_files WHERE mailbox = $1)::int AS f, (SELECT count(*) FROM drive_permissions WHERE mailbox = $1)::int AS p`, [ana]);
  line(`\nDrive ${ana}: ${dv[0].f} files and folders, ${dv[0].p} permissions`);
  const files = google.drive.list(ana).filter((f) => !f.trashed && !f.driveId && f.capabilities.canRename && f.mimeType !== 'application/vnd.google-apps.folder');
  const renamedInDrive = files[0]!;
  const renamedInAurora = files[1]!;
  google.drive.userUpdate(ana, renamedInDrive.id, { name: 'Renamed in Drive' });
  await db.query(`UPDATE drive_files SET name = 'Renamed in Aurora', starred = true
    WHERE id = (SELECT local_id FROM sync_registry WHERE entity_type = 'drive_file' AND connection = $2 AND external_id = $1)`, [renamedInAurora.id, ana]);
  printCycle(`drive ${ana}: a rename in Drive, a rename and a star in Aurora`, await calendarCycle(ana));
  const driveOk = google.drive.get(ana, renamedInAurora.id)?.name === 'Renamed in Aurora' &&
    (await db.query(`SELECT 1 FROM drive_files WHERE mailbox = $1 AND name = 'Renamed in Drive'`, [ana])).rows.length === 1;
  line(`  ${driveOk ? 'both renames are on both sides' : 'the renames did NOT reach both sides'}`);

  // Fireflies (pull-only): a backfill under the daily budget, then a signed webhook bringing one transcript.
  line(`\nFireflies sandbox at ${fireflies.url}: ${fireflies.transcripts.list().length} meetings, key on the Free plan (50 requests a day)`);
  await ensureSyncWorkflow(client, cfg, { system: 'fireflies' }, { runImmediately: false });
  const ffCycle = () => client.workflow.getHandle(firefliesWfId).executeUpdate(syncNowUpdate, { args: [{}] });
  printCycle('Fireflies: backfill (transcripts with sentences and summaries, then their action items)', await ffCycle());
  const { rows: ffCounts } = await db.query(`SELECT (SELECT count(*) FROM transcripts)::int AS t, (SELECT count(*) FROM transcript_sentences)::int AS s,
    (SELECT count(*) FROM action_items)::int AS a, (SELECT count(DISTINCT contact_id) FROM transcript_attendees WHERE contact_id IS NOT NULL)::int AS c`);
  line(`  ${ffCounts[0].t} transcripts, ${ffCounts[0].s} sentences, ${ffCounts[0].a} action items; ${ffCounts[0].c} contacts among the attendees; ${fireflies.stats.requests} of the day's 50 requests used`);
  fireflies.webhooks.configure({ url: `${cfg.webhooks.publicBaseUrl}/api/webhooks/fireflies`, secret: FIREFLIES_SECRET, version: 'v2' });
  const t3 = Date.now();
  const meeting = fireflies.transcripts.add({ title: 'Demo: pricing call with Northwind', date: Date.now() - 3_600_000 }, { notify: true });
  const transcribed = await rowWithin(db, `SELECT 1 FROM action_items i JOIN transcripts t ON t.id = i.transcript_id WHERE t.title = $1`, [meeting.title]);
  line(`\n== Fireflies webhook (v2, signed): meeting ${meeting.id} ${transcribed ? `and its action items were in Postgres after ${Date.now() - t3} ms (exactly that transcript fetched)` : 'did NOT arrive within 15 s'}`);
  await new Promise((r) => setTimeout(r, 500));

  line(`\n== Events on Redis: ${events} (${Object.entries(byChannel).map(([c, n]) => `${c}=${n}`).join(', ')})`);
  line('== Sync status (GET /api/sync/status):');
  line(JSON.stringify(await syncStatus(db, CONNECTORS), null, 2));
  line(`\nWhere to look:
  Temporal Web UI   http://localhost:8233/namespaces/${cfg.temporal.namespace}/workflows/${encodeURIComponent(wfId)}
                    http://localhost:8233/namespaces/${cfg.temporal.namespace}/workflows/${encodeURIComponent(googleWfIds[0]!)}
  REST API          curl -s localhost:${cfg.api.port}/api/sync/status -H "authorization: Bearer ${cfg.apiToken === 'demo-token' ? 'demo-token' : '$API_TOKEN'}"
                    curl -s -XPOST localhost:${cfg.api.port}/api/sync/trigger -H 'content-type: application/json' -H 'authorization: Bearer ${cfg.apiToken === 'demo-token' ? 'demo-token' : '$API_TOKEN'}' -d '{"system":"hubspot","entity_type":"contacts"}'
  Conflicts         http://localhost:${cfg.api.port}/conflicts   (review page; API token ${cfg.apiToken === 'demo-token' ? 'demo-token' : '$API_TOKEN'})
  Temporal CLI      .tools/venv/bin/temporal workflow signal --workflow-id ${wfId} --name trigger
                    .tools/venv/bin/temporal workflow signal --workflow-id ${googleWfIds[0]} --name trigger
  CLI               POSTGRES_DB=${DEMO_DB} TEMPORAL_CODEC_KEYS_PATH=${codecKeysPath} npm run cli -- status
  Encrypted payloads  the Web UI shows ciphertext (AES-256-GCM, key ${cfg.codec.keys?.currentKeyId} in ${codecKeysPath}); to read them there:
                    TEMPORAL_UI_CODEC_ENDPOINT=http://localhost:${cfg.api.port}/codec bash scripts/services.sh restart-temporal
                    sign in at http://localhost:${cfg.api.port}/codec/login, then in the UI's codec settings turn on "Include cross-origin credentials"
                    .tools/venv/bin/temporal workflow show -w ${wfId} --codec-endpoint http://localhost:${cfg.api.port}/codec --codec-auth 'Bearer ${cfg.apiToken === 'demo-token' ? 'demo-token' : '$API_TOKEN'}'
  Metrics           curl -s localhost:${cfg.metricsPort}/metrics | grep aurora_sync_
  Registry (psql)   PGPASSWORD=${cfg.postgres.password === 'aurora_dev_password' ? 'aurora_dev_password' : '"$POSTGRES_PASSWORD"'} psql -h ${cfg.postgres.host} -p ${cfg.postgres.port} -U ${cfg.postgres.user} -d ${DEMO_DB} -c "SELECT external_system, entity_type, sync_status, COUNT(*) FROM sync_registry GROUP BY 1,2,3;"
  Act as a Google user:   curl -s -XPATCH '${google.url}_sandbox/google/calendar/${ana}/calendars/${ana}/events/${googleSide.id}' -H 'content-type: application/json' -d '{"summary":"Edited again"}'
  Act as Fireflies:       curl -s -XPOST ${fireflies.url}/_sandbox/fireflies/transcripts -H 'content-type: application/json' -d '{"title":"Added in Fireflies"}'
  Act as a HubSpot user:  curl -s -XPATCH ${sandbox.url}/_sandbox/objects/contacts/${remote.id} -H 'content-type: application/json' -d '{"properties":{"firstname":"Grace"}}'`);

  const shutdown = async (code: number) => {
    await api.close();
    await sub.quit().catch(() => undefined);
    await worker.stop();
    for (const id of [wfId, ...googleWfIds, firefliesWfId]) await client.workflow.getHandle(id).terminate('demo stopped').catch(() => undefined);
    await client.connection.close();
    await sandbox.close();
    await google.close();
    await fireflies.close();
    process.exit(code);
  };
  if (values.once) {
    const status = await syncStatus(db, CONNECTORS);
    const failed = !arrived || !notified || !mailed || !starred || !driveOk || !transcribed || [status.hubspot!, status.google_workspace!, status.fireflies!].some((sys) => Object.values(sys).some((s) => s.status === 'error'));
    line(failed ? '\ndemo: FAILED (see errors above)' : '\ndemo: OK (--once: stopping)');
    await shutdown(failed ? 1 : 0);
    return;
  }
  line(`\nRunning: the workflow syncs every ${cfg.syncIntervalSeconds} s (or on trigger). Ctrl-C to stop.`);
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

main().catch((err) => {
  const known = describeServiceError(err);
  if (known) {
    console.error(known);
    process.exit(1);
  }
  console.error(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
