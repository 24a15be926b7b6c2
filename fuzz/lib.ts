/**
 * The hostile-input fuzzer (issue 13): a real API (buildApi on a port) in front of a real worker,
 * Temporal dev server, Postgres, Redis and the three sandboxes, sent a seeded, reproducible stream
 * of generated requests to every webhook and REST endpoint — forged, missing and stale signatures,
 * replays, wrong content types, invalid and deeply nested JSON, huge bodies, odd encodings,
 * unknown systems, ids shaped like SQL or paths, invalid resolutions and triggers, wrong tokens —
 * with a known number of valid deliveries and triggers mixed in.
 *
 * It checks what must hold whatever arrives: nothing unverified starts or signals a workflow (every
 * workflow execution and every signal in Temporal is counted before and after), no row changes
 * (checksums of the registry, the Aurora tables, the outbox and the webhook event ids; the valid
 * deliveries' own event ids accounted for), no 5xx, no crash, memory flat; and that each valid
 * delivery was accepted and signalled exactly once. `runFuzz` returns the figures; fuzz/run.ts
 * prints them, test/fuzz.test.ts asserts them on a short run.
 */
import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { GoogleKeys, registerCertRoutes } from '../src/sandbox/google/gmail/pubsub';
import { definitionOf } from '../src/connectors/registry';
import { ensureSchedules } from '../src/schedules';
import { conflictWorkflowId, reconcileScheduleId, statusQuery, syncWorkflowId, type SyncStatus } from '../src/workflows/definitions';
import { harness, listeningApi, waitFor, type Harness } from '../test/helpers';

export interface FuzzOptions {
  /** generated requests (valid ones included); default 1,200 */
  requests?: number;
  /** the PRNG seed: the same seed sends the same requests */
  seed?: number;
  /** progress lines (default: none) */
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  /** `${group}/${kind}` → status code → count */
  outcomes: Record<string, Record<string, number>>;
  /** status code → count, over everything */
  byStatus: Record<string, number>;
  /** requests answered with a status their case does not allow (e.g. a forged delivery answered 200) */
  unexpected: { case: string; status: number; body: string }[];
  serverErrors: { case: string; status: number; body: string }[];
  valid: { sent: number; accepted: number; expectedSignals: number };
  replays: { sent: number; answered2xx: number };
  temporal: {
    workflowIdsBefore: number;
    workflowIdsAfter: number;
    newWorkflowIds: string[];
    runsBefore: number;
    runsAfter: number;
    /** signal name → count, the delta over the run */
    signals: Record<string, number>;
    signalsTotal: number;
    /** signals on conflict workflows (the fuzzer's requests must not reach them) */
    conflictSignals: number;
    updatesAccepted: number;
    /** schedules whose state (paused, note, actions taken, spec) differs */
    schedulesChanged: string[];
    schedules: number;
  };
  tables: {
    checked: string[];
    /** tables whose checksum differs (webhook_events: beyond the valid deliveries' own ids) */
    changed: string[];
    /** webhook event ids recorded during the run, and how many of them the valid deliveries account for */
    newEventIds: number;
    expectedEventIds: number;
  };
  /** after a full GC, from after the warm-up to the end of the requests */
  memory: { rssBeforeMiB: number; rssAfterMiB: number; heapBeforeMiB: number; heapAfterMiB: number; growthMiB: number; heapGrowthMiB: number };
  crashed: boolean;
  seconds: number;
}

// ------------------------------------------------------------------ deterministic randomness
function prng(seed: number) {
  let a = seed >>> 0 || 1;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
    hex: (n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join(''),
  };
}
type Rng = ReturnType<typeof prng>;

// ------------------------------------------------------------------ hostile values
const SQLISH = ["1' OR '1'='1", "'; DROP TABLE sync_registry; --", '1; SELECT pg_sleep(10)', "\\'; TRUNCATE contacts; --", '%27%20OR%201=1--', '$1', 'NULL'];
const PATHISH = ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '/etc/shadow', '....//....//', '%2e%2e%2f', 'C:\\Windows\\win.ini', '~/.ssh/id_rsa'];
const ODD = ['', ' ', '\u0000', '\u202e\u0644', '😀'.repeat(50), 'ä'.repeat(300), 'a'.repeat(5000), '\ud800', '<script>alert(1)</script>', '{{7*7}}', '${jndi:ldap://x}', '__proto__', 'constructor', 'toString'];
const HOSTILE = [...SQLISH, ...PATHISH, ...ODD];
const UNKNOWN_SYSTEMS = ['salesforce', 'HUBSPOT', 'hubspot ', 'google', 'google-workspace', 'fire flies', '', '__proto__', 'constructor', "hubspot'--", '../hubspot'];

/** a JSON-looking body whose bytes are not UTF-8: a lone continuation, 0xFF 0xFE, an encoded surrogate */
const INVALID_UTF8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x22, 0x7d]);

/** a well-formed JSON object that is neither a valid trigger nor a valid resolution (the hostile part is how it is sent) */
const NOT_A_TRIGGER = '{"system":"salesforce","choice":"nope"}';

/** percent-encoding; a lone surrogate becomes the bytes of one (invalid UTF-8 in the path) */
function pct(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return v.split('').map((c) => { try { return encodeURIComponent(c); } catch { return '%ED%A0%80'; } }).join('');
  }
}

function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** bodies a JSON endpoint must refuse or survive */
function hostileBody(r: Rng, maxBytes: number): { kind: string; body: Buffer | string; contentType?: string } {
  switch (r.int(17)) {
    case 0: return { kind: 'invalid_json', body: r.pick(['{', '{"a":}', '[1,2', 'nul', '{"a":1}}', "{'a':1}", '{"a":NaN}', '\u0000{}']) };
    case 1: return { kind: 'deep_array', body: nested(r.pick([1_000, 10_000, 100_000]), 'array') };
    case 2: return { kind: 'deep_object', body: nested(r.pick([1_000, 10_000, 50_000]), 'object') };
    case 3: return { kind: 'deep_proto', body: '{"constructor":{"prototype":'.repeat(2_000) + '1' + '}}'.repeat(2_000) };
    case 4: return { kind: 'proto_pollution', body: r.pick(['{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"x":1}}}', '[{"__proto__":null}]']) };
    case 5: return { kind: 'huge', body: Buffer.alloc(maxBytes + 1 + r.int(1000), 0x61) };
    case 6: return { kind: 'near_limit', body: JSON.stringify({ pad: 'x'.repeat(Math.max(0, maxBytes - 64 - r.int(200))) }) };
    case 7: return { kind: 'invalid_utf8', body: INVALID_UTF8 };
    case 8: return { kind: 'utf16_bom', body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(NOT_A_TRIGGER, 'utf16le')]) };
    case 9: return { kind: 'utf8_bom', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(NOT_A_TRIGGER)]) };
    case 10: return { kind: 'nul_bytes', body: `{"system":"hub\u0000spot","entity_type":"\u0000","x":"${'\u0000'.repeat(20)}"}` };
    case 11: return { kind: 'empty', body: '' };
    case 12: return { kind: 'wrong_content_type', body: NOT_A_TRIGGER, contentType: r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'image/png']) };
    case 13: return { kind: 'form_encoded', body: 'system=salesforce&entity_type=contacts&choice=nope', contentType: 'application/x-www-form-urlencoded' };
    case 14: return { kind: 'json_scalar', body: r.pick(['1', 'true', 'null', '"hubspot"', '[]', '-1e400', '1e309']) };
    case 15: return { kind: 'bad_charset', body: NOT_A_TRIGGER, contentType: r.pick(['application/json; charset=utf-16', 'application/json; charset=ebcdic', 'application/json;;;', 'application/jsonx']) };
    default: return { kind: 'hostile_values', body: JSON.stringify({ system: r.pick(HOSTILE), entity_type: r.pick(HOSTILE), connection: r.pick(HOSTILE), choice: r.pick(HOSTILE), resolvedBy: r.pick(HOSTILE) }) };
  }
}

// ------------------------------------------------------------------ requests
interface Req {
  group: string;
  kind: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** raw bytes over a socket instead (request line and headers included) */
  raw?: Buffer;
  /** statuses this case may be answered with */
  accept: (status: number) => boolean;
  /** a delivery or trigger that is genuine: how many signals it must cause */
  valid?: { signals: number; eventIds?: string[] };
  replay?: boolean;
}

const is = (...codes: number[]) => (s: number) => codes.includes(s);
const anyClientError = (s: number) => s >= 400 && s < 500;

interface Answer {
  status: number;
  body: string;
}

async function send(base: string, r: Req): Promise<Answer> {
  if (r.raw) return sendRaw(base, r.raw);
  const res = await fetch(base + r.path, {
    method: r.method,
    headers: r.headers,
    body: r.body === undefined || r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body,
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, body: text.slice(0, 300) };
}

/** Bytes as they are (a malformed request line, odd header bytes, broken chunking): the status line of the answer. */
function sendRaw(base: string, bytes: Buffer): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let timer = setTimeout(() => sock.destroy(), 5_000);
    sock.on('data', (d) => {
      chunks.push(d);
      // the status line is what counts; the rest of a kept-alive answer is not waited for
      clearTimeout(timer);
      timer = setTimeout(() => sock.destroy(), 300);
    });
    sock.on('error', (err) => (chunks.length ? undefined : reject(err)));
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, body: text.slice(0, 300) });
    });
    sock.write(bytes);
  });
}

// ------------------------------------------------------------------ the installation under test
const ANA = 'ana@acme.test';
const HUBSPOT_SECRET = 'fuzz-hubspot-client-secret';
const FIREFLIES_SECRET = 'fuzz-fireflies-secret-0123';
const GMAIL_TOKEN = 'fuzz-gmail-push-token-0123456789';
const GMAIL_AUDIENCE = 'https://aurora.example/api/webhooks/google';
const GMAIL_SA = 'gmail-push@aurora-sandbox.iam.gserviceaccount.com';
const API_TOKEN = 'fuzz-api-token';
const READ_TOKEN = 'fuzz-read-token';

interface Installation {
  h: Harness;
  app: FastifyInstance;
  base: string;
  keys: GoogleKeys;
  certs: FastifyInstance;
  contacts: string[];
  conflictId: string;
  transcripts: string[];
  close(): Promise<void>;
}

async function install(log: (l: string) => void): Promise<Installation> {
  // Google's ID-token keys, served as Google serves them: valid Gmail pushes are signed with them.
  const keys = new GoogleKeys();
  const certs = Fastify({ logger: false });
  registerCertRoutes(certs, keys);
  await certs.listen({ host: '127.0.0.1', port: 0 });
  const certsUrl = `http://127.0.0.1:${(certs.server.address() as { port: number }).port}/oauth2/v1/certs`;
  let h: Harness | undefined;
  try {
    h = await harness({
      google: { users: [ANA] },
      fireflies: { plan: 'business' },
      worker: false,
      env: {
        PUSH_CHANNELS: 'true',
        HUBSPOT_CLIENT_SECRET: HUBSPOT_SECRET,
        FIREFLIES_WEBHOOK_SECRET: FIREFLIES_SECRET,
        GMAIL_PUSH_TOKEN: GMAIL_TOKEN,
        GMAIL_PUSH_AUDIENCE: GMAIL_AUDIENCE,
        GMAIL_PUSH_SERVICE_ACCOUNT: GMAIL_SA,
        GOOGLE_CERTS_URL: certsUrl,
        API_TOKEN,
        API_READ_TOKEN: READ_TOKEN,
        CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual',
      },
    });
    const { app, url } = await listeningApi(h, ['hubspot', 'google_workspace', 'fireflies']);
    await h.startWorker();
    // Something on every side, synced; one manual conflict open; push channels open; the schedules made.
    const contacts = h.sandbox.seed('contacts', 6).map((c) => c.id);
    h.google!.calendar.seed(ANA, ANA, 4);
    h.google!.gmail.seed(ANA, 4);
    h.google!.drive.seed(ANA, 3);
    h.fireflies!.transcripts.seed(3, { pendingShare: 0 });
    await h.cycle();
    await h.cycleOf({ system: 'google_workspace', connection: ANA });
    await h.cycleOf({ system: 'fireflies' });
    const { rows } = await h.db.query('SELECT local_id FROM sync_registry WHERE external_id = $1 AND entity_type = $2', [contacts[0], 'contact']);
    const localId = rows[0].local_id as string;
    await h.db.query(`UPDATE contacts SET first_name = 'Fuzz-Aurora' WHERE id = $1`, [localId]);
    await new Promise((r) => setTimeout(r, 25));
    h.sandbox.userUpdate('contacts', contacts[0]!, { firstname: 'Fuzz-HubSpot' });
    await h.cycle('contact');
    const conflictWf = conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix);
    await waitFor('the conflict workflow', async () => (await h!.client.workflow.getHandle(conflictWf).describe()).status.name === 'RUNNING' || undefined, 20_000);
    await ensureSchedules(h.client, h.cfg);
    if (!h.google!.channels.active().length) throw new Error('no push channel was opened (the fuzzer needs one for valid channel notifications)');
    log(`installation: ${contacts.length} HubSpot contacts, a conflict (${localId}), ${h.google!.channels.active().length} Google push channels, ${h.fireflies!.transcripts.list().length} Fireflies transcripts`);
    const hh = h;
    return {
      h,
      app,
      base: url,
      keys,
      certs,
      contacts: contacts.slice(1),
      conflictId: `conflict:hubspot:contact:${localId}`,
      transcripts: h.fireflies!.transcripts.list().map((t) => t.id),
      close: async () => {
        await app.close();
        await hh.close();
        await certs.close();
      },
    };
  } catch (err) {
    await h?.close().catch(() => undefined);
    await certs.close();
    throw err;
  }
}

// ------------------------------------------------------------------ what must not change
/** md5 of every row of each table (webhook_events without the given ids), by table */
async function checksums(db: Pool, tables: string[], excludeEventIds: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const where = t === 'webhook_events' ? `WHERE NOT (system || ':' || event_id = ANY($1::text[]))` : '';
    const sql = `SELECT count(*)::text || '/' || coalesce(md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))), '-') AS sum FROM ${t} x ${where}`;
    const { rows } = await db.query<{ sum: string }>(sql, t === 'webhook_events' ? [excludeEventIds] : []);
    out[t] = rows[0]!.sum;
  }
  return out;
}

/** The registry, the Aurora tables, the outbox and the webhook event ids (not cursors, channels' last message, or reconciliation runs). */
async function guardedTables(db: Pool): Promise<string[]> {
  const { rows } = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const bookkeeping = new Set(['sync_state', 'sync_channels', 'sync_reconciliations', 'schema_migrations']); // sync_channels: see channelState
  return rows.map((r) => r.t).filter((t) => !bookkeeping.has(t) && !t.startsWith('pg_'));
}

/** each push channel: its row without last_message_at, and last_message_at (touched by a verified notification only) */
async function channelState(db: Pool): Promise<Map<string, { row: string; last: string | null }>> {
  const { rows } = await db.query<{ channel_id: string; row: string; last: string | null }>(
    `SELECT channel_id, md5((to_jsonb(c) - 'last_message_at')::text) AS row, last_message_at::text AS last FROM sync_channels c`,
  );
  return new Map(rows.map((r) => [r.channel_id, { row: r.row, last: r.last }]));
}

interface TemporalCounts {
  /** each of the harness's schedules: paused, note, actions taken */
  schedules: Record<string, string>;
  ids: Set<string>;
  runs: number;
  signals: Record<string, number>;
  conflictSignals: number;
  updatesAccepted: number;
}

async function temporalCounts(h: Harness): Promise<TemporalCounts> {
  const prefix = h.cfg.temporal.workflowIdPrefix;
  const ids = new Set<string>();
  const signals: Record<string, number> = {};
  let runs = 0;
  let conflictSignals = 0;
  let updatesAccepted = 0;
  const schedules: Record<string, string> = {};
  for await (const s of h.client.schedule.list()) {
    if (!s.scheduleId.startsWith(prefix)) continue;
    const d = await h.client.schedule.getHandle(s.scheduleId).describe();
    schedules[s.scheduleId] = JSON.stringify({ paused: d.state.paused, note: d.state.note ?? null, actions: d.info.numActionsTaken, spec: d.spec });
  }
  for await (const wf of h.client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}"` })) {
    ids.add(wf.workflowId);
    runs++;
    const history = await h.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    for (const e of history.events ?? []) {
      const s = e.workflowExecutionSignaledEventAttributes;
      if (s) {
        const name = s.signalName ?? '?';
        if (wf.workflowId.startsWith(`${prefix}conflict:`)) conflictSignals++;
        else signals[name] = (signals[name] ?? 0) + 1;
      }
      if (e.workflowExecutionUpdateAcceptedEventAttributes) updatesAccepted++;
    }
  }
  return { schedules, ids, runs, signals, conflictSignals, updatesAccepted };
}

/** every sync workflow idle, the outbox relayed and the guarded tables unchanged for a moment */
async function quiet(inst: Installation, tables: string[], exclude: string[]): Promise<void> {
  const { h } = inst;
  const targets = [syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix), syncWorkflowId('google_workspace', h.cfg.temporal.workflowIdPrefix, ANA), syncWorkflowId('fireflies', h.cfg.temporal.workflowIdPrefix)];
  let last = '';
  await waitFor('the engine at rest', async () => {
    for (const id of targets) {
      const st: SyncStatus = await h.client.workflow.getHandle(id).query(statusQuery);
      if (st.state !== 'idle') return undefined;
    }
    const { rows } = await h.db.query<{ n: string }>('SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL');
    if (Number(rows[0]!.n) > 0) return undefined;
    const sum = JSON.stringify(await checksums(h.db, tables, exclude));
    const same = sum === last;
    last = sum;
    return same || undefined;
  }, 120_000, 700);
}

// ------------------------------------------------------------------ the generators
interface Sent {
  req: Req;
}

function generator(inst: Installation, r: Rng, maxBody: number, sentValid: Sent[], notified: Set<string>) {
  const { h } = inst;
  const publicBase = () => h.cfg.webhooks.publicBaseUrl;
  let eventSeq = 7_100_000 + r.int(100_000);
  let msgSeq = r.int(1_000_000);
  const json = { 'content-type': 'application/json' };
  const tokens = {
    none: undefined,
    wrong: 'Bearer wrong-token',
    read: `Bearer ${READ_TOKEN}`,
    write: `Bearer ${API_TOKEN}`,
    basic: `Basic ${Buffer.from(`admin:${API_TOKEN}`).toString('base64')}`,
    bare: API_TOKEN,
    padded: `Bearer ${API_TOKEN}x`,
    prefix: `Bearer ${API_TOKEN.slice(0, -1)}`,
    huge: `Bearer ${'A'.repeat(8000)}`,
    sqlish: `Bearer ' OR '1'='1`,
  };
  type TokenName = keyof typeof tokens;
  const withAuth = (t: TokenName, headers: Record<string, string> = {}) => (tokens[t] ? { ...headers, authorization: tokens[t]! } : headers);
  const unauthorized: TokenName[] = ['none', 'wrong', 'basic', 'bare', 'padded', 'prefix', 'huge', 'sqlish'];

  // --- HubSpot
  const hsEvents = (n = 1, type = 'contact.propertyChange') =>
    Array.from({ length: n }, () => ({ eventId: eventSeq++, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: Date.now(), subscriptionType: type, attemptNumber: 0, objectId: Number(r.pick(inst.contacts)), changeSource: 'CRM_UI' }));
  // HubSpot signs the exact bytes (whatever their encoding)
  const v3 = (body: string | Buffer, ts: number, secret = HUBSPOT_SECRET, uri = `${publicBase()}/api/webhooks/hubspot`) =>
    createHmac('sha256', secret).update(`POST${uri}`).update(body).update(String(ts)).digest('base64');
  const hsHeaders = (body: string | Buffer, ts = Date.now(), secret?: string, uri?: string) => ({ ...json, 'x-hubspot-signature-v3': v3(body, ts, secret, uri), 'x-hubspot-request-timestamp': String(ts) });

  const hubspotValid = (): Req => {
    const events = hsEvents(1 + r.int(3));
    const body = JSON.stringify(events);
    return { group: 'hubspot', kind: 'valid', method: 'POST', path: '/api/webhooks/hubspot', headers: hsHeaders(body), body, accept: is(200), valid: { signals: 1, eventIds: events.map((e) => `hubspot:${e.eventId}`) } };
  };
  const hubspotHostile = (): Req => {
    const events = hsEvents(1 + r.int(2));
    const body = JSON.stringify(events);
    const ts = Date.now();
    const p = '/api/webhooks/hubspot';
    const base = { group: 'hubspot', method: 'POST', path: p };
    switch (r.int(17)) {
      case 0: return { ...base, kind: 'missing_signature', headers: json, body, accept: is(401) };
      case 1: return { ...base, kind: 'forged_signature', headers: { ...json, 'x-hubspot-signature-v3': createHash('sha256').update(r.hex(16)).digest('base64'), 'x-hubspot-request-timestamp': String(ts) }, body, accept: is(401) };
      case 2: return { ...base, kind: 'wrong_secret', headers: hsHeaders(body, ts, 'not-the-secret'), body, accept: is(401) };
      case 3: { const old = ts - 6 * 60_000 - r.int(86_400_000); return { ...base, kind: 'stale_signature', headers: hsHeaders(body, old), body, accept: is(401) }; }
      case 4: { const future = ts + 6 * 60_000 + r.int(86_400_000); return { ...base, kind: 'future_timestamp', headers: hsHeaders(body, future), body, accept: is(401) }; }
      case 5: return { ...base, kind: 'tampered_body', headers: hsHeaders(body, ts), body: body.replace(/"objectId":\d+/, '"objectId":1'), accept: is(401) };
      case 6: return { ...base, kind: 'wrong_uri', headers: hsHeaders(body, ts, undefined, 'https://evil.example/api/webhooks/hubspot'), body, accept: is(401) };
      case 7: return { ...base, kind: 'bad_timestamp', headers: { ...hsHeaders(body, ts), 'x-hubspot-request-timestamp': r.pick(['', 'abc', '-1', '1e12', `${ts}.5`, ' ', '0x1']) }, body, accept: is(401) };
      case 8: return { ...base, kind: 'v1_forged', headers: { ...json, 'x-hubspot-signature': r.hex(64), 'x-hubspot-signature-version': r.pick(['v1', 'v2', 'V2', 'v9', '']) }, body, accept: is(401) };
      case 9: return { ...base, kind: 'v1_unsigned_secret_guess', headers: { ...json, 'x-hubspot-signature': createHash('sha256').update(`secret${body}`).digest('hex') }, body, accept: is(401) };
      case 10: { // correctly signed over a body that is not a valid batch: verified, refused, nothing started
        const bad = r.pick(['[]', '{}', '[{"eventId":"x"}]', '[{"eventId":1,"objectId":"1; DROP","subscriptionType":"contact.creation"}]', JSON.stringify(hsEvents(1, r.pick(['ticket.creation', 'contact.__proto__', 'contact.creation ', "contact.creation'--"]))), nested(5_000, 'array'), '{"a":', '\u0000']);
        return { ...base, kind: 'signed_malformed', headers: hsHeaders(bad, ts), body: bad, accept: is(400) };
      }
      case 11: { const hb = hostileBody(r, maxBody); return { ...base, kind: `unsigned_${hb.kind}`, headers: { 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: hb.kind === 'huge' ? is(413) : is(401) }; }
      case 12: { const hb = hostileBody(r, maxBody); if (hb.kind === 'huge') return { ...base, kind: 'signed_huge', headers: hsHeaders(hb.body, ts), body: hb.body, accept: is(413) }; return { ...base, kind: `forged_${hb.kind}`, headers: { ...hsHeaders(body, ts), 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: is(401) }; }
      case 13: return { ...base, kind: 'signature_array_header', raw: rawPost(p, body, [['x-hubspot-signature-v3', v3(body, ts)], ['x-hubspot-signature-v3', 'forged'], ['x-hubspot-request-timestamp', String(ts)], ['x-hubspot-request-timestamp', String(ts - 1)]]), accept: anyClientError };
      case 14: return { ...base, kind: 'signed_with_query', path: `${p}?${r.pick(['a=1', "x=' OR 1=1", '../../', 'token=%00'])}`, headers: hsHeaders(body, ts), body, accept: is(401) };
      case 15: { // verified bytes that are not UTF-8 (or UTF-16, or with a BOM): 400, said so
        const hb = hostileBody(r, maxBody);
        const bytes = r.chance(0.6) ? INVALID_UTF8 : hb.body;
        return { ...base, kind: bytes === INVALID_UTF8 ? 'signed_invalid_utf8' : `signed_${hb.kind}`, headers: hsHeaders(bytes, ts), body: bytes, accept: hb.kind === 'huge' && bytes !== INVALID_UTF8 ? is(413) : is(400) };
      }
      default: return { ...base, kind: 'huge_batch_forged', headers: { ...json, 'x-hubspot-signature-v3': 'AAAA', 'x-hubspot-request-timestamp': String(ts) }, body: JSON.stringify(hsEvents(2_000)), accept: is(401) };
    }
  };

  // --- Google push channels and Gmail Pub/Sub
  const channel = () => r.pick(h.google!.channels.active());
  // (valid notifications take numbers above any a hostile one uses: a replay is exactly a repeated number)
  let channelNumber = 2_000_000;
  const chHeaders = (ch: { id: string; resourceId: string; token?: string }, state = 'exists', number = 100 + r.int(1e6)) => ({
    'x-goog-channel-id': ch.id, 'x-goog-channel-token': ch.token ?? '', 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': state, 'x-goog-message-number': String(number),
  });
  const gmailBody = (email = ANA, messageId = `fuzz-${msgSeq++}`) =>
    JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: email, historyId: 1 + r.int(1e6) })).toString('base64'), messageId, publishTime: new Date().toISOString() }, subscription: 'projects/aurora-sandbox/subscriptions/gmail-push' });
  const now = () => Math.floor(Date.now() / 1000);
  const idToken = (over: Record<string, unknown> = {}) => inst.keys.sign({ aud: GMAIL_AUDIENCE, azp: '1', email: GMAIL_SA, email_verified: true, exp: now() + 3600, iat: now(), iss: 'https://accounts.google.com', sub: '1', ...over });
  const gmailPath = (token: string | null = GMAIL_TOKEN) => `/api/webhooks/google${token === null ? '' : `?token=${pct(token)}`}`;

  const googleValid = (): Req => {
    const g = { group: 'google', method: 'POST' };
    if (r.chance(0.5)) {
      // (the last channel never gets a valid notification: whatever touches it was not one)
      const live = h.google!.channels.active();
      const ch = r.pick(live.length > 1 ? live.slice(0, -1) : live);
      notified.add(ch.id);
      const number = channelNumber += 1 + r.int(50); // increasing, not sequential
      return { ...g, kind: 'valid_channel', path: '/api/webhooks/google', headers: chHeaders(ch, 'exists', number), accept: is(200), valid: { signals: 1, eventIds: [`google_workspace:channel:${ch.id}:${number}`] } };
    }
    const messageId = `fuzz-${msgSeq++}`;
    return { ...g, kind: 'valid_gmail_push', path: gmailPath(), headers: { ...json, authorization: `Bearer ${idToken()}` }, body: gmailBody(ANA, messageId), accept: is(200), valid: { signals: 1, eventIds: [`google_workspace:gmail:${messageId}`] } };
  };
  const googleHostile = (): Req => {
    const g = { group: 'google', method: 'POST', path: '/api/webhooks/google' };
    const ch = channel();
    switch (r.int(21)) {
      case 18: return { ...g, kind: 'gmail_signed_invalid_utf8', path: gmailPath(), headers: { ...json, authorization: `Bearer ${idToken()}` }, body: INVALID_UTF8, accept: is(400) };
      case 19: { // verified, published longer ago than Pub/Sub keeps a message: acknowledged, nothing done
        const body = JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: ANA, historyId: 1 })).toString('base64'), messageId: `fuzz-${msgSeq++}`, publishTime: new Date(Date.now() - (8 + r.int(300)) * 86_400_000).toISOString() }, subscription: 'projects/aurora-sandbox/subscriptions/gmail-push' });
        return { ...g, kind: 'gmail_stale_push', path: gmailPath(), headers: { ...json, authorization: `Bearer ${idToken()}` }, body, accept: is(200) };
      }
      case 20: return { ...g, kind: 'channel_bad_number', headers: { ...chHeaders(ch), 'x-goog-message-number': r.pick(['', '-1', '1e3', '12a', "1' OR 1=1", '9'.repeat(30)]) }, accept: is(400) };
      case 0: return { ...g, kind: 'channel_forged_token', headers: { ...chHeaders(ch), 'x-goog-channel-token': r.pick(['forged', '', ' ', ch.token + 'x', ch.token!.toUpperCase(), "' OR 1=1"]) }, accept: (s) => s === 401 || s === 400 };
      case 1: return { ...g, kind: 'channel_unknown_id', headers: { ...chHeaders(ch), 'x-goog-channel-id': r.pick([...SQLISH, ...PATHISH, 'a'.repeat(4000), r.hex(32)]) }, accept: is(404) };
      case 2: return { ...g, kind: 'channel_wrong_resource', headers: { ...chHeaders(ch), 'x-goog-resource-id': r.pick(['other', ...SQLISH]) }, accept: is(401) };
      case 3: { const hd: Record<string, string> = chHeaders(ch); delete hd[r.pick(['x-goog-channel-token', 'x-goog-resource-id', 'x-goog-resource-state'])]; return { ...g, kind: 'channel_missing_header', headers: hd, accept: is(400) }; }
      case 4: return { ...g, kind: 'channel_forged_with_body', headers: { ...chHeaders(ch), 'x-goog-channel-token': 'forged', ...json }, body: gmailBody(), accept: is(401) };
      case 5: return { ...g, kind: 'gmail_no_url_token', path: gmailPath(null), headers: { ...json, authorization: `Bearer ${idToken()}` }, body: gmailBody(), accept: is(401) };
      case 6: return { ...g, kind: 'gmail_wrong_url_token', path: gmailPath(r.pick(['wrong', GMAIL_TOKEN + 'x', GMAIL_TOKEN.slice(1), "' OR 1=1", ''])), headers: { ...json, authorization: `Bearer ${idToken()}` }, body: gmailBody(), accept: is(401) };
      case 7: return { ...g, kind: 'gmail_no_oidc', path: gmailPath(), headers: json, body: gmailBody(), accept: is(401) };
      case 8: { const other = new GoogleKeys(); return { ...g, kind: 'gmail_oidc_other_key', path: gmailPath(), headers: { ...json, authorization: `Bearer ${other.sign({ aud: GMAIL_AUDIENCE, email: GMAIL_SA, email_verified: true, exp: now() + 3600, iat: now(), iss: 'https://accounts.google.com', sub: '1' })}` }, body: gmailBody(), accept: is(401) }; }
      case 9: {
        const over = r.pick<Record<string, unknown>>([{ exp: now() - 7200, iat: now() - 10_800 }, { aud: 'https://evil.example' }, { email: 'attacker@evil.example' }, { email_verified: false }, { iss: 'https://evil.example' }, { iat: now() + 86_400, exp: now() + 90_000 }]);
        return { ...g, kind: 'gmail_oidc_bad_claims', path: gmailPath(), headers: { ...json, authorization: `Bearer ${idToken(over)}` }, body: gmailBody(), accept: is(401) };
      }
      case 10: {
        const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const forged = r.pick([`${enc({ alg: 'none', typ: 'JWT' })}.${enc({ aud: GMAIL_AUDIENCE, email: GMAIL_SA, email_verified: true, exp: now() + 600, iss: 'https://accounts.google.com' })}.`, `${enc({ alg: 'HS256' })}.${enc({ aud: GMAIL_AUDIENCE })}.c2ln`, 'a.b.c', `${idToken().slice(0, -4)}AAAA`, 'x'.repeat(8000)]);
        return { ...g, kind: 'gmail_forged_jwt', path: gmailPath(), headers: { ...json, authorization: `Bearer ${forged}` }, body: gmailBody(), accept: is(401) };
      }
      case 11: { // verified, but not a valid notification: refused, nothing started
        const bad = r.pick(['{"message":{}}', '{"message":{"data":"!!!","messageId":"m1"}}', `{"message":{"data":"${Buffer.from('not json').toString('base64')}","messageId":"m2"}}`, `{"message":{"data":"${Buffer.from('{"emailAddress":"x"}').toString('base64')}","messageId":"m3"}}`, `{"message":{"data":"","messageId":"${"'; DROP TABLE x; --"}"}}`, `{"message":{"data":"${'A'.repeat(5000)}","messageId":"m4"}}`, '{"message":[]}', '{' + nested(3000, 'object').slice(1)]);
        return { ...g, kind: 'gmail_signed_malformed', path: gmailPath(), headers: { ...json, authorization: `Bearer ${idToken()}` }, body: bad, accept: is(400) };
      }
      case 12: return { ...g, kind: 'gmail_signed_unknown_mailbox', path: gmailPath(), headers: { ...json, authorization: `Bearer ${idToken()}` }, body: gmailBody(r.pick(['mallory@evil.example', "x'--@acme.test", 'ANA@ACME.TEST.evil'])), accept: is(200) };
      case 13: { const hb = hostileBody(r, maxBody); return { ...g, kind: `unsigned_${hb.kind}`, path: gmailPath(r.pick([null, 'wrong'])), headers: { 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: hb.kind === 'huge' ? is(413) : anyClientError }; }
      case 14: { const hb = hostileBody(r, maxBody); return { ...g, kind: `channel_forged_${hb.kind}`, headers: { ...chHeaders(ch), 'x-goog-channel-token': 'forged', 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: hb.kind === 'huge' ? is(413) : is(401) }; }
      case 15: return { ...g, kind: 'channel_header_injection', raw: rawPost('/api/webhooks/google', '', [['x-goog-channel-id', ch.id], ['x-goog-channel-id', 'other'], ['x-goog-channel-token', 'forged'], ['x-goog-resource-id', ch.resourceId], ['x-goog-resource-state', 'exists']]), accept: anyClientError };
      case 16: return { ...g, kind: 'channel_latin1_header', raw: rawPost('/api/webhooks/google', '', [['x-goog-channel-id', '\xff\xfe\xe9'], ['x-goog-channel-token', '\xe9\xe9'], ['x-goog-resource-id', 'x'], ['x-goog-resource-state', 'exists']]), accept: anyClientError };
      default: return { ...g, kind: 'channel_stopped_or_other_system', headers: { ...chHeaders({ id: `${ch.id}-stopped`, resourceId: ch.resourceId, token: ch.token }) }, accept: is(404) };
    }
  };

  // --- Fireflies
  const ffSign = (body: string | Buffer, secret = FIREFLIES_SECRET) => createHmac('sha256', secret).update(body).digest('hex');
  const ffBody = () => r.chance(0.5)
    ? JSON.stringify({ event: r.pick(['meeting.transcribed', 'meeting.summarized']), meeting_id: r.pick(inst.transcripts), timestamp: Date.now() + msgSeq++ })
    : JSON.stringify({ meetingId: r.pick(inst.transcripts), eventType: 'Transcription completed', clientReferenceId: `fuzz-${msgSeq++}` });
  const firefliesValid = (): Req => {
    const body = ffBody();
    const sig = ffSign(body);
    const b = JSON.parse(body) as Record<string, string | number>;
    const eventId = b.event ? `${b.event}:${b.meeting_id}:${b.timestamp}` : `${b.eventType}:${b.meetingId}:${createHash('sha256').update(body, 'utf8').digest('hex')}`;
    // now and then with a Google channel's headers too: a Fireflies delivery must not touch a Google channel
    const foreign = r.chance(0.3) ? chHeaders(h.google!.channels.active().at(-1)!) : {};
    return { group: 'fireflies', kind: 'valid', method: 'POST', path: '/api/webhooks/fireflies', headers: { ...foreign, ...json, 'x-hub-signature': r.chance(0.5) ? `sha256=${sig}` : sig }, body, accept: is(200), valid: { signals: 2, eventIds: [`fireflies:${eventId}`] } };
  };
  const firefliesHostile = (): Req => {
    const f = { group: 'fireflies', method: 'POST', path: '/api/webhooks/fireflies' };
    const body = ffBody();
    switch (r.int(10)) {
      case 0: return { ...f, kind: 'missing_signature', headers: json, body, accept: is(401) };
      case 1: return { ...f, kind: 'forged_signature', headers: { ...json, 'x-hub-signature': r.pick([r.hex(64), `sha256=${r.hex(64)}`, 'sha256=', 'sha1=abc', '', ' ']) }, body, accept: is(401) };
      case 2: return { ...f, kind: 'wrong_secret', headers: { ...json, 'x-hub-signature': ffSign(body, 'not-the-secret-0123') }, body, accept: is(401) };
      case 3: return { ...f, kind: 'tampered_body', headers: { ...json, 'x-hub-signature': ffSign(body) }, body: body.replace(/"(meeting_id|meetingId)":"[^"]*"/, '"$1":"other"'), accept: is(401) };
      case 4: { // signed, but not a valid event: refused, nothing started
        const bad = r.pick(['{}', '[]', '{"event":"meeting.deleted","meeting_id":"x"}', '{"event":"meeting.transcribed","meeting_id":"../../etc"}', `{"event":"meeting.transcribed","meeting_id":"${"1' OR '1'='1"}"}`, '{"eventType":"Transcription completed","meetingId":"' + 'a'.repeat(500) + '"}', nested(20_000, 'array'), '{"event":1}', 'null']);
        return { ...f, kind: 'signed_malformed', headers: { ...json, 'x-hub-signature': ffSign(bad) }, body: bad, accept: is(400) };
      }
      case 5: { const hb = hostileBody(r, maxBody); return { ...f, kind: `unsigned_${hb.kind}`, headers: { 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: hb.kind === 'huge' ? is(413) : is(401) }; }
      case 6: {
        // (the signature covers the bytes: verified bytes that are not UTF-8 get 400 too)
        const hb = hostileBody(r, maxBody);
        return { ...f, kind: `signed_${hb.kind}`, headers: { 'content-type': hb.contentType ?? 'application/json', 'x-hub-signature': ffSign(hb.body) }, body: hb.body, accept: hb.kind === 'huge' ? is(413) : is(400) };
      }
      case 9: { // signed, but sent long ago (v2's timestamp): a replay, acknowledged and ignored
        const old = JSON.stringify({ event: 'meeting.transcribed', meeting_id: r.pick(inst.transcripts), timestamp: Date.now() - (2 + r.int(100)) * 86_400_000 });
        return { ...f, kind: 'signed_stale', headers: { ...json, 'x-hub-signature': `sha256=${ffSign(old)}` }, body: old, accept: is(200) };
      }
      case 7: return { ...f, kind: 'signed_ignored_event', headers: { ...json, 'x-hub-signature': ffSign('{"event":"meeting.bot_joined","meeting_id":"x1"}') }, body: '{"event":"meeting.bot_joined","meeting_id":"x1"}', accept: is(200) };
      default: return { ...f, kind: 'signature_of_other_bytes', headers: { ...json, 'x-hub-signature': ffSign(`${body} `) }, body: `${body}\n`, accept: is(401) };
    }
  };

  // --- unknown systems, wrong methods and paths
  const elsewhere = (): Req => {
    const o = { group: 'routing' };
    switch (r.int(7)) {
      case 0: return { ...o, kind: 'unknown_system_webhook', method: 'POST', path: `/api/webhooks/${pct(r.pick(UNKNOWN_SYSTEMS.filter((x) => x !== 'google')))}`, headers: json, body: '[]', accept: is(404) };
      case 1: return { ...o, kind: 'webhook_wrong_method', method: r.pick(['GET', 'PUT', 'DELETE', 'PATCH']), path: `/api/webhooks/${r.pick(['hubspot', 'google', 'fireflies'])}`, headers: json, body: '[]', accept: is(404, 405) };
      case 2: return { ...o, kind: 'path_traversal', method: r.pick(['GET', 'POST']), path: r.pick(['/api/webhooks/../sync/trigger', '/api/webhooks/%2e%2e/sync/trigger', '/api/webhooks/hubspot%00', '/api/webhooks/hubspot/../../conflicts', '/api/conflicts/..%2f..%2fetc%2fpasswd', '/..%2f..%2f..%2fetc/passwd', '//api//conflicts', '/api/sync/status%00', '/api/./conflicts']), headers: json, body: '{}', accept: anyClientError };
      case 3: return { ...o, kind: 'unknown_route', method: r.pick(['GET', 'POST', 'OPTIONS', 'DELETE']), path: r.pick(['/api', '/api/admin', '/.env', '/api/sync/../../../secrets/api-token.txt', '/metrics/../secrets', '/api/conflicts/x/delete', '/api/schedules/x/delete']), headers: json, body: '{}', accept: anyClientError };
      case 4: return { ...o, kind: 'raw_malformed_request', raw: Buffer.from(r.pick(['GARBAGE\r\n\r\n', 'POST /api/webhooks/hubspot HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n12345', 'POST /api/webhooks/hubspot HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'GET /api/conflicts/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n', 'POST /api/sync/trigger HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 'POST /api/webhooks/fireflies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n']), 'latin1'), method: 'RAW', path: '', accept: (s) => s === 0 || anyClientError(s) };
      case 5: return { ...o, kind: 'huge_headers', method: 'RAW', path: '', raw: Buffer.from(`GET /api/conflicts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'x'.repeat(20_000)}\r\nX-Junk: ${'y'.repeat(r.int(40_000))}\r\nConnection: close\r\n\r\n`, 'latin1'), accept: (s) => s === 0 || s === 401 || s === 431 };
      default: return { ...o, kind: 'review_page_variants', method: r.pick(['GET', 'HEAD', 'POST']), path: r.pick(['/conflicts', '/conflicts?token=x', `/conflicts?${pct("'><script>")}`, '/conflicts/', '/conflicts/../api/conflicts']), headers: json, body: '{}', accept: (s) => s === 200 || anyClientError(s) };
    }
  };

  // --- REST
  const trigger = (): Req => {
    const t = { group: 'rest', method: 'POST', path: '/api/sync/trigger' };
    switch (r.int(7)) {
      case 0: { const tk = r.pick(unauthorized); return { ...t, kind: `trigger_token_${tk}`, headers: withAuth(tk, json), body: JSON.stringify({ system: r.pick(['hubspot', 'google_workspace', 'fireflies']) }), accept: is(401) }; }
      case 1: return { ...t, kind: 'trigger_read_token', headers: withAuth('read', json), body: JSON.stringify({ system: 'hubspot' }), accept: is(403) };
      case 2: return { ...t, kind: 'trigger_unknown_system', headers: withAuth('write', json), body: JSON.stringify({ system: r.pick([...UNKNOWN_SYSTEMS, ...HOSTILE, 1, null, [], {}, true]) }), accept: is(400) };
      case 3: return { ...t, kind: 'trigger_unknown_entity', headers: withAuth('write', json), body: JSON.stringify({ system: r.pick(['hubspot', 'google_workspace', 'fireflies']), entity_type: r.pick([...HOSTILE, 1, [], { a: 1 }, 'contactss']) }), accept: is(400) };
      case 4: return { ...t, kind: 'trigger_unknown_connection', headers: withAuth('write', json), body: JSON.stringify({ system: 'google_workspace', connection: r.pick([...HOSTILE, 1, ['a'], 'bob@acme.test', 'ANA@acme.test']) }), accept: is(400) };
      case 5: { const hb = hostileBody(r, maxBody); return { ...t, kind: `trigger_${hb.kind}`, headers: withAuth('write', { 'content-type': hb.contentType ?? 'application/json' }), body: hb.body, accept: anyClientError }; }
      default: return { ...t, kind: 'trigger_deep_system', headers: withAuth('write', json), body: `{"system":${nested(r.pick([1_000, 5_000, 20_000]), r.pick(['array', 'object'] as const))}}`, accept: is(400) };
    }
  };
  const triggerValid = (): Req => {
    const system = r.pick(['google_workspace', 'fireflies']);
    const body = system === 'google_workspace' && r.chance(0.5) ? { system, entity_type: r.pick(definitionOf(system)!.entities.map((e) => e.plural)), connection: ANA } : { system };
    return { group: 'rest', kind: 'valid_trigger', method: 'POST', path: '/api/sync/trigger', headers: withAuth('write', json), body: JSON.stringify(body), accept: is(202), valid: { signals: 1 } };
  };
  const reads = (): Req => {
    const path = r.pick(['/api/sync/status', '/api/schedules', '/api/conflicts', `/api/conflicts/${pct(inst.conflictId)}`, '/api/sync/workflows/hubspot', `/api/sync/workflows/google_workspace?connection=${pct(ANA)}`]);
    if (r.chance(0.75)) { const tk = r.pick(unauthorized); return { group: 'rest', kind: `read_token_${tk}`, method: 'GET', path, headers: withAuth(tk), accept: is(401) }; }
    return { group: 'rest', kind: 'read_with_read_token', method: 'GET', path, headers: withAuth(r.pick(['read', 'write'])), accept: is(200) };
  };
  const hostileIds = (): Req => {
    const id = r.pick([...HOSTILE, `conflict:hubspot:contact:${r.pick(HOSTILE)}`, `hubspot:contact:${r.pick(SQLISH)}`, `conflict:salesforce:lead:1`, `conflict:hubspot:${r.pick(HOSTILE)}:1`, `conflict:hubspot:contact:${'9'.repeat(2000)}`, `conflict:hubspot:contact:a\u0000b`, `conflict:hubspot:contact:${'é'.repeat(600)}`]);
    const enc = pct(id);
    switch (r.int(4)) {
      case 0: return { group: 'rest', kind: 'conflict_hostile_id', method: 'GET', path: `/api/conflicts/${enc}`, headers: withAuth(r.pick(['read', 'write'])), accept: is(400, 404, 414) };
      case 1: return { group: 'rest', kind: 'resolve_hostile_id', method: 'POST', path: `/api/conflicts/${enc}/resolve`, headers: withAuth('write', json), body: JSON.stringify({ choice: 'local', resolvedBy: 'fuzz' }), accept: is(400, 404, 414) };
      case 2: return { group: 'rest', kind: 'workflows_hostile_system', method: 'GET', path: `/api/sync/workflows/${enc}${r.chance(0.5) ? `?connection=${pct(r.pick(HOSTILE))}` : ''}`, headers: withAuth('read'), accept: is(400, 404, 414) };
      default: return { group: 'rest', kind: 'workflows_hostile_connection', method: 'GET', path: `/api/sync/workflows/${r.pick(['hubspot', 'google_workspace', 'fireflies'])}?connection=${pct(r.pick(HOSTILE))}`, headers: withAuth('read'), accept: is(400, 404) };
    }
  };
  const resolve = (): Req => {
    const path = `/api/conflicts/${pct(inst.conflictId)}/resolve`;
    const res = { group: 'rest', method: 'POST', path };
    switch (r.int(5)) {
      case 0: { const tk = r.pick(unauthorized); return { ...res, kind: `resolve_token_${tk}`, headers: withAuth(tk, json), body: JSON.stringify({ choice: 'local', resolvedBy: 'intruder' }), accept: is(401) }; }
      case 1: return { ...res, kind: 'resolve_read_token', headers: withAuth('read', json), body: JSON.stringify({ choice: 'external', resolvedBy: 'reader' }), accept: is(403) };
      case 2: {
        const bad = r.pick<unknown>([
          {}, [], 'local', null, { choice: 'both', resolvedBy: 'x' }, { choice: 'local' }, { choice: 'local', resolvedBy: '' }, { choice: 'local', resolvedBy: 'x'.repeat(201) },
          { choice: 'local', resolvedBy: 'x', comment: 'c'.repeat(2001) }, { choice: 'local', resolvedBy: 'x', fields: { first_name: 'local' } },
          { choice: 'merged', resolvedBy: 'x' }, { choice: 'merged', resolvedBy: 'x', fields: { nope: 'local' } }, { choice: 'merged', resolvedBy: 'x', fields: { first_name: 'both' } },
          { choice: 'merged', resolvedBy: 'x', fields: { first_name: { value: 12 } } }, { choice: 'merged', resolvedBy: 'x', fields: { first_name: { value: 'v'.repeat(10_001) } } },
          { choice: 'merged', resolvedBy: 'x', fields: { first_name: 'local', constructor: 'local' } }, { choice: 'merged', resolvedBy: 'x', fields: { first_name: 'external', toString: 'external' } },
          { choice: 'merged', resolvedBy: 'x', fields: { first_name: 'local', hasOwnProperty: { value: 'x' } } }, { choice: 'merged', resolvedBy: 'x', fields: [] },
          { choice: 'merged', resolvedBy: 'x', fields: { first_name: { value: 'ok' }, email: { value: 'not an email' } } }, { choice: 'last-write-wins', resolvedBy: 'x', fields: { first_name: 'local' } },
          { choice: r.pick(HOSTILE), resolvedBy: r.pick(HOSTILE) }, { choice: ['local'], resolvedBy: ['x'] },
        ]);
        return { ...res, kind: 'resolve_invalid', headers: withAuth('write', json), body: JSON.stringify(bad), accept: is(400) };
      }
      case 3: { const hb = hostileBody(r, maxBody); return { ...res, kind: `resolve_${hb.kind}`, headers: withAuth('write', { 'content-type': hb.contentType ?? 'application/json' }), body: hb.body, accept: anyClientError }; }
      default: return { ...res, kind: 'resolve_deep_fields', headers: withAuth('write', json), body: `{"choice":"merged","resolvedBy":"x","fields":{"first_name":${nested(r.pick([2_000, 20_000]), 'object')}}}`, accept: is(400) };
    }
  };
  const schedules = (): Req => {
    const ids = [reconcileScheduleId('hubspot'), reconcileScheduleId('google_workspace', '', ANA), 'renew-channels:google_workspace'];
    const action = r.pick(['trigger', 'pause', 'unpause', 'backfill']);
    const s = { group: 'rest', method: 'POST' };
    switch (r.int(5)) {
      case 0: { const tk = r.pick(unauthorized); return { ...s, kind: `schedule_token_${tk}`, path: `/api/schedules/${pct(r.pick(ids))}/${action}`, headers: withAuth(tk, json), body: JSON.stringify({ reason: 'x', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }), accept: is(401) }; }
      case 1: return { ...s, kind: 'schedule_read_token', path: `/api/schedules/${pct(r.pick(ids))}/${action}`, headers: withAuth('read', json), body: JSON.stringify({ reason: 'x' }), accept: is(403) };
      case 2: return { ...s, kind: 'schedule_hostile_id', path: `/api/schedules/${pct(r.pick([...HOSTILE, 'reconcile:salesforce', 'reconcile:hubspot:other', `${h.cfg.temporal.workflowIdPrefix}reconcile:salesforce`, `${h.cfg.temporal.workflowIdPrefix}x:reconcile:hubspot`, 'renew-channels:salesforce', 'reconcile:fireflies:x']))}/${action}`, headers: withAuth('write', json), body: JSON.stringify({ reason: 'fuzz', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }), accept: is(400, 404, 414) };
      case 3: {
        const bad = r.pick<[string, unknown]>([
          ['pause', {}], ['pause', { reason: '' }], ['pause', { reason: 'r'.repeat(501) }], ['pause', { reason: { a: 1 } }], ['pause', { reason: ['x'] }],
          ['backfill', {}], ['backfill', { from: 'yesterday', to: 'today' }], ['backfill', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }],
          ['backfill', { from: '2026-01-01T00:00:00Z', to: '2026-06-01T00:00:00Z' }], ['backfill', { from: 1, to: 2 }], ['backfill', { from: "' OR 1=1", to: null }],
        ]);
        return { ...s, kind: `schedule_invalid_${bad[0]}`, path: `/api/schedules/${pct(r.pick(ids))}/${bad[0]}`, headers: withAuth('write', json), body: JSON.stringify(bad[1]), accept: is(400) };
      }
      default: return { ...s, kind: 'schedule_unknown_action', path: `/api/schedules/${pct(r.pick(ids))}/${r.pick(['delete', 'run', '..', 'trigger/../pause'])}`, headers: withAuth('write', json), body: '{}', accept: anyClientError };
    }
  };

  const replay = (): Req | null => {
    const candidates = sentValid.filter((s) => s.req.group !== 'rest');
    if (!candidates.length) return null;
    const orig = r.pick(candidates).req;
    // Acknowledged and ignored (a channel's message number, a Gmail message id, a delivery seen before): no signal.
    // HubSpot's signature is good for 5 minutes: an older replay is refused as stale.
    return { ...orig, kind: `replay_${orig.kind}`, replay: true, valid: undefined, accept: orig.group === 'hubspot' ? is(200, 401) : is(200) };
  };

  return { hubspotValid, hubspotHostile, googleValid, googleHostile, firefliesValid, firefliesHostile, elsewhere, trigger, triggerValid, reads, hostileIds, resolve, schedules, replay };
}

function rawPost(path: string, body: string, headers: [string, string][]): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(body)]);
}

const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;

/** a full garbage collection, so heap figures compare live memory (not what is merely uncollected) */
const collect: () => void = (() => {
  if (typeof global.gc === 'function') return global.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
function memory(): { rss: number; heap: number } {
  collect();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

// ------------------------------------------------------------------ the run
export async function runFuzz(opts: FuzzOptions = {}): Promise<FuzzReport> {
  const total = opts.requests ?? 1_200;
  const seed = opts.seed ?? 1;
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const r = prng(seed);
  const inst = await install(log);
  let crashed = false;
  const onCrash = () => {
    crashed = true;
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  try {
    const { h } = inst;
    const tables = await guardedTables(h.db);
    await quiet(inst, tables, []);
    const before = await temporalCounts(h);
    const sumsBefore = await checksums(h.db, tables, []);
    const eventIdsBefore = Number((await h.db.query<{ n: string }>('SELECT count(*) n FROM webhook_events')).rows[0]!.n);
    const sentValid: Sent[] = [];
    const notified = new Set<string>();
    const channelsBefore = await channelState(h.db);
    const gen = generator(inst, r, h.cfg.webhooks.maxBodyBytes, sentValid, notified);
    // The mix: ~6 % genuine deliveries and triggers, ~3 % replays of them, the rest hostile, spread over every endpoint.
    const hostile = [
      [gen.hubspotHostile, 16], [gen.googleHostile, 16], [gen.firefliesHostile, 10], [gen.elsewhere, 8],
      [gen.trigger, 10], [gen.reads, 10], [gen.hostileIds, 10], [gen.resolve, 12], [gen.schedules, 8],
    ] as const;
    const weightSum = hostile.reduce((n, [, w]) => n + w, 0);
    const pickHostile = () => {
      let x = r.next() * weightSum;
      for (const [g, w] of hostile) if ((x -= w) < 0) return g();
      return hostile[0][0]();
    };
    const validEvery = 16;
    const outcomes: FuzzReport['outcomes'] = {};
    const byStatus: Record<string, number> = {};
    const unexpected: FuzzReport['unexpected'] = [];
    const serverErrors: FuzzReport['serverErrors'] = [];
    const validEventIds: string[] = [];
    let validSent = 0;
    let validAccepted = 0;
    let expectedSignals = 0;
    let replays = 0;
    let replays2xx = 0;
    let rssStart = 0;
    let heapStart = 0;
    for (let i = 0; i < total; i++) {
      if (i === Math.min(100, Math.floor(total / 10))) {
        // after a warm-up (connections, caches, JIT): the baseline
        const m = memory();
        rssStart = m.rss;
        heapStart = m.heap;
      }
      let req: Req | null = null;
      if (i % validEvery === 3) req = r.pick([gen.hubspotValid, gen.googleValid, gen.firefliesValid, gen.triggerValid])();
      else if (i % validEvery === 11) req = gen.replay();
      req ??= pickHostile();
      const label = `${req.group}/${req.kind}`;
      let answer: Answer;
      try {
        answer = await send(inst.base, req);
      } catch (err) {
        answer = { status: 0, body: `connection error: ${(err as Error).message}` };
      }
      (outcomes[label] ??= {})[answer.status] = (outcomes[label]![answer.status] ?? 0) + 1;
      byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
      if (answer.status >= 500 || (answer.status === 0 && !req.raw)) serverErrors.push({ case: label, status: answer.status, body: answer.body });
      else if (!req.accept(answer.status)) unexpected.push({ case: label, status: answer.status, body: answer.body });
      if (req.replay) {
        replays++;
        if (answer.status < 300) replays2xx++;
      }
      if (req.valid) {
        if (!req.replay) validSent++;
        if (answer.status < 300) {
          if (!req.replay) {
            validAccepted++;
            sentValid.push({ req });
            validEventIds.push(...(req.valid.eventIds ?? []));
          }
          expectedSignals += req.valid.signals;
        }
      }
      if ((i + 1) % 200 === 0) log(`  ${i + 1}/${total} sent (${Object.entries(byStatus).map(([s, n]) => `${s}:${n}`).join(' ')})`);
    }
    const mem = memory();
    // The valid deliveries' work done, then nothing else moved.
    await quiet(inst, tables, validEventIds);
    const after = await temporalCounts(h);
    const sumsAfter = await checksums(h.db, tables, validEventIds);
    const channelsAfter = await channelState(h.db);
    const channelChanges = [...new Set([...channelsBefore.keys(), ...channelsAfter.keys()])].filter((id) => {
      const a = channelsBefore.get(id);
      const b = channelsAfter.get(id);
      return !a || !b || a.row !== b.row || (a.last !== b.last && !notified.has(id));
    });
    const eventIdsAfter = Number((await h.db.query<{ n: string }>('SELECT count(*) n FROM webhook_events')).rows[0]!.n);
    const signals: Record<string, number> = {};
    for (const name of new Set([...Object.keys(before.signals), ...Object.keys(after.signals)])) {
      const d = (after.signals[name] ?? 0) - (before.signals[name] ?? 0);
      if (d) signals[name] = d;
    }
    const rssAfter = mem.rss;
    return {
      seed,
      requests: total,
      outcomes,
      byStatus,
      unexpected,
      serverErrors,
      valid: { sent: validSent, accepted: validAccepted, expectedSignals },
      replays: { sent: replays, answered2xx: replays2xx },
      temporal: {
        workflowIdsBefore: before.ids.size,
        workflowIdsAfter: after.ids.size,
        newWorkflowIds: [...after.ids].filter((id) => !before.ids.has(id)),
        runsBefore: before.runs,
        runsAfter: after.runs,
        signals,
        signalsTotal: Object.values(signals).reduce((n, v) => n + v, 0),
        conflictSignals: after.conflictSignals - before.conflictSignals,
        updatesAccepted: after.updatesAccepted - before.updatesAccepted,
        schedules: Object.keys(before.schedules).length,
        schedulesChanged: [...new Set([...Object.keys(before.schedules), ...Object.keys(after.schedules)])].filter((id) => before.schedules[id] !== after.schedules[id]),
      },
      tables: {
        checked: [...tables, 'sync_channels'],
        changed: [...tables.filter((t) => sumsBefore[t] !== sumsAfter[t]), ...channelChanges.map((id) => `sync_channels(${id})`)],
        newEventIds: eventIdsAfter - eventIdsBefore,
        expectedEventIds: validEventIds.length,
      },
      memory: { rssBeforeMiB: mib(rssStart), rssAfterMiB: mib(rssAfter), heapBeforeMiB: mib(heapStart), heapAfterMiB: mib(mem.heap), growthMiB: mib(rssAfter - rssStart), heapGrowthMiB: mib(mem.heap - heapStart) },
      crashed,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
    };
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    await inst.close();
  }
}

/** The report as lines: counts by outcome (status × category), then the checks. */
export function formatReport(rep: FuzzReport): string[] {
  const lines: string[] = [];
  lines.push(`fuzz: seed ${rep.seed}, ${rep.requests} requests in ${rep.seconds} s`);
  lines.push('outcomes (category: status × count):');
  for (const [label, codes] of Object.entries(rep.outcomes).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${label.padEnd(48)} ${Object.entries(codes).map(([s, n]) => `${s}×${n}`).join('  ')}`);
  }
  lines.push(`by status: ${Object.entries(rep.byStatus).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
  lines.push(`valid deliveries/triggers: ${rep.valid.sent} sent, ${rep.valid.accepted} accepted, ${rep.valid.expectedSignals} signals expected; replays: ${rep.replays.sent} (${rep.replays.answered2xx} answered 2xx)`);
  lines.push(`temporal: workflow ids ${rep.temporal.workflowIdsBefore} → ${rep.temporal.workflowIdsAfter} (new: ${rep.temporal.newWorkflowIds.length ? rep.temporal.newWorkflowIds.join(', ') : 'none'}), runs ${rep.temporal.runsBefore} → ${rep.temporal.runsAfter}, signals +${rep.temporal.signalsTotal} (${Object.entries(rep.temporal.signals).map(([s, n]) => `${s}: ${n}`).join(', ') || 'none'}), conflict-workflow signals +${rep.temporal.conflictSignals}, updates accepted +${rep.temporal.updatesAccepted}; schedules ${rep.temporal.schedules}, changed: ${rep.temporal.schedulesChanged.join(', ') || 'none'}`);
  lines.push(`tables: ${rep.tables.checked.length} checked, changed: ${rep.tables.changed.length ? rep.tables.changed.join(', ') : 'none'}; webhook event ids +${rep.tables.newEventIds} (valid deliveries: ${rep.tables.expectedEventIds})`);
  const sign = (n: number) => `${n >= 0 ? '+' : ''}${n}`;
  lines.push(`memory (after GC; API, worker and sandboxes in this one process): rss ${rep.memory.rssBeforeMiB} → ${rep.memory.rssAfterMiB} MiB (${sign(rep.memory.growthMiB)}), live heap ${rep.memory.heapBeforeMiB} → ${rep.memory.heapAfterMiB} MiB (${sign(rep.memory.heapGrowthMiB)})`);
  lines.push(`5xx/connection errors: ${rep.serverErrors.length}; unexpected statuses: ${rep.unexpected.length}; crashed: ${rep.crashed}`);
  for (const e of rep.serverErrors.slice(0, 20)) lines.push(`  5xx ${e.case}: ${e.status} ${e.body.slice(0, 160)}`);
  for (const e of rep.unexpected.slice(0, 40)) lines.push(`  unexpected ${e.case}: ${e.status} ${e.body.slice(0, 160)}`);
  return lines;
}

/** What must hold; empty when all does. */
export function failures(rep: FuzzReport, maxGrowthMiB = 150, maxHeapGrowthMiB = 32): string[] {
  const f: string[] = [];
  if (rep.crashed) f.push('the process saw an uncaught exception or unhandled rejection');
  if (rep.serverErrors.length) f.push(`${rep.serverErrors.length} answers were 5xx or no answer`);
  if (rep.unexpected.length) f.push(`${rep.unexpected.length} answers had an unexpected status`);
  if (rep.valid.accepted !== rep.valid.sent) f.push(`${rep.valid.sent - rep.valid.accepted} valid deliveries were refused`);
  if (rep.temporal.newWorkflowIds.length) f.push(`workflows started: ${rep.temporal.newWorkflowIds.join(', ')}`);
  if (rep.temporal.signalsTotal !== rep.valid.expectedSignals) f.push(`${rep.temporal.signalsTotal} signals, but the valid deliveries account for ${rep.valid.expectedSignals}`);
  if (rep.temporal.conflictSignals) f.push(`${rep.temporal.conflictSignals} signals reached the conflict workflow`);
  if (rep.temporal.schedulesChanged.length) f.push(`schedules changed: ${rep.temporal.schedulesChanged.join(', ')}`);
  if (rep.temporal.updatesAccepted) f.push(`${rep.temporal.updatesAccepted} updates were accepted`);
  if (rep.tables.changed.length) f.push(`rows changed in ${rep.tables.changed.join(', ')}`);
  if (rep.tables.newEventIds !== rep.tables.expectedEventIds) f.push(`${rep.tables.newEventIds} webhook event ids recorded, ${rep.tables.expectedEventIds} expected`);
  if (rep.memory.growthMiB > maxGrowthMiB) f.push(`RSS grew by ${rep.memory.growthMiB} MiB (bound ${maxGrowthMiB})`);
  if (rep.memory.heapGrowthMiB > maxHeapGrowthMiB) f.push(`the live heap grew by ${rep.memory.heapGrowthMiB} MiB (bound ${maxHeapGrowthMiB})`);
  return f;
}
