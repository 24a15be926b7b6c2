/**
 * Encrypted payloads in Temporal: a real conflict workflow (its snapshot of the record) and a real
 * sync workflow are ciphertext in the server's history (read raw, without the codec), decrypt with
 * the codec, keys rotate by id, a missing or wrong key fails with a message naming the key id, the
 * codec endpoint (Temporal's codec-server protocol) needs the token and answers CORS preflights,
 * and unencrypted histories (the replay fixtures) still replay through the codec.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createRequire } from 'node:module';
import { historyFromJSON as sdkHistoryFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import * as proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Payload } from '@temporalio/common';
import { ConfigError, loadConfig } from '../src/config';
import { CodecDecodeError, codecFor, dataConverterFor, EncryptionCodec, ENCODING_ENCRYPTED, METADATA_KEY_ID, parseCodecKeys } from '../src/core/codec';
import { buildApi } from '../src/api/server';
import { conflictWorkflowId, detailsQuery, resolveSignal, syncWorkflowId } from '../src/workflows/definitions';
import { harnessPerTest, waitFor, workflowBundle, type Harness } from './helpers';

const setup = harnessPerTest();
const dir = mkdtempSync(join(tmpdir(), 'aurora-codec-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY_A = Buffer.alloc(32, 0xa1).toString('base64');
const KEY_B = Buffer.alloc(32, 0xb2).toString('hex');
const KEY_A_OTHER = Buffer.alloc(32, 0x5c).toString('base64');
function keysFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const onlyA = keysFile('a.json', { current: 'key-a', keys: { 'key-a': KEY_A } });
const aAndB = keysFile('ab.json', { current: 'key-a', keys: { 'key-a': KEY_A, 'key-b': KEY_B } });
/** As in replay.test.ts: the SDK's historyFromJSON, or the same with @temporalio/proto's protobufjs copy. */
function historyFromJSON(json: unknown): History {
  try {
    return sdkHistoryFromJSON(json);
  } catch (err) {
    if (!(err instanceof TypeError && /must be a Type/.test(err.message))) throw err;
    const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as { fromJson(type: unknown, json: unknown, o?: object): unknown };
    const type = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');
    return protojson.fromJson(type, json, { ignoreUnknownFields: true }) as History;
  }
}
const utf8 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

/** Every payload of a history with where it sits (search attributes are indexed by the server: never encrypted). */
function payloadsOf(node: unknown, path = '', out: { path: string; payload: Payload }[] = []): { path: string; payload: Payload }[] {
  if (!node || typeof node !== 'object') return out;
  if (node instanceof Uint8Array) return out;
  const o = node as Record<string, unknown>;
  if ('data' in o && 'metadata' in o && (o.data instanceof Uint8Array || o.data == null) && o.metadata && typeof o.metadata === 'object') {
    out.push({ path, payload: o as Payload });
    return out;
  }
  for (const [k, v] of Object.entries(o)) payloadsOf(v, `${path}.${k}`, out);
  return out;
}

/** The history as the server stores it (protobuf bytes), read with a client that has no codec. */
async function rawHistory(h: Harness, workflowId: string) {
  const connection = await Connection.connect({ address: h.cfg.temporal.address });
  try {
    const bare = new Client({ connection, namespace: h.cfg.temporal.namespace });
    const history = await bare.workflow.getHandle(workflowId).fetchHistory();
    return { history, bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()) };
  } finally {
    await connection.close();
  }
}

async function contactRow(h: Harness, externalId: string) {
  const { rows } = await h.db.query(`SELECT c.id, c.email, c.first_name, c.last_name FROM contacts c JOIN sync_registry r ON r.local_id = c.id WHERE r.external_id = $1`, [externalId]);
  return rows[0] as { id: string; email: string; first_name: string; last_name: string };
}

/** A manual conflict on one contact (as in conflicts.test.ts), its workflow holding the snapshot. */
async function conflicted(h: Harness) {
  const [rec] = h.sandbox.seed('contacts', 1);
  await h.cycle('contact');
  const local = await contactRow(h, rec!.id);
  await h.db.query(`UPDATE contacts SET first_name = 'Aurora-Secret-First' WHERE id = $1`, [local.id]);
  await new Promise((r) => setTimeout(r, 25));
  h.sandbox.userUpdate('contacts', rec!.id, { firstname: 'HubSpot-Secret-First', phone: '+1 555 0142' });
  await h.cycle('contact');
  const workflowId = conflictWorkflowId('hubspot', 'contact', local.id, h.cfg.temporal.workflowIdPrefix);
  const handle = h.client.workflow.getHandle(workflowId);
  await waitFor('conflict details loaded', async () => (await handle.query(detailsQuery)).details ?? undefined);
  // What a reader of the history must not see in clear: the record's content on both sides.
  const content = [local.email, local.last_name, 'Aurora-Secret-First', 'HubSpot-Secret-First', '+1 555 0142'];
  return { rec: rec!, local, workflowId, handle, content };
}

function assertCiphertext(what: string, found: { path: string; payload: Payload }[], bytes: Buffer, content: string[], keyIds: string[]) {
  const hits = content.filter((c) => bytes.includes(Buffer.from(c)));
  assert.deepEqual(hits, [], `${what}: record content in clear in the raw history`);
  // Not through the codec, by Temporal's design: search attributes (the server indexes them: system,
  // entity type, status) and the SDK's patch markers (the patch id only).
  const clear = found.filter((p) => !/searchAttributes|patch-data/.test(p.path) && utf8(p.payload.metadata?.encoding) !== ENCODING_ENCRYPTED);
  assert.deepEqual(clear.map((p) => `${p.path}: ${utf8(p.payload.metadata?.encoding)}`), [], `${what}: every payload is encrypted`);
  const ids = new Set(found.filter((p) => utf8(p.payload.metadata?.encoding) === ENCODING_ENCRYPTED).map((p) => utf8(p.payload.metadata?.[METADATA_KEY_ID])));
  assert.deepEqual([...ids].sort(), keyIds, `${what}: key ids on the payloads`);
}

describe('payload codec', () => {
  test('a conflict snapshot and a sync workflow are ciphertext at rest, and decrypt with the codec', async () => {
    const h = await setup({ env: { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual', TEMPORAL_CODEC_KEYS_PATH: onlyA } });
    const { local, workflowId, handle, content } = await conflicted(h);
    // Through the codec (the worker's and this client's): the snapshot as it was taken.
    const view = await handle.query(detailsQuery);
    assert.equal(view.details?.local.values.first_name, 'Aurora-Secret-First');

    const conflictRaw = await rawHistory(h, workflowId);
    const conflictPayloads = payloadsOf(conflictRaw.history);
    assertCiphertext('conflict workflow', conflictPayloads, conflictRaw.bytes, content, ['key-a']);
    // Not vacuous: decrypted, the same history holds the snapshot.
    const decoded = await codecFor(h.cfg.codec.keys).decode(conflictPayloads.map((p) => p.payload));
    const plain = decoded.map((p) => utf8(p.data)).join('\n');
    for (const c of [local.email, 'Aurora-Secret-First', 'HubSpot-Secret-First']) assert.ok(plain.includes(c), `decrypted history holds ${c}`);

    const syncId = syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix);
    const syncRaw = await rawHistory(h, syncId);
    const syncPayloads = payloadsOf(syncRaw.history);
    assert.ok(syncPayloads.length >= 4, `sync workflow payloads: ${syncPayloads.length}`);
    assertCiphertext('sync workflow', syncPayloads, syncRaw.bytes, content, ['key-a']);
    const syncDecoded = await codecFor(h.cfg.codec.keys).decode(syncPayloads.filter((p) => !/searchAttributes|patch-data/.test(p.path)).map((p) => p.payload));
    assert.ok(syncDecoded.every((p) => ['json/plain', 'binary/null'].includes(utf8(p.metadata?.encoding))), 'each decrypts to an ordinary payload');
    console.log(`# conflict workflow: ${conflictPayloads.length} payloads, sync workflow: ${syncPayloads.length}; 0 in clear (search attributes and patch markers aside)`);
  });

  test('rotation: key B encrypts from now on while key A still decrypts the older payloads', async () => {
    const h = await setup({ env: { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual', TEMPORAL_CODEC_KEYS_PATH: onlyA } });
    const { rec, workflowId, content } = await conflicted(h);
    // Rotate: B becomes current, A stays listed. A new worker (no cached workflow state: it replays
    // the whole history, A's payloads) and a new client.
    await h.stopWorker();
    const rotated = loadConfig({ ...h.env, TEMPORAL_CODEC_KEYS_PATH: aAndB, TEMPORAL_CODEC_KEY_ID: 'key-b' });
    assert.equal(rotated.codec.keys?.currentKeyId, 'key-b');
    h.cfg.codec.keys = rotated.codec.keys;
    await h.startWorker();
    const connection = await Connection.connect({ address: h.cfg.temporal.address });
    try {
      const client = new Client({ connection, namespace: h.cfg.temporal.namespace, dataConverter: dataConverterFor(rotated.codec.keys) });
      const handle = client.workflow.getHandle(workflowId);
      assert.equal((await handle.query(detailsQuery)).details?.external.values.first_name, 'HubSpot-Secret-First');
      await handle.signal(resolveSignal, { choice: 'external', resolvedBy: 'rotation-test' });
      assert.equal((await handle.result()).outcome, 'resolved');
      assert.equal(h.sandbox.get('contacts', rec.id)!.properties.firstname, 'HubSpot-Secret-First');
      const raw = await rawHistory(h, workflowId);
      assertCiphertext('rotated conflict workflow', payloadsOf(raw.history), raw.bytes, content, ['key-a', 'key-b']);
      // An old worker that only has A cannot read what B wrote, and says which key it lacks.
      const onlyAKeys = loadConfig({ ...h.env, TEMPORAL_CODEC_KEYS_PATH: onlyA }).codec.keys;
      const byB = payloadsOf(raw.history).filter((p) => utf8(p.payload.metadata?.[METADATA_KEY_ID]) === 'key-b');
      await assert.rejects(new EncryptionCodec(onlyAKeys).decode(byB.map((p) => p.payload)), (err: Error) =>
        err instanceof CodecDecodeError && /key id "key-b", which is not among the configured codec keys \(key-a\)/.test(err.message));
    } finally {
      await connection.close();
    }
  });

  test('an unknown key id or wrong key material fails with a clear error; bad key files stop start-up', async () => {
    const h = await setup({ env: { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual', TEMPORAL_CODEC_KEYS_PATH: onlyA } });
    const { workflowId } = await conflicted(h);
    const connection = await Connection.connect({ address: h.cfg.temporal.address });
    try {
      const query = (keys: ReturnType<typeof parseCodecKeys> | null) =>
        new Client({ connection, namespace: h.cfg.temporal.namespace, dataConverter: dataConverterFor(keys) }).workflow.getHandle(workflowId).query(detailsQuery);
      await assert.rejects(query(parseCodecKeys(JSON.stringify({ keys: { 'key-c': KEY_A } }))), /key id "key-a", which is not among the configured codec keys \(key-c\)/);
      await assert.rejects(query(parseCodecKeys(JSON.stringify({ keys: { 'key-a': KEY_A_OTHER } }))), /key id "key-a" does not decrypt with the configured key of that id/);
      await assert.rejects(query(null), /payload is encrypted \(key id "key-a"\) but no codec keys are configured/);
    } finally {
      await connection.close();
    }
    const bad = (content: unknown, extra: Record<string, string> = {}) => () => loadConfig({ SECRETS_DIR: '/nonexistent', TEMPORAL_CODEC_KEYS_PATH: keysFile(`bad-${Math.random()}.json`, content), ...extra });
    const configError = (re: RegExp) => (err: unknown) => err instanceof ConfigError && re.test(err.message) && !err.message.includes(KEY_A) && !err.message.includes(KEY_B);
    assert.throws(bad('{not json'), configError(/TEMPORAL_CODEC_KEYS_PATH .*not valid JSON/));
    assert.throws(bad({ current: 'k', keys: { k: Buffer.alloc(16).toString('base64') } }), configError(/key "k" is 16 bytes; AES-256 needs 32/));
    assert.throws(bad({ current: 'k', keys: { k: 'not a key!' } }), configError(/key "k" is neither base64 nor hex/));
    assert.throws(bad({ current: 'key-z', keys: { 'key-a': KEY_A, 'key-b': KEY_B } }), configError(/current key id "key-z" is not among the keys \(key-a, key-b\)/));
    assert.throws(bad({ keys: { 'key-a': KEY_A, 'key-b': KEY_B } }), configError(/"current" must name the key id/));
    assert.throws(bad({ current: 'key-a', keys: { 'key-a': KEY_A } }, { TEMPORAL_CODEC_KEY_ID: 'key-b' }), configError(/"key-b" \(TEMPORAL_CODEC_KEY_ID\) is not among the keys \(key-a\)/));
    assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', TEMPORAL_CODEC_KEYS_PATH: join(dir, 'missing.json') }), configError(/TEMPORAL_CODEC_KEYS_PATH .*no such file/));
    assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', TEMPORAL_CODEC_KEY_ID: 'key-a' }), configError(/TEMPORAL_CODEC_KEY_ID is set but there is no codec keys file/));
    assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', CODEC_CORS_ORIGINS: 'localhost:8233' }), configError(/CODEC_CORS_ORIGINS .*must be comma-separated origins/));
    // The secrets folder's file is the default; none there: unencrypted (development).
    const secrets = mkdtempSync(join(dir, 'secrets-'));
    assert.equal(loadConfig({ SECRETS_DIR: secrets }).codec.keys, null);
    writeFileSync(join(secrets, 'temporal-codec-keys.json'), readFileSync(aAndB));
    assert.equal(loadConfig({ SECRETS_DIR: secrets }).codec.keys?.currentKeyId, 'key-a');
    assert.deepEqual([...loadConfig({ SECRETS_DIR: secrets }).codec.keys!.keys.keys()], ['key-a', 'key-b']);
  });

  test('the codec endpoint: token or browser session, CORS for the Web UI origin only, the codec-server JSON format', async () => {
    const h = await setup({ env: { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual', TEMPORAL_CODEC_KEYS_PATH: onlyA } });
    const { workflowId, local } = await conflicted(h);
    const app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, configuredSystems: new Set(['hubspot']) });
    try {
      const raw = await rawHistory(h, workflowId);
      const encrypted = payloadsOf(raw.history).filter((p) => utf8(p.payload.metadata?.encoding) === ENCODING_ENCRYPTED).map((p) => p.payload);
      const body = { payloads: encrypted.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') })) };
      const ui = 'http://localhost:8233';
      const post = (url: string, headers: Record<string, string>, payload: unknown = body) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(payload) });

      // Preflight: the configured origin only, no credentials needed for it.
      const pre = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: ui, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' } });
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-origin'], ui);
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      assert.match(String(pre.headers['access-control-allow-headers']), /authorization.*content-type.*x-namespace/);
      assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
      const evilPre = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
      assert.equal(evilPre.statusCode, 403);
      assert.equal(evilPre.headers['access-control-allow-origin'], undefined);

      // Authentication: nothing, a wrong token, another origin: refused; nothing decoded in the answer.
      for (const [headers, code] of [[{}, 401], [{ authorization: 'Bearer wrong' }, 401], [{ authorization: 'test-api-token' }, 401], [{ authorization: 'Bearer test-api-token', origin: 'http://evil.example' }, 403]] as const) {
        const r = await post('/codec/decode', headers);
        assert.equal(r.statusCode, code, `${JSON.stringify(headers)}: ${r.body}`);
        assert.ok(!r.body.includes(local.email));
      }
      const ok = await post('/codec/decode', { authorization: 'Bearer test-api-token', 'x-namespace': h.cfg.temporal.namespace });
      assert.equal(ok.statusCode, 200, ok.body);
      const decoded = ok.json() as { payloads: { metadata: Record<string, string>; data: string }[] };
      assert.equal(decoded.payloads.length, encrypted.length);
      assert.ok(decoded.payloads.every((p) => Buffer.from(p.metadata.encoding!, 'base64').toString() !== ENCODING_ENCRYPTED));
      assert.ok(decoded.payloads.some((p) => Buffer.from(p.data, 'base64').toString().includes(local.email)), 'the snapshot decoded');
      assert.equal(ok.headers['cache-control'], 'no-store');

      // Encode, then decode: a round trip in the same format.
      const plain = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] };
      const enc = await post('/codec/encode', { authorization: 'Bearer test-api-token' }, plain);
      assert.equal(enc.statusCode, 200, enc.body);
      assert.equal(Buffer.from(enc.json().payloads[0].metadata.encoding, 'base64').toString(), ENCODING_ENCRYPTED);
      assert.deepEqual((await post('/codec/decode', { authorization: 'Bearer test-api-token' }, enc.json())).json(), plain);
      assert.equal((await post('/codec/decode', { authorization: 'Bearer test-api-token' }, { payloads: [{ data: '%%%' }] })).statusCode, 400);
      assert.equal((await post('/codec/decode', { authorization: 'Bearer test-api-token' }, { payloads: 'x' })).statusCode, 400);
      assert.deepEqual((await post('/codec/decode', { authorization: 'Bearer test-api-token' }, {})).json(), { payloads: [] }, 'protobuf JSON of no payloads');
      const tampered = structuredClone(body);
      tampered.payloads[0]!.data = Buffer.from(Buffer.from(tampered.payloads[0]!.data, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64');
      const t = await post('/codec/decode', { authorization: 'Bearer test-api-token' }, tampered);
      assert.equal(t.statusCode, 422);
      assert.match(t.json().error, /does not decrypt/);

      // The browser: sign in once, then the Web UI's credentialed requests carry the cookie.
      assert.match((await app.inject({ method: 'GET', url: '/codec/login' })).body, /Include cross-origin credentials/);
      assert.equal((await post('/codec/login', {}, { token: 'wrong' })).statusCode, 401);
      const login = await post('/codec/login', {}, { token: 'test-api-token' });
      assert.equal(login.statusCode, 200);
      const setCookie = String(login.headers['set-cookie']);
      assert.match(setCookie, /HttpOnly; SameSite=Strict/);
      assert.match(setCookie, /Path=\/codec/);
      assert.ok(!setCookie.includes('test-api-token'), 'the cookie holds no token');
      const cookie = setCookie.split(';')[0]!;
      const viaUi = await post('/codec/decode', { cookie, origin: ui, 'x-namespace': 'default' });
      assert.equal(viaUi.statusCode, 200, viaUi.body);
      assert.equal(viaUi.headers['access-control-allow-origin'], ui);
      assert.equal(viaUi.headers['access-control-allow-credentials'], 'true');
      const forged = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      assert.equal((await post('/codec/decode', { cookie: forged, origin: ui })).statusCode, 401);
      assert.equal((await post('/codec/decode', { cookie, origin: 'http://evil.example' })).statusCode, 403);

      // The Temporal CLI as a codec client (--codec-endpoint, --codec-auth): decoded with the token, not without.
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      // (asynchronously: the CLI calls this process's API)
      const show = (extra: string[]) =>
        new Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }>((resolve) => {
          const child = execFile('temporal', ['workflow', 'show', '--address', h.cfg.temporal.address, '--namespace', h.cfg.temporal.namespace, '-w', workflowId, '--output', 'json', ...extra], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
            resolve({ status: child.exitCode, stdout, stderr, error: err && (err as NodeJS.ErrnoException).code === 'ENOENT' ? err : undefined }));
        });
      const cli = await show(['--codec-endpoint', `http://127.0.0.1:${port}/codec`, '--codec-auth', 'Bearer test-api-token']);
      if (cli.error) {
        console.log(`# temporal CLI not run: ${cli.error.message}`);
      } else {
        assert.equal(cli.status, 0, cli.stderr);
        // JSON output: each payload's data as base64, decoded (json/plain) when the codec answered.
        const dataOf = (out: string) => [...out.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('\n');
        assert.ok(dataOf(cli.stdout).includes(local.email), 'the CLI shows the decoded snapshot');
        assert.ok(!cli.stdout.includes(Buffer.from(ENCODING_ENCRYPTED).toString('base64')), 'no payload left encrypted');
        const noCodec = await show([]);
        assert.equal(noCodec.status, 0, noCodec.stderr);
        assert.ok(!dataOf(noCodec.stdout).includes(local.email), 'without the codec the CLI shows ciphertext');
        assert.ok(noCodec.stdout.includes(Buffer.from(ENCODING_ENCRYPTED).toString('base64')));
        const wrongAuth = await show(['--codec-endpoint', `http://127.0.0.1:${port}/codec`, '--codec-auth', 'Bearer nope']);
        assert.ok(!dataOf(wrongAuth.stdout).includes(local.email), 'a wrong token decodes nothing');
      }
    } finally {
      await app.close();
    }
  });

  test('histories written without encryption (the replay fixtures) still replay through the codec', async () => {
    const fixtures = join(__dirname, 'fixtures', 'histories');
    const index = JSON.parse(readFileSync(join(fixtures, 'index.json'), 'utf8')) as Record<string, { workflowId: string }>;
    const files = Object.keys(index);
    const keys = parseCodecKeys(readFileSync(aAndB, 'utf8'));
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), replayName: 'codec-fixtures', dataConverter: dataConverterFor(keys) },
      files.map((f) => ({ workflowId: index[f]!.workflowId, history: historyFromJSON(JSON.parse(readFileSync(join(fixtures, f), 'utf8'))) })),
    );
    const failures: string[] = [];
    let n = 0;
    for await (const r of results) {
      n++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    assert.equal(n, files.length);
    assert.deepEqual(failures, []);
  });
});
