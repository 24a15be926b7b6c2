/**
 * Secret scan (issue 13): a real worker and API run cycles of every system (HubSpot, a Google
 * connection with Calendar, Gmail and Drive, Fireflies), a signed HubSpot webhook, a signed
 * Fireflies webhook, a manual conflict resolved over REST, a reconciliation and codec-endpoint
 * calls, with payload encryption on. Then every configured secret (HubSpot token and client secret,
 * the Google service account's private key and key id, the Fireflies API key and webhook secret,
 * the API tokens, the codec key) is looked for in: the Temporal history of every workflow of the
 * harness's prefix (raw, as the server stores it, and decrypted as well), the worker's and API's
 * logs (stderr, SDK lines included), every event published on Redis (pub/sub and the stream) and
 * the names of the Redis keys written, and every row of every table of the test database
 * (registry snapshots included). Expected: 0 hits; what was scanned is printed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Redis from 'ioredis';
import { Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Logger, Payload } from '@temporalio/common';
import { codecFor, newCodecKeysFile } from '../src/core/codec';
import { sdkLogger } from '../src/log';
import { EVENT_STREAM } from '../src/store/outbox';
import { conflictWorkflowId, detailsQuery } from '../src/workflows/definitions';
import { count, harnessPerTest, listeningApi, subscribe, waitFor } from './helpers';

const setup = harnessPerTest();
const ANA = 'ana@acme.test';
const dir = mkdtempSync(join(tmpdir(), 'aurora-scan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Everything written to stderr until stop() (as in logs.test.ts). */
function captureStderr(): { text: () => string; lines: () => number; stop(): void } {
  const chunks: string[] = [];
  const real = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
    return true;
  }) as typeof process.stderr.write;
  return { text: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter(Boolean).length, stop: () => void (process.stderr.write = real) };
}

/** The forms a secret could take in stored text or bytes. */
function variants(secret: string): string[] {
  const b = Buffer.from(secret, 'utf8');
  return [...new Set([secret, b.toString('base64'), b.toString('base64url'), b.toString('hex'), encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])];
}

function payloadsOf(node: unknown, out: Payload[] = []): Payload[] {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
  const o = node as Record<string, unknown>;
  if ('data' in o && 'metadata' in o && o.metadata && typeof o.metadata === 'object') {
    out.push(o as Payload);
    return out;
  }
  for (const v of Object.values(o)) payloadsOf(v, out);
  return out;
}

describe('secret scan', () => {
  test('no configured secret in Temporal history, logs, Redis events or Postgres after cycles of every system', async () => {
    const t0 = Date.now();
    const keysPath = join(dir, 'temporal-codec-keys.json');
    writeFileSync(keysPath, newCodecKeysFile('scan-1'));
    const secretEnv = {
      HUBSPOT_CLIENT_SECRET: `hs-client-secret-${randomBytes(12).toString('hex')}`,
      FIREFLIES_WEBHOOK_SECRET: `ffwh${randomBytes(10).toString('hex')}`, // 24 chars (16-32)
      API_TOKEN: `api-token-${randomBytes(16).toString('hex')}`,
      API_READ_TOKEN: `read-token-${randomBytes(16).toString('hex')}`,
    };
    const h = await setup({
      google: { users: [ANA] },
      fireflies: {},
      worker: false,
      env: { ...secretEnv, LOG_LEVEL: 'debug', TEMPORAL_CODEC_KEYS_PATH: keysPath, CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual' },
    });
    const sa = JSON.parse(readFileSync(h.env.GOOGLE_CREDENTIALS_PATH!, 'utf8')) as { private_key: string; private_key_id: string };
    const codecKey = JSON.parse(readFileSync(keysPath, 'utf8')).keys['scan-1'] as string;
    const secrets: Record<string, string[]> = {
      HUBSPOT_API_KEY: [h.env.HUBSPOT_API_KEY!],
      HUBSPOT_CLIENT_SECRET: [secretEnv.HUBSPOT_CLIENT_SECRET],
      'Google private key (each line of its PEM body)': sa.private_key.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')),
      'Google private_key_id': [sa.private_key_id],
      FIREFLIES_API_KEY: [h.env.FIREFLIES_API_KEY!],
      FIREFLIES_WEBHOOK_SECRET: [secretEnv.FIREFLIES_WEBHOOK_SECRET],
      API_TOKEN: [secretEnv.API_TOKEN],
      API_READ_TOKEN: [secretEnv.API_READ_TOKEN],
      'codec key': [codecKey, Buffer.from(codecKey, 'base64').toString('hex')],
    };
    for (const [name, values] of Object.entries(secrets)) assert.ok(values.length && values.every((v) => v && v.length >= 16), `${name} is a real secret to look for`);
    const needles = Object.entries(secrets).flatMap(([name, values]) => values.flatMap((v) => variants(v).map((form) => ({ name, form }))));
    const codecKeyBytes = Buffer.from(codecKey, 'base64');

    const prefix = h.cfg.temporal.workflowIdPrefix;
    const auth = { authorization: `Bearer ${secretEnv.API_TOKEN}` };
    const redis = new Redis({ host: h.env.REDIS_HOST, port: Number(h.env.REDIS_PORT) });
    const streamFrom = `${Date.now() - 1}-0`;
    const sub = await subscribe(h.env);
    (Runtime.instance() as unknown as { logger: Logger }).logger = sdkLogger('DEBUG');
    const cap = captureStderr();
    let api: Awaited<ReturnType<typeof listeningApi>> | undefined;
    try {
      await h.startWorker();
      api = await listeningApi(h, ['hubspot', 'google_workspace', 'fireflies']);
      const { app, url } = api;
      const g = h.google!;
      const ff = h.fireflies!;
      const [contact, other] = h.sandbox.seed('contacts', 3);
      h.sandbox.seed('companies', 2);
      h.sandbox.seed('deals', 2);
      g.calendar.seed(ANA, ANA, 4);
      g.gmail.seed(ANA, 3);
      g.drive.seed(ANA, 3);
      ff.transcripts.seed(3, { pendingShare: 0 });

      // A cycle of every system.
      for (const [what, summary] of [
        ['hubspot', await h.cycle()],
        ['google', await h.cycleOf({ system: 'google_workspace', connection: ANA })],
        ['fireflies', await h.cycleOf({ system: 'fireflies' })],
      ] as const) {
        for (const [type, e] of Object.entries(summary.entities)) assert.equal(e?.lastError ?? null, null, `${what} ${type}`);
      }

      // A signed HubSpot webhook (the sandbox signs with the client secret) and a signed Fireflies one.
      h.sandbox.webhooks.configure({ targetUrl: `${url}/api/webhooks/hubspot`, signatureUri: `${url}/api/webhooks/hubspot`, clientSecret: secretEnv.HUBSPOT_CLIENT_SECRET, batchWindowMs: 20 });
      h.sandbox.userUpdate('contacts', other!.id, { firstname: 'Webhooked' });
      await waitFor('HubSpot webhook applied', async () => (await count(h.db, "SELECT count(*) n FROM contacts WHERE first_name = 'Webhooked'")) === 1 || undefined, 20_000);
      h.sandbox.webhooks.configure(null);
      ff.webhooks.configure({ url: `${url}/api/webhooks/fireflies`, secret: secretEnv.FIREFLIES_WEBHOOK_SECRET, version: 'v2', retryBaseMs: 100 });
      const pushed = ff.transcripts.add({ title: 'Delivered by webhook', date: Date.now() - 3_600_000 }, { notify: true });
      await waitFor('Fireflies webhook applied', async () => (await count(h.db, 'SELECT count(*) n FROM transcripts WHERE title = $1', [pushed.title])) === 1 || undefined, 20_000);
      await ff.webhooks.flush();
      ff.webhooks.configure(null);

      // A manual conflict, looked at and resolved over REST with the token.
      const { rows } = await h.db.query('SELECT c.id FROM contacts c JOIN sync_registry r ON r.local_id = c.id WHERE r.external_id = $1', [contact!.id]);
      const localId = rows[0].id as string;
      await h.db.query("UPDATE contacts SET first_name = 'Aurora-Side' WHERE id = $1", [localId]);
      await new Promise((r) => setTimeout(r, 25));
      h.sandbox.userUpdate('contacts', contact!.id, { firstname: 'HubSpot-Side' });
      await h.cycle('contact');
      const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, prefix));
      await waitFor('conflict loaded', async () => (await handle.query(detailsQuery)).details ?? undefined);
      const id = `conflict:hubspot:contact:${localId}`;
      assert.equal((await app.inject({ method: 'GET', url: `/api/conflicts/${encodeURIComponent(id)}`, headers: { authorization: `Bearer ${secretEnv.API_READ_TOKEN}` } })).statusCode, 200);
      const resolved = await app.inject({ method: 'POST', url: `/api/conflicts/${encodeURIComponent(id)}/resolve`, headers: { ...auth, 'content-type': 'application/json' }, payload: { choice: 'local', resolvedBy: 'scan' } });
      assert.equal(resolved.statusCode, 200, resolved.body);
      await h.cycle('contact');

      // A reconciliation, a trigger over REST, the codec endpoint with both tokens.
      await h.reconcile({ system: 'hubspot' });
      assert.equal((await app.inject({ method: 'POST', url: '/api/sync/trigger', headers: { ...auth, 'content-type': 'application/json' }, payload: { system: 'fireflies' } })).statusCode, 202);
      assert.equal((await app.inject({ method: 'POST', url: '/codec/login', headers: { 'content-type': 'application/json' }, payload: { token: secretEnv.API_READ_TOKEN } })).statusCode, 200);
      const enc = await app.inject({ method: 'POST', url: '/codec/encode', headers: { ...auth, 'content-type': 'application/json' }, payload: { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'e30=' }] } });
      assert.equal(enc.statusCode, 200);
      assert.equal((await app.inject({ method: 'POST', url: '/codec/decode', headers: { ...auth, 'content-type': 'application/json' }, payload: enc.json() })).statusCode, 200);
      await waitFor('events relayed', async () => sub.events.some((e) => e.event.action === 'resolved') || undefined, 10_000);
      await h.stopWorker();
    } finally {
      cap.stop();
      await api?.app.close();
      await sub.close();
    }

    const hits: string[] = [];
    const scan = (where: string, haystack: string | Buffer) => {
      for (const { name, form } of needles) if (haystack.includes(form)) hits.push(`${name} in ${where}`);
      if (Buffer.isBuffer(haystack) && haystack.includes(codecKeyBytes)) hits.push(`codec key (raw bytes) in ${where}`);
    };
    const scanned: string[] = [];
    // Control: the scanner finds every secret in every form it looks for.
    for (const { name, form } of needles) {
      const before = hits.length;
      scan('control', Buffer.from(`..${form}..`));
      assert.ok(hits.length > before, `the scan finds ${name}`);
    }
    hits.length = 0;

    // 1. Temporal: every execution (every run) of this harness's prefix, raw and decrypted.
    const codec = codecFor(h.cfg.codec.keys);
    let executions = 0;
    let events = 0;
    let bytes = 0;
    let payloads = 0;
    for await (const wf of h.client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}"` })) {
      const history = await h.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      scan(`history of ${wf.workflowId} (${wf.runId}, raw)`, raw);
      const found = payloadsOf(history);
      const decoded = await codec.decode(found);
      scan(`history of ${wf.workflowId} (${wf.runId}, decrypted)`, Buffer.concat(decoded.map((p) => Buffer.from(p.data ?? new Uint8Array()))));
      executions++;
      events += history.events?.length ?? 0;
      bytes += raw.length;
      payloads += found.length;
    }
    assert.ok(executions >= 5, `executions scanned: ${executions}`);
    scanned.push(`Temporal: ${executions} executions, ${events} events, ${payloads} payloads (raw and decrypted), ${bytes} bytes`);

    // 2. Logs of the worker and the API (one process here): everything on stderr.
    const logs = cap.text();
    assert.ok(cap.lines() > 20, `log lines: ${cap.lines()}`);
    scan('logs', logs);
    scanned.push(`logs: ${cap.lines()} lines, ${logs.length} chars`);

    // 3. Redis: events received on aurora:sync:*, this run's stream entries, key names.
    const pubsub = JSON.stringify(sub.events);
    scan('Redis pub/sub events', pubsub);
    const stream = await redis.xrange(EVENT_STREAM, streamFrom, '+');
    scan(`Redis stream ${EVENT_STREAM}`, JSON.stringify(stream));
    const keys: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    scan('Redis key names', keys.join('\n'));
    await redis.quit();
    assert.ok(sub.events.length > 10, `events: ${sub.events.length}`);
    scanned.push(`Redis: ${sub.events.length} pub/sub events, ${stream.length} stream entries, ${keys.length} key names`);

    // 4. Postgres: every row of every table of the test database.
    const tables = (await h.db.query<{ s: string; t: string }>(
      `SELECT table_schema s, table_name t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    )).rows;
    let rowCount = 0;
    const perTable: string[] = [];
    for (const { s, t } of tables) {
      const { rows } = await h.db.query<{ r: string }>(`SELECT t::text r FROM ${JSON.stringify(s)}.${JSON.stringify(t)} t`);
      scan(`Postgres ${s}.${t}`, rows.map((r) => r.r).join('\n'));
      rowCount += rows.length;
      if (rows.length) perTable.push(`${t}=${rows.length}`);
    }
    assert.ok(tables.some((x) => x.t === 'sync_registry') && rowCount > 20, `tables: ${tables.length}, rows: ${rowCount}`);
    scanned.push(`Postgres: ${tables.length} tables, ${rowCount} rows (${perTable.join(', ')})`);

    console.log(`# secret scan: ${Object.keys(secrets).length} secrets (${needles.length} forms: raw, base64, base64url, hex, URL- and JSON-escaped) in ${Date.now() - t0} ms`);
    for (const line of scanned) console.log(`#   ${line}`);
    console.log(`#   hits: ${hits.length}`);
    assert.deepEqual(hits, [], 'no configured secret anywhere');
  });
});
