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
