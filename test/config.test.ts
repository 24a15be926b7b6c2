/** Configuration: defaults, secrets files, and one clear message naming a bad variable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig } from '../src/config';
import { hubspotConfig } from '../src/connectors/hubspot/config';

test('defaults follow the design', () => {
  const cfg = loadConfig({ SECRETS_DIR: '/nonexistent' });
  assert.equal(cfg.postgres.database, 'aurora_unified');
  assert.equal(cfg.postgres.user, 'aurora_app');
  assert.equal(cfg.syncIntervalSeconds, 300);
  assert.equal(hubspotConfig(cfg).baseUrl, 'https://api.hubapi.com');
  assert.equal(hubspotConfig(cfg).accessToken, undefined, 'no credentials: HubSpot not configured');
  assert.equal(cfg.api.port, 8000);
  assert.equal(cfg.metricsPort, 9100);
});

test('the HubSpot token comes from the secrets folder when the variable is unset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurora-secrets-'));
  writeFileSync(join(dir, 'hubspot-api-key.txt'), 'pat-na1-from-file\n');
  assert.equal(hubspotConfig(loadConfig({ SECRETS_DIR: dir })).accessToken, 'pat-na1-from-file');
  assert.equal(hubspotConfig(loadConfig({ SECRETS_DIR: dir, HUBSPOT_API_KEY: 'pat-env' })).accessToken, 'pat-env');
});

for (const [name, value] of [
  ['SYNC_INTERVAL', 'five minutes'],
  ['SYNC_INTERVAL', '0'],
  ['POSTGRES_PORT', '99999'],
  ['REDIS_PORT', 'abc'],
  ['HUBSPOT_BASE_URL', 'not a url'],
  ['LOG_LEVEL', 'loud'],
] as const) {
  test(`a bad ${name}=${JSON.stringify(value)} is rejected with a message naming it`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name) && err.message.split('\n').length === 1,
    );
  });
}

test('a secret value is never echoed in the error', () => {
  assert.throws(
    () => loadConfig({ POSTGRES_PASSWORD: 'hunter2', REDIS_PORT: 'x' }),
    (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2'),
  );
});

test('the worker stops at start-up with one message naming the bad variable', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'src', 'worker.ts')], {
    env: { PATH: process.env.PATH, SYNC_INTERVAL: 'often' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /SYNC_INTERVAL/);
  assert.equal(res.stderr.trim().split('\n').length, 1, `one line, got: ${res.stderr}`);
});

test('without HubSpot credentials the worker still starts and reports HubSpot as not configured', async () => {
  const { spawn } = await import('node:child_process');
  const { baseEnv } = await import('./helpers');
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'src', 'worker.ts')], {
    env: { PATH: process.env.PATH, ...baseEnv(), METRICS_PORT: '0', TEMPORAL_TASK_QUEUE: `cfg-test-${process.pid}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!/worker running/.test(stderr) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    assert.match(stderr, /hubspot: not configured/);
    assert.match(stderr, /worker running/);
    assert.match(stderr, /"systems":\[\]/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test('conflict policy per system and entity type, for any connector (names with underscores too); unknown pairs are refused', () => {
  const cfg = loadConfig({ SECRETS_DIR: '/nonexistent', CONFLICT_POLICY_GOOGLE_WORKSPACE_CALENDAR_EVENT: 'manual', CONFLICT_POLICY_HUBSPOT_DEAL: 'merge' });
  assert.equal(cfg.conflicts.policyFor('google_workspace', 'calendar_event').policy, 'manual');
  assert.equal(cfg.conflicts.policyFor('hubspot', 'deal').policy, 'merge');
  assert.equal(cfg.conflicts.policyFor('hubspot', 'contact').policy, 'last-write-wins');
  assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', CONFLICT_POLICY_HUBSPOT_TICKET: 'manual' }), (e: unknown) => e instanceof ConfigError && /CONFLICT_POLICY_HUBSPOT_TICKET: no such system and entity type; expected one of .*CONFLICT_POLICY_GOOGLE_WORKSPACE_CALENDAR_EVENT/.test(e.message));
  assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', CONFLICT_POLICY_GOOGLE_WORKSPACE_CALENDAR_EVENT: 'coin-flip' }), /must be one of last-write-wins, merge, manual/);
});

test('mass-delete guard and push-channel settings', () => {
  const cfg = loadConfig({ SECRETS_DIR: '/nonexistent' });
  assert.deepEqual(cfg.massDelete, { maxShare: 0.2, minRecords: 10 });
  assert.equal(cfg.webhooks.pushChannels, false, 'no PUBLIC_BASE_URL: no push channels');
  assert.equal(loadConfig({ SECRETS_DIR: '/nonexistent', PUBLIC_BASE_URL: 'https://aurora.example.com' }).webhooks.pushChannels, true);
  assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', MASS_DELETE_MAX_SHARE: '1.5' }), /MASS_DELETE_MAX_SHARE \(got "1.5"\)/);
});

test('Temporal TLS and API key: PEM files from the secrets folder, validated at start-up, never serialised, passed to every connection', async () => {
  const { temporalConnectionOptions } = await import('../src/temporal');
  const dir = mkdtempSync(join(tmpdir(), 'aurora-temporal-tls-'));
  const pem = (kind: string, body: string) => `-----BEGIN ${kind}-----\n${Buffer.from(body).toString('base64')}\n-----END ${kind}-----\n`;
  const keyBody = 'client-private-key-material-0123456789';
  writeFileSync(join(dir, 'temporal-client.pem'), pem('CERTIFICATE', 'client-certificate'));
  writeFileSync(join(dir, 'temporal-client.key'), pem('PRIVATE KEY', keyBody));
  writeFileSync(join(dir, 'temporal-ca.pem'), pem('CERTIFICATE', 'the-ca'));
  writeFileSync(join(dir, 'not-pem.txt'), 'hunter2-not-a-certificate');
  const base = { SECRETS_DIR: dir, TEMPORAL_ADDRESS: 'aurora.tmprl.cloud:7233' };
  const cert = { TEMPORAL_TLS_CERT: join(dir, 'temporal-client.pem'), TEMPORAL_TLS_KEY: join(dir, 'temporal-client.key') };
  const configError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message) && e.message.split('\n').length === 1 && !e.message.includes('hunter2') && !e.message.includes(keyBody);

  // default: plaintext, no key (the dev server)
  const plain = loadConfig({ SECRETS_DIR: '/nonexistent' });
  assert.equal(plain.temporal.tls, undefined);
  assert.equal(plain.temporal.apiKey, undefined);
  assert.deepEqual(temporalConnectionOptions(plain.temporal), { address: '127.0.0.1:7233' });

  // mTLS: certificate and key, the CA, the server name; TLS on without saying so
  const mtls = loadConfig({ ...base, ...cert, TEMPORAL_TLS_CA: join(dir, 'temporal-ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'aurora.internal' });
  const o = temporalConnectionOptions(mtls.temporal);
  assert.equal(o.address, 'aurora.tmprl.cloud:7233');
  assert.equal(o.tls && typeof o.tls === 'object' ? o.tls.serverNameOverride : undefined, 'aurora.internal');
  const tls = o.tls as { serverRootCACertificate: Buffer; clientCertPair: { crt: Buffer; key: Buffer } };
  assert.match(tls.serverRootCACertificate.toString(), /BEGIN CERTIFICATE/);
  assert.match(tls.clientCertPair.crt.toString(), /BEGIN CERTIFICATE/);
  assert.ok(tls.clientCertPair.key.toString().includes(Buffer.from(keyBody).toString('base64')), 'the key file\'s content');
  assert.ok(!JSON.stringify(mtls).includes(Buffer.from(keyBody).toString('base64')) && !JSON.stringify(mtls).includes('PRIVATE KEY'), 'the private key does not serialise');
  assert.ok(loadConfig({ ...base, TEMPORAL_TLS: 'true' }).temporal.tls, 'TLS with the system CAs, no client certificate');
  assert.ok(loadConfig({ ...base, TEMPORAL_TLS: 'on' }).temporal.tls);

  // an API key: from the variable or temporal-api-key.txt; TLS on by default, never serialised
  const apiKey = 'temporal-cloud-api-key-0123456789';
  const withKey = loadConfig({ ...base, TEMPORAL_API_KEY: apiKey });
  assert.deepEqual(temporalConnectionOptions(withKey.temporal), { address: 'aurora.tmprl.cloud:7233', tls: {}, apiKey });
  assert.ok(!JSON.stringify(withKey).includes(apiKey), 'the API key does not serialise');
  writeFileSync(join(dir, 'temporal-api-key.txt'), `${apiKey}-file\n`);
  assert.equal(loadConfig(base).temporal.apiKey, `${apiKey}-file`);
  assert.ok(loadConfig(base).temporal.tls);

  // what is refused, naming the variable and never a file's content or the key
  assert.throws(() => loadConfig({ ...base, TEMPORAL_TLS_CERT: cert.TEMPORAL_TLS_CERT }), configError(/TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY/));
  assert.throws(() => loadConfig({ ...base, TEMPORAL_TLS_KEY: cert.TEMPORAL_TLS_KEY }), configError(/TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT/));
  assert.throws(() => loadConfig({ ...base, ...cert, TEMPORAL_TLS_CERT: join(dir, 'missing.pem') }), configError(/TEMPORAL_TLS_CERT \(got ".*missing\.pem"\): no such file/));
  assert.throws(() => loadConfig({ ...base, ...cert, TEMPORAL_TLS_KEY: join(dir, 'not-pem.txt') }), configError(/TEMPORAL_TLS_KEY .*not a PEM private key/));
  assert.throws(() => loadConfig({ ...base, ...cert, TEMPORAL_TLS_KEY: join(dir, 'temporal-client.pem') }), configError(/TEMPORAL_TLS_KEY .*not a PEM private key/), 'the certificate given as the key');
  assert.throws(() => loadConfig({ ...base, TEMPORAL_TLS_CA: join(dir, 'not-pem.txt') }), configError(/TEMPORAL_TLS_CA .*not a PEM certificate/));
  assert.throws(() => loadConfig({ ...base, ...cert, TEMPORAL_TLS: 'false' }), configError(/TEMPORAL_TLS \(got "false"\): TLS is off but TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY are set/));
  assert.throws(() => loadConfig({ ...base, TEMPORAL_TLS: 'off' }), configError(/API key .* only ever sent over TLS/), 'the key from the file, TLS off');
  assert.throws(() => loadConfig({ ...base, TEMPORAL_TLS: 'maybe' }), configError(/TEMPORAL_TLS \(got "maybe"\)/));
  assert.throws(() => loadConfig({ SECRETS_DIR: '/nonexistent', TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: apiKey }), configError(/only ever sent over TLS/));

  // the options reach the connections: TLS towards the plaintext dev server fails the handshake (client and worker)
  const { baseEnv } = await import('./helpers');
  const { Connection } = await import('@temporalio/client');
  const { NativeConnection } = await import('@temporalio/worker');
  const toDev = loadConfig({ ...baseEnv(), SECRETS_DIR: '/nonexistent', TEMPORAL_TLS: 'true' });
  await assert.rejects(Connection.connect({ ...temporalConnectionOptions(toDev.temporal), connectTimeout: 5_000 }));
  await assert.rejects(NativeConnection.connect(temporalConnectionOptions(toDev.temporal)));
  const ok = await Connection.connect({ ...temporalConnectionOptions(loadConfig({ ...baseEnv(), SECRETS_DIR: '/nonexistent' }).temporal), connectTimeout: 5_000 });
  await ok.close();
});
