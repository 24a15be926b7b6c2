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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Payload } from '@temporalio/common';
import { buildApi } from '../src/api/server';
import { codecFor, EncryptionCodec, newCodecKeysFile, parseCodecKeys } from '../src/core/codec';
import { createMetrics } from '../src/metrics';
import { GoogleKeys, registerCertRoutes } from '../src/sandbox/google/gmail/pubsub';
import { definitionOf } from '../src/connectors/registry';
import { ensureSchedules } from '../src/schedules';
import { conflictWorkflowId, reconcileScheduleId, statusQuery, syncWorkflowId, type SyncStatus } from '../src/workflows/definitions';
import { harness, waitFor, type Harness } from '../test/helpers';

export interface FuzzOptions {
  /** generated requests at least (valid ones included); default 1,200, or 0 with perEndpoint */
  requests?: number;
  /**
   * every endpoint of ENDPOINTS gets at least this many requests: the choice is steered towards the
   * endpoints with the fewest so far, and the run goes on until each has them (default 0: a weighted mix)
   */
  perEndpoint?: number;
  /** the PRNG seed: the same seed sends the same requests */
  seed?: number;
  /** progress lines (default: none) */
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  /** the per-endpoint target (0: none) */
  perEndpoint: number;
  cores: number;
  /** `${group}/${kind}` → status code → count */
  outcomes: Record<string, Record<string, number>>;
  /**
   * the API's own route for each request (`METHOD /template`, as the API's router matched it), or
   * NO_ROUTE (no route for that method and path: 404), or NOT_ROUTED (refused before routing: an
   * invalid URL or HTTP framing, headers too large, no answer) → status code → count
   */
  endpoints: Record<string, Record<string, number>>;
  /** the fewest requests any endpoint of ENDPOINTS got, and which */
  endpointMin: { endpoint: string; requests: number };
  /** answers that carried record content or a secret to a request that may not see it (e.g. a seeded email in /metrics) */
  leaks: { case: string; endpoint: string; what: string }[];
  /** the leak check's control: authorized answers (reads with a token, decodes; and two sent after the run for this) in which it did find such content */
  revealedToAuthorized: number;
  /** status code → count, over everything */
  byStatus: Record<string, number>;
  /** requests answered with a status their case does not allow (e.g. a forged delivery answered 200), or an answer failing its case's check */
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
  memory: {
    rssBeforeMiB: number; rssAfterMiB: number; heapBeforeMiB: number; heapAfterMiB: number; growthMiB: number; heapGrowthMiB: number;
    /** after a full GC at each progress line: requests sent, RSS, live heap, memory outside the heap (Buffers) */
    samples: { requests: number; rssMiB: number; heapMiB: number; externalMiB: number }[];
    /**
     * long runs (6 samples or more): RSS's median over the last third of the samples minus its median
     * over the first third, i.e. growth once running (RSS after GC swings by tens of MiB from sample
     * to sample: the allocator's high-water marks, the worker's native history cache); null otherwise
     */
    steadyGrowthMiB: number | null;
  };
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

/** origins that are not the Web UI's (CODEC_CORS_ORIGINS): near misses included */
const FOREIGN_ORIGINS = ['http://evil.example', 'null', 'http://localhost:8233.evil.example', 'http://localhost:8234', 'https://localhost:8233', 'http://localhost', 'http://127.0.0.1:8233', 'http://localhost:8233/', 'HTTP://LOCALHOST:8233', "http://localhost:8233'--", 'http://localhost:8233, http://evil.example', `http://${'a'.repeat(4000)}.example`, 'file://', 'chrome-extension://abcdefghijklmnop'];

/** raw paths to /health and /metrics and what the router answers them (decoded %xx matches; dot segments, case, trailing slash and NUL do not; bad %-encoding is 400) */
const HEALTH_TRICKS: [string, number][] = [['/%68ealth', 200], ['/health?%', 200], ['/health?a=%zz&a=1&a[]=2', 200], ['/health#frag', 200], ['/./health', 404], ['/%2e/health', 404], ['/health/../metrics', 404], ['/health%00', 404], ['/health%', 400], ['/health%zz', 400], ['//health', 404], ['/health/', 404], ['/HEALTH', 404], ['/health;x', 404], ['/%2fhealth', 404], ['/health%20', 404], ['/health%ff', 400], ['/%c0%ae%c0%ae/health', 400], ['/../../health', 404], ['/health\\..\\metrics', 404]];
const METRICS_TRICKS: [string, number][] = [['/%6detrics', 200], ['/metrics?format=json', 200], ['/metrics?name[]=x', 200], [`/metrics?${'q'.repeat(6000)}`, 200], ['/metrics/', 404], ['/metrics%00', 404], ['/METRICS', 404], ['/metrics%3f', 404], ['/metrics/../health', 404], ['/./metrics', 404], ['/metrics%', 400], ['/metrics%e2%28%a1', 400]];

/** the API's body limit (server.ts) and the codec's (codec.ts) */
const API_MAX_BODY = 1024 * 1024;
const CODEC_MAX_BODY = 8 * 1024 * 1024;

/**
 * What a JSON route answers a hostileBody: beyond `limit` 413; a media type it does not parse 415;
 * what does not parse as JSON (or is poisoned with __proto__/constructor.prototype) 400; then
 * `object` for a JSON object, `other` for any other value (text/plain arrives as a string).
 */
function bodyStatus(hb: { kind: string; body: Buffer | string; contentType?: string }, limit: number, object: number, other: number): number {
  const ct = hb.contentType ?? 'application/json';
  if (Buffer.byteLength(hb.body) > limit) return 413;
  if (ct === 'text/plain') return other;
  if (!/^application\/json(;|$)/.test(ct)) return 415;
  switch (hb.kind) {
    case 'invalid_json': case 'deep_proto': case 'proto_pollution': case 'utf16_bom': case 'nul_bytes': case 'empty': case 'huge': return 400;
    case 'deep_array': case 'json_scalar': return other;
    default: return object;
  }
}

/**
 * `n` bytes of "a" beyond a body limit: views of one buffer, so that the fuzzer's own process (the
 * API's too) does not allocate and free megabytes per request, which fragments the allocator and
 * makes RSS grow without any memory being live
 */
let hugeBytes = Buffer.alloc(0);
function huge(n: number): Buffer {
  if (hugeBytes.length < n) hugeBytes = Buffer.alloc(Math.max(n, CODEC_MAX_BODY + 200_000), 0x61);
  return hugeBytes.subarray(0, n);
}

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
    case 5: return { kind: 'huge', body: huge(maxBytes + 1 + r.int(1000)) };
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
  /** what the answer must also be (its body, its headers): a problem, or null */
  check?: (a: Answer) => string | null | Promise<string | null>;
  /** its answer may hold record content (an authorized read, a decode): not checked for leaks */
  mayReveal?: boolean;
  /** called with an accepted answer (e.g. a valid encode's ciphertext, decoded later) */
  then?: (a: Answer) => void;
  /** a delivery or trigger that is genuine: how many signals it must cause */
  valid?: { signals: number; eventIds?: string[] };
  replay?: boolean;
}

const is = (...codes: number[]) => (s: number) => codes.includes(s);
const anyClientError = (s: number) => s >= 400 && s < 500;

interface Answer {
  status: number;
  /** the whole body (raw requests: the whole answer, status line and headers included) */
  body: string;
  headers: Record<string, string>;
}

/** `seq` goes along as x-fuzz-seq: the API's router says which route the request reached (see install) */
async function send(base: string, r: Req, seq: string): Promise<Answer> {
  if (r.raw) return sendRaw(base, withSeq(r.raw, seq));
  const res = await fetch(base + r.path, {
    method: r.method,
    headers: { ...r.headers, [SEQ_HEADER]: seq },
    body: r.body === undefined || r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body,
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, body: text, headers: Object.fromEntries(res.headers) };
}

const SEQ_HEADER = 'x-fuzz-seq';
/** the header after the request line (bytes without one are sent as they are) */
function withSeq(raw: Buffer, seq: string): Buffer {
  const i = raw.indexOf('\r\n');
  return i < 0 ? raw : Buffer.concat([raw.subarray(0, i + 2), Buffer.from(`${SEQ_HEADER}: ${seq}\r\n`), raw.subarray(i + 2)]);
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
      resolve({ status: m ? Number(m[1]) : 0, body: text, headers: {} });
    });
    sock.write(bytes);
  });
}

// ------------------------------------------------------------------ the endpoints
/** a request for which the API's router found no route (404) */
export const NO_ROUTE = '(no route)';
/** a request refused before routing (invalid URL or HTTP framing, headers too large) or not answered */
export const NOT_ROUTED = '(not routed: bad URL or HTTP)';
/** Every route the API serves (src/api), and NO_ROUTE: what --per-endpoint fills. (HEAD of a GET route is counted apart, not required.) */
export const ENDPOINTS = [
  'POST /api/webhooks/hubspot', 'POST /api/webhooks/google', 'POST /api/webhooks/fireflies',
  'POST /api/sync/trigger', 'GET /api/sync/status', 'GET /api/sync/workflows/:system',
  'GET /api/conflicts', 'GET /api/conflicts/:id', 'POST /api/conflicts/:id/resolve',
  'GET /api/schedules', 'POST /api/schedules/:id/trigger', 'POST /api/schedules/:id/pause', 'POST /api/schedules/:id/unpause', 'POST /api/schedules/:id/backfill',
  'GET /conflicts',
  'POST /codec/decode', 'POST /codec/encode', 'OPTIONS /codec/decode', 'OPTIONS /codec/encode', 'GET /codec/login', 'POST /codec/login', 'POST /codec/logout',
  'GET /health', 'GET /metrics',
  NO_ROUTE,
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

// ------------------------------------------------------------------ the installation under test
const ANA = 'ana@acme.test';
const HUBSPOT_SECRET = 'fuzz-hubspot-client-secret';
const FIREFLIES_SECRET = 'fuzz-fireflies-secret-0123';
const GMAIL_TOKEN = 'fuzz-gmail-push-token-0123456789';
const GMAIL_AUDIENCE = 'https://aurora.example/api/webhooks/google';
const GMAIL_SA = 'gmail-push@aurora-sandbox.iam.gserviceaccount.com';
const API_TOKEN = 'fuzz-api-token';
const READ_TOKEN = 'fuzz-read-token';
const CODEC_KEY_ID = 'fuzz-key';
const UI_ORIGIN = 'http://localhost:8233'; // CODEC_CORS_ORIGINS' default: the dev server's Web UI

/** a payload as the codec-server protocol writes it: base64 metadata values and data */
interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}
const toJsonPayload = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});
const fromJsonPayload = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

interface Installation {
  h: Harness;
  app: FastifyInstance;
  base: string;
  keys: GoogleKeys;
  certs: FastifyInstance;
  contacts: string[];
  conflictId: string;
  transcripts: string[];
  /** x-fuzz-seq → the route the API's router matched (`METHOD /template`, or NO_ROUTE) */
  routes: Map<string, string>;
  /** record content and secrets no unauthorized answer (nor /health, /metrics) may carry */
  sensitive: string[];
  codec: {
    /** the seeded contacts as JSON payloads: plain, and encrypted with the installation's key */
    plain: JsonPayload[];
    encrypted: JsonPayload[];
    /** encrypted under a key id the API does not have, and under the same id with other key material */
    unknownKey: JsonPayload[];
    otherMaterial: JsonPayload[];
    /** a session cookie from a real sign-in at /codec/login */
    cookie: string;
    local: EncryptionCodec;
  };
  close(): Promise<void>;
}

async function install(log: (l: string) => void): Promise<Installation> {
  // Google's ID-token keys, served as Google serves them: valid Gmail pushes are signed with them.
  const keys = new GoogleKeys();
  const certs = Fastify({ logger: false });
  registerCertRoutes(certs, keys);
  await certs.listen({ host: '127.0.0.1', port: 0 });
  const certsUrl = `http://127.0.0.1:${(certs.server.address() as { port: number }).port}/oauth2/v1/certs`;
  // The codec's keys: every payload this installation writes to Temporal is encrypted, and /codec decodes them.
  const keysDir = mkdtempSync(join(tmpdir(), 'aurora-fuzz-'));
  writeFileSync(join(keysDir, 'temporal-codec-keys.json'), newCodecKeysFile(CODEC_KEY_ID));
  let h: Harness | undefined;
  let app: FastifyInstance | undefined;
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
        TEMPORAL_CODEC_KEYS_PATH: join(keysDir, 'temporal-codec-keys.json'),
      },
    });
    // The API as src/api/main.ts builds it (its own metrics included), on a random port; one hook
    // records which route its router matched for each request the fuzzer numbered.
    const routes = new Map<string, string>();
    app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, metrics: createMetrics(), configuredSystems: new Set(['hubspot', 'google_workspace', 'fireflies']) });
    app.addHook('onRequest', async (req) => {
      const seq = req.headers[SEQ_HEADER];
      if (typeof seq === 'string') routes.set(seq, req.routeOptions.url === undefined ? NO_ROUTE : `${req.method} ${req.routeOptions.url}`);
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    h.cfg.webhooks.publicBaseUrl = url; // push channels are opened to it
    await h.startWorker();
    // Something on every side, synced; one manual conflict open; push channels open; the schedules made.
    const seeded = h.sandbox.seed('contacts', 6);
    const contacts = seeded.map((c) => c.id);
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
    // The codec: the seeded contacts as payloads (record content), encrypted as the worker encrypts them; a real sign-in.
    const local = codecFor(h.cfg.codec.keys);
    const plain: Payload[] = seeded.map((c) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify({ email: c.properties.email, firstname: c.properties.firstname, lastname: c.properties.lastname, phone: c.properties.phone })) }));
    const login = await fetch(`${url}/codec/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: API_TOKEN }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (login.status !== 200 || !cookie) throw new Error(`the codec sign-in failed: ${login.status} ${await login.text()}`);
    const codec = {
      plain: plain.map(toJsonPayload),
      encrypted: (await local.encode(plain)).map(toJsonPayload),
      unknownKey: (await new EncryptionCodec(parseCodecKeys(newCodecKeysFile('retired-key'))).encode(plain)).map(toJsonPayload),
      otherMaterial: (await new EncryptionCodec(parseCodecKeys(newCodecKeysFile(CODEC_KEY_ID))).encode(plain)).map(toJsonPayload),
      cookie,
      local,
    };
    const names = seeded.flatMap((c) => [c.properties.email, c.properties.phone, `${c.properties.firstname} ${c.properties.lastname}`, c.properties.lastname]).filter((v): v is string => typeof v === 'string' && v.trim().length >= 6);
    const sensitive = [...new Set([...names, 'Fuzz-Aurora', 'Fuzz-HubSpot', ...codec.plain.map((p) => p.data), API_TOKEN, READ_TOKEN, HUBSPOT_SECRET, FIREFLIES_SECRET, GMAIL_TOKEN])];
    log(`installation: ${contacts.length} HubSpot contacts, a conflict (${localId}), ${h.google!.channels.active().length} Google push channels, ${h.fireflies!.transcripts.list().length} Fireflies transcripts, codec key ${CODEC_KEY_ID}`);
    const hh = h;
    const api = app;
    return {
      h,
      app,
      base: url,
      routes,
      sensitive,
      codec,
      keys,
      certs,
      contacts: contacts.slice(1),
      conflictId: `conflict:hubspot:contact:${localId}`,
      transcripts: h.fireflies!.transcripts.list().map((t) => t.id),
      close: async () => {
        await api.close();
        await hh.close();
        await certs.close();
        rmSync(keysDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await h?.close().catch(() => undefined);
    await certs.close();
    rmSync(keysDir, { recursive: true, force: true });
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

/** Waits until the webhook inbox is empty: every accepted delivery's work has been signalled (at most 10 s). */
async function inboxDrained(db: Pool): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < 10_000; await new Promise((r) => setTimeout(r, 5))) {
    if (Number((await db.query<{ n: string }>('SELECT count(*) n FROM webhook_inbox')).rows[0]!.n) === 0) return;
  }
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
  const scheduleIds = [reconcileScheduleId('hubspot'), reconcileScheduleId('google_workspace', '', ANA), 'renew-channels:google_workspace'];

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
      case 6: return { ...o, kind: 'schedule_unknown_action', method: 'POST', path: `/api/schedules/${pct(r.pick(scheduleIds))}/${r.pick(['delete', 'run', 'TRIGGER', 'pause.json', '%70ause;x'])}`, headers: withAuth('write', json), body: '{}', accept: is(404) };
      case 7: return { ...o, kind: 'codec_wrong_method', method: r.pick(['GET', 'PUT', 'DELETE', 'PATCH']), path: r.pick(['/codec/decode', '/codec/encode', '/codec', '/codec/', '/codec/logout', '/codec/decode/', '/codec/DECODE']), headers: withAuth('write', json), body: JSON.stringify({ payloads: inst.codec.encrypted.slice(0, 1) }), accept: is(404) };
      default: return { ...o, kind: 'open_wrong_method', method: r.pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), path: r.pick(['/health', '/metrics', '/conflicts', '/api/sync/status', '/api/conflicts']), headers: json, body: '{}', accept: is(404) };
    }
  };
  const reviewPage = (): Req => {
    const p = { group: 'open', method: 'GET', kind: 'review_page' };
    const shell = (a: Answer) => (/<html/i.test(a.body) && a.headers['x-frame-options'] === 'DENY' ? null : 'not the review page shell (or no x-frame-options: DENY)');
    switch (r.int(4)) {
      case 0: return { ...p, path: r.pick(['/conflicts', '/conflicts?token=x', `/conflicts?${pct("'><script>")}`, `/conflicts?id=${pct(inst.conflictId)}`, `/conflicts?${'q'.repeat(3000)}`]), accept: is(200), check: shell };
      case 1: { const tk = r.pick(Object.keys(tokens) as TokenName[]); return { ...p, kind: `review_page_token_${tk}`, path: '/conflicts', headers: withAuth(tk), accept: is(200), check: shell }; }
      case 2: return { ...p, kind: 'review_page_head', method: 'HEAD', path: '/conflicts', accept: is(200) };
      default: return { ...p, kind: 'review_page_path_trick', method: 'RAW', path: '', raw: rawGet(r.pick(['/conflicts/', '/conflicts/../api/conflicts', '/%63onflicts', '/conflicts%00', '/conflicts%', '/CONFLICTS', '/conflicts;x'])), accept: is(200, 400, 404) };
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
  const readPaths = {
    'GET /api/sync/status': ['/api/sync/status', '/api/sync/status?x=1'],
    'GET /api/schedules': ['/api/schedules', `/api/schedules?id=${pct(r.pick(SQLISH))}`],
    'GET /api/conflicts': ['/api/conflicts', `/api/conflicts?status=${pct(r.pick(SQLISH))}`],
    'GET /api/conflicts/:id': [`/api/conflicts/${pct(inst.conflictId)}`, `/api/conflicts/${pct(inst.conflictId.replace(/^conflict:/, ''))}`],
    'GET /api/sync/workflows/:system': ['/api/sync/workflows/hubspot', `/api/sync/workflows/google_workspace?connection=${pct(ANA)}`, '/api/sync/workflows/fireflies'],
  } as const;
  const reads = (route: keyof typeof readPaths = r.pick(Object.keys(readPaths) as (keyof typeof readPaths)[])): Req => {
    const path = r.pick(readPaths[route]);
    if (r.chance(0.75)) { const tk = r.pick(unauthorized); return { group: 'rest', kind: `read_token_${tk}`, method: 'GET', path, headers: withAuth(tk), accept: is(401) }; }
    return { group: 'rest', kind: 'read_with_read_token', method: 'GET', path, headers: withAuth(r.pick(['read', 'write'])), accept: is(200), mayReveal: true };
  };
  const hostileIds = (which: 0 | 1 | 2 | 3 = r.int(4) as 0 | 1 | 2 | 3): Req => {
    const id = r.pick([...HOSTILE, `conflict:hubspot:contact:${r.pick(HOSTILE)}`, `hubspot:contact:${r.pick(SQLISH)}`, `conflict:salesforce:lead:1`, `conflict:hubspot:${r.pick(HOSTILE)}:1`, `conflict:hubspot:contact:${'9'.repeat(2000)}`, `conflict:hubspot:contact:a\u0000b`, `conflict:hubspot:contact:${'é'.repeat(600)}`]);
    const enc = pct(id);
    switch (which) {
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
  const schedules = (action = r.pick(['trigger', 'pause', 'unpause', 'backfill'])): Req => {
    const ids = scheduleIds;
    const s = { group: 'rest', method: 'POST' };
    switch (r.int(4)) {
      case 0: { const tk = r.pick(unauthorized); return { ...s, kind: `schedule_token_${tk}`, path: `/api/schedules/${pct(r.pick(ids))}/${action}`, headers: withAuth(tk, json), body: JSON.stringify({ reason: 'x', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }), accept: is(401) }; }
      case 1: return { ...s, kind: 'schedule_read_token', path: `/api/schedules/${pct(r.pick(ids))}/${action}`, headers: withAuth('read', json), body: JSON.stringify({ reason: 'x' }), accept: is(403) };
      case 2: return { ...s, kind: 'schedule_hostile_id', path: `/api/schedules/${pct(r.pick([...HOSTILE, 'reconcile:salesforce', 'reconcile:hubspot:other', `${h.cfg.temporal.workflowIdPrefix}reconcile:salesforce`, `${h.cfg.temporal.workflowIdPrefix}x:reconcile:hubspot`, 'renew-channels:salesforce', 'reconcile:fireflies:x']))}/${action}`, headers: withAuth('write', json), body: JSON.stringify({ reason: 'fuzz', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }), accept: is(400, 404, 414) };
      default: {
        // (trigger and unpause take any body: for them, hostile bodies with a read token)
        if (action === 'trigger' || action === 'unpause') { const hb = hostileBody(r, maxBody); return { ...s, kind: `schedule_read_token_${hb.kind}`, path: `/api/schedules/${pct(r.pick(ids))}/${action}`, headers: withAuth('read', { 'content-type': hb.contentType ?? 'application/json' }), body: hb.body, accept: is(403) }; }
        const bad = r.pick<unknown>(action === 'pause' ? [{}, { reason: '' }, { reason: 'r'.repeat(501) }, { reason: { a: 1 } }, { reason: ['x'] }]
          : [{}, { from: 'yesterday', to: 'today' }, { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, { from: '2026-01-01T00:00:00Z', to: '2026-06-01T00:00:00Z' }, { from: 1, to: 2 }, { from: "' OR 1=1", to: null }]);
        return { ...s, kind: `schedule_invalid_${action}`, path: `/api/schedules/${pct(r.pick(ids))}/${action}`, headers: withAuth('write', json), body: JSON.stringify(bad), accept: is(400) };
      }
    }
  };

  // --- the codec endpoint (src/api/codec.ts): the Temporal Web UI and CLI decode payloads there
  const cx = inst.codec;
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  /** the ways in: a bearer token (API or read) or the session cookie of a sign-in (with the Web UI's origin, or none) */
  const codecAuth = (): Record<string, string> => {
    switch (r.int(4)) {
      case 0: return { authorization: `Bearer ${API_TOKEN}` };
      case 1: return { authorization: `Bearer ${READ_TOKEN}` };
      case 2: return { cookie: cx.cookie, origin: UI_ORIGIN };
      default: return { cookie: `theme=dark; ${cx.cookie}`, 'x-namespace': h.cfg.temporal.namespace };
    }
  };
  /** plaintext and ciphertext that belong together: the worker's own, and what valid encodes answered (decoded again later: a round trip through the API) */
  const pairs = cx.plain.map((plain, i) => ({ plain, enc: cx.encrypted[i]! }));
  const sample = <T>(xs: readonly T[], n = 1 + r.int(3)) => Array.from({ length: n }, () => r.pick(xs));
  const payloadsOf = (a: Answer): JsonPayload[] | null => {
    try {
      const p = (JSON.parse(a.body) as { payloads?: unknown }).payloads;
      return Array.isArray(p) ? (p as JsonPayload[]) : null;
    } catch {
      return null;
    }
  };
  const corsOk = (hd: Record<string, string>) => (a: Answer) => !hd.origin || (a.headers['access-control-allow-origin'] === hd.origin && a.headers['access-control-allow-credentials'] === 'true') ? null : 'no CORS headers for the Web UI origin';
  const noPayloads = (a: Answer) => (/"payloads"/.test(a.body) ? 'a refused codec call answered payloads' : null);
  const noCors = (a: Answer) => noPayloads(a) ?? (a.headers['access-control-allow-origin'] ? `CORS allowed for ${a.headers['access-control-allow-origin']}` : null);
  /** 200 only as the protobuf JSON of no payloads (an object without a list), else refused without payloads */
  const emptyOrRefused = (a: Answer) => (a.status === 200 ? (a.body === '{"payloads":[]}' ? null : 'a body without payloads answered something else than {"payloads":[]}') : noPayloads(a));
  const samePayloads = (want: JsonPayload[]) => (a: Answer) => (JSON.stringify(payloadsOf(a)) === JSON.stringify(want) ? null : 'the decoded payloads differ from the originals');
  const codecValid = (): Req => {
    const hd = codecAuth();
    const c = { group: 'codec', method: 'POST', headers: { ...json, ...hd }, accept: is(200), valid: { signals: 0 } };
    if (r.chance(0.5)) {
      const picked = sample(pairs);
      return { ...c, kind: 'valid_decode', path: '/codec/decode', body: JSON.stringify({ payloads: picked.map((p) => p.enc) }), mayReveal: true, check: (a) => samePayloads(picked.map((p) => p.plain))(a) ?? corsOk(hd)(a) };
    }
    const sent = [...sample(cx.plain, r.int(3)), ...sample([{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ n: r.int(1e9) })) }], 1)];
    return {
      ...c, kind: 'valid_encode', path: '/codec/encode', body: JSON.stringify({ payloads: sent }),
      check: async (a) => {
        const got = payloadsOf(a);
        if (!got || got.length !== sent.length) return 'encode answered another number of payloads';
        if (got.some((p) => p.metadata.encoding !== b64('binary/encrypted') || p.metadata['encryption-key-id'] !== b64(CODEC_KEY_ID))) return 'an encoded payload is not encrypted with the current key';
        const back = (await cx.local.decode(got.map(fromJsonPayload))).map(toJsonPayload);
        return JSON.stringify(back) === JSON.stringify(sent) ? corsOk(hd)(a) : 'the encoded payloads do not decrypt to what was sent';
      },
      then: (a) => {
        const got = payloadsOf(a)!;
        sent.forEach((plain, i) => pairs.push({ plain, enc: got[i]! }));
        if (pairs.length > 64) pairs.splice(cx.plain.length, pairs.length - 64);
      },
    };
  };
  const codecHostile = (op: 'decode' | 'encode' = r.pick(['decode', 'encode'] as const)): Req => {
    const c = { group: 'codec', method: 'POST', path: `/codec/${op}` };
    const some = () => JSON.stringify({ payloads: sample(op === 'decode' ? cx.encrypted : cx.plain) });
    const auth = () => ({ ...json, ...codecAuth() });
    switch (r.int(9)) {
      case 0: {
        const authorization = r.pick([...unauthorized.map((t) => tokens[t]), `bearer ${API_TOKEN}`, `Token ${API_TOKEN}`, `Bearer ${API_TOKEN.toUpperCase()}`, `Bearer ${API_TOKEN} ${READ_TOKEN}`, `Bearer ${READ_TOKEN.slice(1)}`]);
        return { ...c, kind: 'codec_wrong_token', headers: authorization ? { ...json, authorization } : json, body: some(), accept: is(401), check: noPayloads };
      }
      case 1: {
        const [role, exp, sig] = cx.cookie.slice(cx.cookie.indexOf('=') + 1).split('.') as [string, string, string];
        const signed = (rl: string, e: number, token = API_TOKEN) => `aurora_codec=${rl}.${e}.${createHmac('sha256', token).update(`aurora-codec-session:${rl}:${e}`).digest('base64url')}`;
        const past = Math.floor(Date.now() / 1000) - 1 - r.int(86_400 * 30);
        const cookie = r.pick([
          `aurora_codec=${role}.${exp}.${Buffer.from(r.hex(64), 'hex').toString('base64url')}`, // forged signature
          `aurora_codec=read.${exp}.${sig}`, // another role, the same signature
          `aurora_codec=${role}.${Number(exp) + 1 + r.int(1e6)}.${sig}`, // a later expiry, the same signature
          signed('api', past), // signed, expired
          signed('admin', Number(exp)), // a role that has no token
          signed('api', Number(exp), 'guessed-secret'), // signed with a guess
          `aurora_codec=api.${'9'.repeat(400)}.${sig}`,
          `aurora_codec=${cx.cookie.slice(cx.cookie.indexOf('=') + 1).toUpperCase()}`,
          `aurora_codec_x=${role}.${exp}.${sig}`, `xaurora_codec=${role}.${exp}.${sig}`,
          `aurora_codec=${pct("api.1'; DROP TABLE sync_registry; --")}`, `aurora_codec=${role}.${exp}`, 'aurora_codec=',
        ]);
        return { ...c, kind: 'codec_forged_cookie', headers: { ...json, cookie, ...(r.chance(0.5) ? { origin: UI_ORIGIN } : {}) }, body: some(), accept: is(401), check: noPayloads };
      }
      case 2: return { ...c, kind: 'codec_foreign_origin', headers: { ...auth(), origin: r.pick(FOREIGN_ORIGINS) }, body: some(), accept: is(403), check: noCors };
      case 3: { const hb = hostileBody(r, maxBody); return { ...c, kind: `codec_${hb.kind}`, headers: { ...auth(), 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: is(bodyStatus(hb, CODEC_MAX_BODY, 200, 400)), check: emptyOrRefused }; }
      case 4: { // beyond the codec's 8 MiB: 413 with a token; without one it is refused before its body is read
        const body = huge(CODEC_MAX_BODY + 1 + r.int(100_000));
        return r.chance(0.5) ? { ...c, kind: 'codec_huge', headers: auth(), body, accept: is(413), check: noPayloads } : { ...c, kind: 'codec_huge_no_token', headers: json, body, accept: is(401), check: noPayloads };
      }
      case 5: {
        const bad = r.pick<unknown>([
          { payloads: 'x' }, { payloads: 1 }, { payloads: true }, { payloads: {} }, { payloads: [null] }, { payloads: [1] }, { payloads: ['x'] }, { payloads: [[]] },
          { payloads: [{ metadata: [] }] }, { payloads: [{ metadata: 'x' }] }, { payloads: [{ metadata: 1 }] },
          { payloads: [{ metadata: { encoding: r.pick<unknown>([1, '%%%', 'a b', '-_-_', 'é', null, {}, [], 'AAAAA===']) }, data: 'YQ==' }] },
          { payloads: [{ metadata: { ['k'.repeat(10_000)]: '%' }, data: 'YQ==' }] },
          { payloads: [{ data: r.pick<unknown>([1, {}, [], '%%%', '@@', ' ', 'YQ==\n', 'Y Q==', `${'A'.repeat(5)}===`, "' OR 1=1"]) }] },
          { payloads: [...cx.encrypted, { data: '%' }] },
        ]);
        return { ...c, kind: 'codec_not_base64', headers: auth(), body: JSON.stringify(bad), accept: is(400), check: noPayloads };
      }
      case 6: {
        if (op === 'encode') return { ...c, kind: 'codec_encode_ciphertext', headers: auth(), body: JSON.stringify({ payloads: sample(cx.encrypted) }), accept: is(200), check: (a) => (payloadsOf(a)?.every((p) => p.metadata.encoding === b64('binary/encrypted')) ? null : 'not encrypted') };
        const flip = (p: JsonPayload): JsonPayload => {
          const d = Buffer.from(p.data, 'base64');
          d[r.int(d.length)] ^= 1 << r.int(8);
          return { ...p, data: d.toString('base64') };
        };
        const one = r.pick(cx.encrypted);
        const bad = r.pick<[string, JsonPayload[]]>([
          ['unknown_key_id', sample(cx.unknownKey)],
          ['other_key_material', sample(cx.otherMaterial)],
          ['tampered', [flip(one)]],
          ['tampered_among_valid', [...cx.encrypted.slice(0, 2), flip(one)]],
          ['truncated', [{ ...one, data: Buffer.from(one.data, 'base64').subarray(0, r.int(28)).toString('base64') }]],
          ['no_key_id', [{ metadata: { encoding: one.metadata.encoding!, 'encryption-cipher': one.metadata['encryption-cipher']! }, data: one.data }]],
          ['other_key_id', [{ ...one, metadata: { ...one.metadata, 'encryption-key-id': b64(r.pick(['retired-key', "fuzz-key' OR '1'='1", '../fuzz-key', CODEC_KEY_ID.toUpperCase(), `${CODEC_KEY_ID} `])) } }]],
          ['no_data', [{ metadata: one.metadata, data: '' }]],
        ]);
        return { ...c, kind: `codec_${bad[0]}`, headers: auth(), body: JSON.stringify({ payloads: bad[1] }), accept: is(422), check: noPayloads };
      }
      case 7: {
        const deep = r.pick([
          `{"payloads":[{"metadata":{"encoding":${nested(r.pick([1_000, 20_000]), 'array')}}}]}`,
          `{"payloads":[{"data":${nested(r.pick([1_000, 20_000]), 'object')}}]}`,
          `{"payloads":${nested(r.pick([1_000, 50_000]), 'array')}}`,
          `{"payloads":[{"metadata":${nested(r.pick([1_000, 20_000]), 'object')}}]}`,
        ]);
        return { ...c, kind: 'codec_deep_payloads', headers: auth(), body: deep, accept: is(400), check: noPayloads };
      }
      default: { // many payloads that are not encrypted: decode passes them through, encode encrypts each
        const many = Array.from({ length: 500 + r.int(3_000) }, (_, i) => ({ metadata: { encoding: b64('json/plain') }, data: b64(String(i)) }));
        return { ...c, kind: 'codec_many_payloads', headers: auth(), body: JSON.stringify({ payloads: many }), accept: is(200), check: (a) => (op === 'decode' ? samePayloads(many)(a) : payloadsOf(a)?.length === many.length ? null : 'encode answered another number of payloads') };
      }
    }
  };
  const codecPreflight = (op: 'decode' | 'encode' = r.pick(['decode', 'encode'] as const)): Req => {
    const c = { group: 'codec', method: 'OPTIONS', path: `/codec/${op}` };
    const ask = { 'access-control-request-method': r.pick(['POST', 'GET', 'DELETE']), 'access-control-request-headers': r.pick(['content-type,x-namespace,authorization', 'authorization', 'x-evil, cookie', '*']) };
    if (r.chance(0.2)) return { ...c, kind: 'preflight_web_ui', headers: { ...ask, origin: UI_ORIGIN }, accept: is(204), check: (a) => (a.headers['access-control-allow-origin'] === UI_ORIGIN ? null : 'no CORS for the Web UI origin') };
    if (r.chance(0.15)) return { ...c, kind: 'preflight_no_origin', headers: ask, accept: is(403), check: noCors };
    return { ...c, kind: 'preflight_foreign_origin', headers: { ...ask, origin: r.pick(FOREIGN_ORIGINS), ...(r.chance(0.3) ? { authorization: `Bearer ${API_TOKEN}`, cookie: cx.cookie } : {}) }, accept: is(403), check: noCors };
  };
  const codecLoginPage = (): Req => {
    const page = (a: Answer) => (/codec sign-in/.test(a.body) && a.headers['cache-control'] === 'no-store' ? null : 'not the sign-in page (or cacheable)');
    const query = r.pick(['', `?token=${API_TOKEN}x`, `?next=${pct('https://evil.example')}`, `?${pct("'><script>alert(1)</script>")}`, `?${'q'.repeat(4000)}`, '?a=%zz']);
    const headers = r.pick<Record<string, string>>([{}, { cookie: cx.cookie }, { origin: r.pick(FOREIGN_ORIGINS) }, withAuth(r.pick(unauthorized))]);
    return { group: 'codec', kind: 'login_page', method: 'GET', path: `/codec/login${query}`, headers, accept: is(200), check: page };
  };
  const codecLogin = (): Req => {
    const c = { group: 'codec', method: 'POST', path: '/codec/login' };
    switch (r.int(4)) {
      case 0: {
        const token = r.pick<unknown>(['wrong', `${API_TOKEN}x`, API_TOKEN.slice(0, -1), ` ${API_TOKEN}`, API_TOKEN.toUpperCase(), `${READ_TOKEN}\u0000`, '', 'x'.repeat(100_000), ...SQLISH, 1, 0, true, null, [API_TOKEN], { token: API_TOKEN }, { toString: API_TOKEN }]);
        return { ...c, kind: 'login_wrong_token', headers: { ...json, ...(r.chance(0.3) ? { origin: r.pick(FOREIGN_ORIGINS) } : {}) }, body: JSON.stringify({ token }), accept: is(401), check: (a) => (a.headers['set-cookie'] ? 'a refused sign-in set a cookie' : null) };
      }
      case 1: { const hb = hostileBody(r, maxBody); return { ...c, kind: `login_${hb.kind}`, headers: { 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: is(bodyStatus(hb, API_MAX_BODY, 401, 401)), check: (a) => (a.headers['set-cookie'] ? 'a refused sign-in set a cookie' : null) }; }
      case 2: return { ...c, kind: 'login_deep_token', headers: json, body: `{"token":${nested(r.pick([1_000, 30_000]), r.pick(['array', 'object'] as const))}}`, accept: is(401) };
      default:
        return {
          ...c, kind: 'valid_login', headers: json, body: JSON.stringify({ token: r.pick([API_TOKEN, READ_TOKEN]) }), accept: is(200), valid: { signals: 0 },
          check: (a) => (/HttpOnly; SameSite=Strict/.test(a.headers['set-cookie'] ?? '') && /Path=\/codec/.test(a.headers['set-cookie'] ?? '') ? null : 'the session cookie is not HttpOnly, SameSite=Strict, Path=/codec'),
        };
    }
  };
  const codecLogout = (): Req => {
    const c = { group: 'codec', method: 'POST', path: '/codec/logout' };
    const cleared = (a: Answer) => (a.status !== 200 || /aurora_codec=; .*Max-Age=0/.test(a.headers['set-cookie'] ?? '') ? null : 'logout did not clear the cookie');
    if (r.chance(0.5)) {
      const headers = r.pick<Record<string, string>>([{}, { cookie: cx.cookie }, { origin: r.pick(FOREIGN_ORIGINS) }, { ...json, cookie: cx.cookie }]);
      return { ...c, kind: 'logout', headers, body: headers['content-type'] || r.chance(0.5) ? '{}' : undefined, accept: is(200), check: cleared };
    }
    const hb = hostileBody(r, maxBody);
    return { ...c, kind: `logout_${hb.kind}`, headers: { 'content-type': hb.contentType ?? 'application/json' }, body: hb.body, accept: is(bodyStatus(hb, API_MAX_BODY, 200, 200)), check: cleared };
  };

  // --- open endpoints: health and metrics (no token; never record content)
  const openEndpoint = (path: '/health' | '/metrics') => (): Req => {
    const o = { group: 'open', method: 'GET' };
    const body = path === '/health' ? (a: Answer) => (a.body.endsWith('{"ok":true}') ? null : 'not {"ok":true}') : (a: Answer) => (/# HELP aurora_sync_webhooks_total/.test(a.body) ? null : 'not the metrics');
    const name = path.slice(1);
    switch (r.int(5)) {
      case 0: case 1: {
        const query = r.pick(['', '?x=1', `?${pct("' OR 1=1 --")}`, '?a[]=1&a[]=2', '?__proto__[x]=1', `?${'q'.repeat(4000)}`, '?format=json', '?name[]=aurora_sync_webhooks_total', '?%zz']);
        const headers = r.pick<Record<string, string>>([{}, withAuth(r.pick(Object.keys(tokens) as TokenName[])), { cookie: cx.cookie }, { origin: r.pick(FOREIGN_ORIGINS) }, { accept: r.pick(['application/openmetrics-text; version=1.0.0', 'text/html', '*/*', 'application/json']) }, { 'accept-encoding': 'gzip, br' }]);
        return { ...o, kind: `${name}_get`, path: `${path}${query}`, headers, accept: is(200), check: body };
      }
      case 2: { // the path as sent (fetch would normalize it), and what the router makes of it
        const [p, status] = r.pick(path === '/health' ? HEALTH_TRICKS : METRICS_TRICKS);
        return { ...o, kind: `${name}_path_trick`, method: 'RAW', path: '', raw: rawGet(p), accept: is(status), check: (a) => (status === 200 ? body(a) : null) };
      }
      case 3: {
        const [line, status] = r.pick<[string, number]>([[`GET http://127.0.0.1${path} HTTP/1.1`, 200], [`GET ${path} HTTP/1.0`, 200], [`GET  ${path} HTTP/1.1`, 200], [`GET ${path}`, 200], [`get ${path} HTTP/1.1`, 400], [`TRACE ${path} HTTP/1.1`, 404], [`PROPFIND ${path} HTTP/1.1`, 404], [`CONNECT ${path} HTTP/1.1`, 0], [`HEAD ${path} HTTP/1.1`, 200]]);
        return { ...o, kind: `${name}_request_line`, method: 'RAW', path: '', raw: rawGet(path, line), accept: is(status), check: (a) => (status === 200 && !line.startsWith('HEAD') ? body(a) : null) };
      }
      default: return { ...o, kind: `${name}_head`, method: 'HEAD', path, accept: is(200) };
    }
  };
  const health = openEndpoint('/health');
  const metrics = openEndpoint('/metrics');

  const replay = (): Req | null => {
    const candidates = sentValid.filter((s) => s.req.group !== 'rest');
    if (!candidates.length) return null;
    const orig = r.pick(candidates).req;
    // Acknowledged and ignored (a channel's message number, a Gmail message id, a delivery seen before): no signal.
    // HubSpot's signature is good for 5 minutes: an older replay is refused as stale.
    return { ...orig, kind: `replay_${orig.kind}`, replay: true, valid: undefined, accept: orig.group === 'hubspot' ? is(200, 401) : is(200) };
  };

  return { hubspotValid, hubspotHostile, googleValid, googleHostile, firefliesValid, firefliesHostile, elsewhere, reviewPage, trigger, triggerValid, reads, hostileIds, resolve, schedules, codecValid, codecHostile, codecPreflight, codecLoginPage, codecLogin, codecLogout, health, metrics, replay };
}

/** a GET as it is sent (no normalization of the path), the connection closed after the answer */
function rawGet(path: string, line = `GET ${path} HTTP/1.1`): Buffer {
  return Buffer.from(`${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'latin1');
}

function rawPost(path: string, body: string, headers: [string, string][]): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(body)]);
}

const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** see FuzzReport.memory.steadyGrowthMiB (the first sample, at the warm-up, is left out) */
function steadyGrowth(samples: FuzzReport['memory']['samples']): number | null {
  const s = samples.slice(1).map((x) => x.rssMiB);
  if (s.length < 6) return null;
  const third = Math.floor(s.length / 3);
  return Math.round((median(s.slice(-third)) - median(s.slice(0, third))) * 10) / 10;
}

/** a full garbage collection, so heap figures compare live memory (not what is merely uncollected) */
const collect: () => void = (() => {
  if (typeof global.gc === 'function') return global.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
function memory(): { rss: number; heap: number; external: number } {
  collect();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

// ------------------------------------------------------------------ the run
export async function runFuzz(opts: FuzzOptions = {}): Promise<FuzzReport> {
  const perEndpoint = opts.perEndpoint ?? 0;
  const total = opts.requests ?? (perEndpoint ? 0 : 1_200);
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
    // The mix: ~6 % genuine deliveries, triggers and codec calls, ~3 % replays of them, the rest hostile, spread over every endpoint:
    // by weight (--requests), or steered to the endpoint with the fewest requests so far (--per-endpoint).
    const hostile = [
      [gen.hubspotHostile, 16], [gen.googleHostile, 16], [gen.firefliesHostile, 10], [gen.elsewhere, 7], [gen.reviewPage, 2],
      [gen.trigger, 10], [gen.reads, 10], [gen.hostileIds, 10], [gen.resolve, 12], [gen.schedules, 8],
      [gen.codecHostile, 12], [gen.codecPreflight, 3], [gen.codecLoginPage, 1], [gen.codecLogin, 3], [gen.codecLogout, 1], [gen.health, 3], [gen.metrics, 3],
    ] as const;
    const weightSum = hostile.reduce((n, [, w]) => n + w, 0);
    const pickWeighted = () => {
      let x = r.next() * weightSum;
      for (const [g, w] of hostile) if ((x -= w) < 0) return g();
      return hostile[0][0]();
    };
    /** the generators of each endpoint's requests (most of them reach it; the route the API matched is what is counted) */
    const targets: Record<Endpoint, () => Req> = {
      'POST /api/webhooks/hubspot': gen.hubspotHostile,
      'POST /api/webhooks/google': gen.googleHostile,
      'POST /api/webhooks/fireflies': gen.firefliesHostile,
      'POST /api/sync/trigger': gen.trigger,
      'GET /api/sync/status': () => gen.reads('GET /api/sync/status'),
      'GET /api/sync/workflows/:system': () => (r.chance(0.5) ? gen.reads('GET /api/sync/workflows/:system') : gen.hostileIds(r.pick([2, 3] as const))),
      'GET /api/conflicts': () => gen.reads('GET /api/conflicts'),
      'GET /api/conflicts/:id': () => (r.chance(0.5) ? gen.reads('GET /api/conflicts/:id') : gen.hostileIds(0)),
      'POST /api/conflicts/:id/resolve': () => (r.chance(0.8) ? gen.resolve() : gen.hostileIds(1)),
      'GET /api/schedules': () => gen.reads('GET /api/schedules'),
      'POST /api/schedules/:id/trigger': () => gen.schedules('trigger'),
      'POST /api/schedules/:id/pause': () => gen.schedules('pause'),
      'POST /api/schedules/:id/unpause': () => gen.schedules('unpause'),
      'POST /api/schedules/:id/backfill': () => gen.schedules('backfill'),
      'GET /conflicts': gen.reviewPage,
      'POST /codec/decode': () => gen.codecHostile('decode'),
      'POST /codec/encode': () => gen.codecHostile('encode'),
      'OPTIONS /codec/decode': () => gen.codecPreflight('decode'),
      'OPTIONS /codec/encode': () => gen.codecPreflight('encode'),
      'GET /codec/login': gen.codecLoginPage,
      'POST /codec/login': gen.codecLogin,
      'POST /codec/logout': gen.codecLogout,
      'GET /health': gen.health,
      'GET /metrics': gen.metrics,
      [NO_ROUTE]: gen.elsewhere,
    };
    const endpoints: FuzzReport['endpoints'] = {};
    const reached = (e: string) => Object.values(endpoints[e] ?? {}).reduce((n, v) => n + v, 0);
    const minReached = () => Math.min(...ENDPOINTS.map(reached));
    const pickHostile = perEndpoint
      ? () => {
          const min = minReached();
          return targets[r.pick(ENDPOINTS.filter((e) => reached(e) === min))]();
        }
      : pickWeighted;
    // (an endpoint its generator could not reach would never fill: the run stops at this many)
    const cap = Math.max(total, perEndpoint * ENDPOINTS.length * 3 + 1_000);
    const warmUp = Math.min(100, Math.floor(Math.max(total, perEndpoint * ENDPOINTS.length) / 10));
    const progressEvery = Math.max(total, perEndpoint * ENDPOINTS.length) > 5_000 ? 1_000 : 200;
    const leaks: FuzzReport['leaks'] = [];
    let revealedToAuthorized = 0;
    const samples: FuzzReport['memory']['samples'] = [];
    const sample = (requests: number) => {
      const m = memory();
      samples.push({ requests, rssMiB: mib(m.rss), heapMiB: mib(m.heap), externalMiB: mib(m.external) });
      return m;
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
    let sent = 0;
    for (let i = 0; (i < total || (perEndpoint > 0 && minReached() < perEndpoint)) && i < cap; i++) {
      if (i === warmUp) {
        // after a warm-up (connections, caches, JIT): the baseline
        const m = sample(i);
        rssStart = m.rss;
        heapStart = m.heap;
      }
      let req: Req | null = null;
      if (i % validEvery === 3) req = r.pick([gen.hubspotValid, gen.googleValid, gen.firefliesValid, gen.triggerValid, gen.codecValid])();
      else if (i % validEvery === 11) req = gen.replay();
      req ??= pickHostile();
      const label = `${req.group}/${req.kind}`;
      const seq = String(i);
      let answer: Answer;
      try {
        answer = await send(inst.base, req, seq);
      } catch (err) {
        answer = { status: 0, body: `connection error: ${(err as Error).message}`, headers: {} };
      }
      sent++;
      const endpoint = inst.routes.get(seq) ?? NOT_ROUTED;
      inst.routes.delete(seq);
      (endpoints[endpoint] ??= {})[answer.status] = (endpoints[endpoint]![answer.status] ?? 0) + 1;
      (outcomes[label] ??= {})[answer.status] = (outcomes[label]![answer.status] ?? 0) + 1;
      byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
      const accepted = req.accept(answer.status);
      const problem = accepted && req.check ? await req.check(answer) : null;
      const shown = `${endpoint}: ${answer.body.slice(0, 300)}`;
      if (answer.status >= 500 || (answer.status === 0 && !req.raw)) serverErrors.push({ case: label, status: answer.status, body: shown });
      else if (!accepted) unexpected.push({ case: label, status: answer.status, body: shown });
      else if (problem) unexpected.push({ case: label, status: answer.status, body: `${problem} (${shown})` });
      if (accepted && !problem) req.then?.(answer);
      if (!req.mayReveal) {
        for (const v of inst.sensitive) if (answer.body.includes(v)) leaks.push({ case: label, endpoint, what: `${v.slice(0, 6)}… (${v.length} chars)` });
      } else if (inst.sensitive.some((v) => answer.body.includes(v))) revealedToAuthorized++;
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
          // its work handed on before the next request: the inbox's forwarder would send deliveries arriving meanwhile in one signal
          if (req.valid.signals) await inboxDrained(h.db);
        }
      }
      if ((i + 1) % progressEvery === 0 && progressEvery >= 1_000) sample(i + 1);
      if ((i + 1) % progressEvery === 0) log(`  ${i + 1}${total > i + 1 ? `/${total}` : ''} sent${perEndpoint ? `, fewest per endpoint ${minReached()}/${perEndpoint}` : ''} (${Object.entries(byStatus).map(([s, n]) => `${s}:${n}`).join(' ')})`);
    }
    const least = ENDPOINTS.map((e) => ({ endpoint: e as string, requests: reached(e) })).sort((a, b) => a.requests - b.requests)[0]!;
    // The leak check's control, whatever the mix was: an authorized read of the conflict and a decode do carry such content.
    for (const control of [
      { path: `/api/conflicts/${pct(inst.conflictId)}`, init: { headers: { authorization: `Bearer ${READ_TOKEN}` } } },
      { path: '/codec/decode', init: { method: 'POST', headers: { authorization: `Bearer ${READ_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: inst.codec.encrypted }) } },
    ]) {
      const text = await (await fetch(inst.base + control.path, control.init)).text();
      if (inst.sensitive.some((v) => text.includes(v))) revealedToAuthorized++;
    }
    const mem = sample(sent);
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
      requests: sent,
      perEndpoint,
      cores: cpus().length,
      outcomes,
      endpoints,
      endpointMin: least,
      leaks,
      revealedToAuthorized,
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
      memory: { rssBeforeMiB: mib(rssStart), rssAfterMiB: mib(rssAfter), heapBeforeMiB: mib(heapStart), heapAfterMiB: mib(mem.heap), growthMiB: mib(rssAfter - rssStart), heapGrowthMiB: mib(mem.heap - heapStart), samples, steadyGrowthMiB: steadyGrowth(samples) },
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
  const n = (v: number) => v.toLocaleString('en-US');
  const statuses = (codes: Record<string, number>) => Object.entries(codes).sort(([a], [b]) => Number(a) - Number(b)).map(([s, c]) => `${s}×${n(c)}`).join('  ');
  lines.push(`fuzz: seed ${rep.seed}, ${n(rep.requests)} requests in ${rep.seconds} s (${rep.cores} cores)${rep.perEndpoint ? `, at least ${n(rep.perEndpoint)} per endpoint` : ''}`);
  lines.push(`per endpoint (the route the API's router matched: requests, status × count); fewest: ${n(rep.endpointMin.requests)} (${rep.endpointMin.endpoint}):`);
  const order = [...ENDPOINTS, ...Object.keys(rep.endpoints).filter((e) => !(ENDPOINTS as readonly string[]).includes(e)).sort()];
  for (const e of order) {
    const codes = rep.endpoints[e] ?? {};
    lines.push(`  ${e.padEnd(36)} ${n(Object.values(codes).reduce((a, b) => a + b, 0)).padStart(7)}  ${statuses(codes)}`);
  }
  lines.push('outcomes (category: status × count):');
  for (const [label, codes] of Object.entries(rep.outcomes).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${label.padEnd(48)} ${statuses(codes)}`);
  }
  lines.push(`by status: ${Object.entries(rep.byStatus).sort(([, a], [, b]) => b - a).map(([s, c]) => `${s}×${n(c)}`).join(', ')}`);
  lines.push(`valid deliveries/triggers: ${rep.valid.sent} sent, ${rep.valid.accepted} accepted, ${rep.valid.expectedSignals} signals expected; replays: ${rep.replays.sent} (${rep.replays.answered2xx} answered 2xx)`);
  lines.push(`temporal: workflow ids ${rep.temporal.workflowIdsBefore} → ${rep.temporal.workflowIdsAfter} (new: ${rep.temporal.newWorkflowIds.length ? rep.temporal.newWorkflowIds.join(', ') : 'none'}), runs ${rep.temporal.runsBefore} → ${rep.temporal.runsAfter}, signals +${rep.temporal.signalsTotal} (${Object.entries(rep.temporal.signals).map(([s, n]) => `${s}: ${n}`).join(', ') || 'none'}), conflict-workflow signals +${rep.temporal.conflictSignals}, updates accepted +${rep.temporal.updatesAccepted}; schedules ${rep.temporal.schedules}, changed: ${rep.temporal.schedulesChanged.join(', ') || 'none'}`);
  lines.push(`tables: ${rep.tables.checked.length} checked, changed: ${rep.tables.changed.length ? rep.tables.changed.join(', ') : 'none'}; webhook event ids +${rep.tables.newEventIds} (valid deliveries: ${rep.tables.expectedEventIds})`);
  const sign = (n: number) => `${n >= 0 ? '+' : ''}${n}`;
  lines.push(`memory (after GC; API, worker and sandboxes in this one process): rss ${rep.memory.rssBeforeMiB} → ${rep.memory.rssAfterMiB} MiB (${sign(rep.memory.growthMiB)}), live heap ${rep.memory.heapBeforeMiB} → ${rep.memory.heapAfterMiB} MiB (${sign(rep.memory.heapGrowthMiB)})`);
  if (rep.memory.steadyGrowthMiB !== null) lines.push(`  rss once running (median of the last third of the samples − of the first third): ${sign(rep.memory.steadyGrowthMiB)} MiB`);
  if (rep.memory.samples.length > 3) lines.push(`  by requests sent (rss/heap/external MiB): ${rep.memory.samples.map((s) => `${n(s.requests)}: ${Math.round(s.rssMiB)}/${Math.round(s.heapMiB)}/${Math.round(s.externalMiB)}`).join(', ')}`);
  lines.push(`record content or secrets (seeded emails, names, phones, plaintext payloads, tokens) in answers that may not carry them (/health, /metrics, pages, refused calls, …): ${rep.leaks.length}; in authorized answers (the check's control: reads with a token, decodes): ${rep.revealedToAuthorized}`);
  for (const l of rep.leaks.slice(0, 20)) lines.push(`  leak ${l.case} (${l.endpoint}): ${l.what}`);
  lines.push(`5xx/connection errors: ${rep.serverErrors.length}; unexpected statuses or answers: ${rep.unexpected.length}; crashed: ${rep.crashed}`);
  for (const e of rep.serverErrors.slice(0, 20)) lines.push(`  5xx ${e.case}: ${e.status} ${e.body.slice(0, 160)}`);
  for (const e of rep.unexpected.slice(0, 40)) lines.push(`  unexpected ${e.case}: ${e.status} ${e.body.slice(0, 160)}`);
  return lines;
}

/** What must hold; empty when all does. */
export function failures(rep: FuzzReport, maxGrowthMiB = 150, maxHeapGrowthMiB = 32): string[] {
  const f: string[] = [];
  if (rep.crashed) f.push('the process saw an uncaught exception or unhandled rejection');
  if (rep.serverErrors.length) f.push(`${rep.serverErrors.length} answers were 5xx or no answer`);
  if (rep.unexpected.length) f.push(`${rep.unexpected.length} answers had an unexpected status or failed their check`);
  if (rep.leaks.length) f.push(`${rep.leaks.length} answers carried record content or a secret`);
  if (rep.endpointMin.requests < rep.perEndpoint) f.push(`${rep.endpointMin.endpoint} got ${rep.endpointMin.requests} requests, fewer than ${rep.perEndpoint}`);
  if (rep.valid.accepted !== rep.valid.sent) f.push(`${rep.valid.sent - rep.valid.accepted} valid deliveries were refused`);
  if (rep.temporal.newWorkflowIds.length) f.push(`workflows started: ${rep.temporal.newWorkflowIds.join(', ')}`);
  if (rep.temporal.signalsTotal !== rep.valid.expectedSignals) f.push(`${rep.temporal.signalsTotal} signals, but the valid deliveries account for ${rep.valid.expectedSignals}`);
  if (rep.temporal.conflictSignals) f.push(`${rep.temporal.conflictSignals} signals reached the conflict workflow`);
  if (rep.temporal.schedulesChanged.length) f.push(`schedules changed: ${rep.temporal.schedulesChanged.join(', ')}`);
  if (rep.temporal.updatesAccepted) f.push(`${rep.temporal.updatesAccepted} updates were accepted`);
  if (rep.tables.changed.length) f.push(`rows changed in ${rep.tables.changed.join(', ')}`);
  if (rep.tables.newEventIds !== rep.tables.expectedEventIds) f.push(`${rep.tables.newEventIds} webhook event ids recorded, ${rep.tables.expectedEventIds} expected`);
  // (a long run is judged on its steady state: see steadyGrowthMiB)
  const rssGrowth = rep.memory.steadyGrowthMiB ?? rep.memory.growthMiB;
  if (rssGrowth > maxGrowthMiB) f.push(`RSS grew by ${rssGrowth} MiB${rep.memory.steadyGrowthMiB !== null ? ' once running' : ''} (bound ${maxGrowthMiB})`);
  if (rep.memory.heapGrowthMiB > maxHeapGrowthMiB) f.push(`the live heap grew by ${rep.memory.heapGrowthMiB} MiB (bound ${maxHeapGrowthMiB})`);
  return f;
}
