/**
 * Conflicts through the whole stack: policies on real data, the conflict workflow resolved by
 * signal, update, CLI, REST and the review page, restarts, the deadline, invalid input, events.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildApi } from '../src/api/server';
import { conflictWorkflowId, detailsQuery, resolveSignal, resolveUpdate } from '../src/workflows/definitions';
import { count, harnessPerTest, subscribe, waitFor, type Harness } from './helpers';

const ROOT = join(__dirname, '..');
const setup = harnessPerTest();
const tick = () => new Promise((r) => setTimeout(r, 25));

async function row(h: Harness, externalId: string) {
  const { rows } = await h.db.query(
    `SELECT c.*, r.sync_status, r.local_version, r.external_version, r.last_resolution, r.conflict
     FROM contacts c JOIN sync_registry r ON r.local_id = c.id WHERE r.external_id = $1`,
    [externalId],
  );
  return rows[0];
}

/** One synced contact, then an edit on each side (first_name on both; plus one disjoint field each). */
async function conflicted(h: Harness, opts: { overlap?: boolean } = {}) {
  const [rec] = h.sandbox.seed('contacts', 1);
  await h.cycle('contact');
  const local = await row(h, rec!.id);
  await h.db.query(`UPDATE contacts SET last_name = 'Aurora-Last'${opts.overlap === false ? '' : ", first_name = 'Aurora-First'"} WHERE id = $1`, [local.id]);
  await tick();
  h.sandbox.userUpdate('contacts', rec!.id, { phone: '+1 555 0199', ...(opts.overlap === false ? {} : { firstname: 'HubSpot-First' }) });
  const summary = await h.cycle('contact');
  return { rec: rec!, localId: local.id as string, summary };
}

const manual = { CONFLICT_POLICY_HUBSPOT_CONTACT: 'manual' };

function api(h: Harness) {
  return buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, configuredSystems: new Set(['hubspot']) });
}
const auth = { authorization: 'Bearer test-api-token' };

describe('conflict policies', () => {
  test('merge: edits to different fields merge silently; both sides end with both', async () => {
    const h = await setup({ env: { CONFLICT_POLICY: 'merge' } });
    const { rec, localId } = await conflicted(h, { overlap: false });
    await h.cycle('contact'); // push the merged values out
    const r = await row(h, rec.id);
    assert.equal(r.last_name, 'Aurora-Last');
    assert.equal(r.phone, '+1 555 0199');
    assert.equal(h.sandbox.get('contacts', rec.id)!.properties.lastname, 'Aurora-Last');
    assert.equal(h.sandbox.get('contacts', rec.id)!.properties.phone, '+1 555 0199');
    assert.equal(r.sync_status, 'synced');
    assert.equal(r.local_version, r.version);
    assert.equal(r.last_resolution.winner, 'both');
    assert.equal(r.id, localId);
    const versions = r.version;
    await h.cycle('contact');
    assert.equal((await row(h, rec.id)).version, versions, 'quiet afterwards');
  });

  test('merge with last-write-wins fallback: the overlapping field goes to the later writer, the rest merge', async () => {
    const h = await setup({ env: { CONFLICT_POLICY: 'merge', CONFLICT_MERGE_FALLBACK: 'last-write-wins' } });
    const { rec } = await conflicted(h);
    await h.cycle('contact');
    const r = await row(h, rec.id);
    assert.equal(r.first_name, 'HubSpot-First', 'HubSpot wrote first_name last');
    assert.equal(r.last_name, 'Aurora-Last');
    assert.equal(r.phone, '+1 555 0199');
    const remote = h.sandbox.get('contacts', rec.id)!.properties;
    assert.equal(remote.firstname, 'HubSpot-First');
    assert.equal(remote.lastname, 'Aurora-Last');
    assert.deepEqual(r.last_resolution.fields, ['first_name']);
  });

  test('merge with manual fallback: only the overlapping field is in conflict', async () => {
    const h = await setup({ env: { CONFLICT_POLICY: 'merge', CONFLICT_MERGE_FALLBACK: 'manual' } });
    const { rec } = await conflicted(h);
    const r = await row(h, rec.id);
    assert.equal(r.sync_status, 'conflict');
    assert.deepEqual(r.conflict.fields, ['first_name']);
  });

  test('last-write-wins (default) records the loser’s values', async () => {
    const h = await setup();
    const { rec } = await conflicted(h);
    const r = await row(h, rec.id);
    assert.equal(r.first_name, 'HubSpot-First');
    assert.equal(r.last_resolution.local.values.first_name, 'Aurora-First');
    assert.equal(r.last_resolution.local.values.last_name, 'Aurora-Last');
  });
});

describe('manual conflicts', () => {
  test('resolved by signal; events for the conflict and the resolution; other records keep syncing', async () => {
    const h = await setup({ env: manual });
    const sub = await subscribe();
    try {
      const [other] = h.sandbox.seed('contacts', 1);
      const { rec, localId } = await conflicted(h);
      assert.equal((await row(h, rec.id)).sync_status, 'conflict');
      assert.equal((await row(h, rec.id)).first_name, 'Aurora-First', 'left alone while open');
      // Others keep syncing while the conflict is open; the conflicted record stays untouched.
      h.sandbox.userUpdate('contacts', other!.id, { lastname: 'Moved-On' });
      h.sandbox.userUpdate('contacts', rec.id, { jobtitle: 'ignored', firstname: 'HubSpot-First-2' });
      await h.cycle('contact');
      assert.equal((await row(h, other!.id)).last_name, 'Moved-On');
      assert.equal((await row(h, rec.id)).first_name, 'Aurora-First');
      const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix));
      await waitFor('external snapshot refreshed', async () =>
        (await handle.query(detailsQuery)).details?.external.values.first_name === 'HubSpot-First-2' || undefined);

      await handle.signal(resolveSignal, { choice: 'external', resolvedBy: 'ana@example.com', comment: 'HubSpot is right' });
      const result = await handle.result();
      assert.equal(result.outcome, 'resolved');
      assert.equal(result.resolvedBy, 'ana@example.com');
      const r = await row(h, rec.id);
      assert.equal(r.first_name, 'HubSpot-First-2');
      assert.equal(r.last_name, h.sandbox.get('contacts', rec.id)!.properties.lastname);
      assert.equal(r.sync_status, 'synced');
      assert.equal(r.local_version, r.version);
      assert.equal(r.last_resolution.resolved_by, 'ana@example.com');
      assert.equal(r.last_resolution.local.values.last_name, 'Aurora-Last', 'the losing side is kept');

      await waitFor('conflict and resolved events', async () =>
        sub.events.some((e) => e.event.action === 'resolved' && e.event.entity_id === localId) || undefined, 10_000);
      const mine = sub.events.filter((e) => e.event.entity_id === localId).map((e) => e.event);
      const conflictEvent = mine.find((e) => e.action === 'conflict')!;
      assert.ok(conflictEvent);
      for (const e of [conflictEvent, mine.find((x) => x.action === 'resolved')!]) {
        assert.equal(e.source, 'hubspot');
        assert.equal(e.entity_type, 'contact');
        assert.ok(!Number.isNaN(Date.parse(e.timestamp as string)));
      }
      const versions = (await row(h, rec.id)).version;
      await h.cycle('contact');
      assert.equal((await row(h, rec.id)).version, versions, 'quiet after the resolution');
    } finally {
      await sub.close();
    }
  });

  test('resolved by update with per-field choices; it answers with the applied result', async () => {
    const h = await setup({ env: manual });
    const { rec, localId } = await conflicted(h);
    const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix));
    await assert.rejects(
      handle.executeUpdate(resolveUpdate, { args: [{ choice: 'merged', fields: {}, resolvedBy: 'bo' }] }),
      (err: Error) => /missing: first_name$/.test((err.cause as Error | undefined)?.message ?? ''),
    );
    const result = await handle.executeUpdate(resolveUpdate, {
      args: [{ choice: 'merged', fields: { first_name: { value: 'Agreed-First' } }, resolvedBy: 'bo' }],
    });
    assert.equal(result.outcome, 'resolved');
    assert.equal(result.values?.first_name, 'Agreed-First');
    const r = await row(h, rec.id);
    assert.equal(r.first_name, 'Agreed-First');
    assert.equal(r.last_name, 'Aurora-Last', 'Aurora’s own change merged');
    assert.equal(r.phone, '+1 555 0199', 'HubSpot’s own change merged');
    const remote = h.sandbox.get('contacts', rec.id)!.properties;
    assert.equal(remote.firstname, 'Agreed-First');
    assert.equal(remote.lastname, 'Aurora-Last');
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
  });

  test('resolved by CLI', async () => {
    const h = await setup({ env: manual });
    const { rec, localId } = await conflicted(h);
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'client.ts'), ...args], { env: { PATH: process.env.PATH, ...h.env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const list = await run(['conflicts', 'list']);
    assert.match(list.stdout, new RegExp(`conflict:hubspot:contact:${localId}`));
    const show = await run(['conflicts', 'show', `conflict:hubspot:contact:${localId}`]);
    assert.match(show.stdout, /\* first_name/);
    const bad = await run(['conflicts', 'resolve', `conflict:hubspot:contact:${localId}`, '--keep', 'both']);
    assert.equal(bad.status, 2);
    const ok = await run(['conflicts', 'resolve', `conflict:hubspot:contact:${localId}`, '--keep', 'local', '--by', 'cli-user']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /resolved by cli-user: kept local/);
    assert.equal(h.sandbox.get('contacts', rec.id)!.properties.firstname, 'Aurora-First');
    assert.equal((await row(h, rec.id)).sync_status, 'synced');
  });

  test('REST: list, show, resolve; every kind of invalid input gets a clear error and changes nothing', async () => {
    const h = await setup({ env: manual });
    const { rec, localId } = await conflicted(h);
    const app = api(h);
    try {
      const id = `conflict:hubspot:contact:${localId}`;
      const list = (await app.inject({ method: 'GET', url: '/api/conflicts', headers: auth })).json();
      assert.deepEqual(list.conflicts.map((c: { id: string }) => c.id), [id]);
      const shown = (await app.inject({ method: 'GET', url: `/api/conflicts/${encodeURIComponent(id)}`, headers: auth })).json();
      assert.deepEqual(shown.details.fields, ['first_name']);
      assert.equal(shown.details.local.values.first_name, 'Aurora-First');
      assert.equal(shown.details.external.values.first_name, 'HubSpot-First');

      const before = await row(h, rec.id);
      const cases: [string, unknown, number, RegExp][] = [
        [`conflict:hubspot:contact:00000000-0000-0000-0000-000000000000`, { choice: 'local', resolvedBy: 'x' }, 404, /no conflict/],
        [id, { choice: 'both', resolvedBy: 'x' }, 400, /unknown choice/],
        [id, { choice: 'merged', fields: { shoe_size: 'local', first_name: 'local' }, resolvedBy: 'x' }, 400, /unknown field "shoe_size"/],
        [id, { choice: 'merged', fields: { first_name: 'local', email: { value: 'not-an-email' } }, resolvedBy: 'x' }, 400, /not an email/],
        [id, { choice: 'merged', fields: { first_name: { value: 42 } }, resolvedBy: 'x' }, 400, /must be a string/],
        [id, { choice: 'local' }, 400, /resolvedBy/],
      ];
      for (const [cid, body, status, msg] of cases) {
        const res = await app.inject({ method: 'POST', url: `/api/conflicts/${encodeURIComponent(cid)}/resolve`, payload: body as object, headers: auth });
        assert.equal(res.statusCode, status, JSON.stringify(body));
        assert.match(res.json().error, msg);
      }
      const unauth = await app.inject({ method: 'POST', url: `/api/conflicts/${encodeURIComponent(id)}/resolve`, payload: { choice: 'local', resolvedBy: 'x' } });
      assert.equal(unauth.statusCode, 401);
      const unchanged = await row(h, rec.id);
      assert.equal(unchanged.sync_status, 'conflict');
      assert.equal(unchanged.version, before.version);
      assert.equal(h.sandbox.get('contacts', rec.id)!.properties.firstname, 'HubSpot-First');
      // A bad signal is recorded, not applied.
      const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix));
      await handle.signal(resolveSignal, { choice: 'sideways', resolvedBy: 'x' } as never);
      await waitFor('signal rejected', async () => ((await handle.query(detailsQuery)).rejected.some((r) => /unknown choice/.test(r)) ? true : undefined));

      const ok = await app.inject({ method: 'POST', url: `/api/conflicts/${encodeURIComponent(id)}/resolve`, payload: { choice: 'external', resolvedBy: 'rest-user' }, headers: auth });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().outcome, 'resolved');
      const twice = await app.inject({ method: 'POST', url: `/api/conflicts/${encodeURIComponent(id)}/resolve`, payload: { choice: 'local', resolvedBy: 'rest-user' }, headers: auth });
      assert.equal(twice.statusCode, 409);
      assert.match(twice.json().error, /already resolved/);
      assert.equal((await row(h, rec.id)).first_name, 'HubSpot-First');
    } finally {
      await app.close();
    }
  });

  test('survives a worker restart and a Temporal server restart', async () => {
    const h = await setup({ env: manual });
    const { rec, localId } = await conflicted(h);
    await h.stopWorker();
    await h.startWorker();
    const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix));
    assert.equal((await handle.query(detailsQuery)).status, 'open');
    await h.stopWorker();
    const restart = spawn('bash', [join(ROOT, 'scripts', 'services.sh'), 'restart-temporal'], { stdio: 'inherit' });
    assert.equal(await new Promise((r) => restart.once('exit', r)), 0);
    await h.startWorker();
    const result = await waitFor('update after the restart', async () =>
      handle.executeUpdate(resolveUpdate, { args: [{ choice: 'local', resolvedBy: 'after-restart' }] }), 60_000, 1000);
    assert.equal(result.outcome, 'resolved');
    assert.equal(h.sandbox.get('contacts', rec.id)!.properties.firstname, 'Aurora-First');
  });

  test('an open conflict resolves by last-write-wins at its deadline, marked as resolved by policy', async () => {
    const h = await setup({ env: { ...manual, CONFLICT_AUTO_RESOLVE_AFTER: '3s' } });
    const { rec, localId } = await conflicted(h);
    const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix));
    const result = await handle.result();
    assert.equal(result.byPolicy, true);
    assert.match(result.summary, /resolved by policy/);
    const r = await row(h, rec.id);
    assert.equal(r.first_name, 'HubSpot-First', 'HubSpot wrote last');
    assert.equal(r.last_resolution.policy, 'policy');
  });

  test('the operator path: sync_status set to pending with psql retries the record on the next cycle', async () => {
    const h = await setup({ env: manual });
    const { rec, localId } = await conflicted(h);
    await h.db.query(`UPDATE sync_registry SET sync_status = 'pending' WHERE local_id = $1`, [localId]);
    await h.cycle('contact');
    const r = await row(h, rec.id);
    assert.equal(r.sync_status, 'synced');
    assert.equal(r.first_name, 'HubSpot-First');
    assert.equal(h.sandbox.get('contacts', rec.id)!.properties.firstname, 'HubSpot-First');
    const handle = h.client.workflow.getHandle(conflictWorkflowId('hubspot', 'contact', localId, h.cfg.temporal.workflowIdPrefix));
    assert.equal((await handle.result()).outcome, 'closed');
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE sync_status = 'conflict'"), 0);
  });
});
