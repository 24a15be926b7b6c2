/** The ways people drive the engine: REST API, our CLI, and the Temporal CLI's signal. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildApi } from '../src/api/server';
import { syncWorkflowId, statusQuery } from '../src/workflows/definitions';
import { count, harnessPerTest, waitFor, type Harness } from './helpers';

const ROOT = join(__dirname, '..');
const setup = harnessPerTest();

/** Runs a command without blocking this process (it hosts the worker the command talks to). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
function cli(h: Harness, ...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'client.ts'), ...args], { PATH: process.env.PATH, ...h.env });
}

describe('interfaces', () => {
  test('REST API: trigger validates its input and wakes the workflow; status has the documented shape', async () => {
    const h = await setup();
    h.sandbox.seed('contacts', 25);
    h.sandbox.seed('companies', 3);
    const app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, configuredSystems: new Set(['hubspot']) });
    try {
      const bad = [
        [{ system: 'salesforce' }, /unknown system/],
        [{ system: 'hubspot', entity_type: 'tickets' }, /unknown entity_type/],
        [{}, /unknown system/],
      ] as const;
      const auth = { authorization: 'Bearer test-api-token' };
      const noToken = await app.inject({ method: 'POST', url: '/api/sync/trigger', payload: { system: 'hubspot' } });
      assert.equal(noToken.statusCode, 401);
      const wrongToken = await app.inject({ method: 'POST', url: '/api/sync/trigger', payload: { system: 'hubspot' }, headers: { authorization: 'Bearer nope' } });
      assert.equal(wrongToken.statusCode, 401);
      for (const [body, msg] of bad) {
        const res = await app.inject({ method: 'POST', url: '/api/sync/trigger', payload: body, headers: auth });
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.match(res.json().error, msg);
      }
      const malformed = await app.inject({ method: 'POST', url: '/api/sync/trigger', payload: '{"system":', headers: { 'content-type': 'application/json', ...auth } });
      assert.equal(malformed.statusCode, 400);
      const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
      await assert.rejects(handle.describe(), 'bad requests started nothing');

      const res = await app.inject({ method: 'POST', url: '/api/sync/trigger', payload: { system: 'hubspot', entity_type: 'contacts' }, headers: auth });
      assert.equal(res.statusCode, 202);
      assert.equal(res.json().workflow_id, syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
      await waitFor('contacts pulled', async () => (await count(h.db, 'SELECT count(*) n FROM contacts')) === 25 || undefined, 60_000);
      await waitFor('cycle recorded', async () => ((await handle.query(statusQuery)).cycles >= 1 ? true : undefined));

      assert.equal((await app.inject({ method: 'GET', url: '/api/sync/status' })).statusCode, 401, 'the status needs a token (its errors may quote record values)');
      const status = (await app.inject({ method: 'GET', url: '/api/sync/status', headers: auth })).json();
      assert.equal(status.hubspot.contacts.records, 25);
      assert.equal(status.hubspot.contacts.status, 'synced');
      assert.ok(!Number.isNaN(Date.parse(status.hubspot.contacts.last_synced)));
      assert.equal(status.hubspot.companies.records, 0, 'a contacts trigger syncs contacts only');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM companies'), 0);

      const unconfigured = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, configuredSystems: new Set() });
      const r409 = await unconfigured.inject({ method: 'POST', url: '/api/sync/trigger', payload: { system: 'hubspot' }, headers: auth });
      assert.equal(r409.statusCode, 409);
      assert.match(r409.json().error, /not configured/);
      const tokenless = buildApi({ cfg: { ...h.cfg, apiToken: undefined }, db: h.db, temporal: h.client, configuredSystems: new Set(['hubspot']) });
      const r503 = await tokenless.inject({ method: 'POST', url: '/api/sync/trigger', payload: { system: 'hubspot' }, headers: auth });
      assert.equal(r503.statusCode, 503);
      assert.match(r503.json().error, /API_TOKEN/);
    } finally {
      await app.close();
    }
  });

  test('CLI: --help, trigger --wait prints the outcome, status, and clear errors', async () => {
    const h = await setup();
    h.sandbox.seed('companies', 12);
    const help = await cli(h, '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /trigger \[system\]/);
    assert.match(help.stdout, /temporal workflow signal --workflow-id sync:hubspot --name trigger/);

    const bad = await cli(h, 'trigger', 'salesforce');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown system "salesforce"/);
    const badType = await cli(h, 'trigger', 'hubspot', '--entity', 'tickets');
    assert.equal(badType.status, 2);
    assert.match(badType.stderr, /unknown entity type "tickets"/);

    const run = await cli(h, 'trigger', 'hubspot', '--entity', 'companies', '--wait');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /hubspot company: ok/);
    assert.match(run.stdout, /created=12/);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM companies'), 12);

    const status = await cli(h, 'status');
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /^SYSTEM\s+CONNECTION\s+TYPE\s+STATUS\s+RECORDS\s+CONFLICTS\s+LAST SYNCED\s+NEXT RUN\s+NEXT RECONCILE\s+BUDGET LEFT\s+NOTES$/m);
    assert.match(status.stdout, /^hubspot\s+default\s+companies\s+synced\s+12\s+0\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+-\s+\d+\/100 per 10s, \d+\/\d+ per 1s/m);
    const json = JSON.parse((await cli(h, 'status', '--json')).stdout);
    assert.equal(json.hubspot.companies.records, 12);
    assert.equal(json.hubspot.companies.open_conflicts, 0);
    assert.ok(Date.parse(json.hubspot.companies.next_run) > Date.now(), 'the next cycle, from the sync workflow');
    assert.equal(json.hubspot.companies.next_reconcile, null, 'no schedules in this test');
    const general = json.hubspot.companies.rate_budget.find((b: { window: string }) => b.window === '10s');
    assert.equal(general.limit, 100);
    assert.ok(general.remaining >= 0 && general.remaining <= 100);
  });

  test('the Temporal CLI triggers a cycle with `temporal workflow signal --name trigger`', async () => {
    const h = await setup();
    h.sandbox.seed('deals', 7);
    const id = syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix);
    // Start the workflow (it syncs once at start), then let the Temporal CLI trigger the next cycle.
    await h.cycle('deal');
    h.sandbox.userUpdate('deals', h.sandbox.list('deals')[0]!.id, { dealname: 'Signalled via temporal CLI' });
    const res = await run(
      'temporal',
      ['workflow', 'signal', '--address', h.cfg.temporal.address, '--namespace', h.cfg.temporal.namespace, '--workflow-id', id, '--name', 'trigger', '--input', '{"entityType":"deal"}'],
      process.env,
    );
    assert.equal(res.status, 0, res.stderr);
    await waitFor('deal updated locally', async () =>
      (await count(h.db, "SELECT count(*) n FROM deals WHERE name = 'Signalled via temporal CLI'")) === 1 || undefined, 30_000);
  });
});
