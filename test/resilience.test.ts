/**
 * Failure and recovery: a worker killed mid-backfill, Redis down, one entity type failing, records
 * HubSpot rejects, and continue-as-new carrying the cursors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { canonicalize } from '../src/core/model';
import { hubspotSpec } from '../src/connectors/hubspot/entities';
import { toCanonical } from '../src/connectors/hubspot/mapping';
import { syncWorkflowId, statusQuery } from '../src/workflows/definitions';
import { configureSyncWorkflow } from '../src/temporal';
import { count, harnessPerTest, waitFor } from './helpers';

const setup = harnessPerTest();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function spawnWorker(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'src', 'worker.ts')], {
    env: { PATH: process.env.PATH, ...env, METRICS_PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('resilience', () => {
  test('a worker killed mid-backfill resumes and the final state equals the sandbox', async () => {
    const h = await setup({ worker: false, sandbox: { latencyMs: 150 }, env: { ACTIVITY_HEARTBEAT_TIMEOUT: '3', SYNC_INTERVAL: '3600' } });
    h.sandbox.seed('contacts', 5000);
    const child = spawnWorker(h.env); // starts sync:hubspot itself, as in production
    await waitFor('part of the backfill', async () => (await count(h.db, 'SELECT count(*) n FROM contacts')) >= 2400 || undefined, 120_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const partial = await count(h.db, 'SELECT count(*) n FROM contacts');
    assert.ok(partial < 5000, `killed mid-backfill (had ${partial})`);

    h.sandbox.resetStats();
    await h.startWorker();
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    await waitFor('first cycle done', async () => ((await handle.query(statusQuery)).cycles >= 1 ? true : undefined), 180_000, 500);
    const status = await handle.query(statusQuery);
    assert.equal(status.entities.contact?.lastError, null);
    // Resumed from the heartbeated cursor, not from zero: far fewer search pages than a full re-read.
    const searches = h.sandbox.stats().searchRequests;
    assert.ok(searches < 25 + 3, `resumed (${searches} searches after restart for 5000 records at 200/page)`);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts'), 5000);
    assert.equal(await count(h.db, 'SELECT count(DISTINCT external_id) n FROM sync_registry'), 5000);
    const { rows } = await h.db.query("SELECT c.*, r.external_id FROM contacts c JOIN sync_registry r ON r.local_id = c.id");
    const byExt = new Map(rows.map((r) => [r.external_id as string, r]));
    for (const rec of h.sandbox.list('contacts')) assert.deepEqual(canonicalize(hubspotSpec('contact'), byExt.get(rec.id) ?? {}), toCanonical('contact', rec));
  });

  test('Redis down delays events and loses none', async () => {
    const port = await freePort();
    const dir = join(__dirname, '..', '.data', `redis-test-${port}`);
    const startRedis = () =>
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], { stdio: 'ignore' });
    let redis = startRedis();
    await waitFor('redis up', async () => {
      const { default: Redis } = await import('ioredis');
      const c = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
      try {
        await c.connect();
        return (await c.ping()) === 'PONG' || undefined;
      } finally {
        c.disconnect();
      }
    });
    void dir;
    const h = await setup({ env: { REDIS_PORT: String(port) } });
    try {
      h.sandbox.seed('companies', 40);
      redis.kill('SIGKILL');
      await new Promise((r) => redis.once('exit', r));
      const summary = await h.cycle('company');
      assert.equal(summary.entities.company?.lastError, null, 'the sync itself does not depend on Redis');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM companies'), 40);
      assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL'), 40, 'events wait in the outbox');

      redis = startRedis();
      await waitFor('outbox drained after Redis returns', async () =>
        (await count(h.db, 'SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL')) === 0 || undefined, 30_000);
      const { default: Redis } = await import('ioredis');
      const c = new Redis({ port });
      const entries = await c.xrange('aurora:sync:events', '-', '+');
      c.disconnect();
      const ids = new Set(entries.map(([, fields]) => (JSON.parse(fields[3]!) as { entity_id: string }).entity_id));
      const { rows } = await h.db.query('SELECT id FROM companies');
      assert.equal(entries.length, 40, 'each event published once');
      for (const r of rows) assert.ok(ids.has(r.id), `event for ${r.id}`);
    } finally {
      redis.kill('SIGKILL');
    }
  });

  test('an error on one entity type never stops the others; rejected records show as errors', async () => {
    const h = await setup();
    const [existing] = h.sandbox.seed('contacts', 5);
    h.sandbox.seed('companies', 5);
    h.sandbox.seed('deals', 5);
    // Deals: HubSpot keeps rejecting the search; contacts: one local contact duplicates an email HubSpot has.
    h.sandbox.faults.set({ failNext: { route: 'deals/search', status: 400, count: 1000 } });
    await h.cycle();
    const { rows } = await h.db.query(`INSERT INTO contacts (first_name, email) VALUES ('Dup', $1), ('Fine', 'fine@aurora.example') RETURNING id`, [
      existing!.properties.email,
    ]);
    const summary = await h.cycle();
    assert.match(summary.entities.deal?.lastError ?? '', /BAD_REQUEST/);
    assert.equal(summary.entities.contact?.lastError, null);
    assert.equal(summary.entities.company?.lastError, null);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM companies'), 5);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM deals'), 0);
    const dup = (await h.db.query('SELECT sync_status, error_message FROM sync_registry WHERE local_id = $1', [rows[0].id])).rows[0];
    assert.equal(dup.sync_status, 'error');
    assert.match(dup.error_message, /exist|CONFLICT/i);
    const fine = (await h.db.query('SELECT sync_status, external_id FROM sync_registry WHERE local_id = $1', [rows[1].id])).rows[0];
    assert.equal(fine.sync_status, 'synced');
    assert.ok(fine.external_id);
    const state = (await h.db.query("SELECT last_error FROM sync_state WHERE entity_type = 'deal'")).rows[0];
    assert.match(state.last_error, /BAD_REQUEST/);
    // Fixed upstream: the next cycle catches up.
    h.sandbox.faults.clear();
    const next = await h.cycle('deal');
    assert.equal(next.entities.deal?.lastError, null);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM deals'), 5);
  });

  test('rejected credentials stop the cycle with a stated reason instead of retrying', async () => {
    const h = await setup({ sandbox: { accessToken: 'the-real-token' } });
    h.sandbox.seed('contacts', 3);
    const summary = await h.cycle();
    for (const t of ['company', 'contact', 'deal']) assert.match(summary.entities[t]?.lastError ?? '', /AUTH_FAILED.*HUBSPOT_API_KEY/, t);
    assert.ok(h.sandbox.stats().requests <= 2, `one rejected request, not a retry storm (${h.sandbox.stats().requests})`);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts'), 0);
    const { rows } = await h.db.query('SELECT last_error FROM sync_state');
    assert.ok(rows.length >= 1 && rows.every((r) => /AUTH_FAILED/.test(r.last_error)));
  });

  test('the workflow cycles on its durable timer; a changed SYNC_INTERVAL reaches the running workflow', async () => {
    const h = await setup(); // SYNC_INTERVAL=3600
    h.sandbox.seed('companies', 2);
    await h.cycle('company');
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    const before = (await handle.query(statusQuery)).cycles;
    // What a worker restarted with SYNC_INTERVAL=1 sends to the running workflow.
    await configureSyncWorkflow(h.client, { ...h.cfg, syncIntervalSeconds: 1 }, { system: 'hubspot' });
    h.sandbox.userCreate('companies', { name: 'Timer Co', domain: 'timer.example' });
    await waitFor('the timer-driven cycle pulled the new company', async () =>
      (await count(h.db, "SELECT count(*) n FROM companies WHERE name = 'Timer Co'")) === 1 || undefined, 30_000);
    await waitFor('the cycle completed', async () => ((await handle.query(statusQuery)).cycles > before ? true : undefined), 30_000);
  });

  test('continue-as-new carries cursors and status; history stays bounded', async () => {
    const h = await setup({ env: { SYNC_CYCLES_PER_RUN: '2' } });
    h.sandbox.seed('contacts', 30);
    await h.cycle('contact');
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    const firstRun = (await handle.describe()).runId;
    await h.cycle('contact');
    await waitFor('continued as new', async () => ((await handle.describe()).runId !== firstRun ? true : undefined), 30_000);
    const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
    h.sandbox.resetStats();
    const third = await h.cycle('contact');
    assert.equal(third.entities.contact?.lastError, null);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox, 'nothing re-synced after continue-as-new');
    assert.ok(h.sandbox.stats().searchRequests <= 3, 'incremental from the carried cursor');
    const status = await handle.query(statusQuery);
    assert.equal(status.cycles, 3);
  });
});

describe('shared rate-limit budget', () => {
  test('two workers on one HubSpot account share one budget through Redis: no 429s', async () => {
    const { HubSpotConnector } = await import('../src/connectors/hubspot/connector');
    const { SharedWindowLimiter } = await import('../src/core/ratelimit');
    const { createRedis } = await import('../src/deps');
    const { startHubSpotSandbox } = await import('../src/sandbox/hubspot');
    const { baseEnv } = await import('./helpers');
    const sandbox = await startHubSpotSandbox({ rateLimits: { perTenSeconds: 12, searchPerSecond: 50 } });
    sandbox.seed('companies', 30);
    const redis = createRedis({ host: baseEnv().REDIS_HOST!, port: Number(baseEnv().REDIS_PORT) });
    await new Promise((r) => setTimeout(r, 200));
    const key = `aurora:ratelimit:test:${Date.now()}`;
    const worker = () =>
      new HubSpotConnector({
        connection: 'default', accessToken: 'shared', baseUrl: sandbox.url, ratePer10s: 12, searchPerSecond: 50, searchLookbackMs: 0, maxAttempts: 1,
        budgets: { general: new SharedWindowLimiter(redis, `${key}:10s`, 12, 10_000), search: new SharedWindowLimiter(redis, `${key}:s`, 50, 1_000) },
      });
    try {
      const ids = sandbox.list('companies').map((c) => c.id);
      // 2 x 9 requests against a budget of 12 per 10 s: the second worker must wait, not be refused.
      const reads = (w: InstanceType<typeof HubSpotConnector>) => Promise.all(ids.slice(0, 9).map((id) => w.readByIds('company', [id])));
      const started = Date.now();
      await Promise.all([reads(worker()), reads(worker())]);
      assert.equal(sandbox.stats().rateLimited, 0, 'no request was refused');
      assert.ok(Date.now() - started >= 5_000, 'the budget made the second batch wait for the window');
    } finally {
      redis.disconnect();
      await sandbox.close();
    }
  });
});
