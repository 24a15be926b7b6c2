/**
 * Temporal Schedules on the real dev server: created idempotently from the configuration,
 * operable through our functions (the CLI's), REST and the `temporal` CLI; a reconciliation repairs
 * what the change feed never reported; a renewal renews a channel about to expire.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { backfillSchedule, ensureSchedules, listSchedules, pauseSchedule, triggerSchedule, unpauseSchedule } from '../src/schedules';
import { syncStatus } from '../src/store/status';
import { CONNECTORS } from '../src/connectors/registry';
import { count, harnessPerTest, linkGhost, listeningApi, waitFor } from './helpers';

const ANA = 'ana@acme.test';
const SYSTEM = 'google_workspace';
const setup = harnessPerTest();
const temporalCli = join(__dirname, '..', '.tools', 'venv', 'bin', 'temporal');

describe('Temporal Schedules', () => {
  test('created once per connection and system, operable by CLI functions, REST and temporal schedule; a reconciliation repairs a record the feed never reported gone', async () => {
    const h = await setup({ google: { users: [ANA] }, fireflies: {}, env: { PUSH_CHANNELS: 'true', RECONCILE_INTERVAL: '24h', CHANNEL_RENEW_INTERVAL: '6h' } });
    const prefix = h.cfg.temporal.workflowIdPrefix;
    const channelSystems = new Set([SYSTEM]);
    const first = await ensureSchedules(h.client, h.cfg, channelSystems);
    const again = await ensureSchedules(h.client, h.cfg, channelSystems); // a second worker, or a restart
    assert.deepEqual(again, first);
    // (the list comes from Temporal's visibility store, which catches up within moments)
    const ids = await waitFor('the schedules are listed', async () => {
      const list = (await listSchedules(h.client, h.cfg)).map((s) => s.id);
      return list.length >= 3 ? list : undefined;
    }, 15_000, 200);
    assert.deepEqual(ids, [`${prefix}reconcile:google_workspace:${ANA}`, `${prefix}reconcile:hubspot`, `${prefix}renew-channels:google_workspace`], 'one each, no duplicates; none for Fireflies (a full listing would spend its daily budget)');
    const view = (await listSchedules(h.client, h.cfg)).find((s) => s.id.endsWith(`reconcile:google_workspace:${ANA}`))!;
    assert.equal(view.every, '1d');
    assert.equal(view.paused, false);
    assert.equal(view.workflow, 'reconcileWorkflow');
    assert.match(view.summary ?? '', /reconcile calendar_events, email_labels, emails/);
    // The Temporal CLI sees the same schedules.
    const cli = execFileSync(temporalCli, ['schedule', 'list', '--address', h.cfg.temporal.address, '--namespace', h.cfg.temporal.namespace], { encoding: 'utf8' });
    for (const id of ids) assert.ok(cli.includes(id), `temporal schedule list shows ${id}`);

    // A synced event whose Google record vanished without the feed saying so (a registry row whose record is gone).
    const g = h.google!;
    g.calendar.seed(ANA, ANA, 10);
    await h.cycleOf({ system: SYSTEM, connection: ANA });
    const ghost = (await h.db.query(
      `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, status) VALUES ($1, $1, 'Ghost', now(), now() + interval '1 hour', 'confirmed') RETURNING id, version`,
      [ANA],
    )).rows[0];
    await linkGhost(h.db, ghost, { system: SYSTEM, connection: ANA, entityType: 'calendar_event', externalId: 'ghost0event0id0000000' });
    const live = await count(h.db, 'SELECT count(*) n FROM calendar_events WHERE deleted_at IS NULL');
    await triggerSchedule(h.client, h.cfg, `reconcile:google_workspace:${ANA}`);
    await waitFor('the reconciliation tombstoned the ghost', async () =>
      (await h.db.query('SELECT deleted_at FROM calendar_events WHERE id = $1', [ghost.id])).rows[0].deleted_at ? true : undefined, 60_000, 200);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM calendar_events WHERE deleted_at IS NULL'), live - 1, 'nothing else deleted');
    const st = await waitFor('the result is in the status', async () => (await syncStatus(h.db, CONNECTORS))[SYSTEM]!.calendar_events!.last_reconciled, 30_000, 200);
    assert.equal(st.deleted, 1);
    assert.ok(st.checked >= live - 1);
    assert.equal(st.error, null);
    // The run is in Temporal (its result: what was checked and repaired); visibility catches up within moments.
    const runs = await waitFor('the completed run is listed', async () => {
      const found = [];
      for await (const wf of h.client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}reconcile:google_workspace:" AND ExecutionStatus = "Completed"` })) found.push(wf);
      return found.length ? found : undefined;
    }, 15_000, 200);
    assert.equal(runs.length, 1, 'one run');
    const result = await h.client.workflow.getHandle(runs[0]!.workflowId).result();
    assert.equal(result.entities.calendar_event.deleted, 1);

    // Pause, unpause, backfill; REST reads openly and writes with the token; bad input is a clear 4xx.
    const { app } = await listeningApi(h, ['hubspot', SYSTEM]);
    try {
      await pauseSchedule(h.client, h.cfg, 'reconcile:hubspot', 'maintenance window');
      let hub = (await listSchedules(h.client, h.cfg)).find((s) => s.id.endsWith('reconcile:hubspot'))!;
      assert.equal(hub.paused, true);
      assert.equal(hub.note, 'maintenance window');
      await assert.rejects(pauseSchedule(h.client, h.cfg, 'reconcile:hubspot', ''), /needs a reason/);
      const auth = { authorization: `Bearer ${h.cfg.apiToken}`, 'content-type': 'application/json' };
      assert.equal((await app.inject({ method: 'POST', url: '/api/schedules/reconcile:hubspot/unpause', payload: {} })).statusCode, 401, 'writes need the token');
      assert.equal((await app.inject({ method: 'POST', url: '/api/schedules/reconcile:hubspot/unpause', headers: auth, payload: {} })).statusCode, 202);
      hub = (await listSchedules(h.client, h.cfg)).find((s) => s.id.endsWith('reconcile:hubspot'))!;
      assert.equal(hub.paused, false);
      await unpauseSchedule(h.client, h.cfg, 'reconcile:hubspot');
      const listed = JSON.parse((await app.inject({ method: 'GET', url: '/api/schedules', headers: auth })).body) as { schedules: { id: string }[] };
      assert.equal(listed.schedules.length, 3);
      const unknown = await app.inject({ method: 'POST', url: '/api/schedules/reconcile:salesforce/trigger', headers: auth, payload: {} });
      assert.equal(unknown.statusCode, 404);
      assert.match(JSON.parse(unknown.body).error, /not one of this engine's schedules/);
      assert.equal((await app.inject({ method: 'POST', url: `/api/schedules/${encodeURIComponent("reconcile:hubspot'; DROP")}/trigger`, headers: auth, payload: {} })).statusCode, 400);
      const badBackfill = await app.inject({ method: 'POST', url: '/api/schedules/reconcile:hubspot/backfill', headers: auth, payload: { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' } });
      assert.equal(badBackfill.statusCode, 400);
      await pauseSchedule(h.client, h.cfg, `reconcile:google_workspace:${ANA}`, 'no more runs in this test');
      await backfillSchedule(h.client, h.cfg, 'renew-channels:google_workspace', new Date(Date.now() - 7 * 3_600_000).toISOString(), new Date().toISOString());
      await waitFor('the backfilled renewal ran', async () => {
        let n = 0;
        for await (const _ of h.client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}renew-channels:google_workspace"` })) n++;
        return n >= 1 ? n : undefined;
      }, 30_000, 200);
    } finally {
      await app.close();
    }
  });

  test('a renewal schedule renews a channel about to expire, without a sync cycle', async () => {
    // Every channel counts as about to expire: renewed at each run.
    const h = await setup({ google: { users: [ANA] }, env: { PUSH_CHANNELS: 'true', CHANNEL_RENEW_BEFORE_SECONDS: String(30 * 86_400) } });
    const { app } = await listeningApi(h, ['hubspot', SYSTEM]);
    try {
      h.google!.calendar.seed(ANA, ANA, 3);
      await h.cycleOf({ system: SYSTEM, connection: ANA }, 'calendar_event');
      const before = (await h.db.query("SELECT channel_id FROM sync_channels WHERE entity_type = 'calendar_event' AND stopped_at IS NULL")).rows.map((r) => r.channel_id);
      assert.equal(before.length, 1);
      await ensureSchedules(h.client, h.cfg, new Set([SYSTEM]));
      await triggerSchedule(h.client, h.cfg, 'renew-channels:google_workspace');
      const after = await waitFor('a new channel replaced the old one', async () => {
        const rows = (await h.db.query("SELECT channel_id FROM sync_channels WHERE entity_type = 'calendar_event' AND stopped_at IS NULL")).rows.map((r) => r.channel_id);
        return rows.length === 1 && rows[0] !== before[0] ? rows : undefined;
      }, 30_000, 200);
      assert.notEqual(after[0], before[0]);
      assert.ok((await h.db.query('SELECT stopped_at FROM sync_channels WHERE channel_id = $1', [before[0]])).rows[0].stopped_at, 'the old one stopped');
      assert.ok(!h.google!.channels.active().some((c) => c.id === before[0]), 'and stopped at Google');
    } finally {
      await app.close();
    }
  });

  // HubSpot's reconciliation is covered in test/hubspot-sync.test.ts ('deletes propagate both ways');
  // Fireflies has none (ConnectorDefinition.reconcile: false, reasoned in src/connectors/fireflies/index.ts:
  // a full listing would spend its daily request budget, and its API reports no deletions to confirm).
  test('a reconciliation repairs what the feed missed for Gmail and Drive', async () => {
    const h = await setup({ google: { users: [ANA] } });
    const g = h.google!;
    g.gmail.seed(ANA, 12);
    g.drive.seed(ANA, 12, { folders: 2 });
    await h.cycleOf({ system: SYSTEM, connection: ANA });
    // Synced threads and a synced file whose Google records vanished without the feed saying so: one
    // thread id of Gmail's shape (404), one Gmail could never have issued (400 "Invalid id value": a
    // corrupt or foreign registry row is gone too, rather than failing the whole type).
    const [thread, foreign] = (await h.db.query(
      `INSERT INTO email_threads (mailbox, subject, message_count, unread, archived, trashed)
       VALUES ($1, 'Ghost thread', 1, false, false, false), ($1, 'Ghost thread 2', 1, false, false, false) RETURNING id, version`,
      [ANA],
    )).rows;
    const file = (await h.db.query(
      `INSERT INTO drive_files (mailbox, name, mime_type, owners, starred, trashed) VALUES ($1, 'Ghost file', 'text/plain', $2, false, false) RETURNING id, version`,
      [ANA, JSON.stringify([ANA])],
    )).rows[0];
    for (const [row, externalId, entityType] of [[thread, '7fffffff0000dead', 'email'], [foreign, 'not-a-gmail-id', 'email'], [file, '1GhostDriveFileGoneWithoutAChange0', 'drive_file']] as const) {
      await linkGhost(h.db, row, { system: SYSTEM, connection: ANA, entityType, externalId });
    }
    const live = async () => ({
      threads: await count(h.db, 'SELECT count(*) n FROM email_threads WHERE deleted_at IS NULL'),
      files: await count(h.db, 'SELECT count(*) n FROM drive_files WHERE deleted_at IS NULL'),
      labels: await count(h.db, 'SELECT count(*) n FROM email_labels WHERE deleted_at IS NULL'),
      permissions: await count(h.db, 'SELECT count(*) n FROM drive_permissions WHERE deleted_at IS NULL'),
      events: await count(h.db, 'SELECT count(*) n FROM calendar_events WHERE deleted_at IS NULL'),
    });
    const before = await live();
    assert.ok(before.threads > 1 && before.files > 1 && before.permissions > 0, 'the first cycle synced threads, files and permissions');

    const result = await h.reconcile({ system: SYSTEM, connection: ANA });
    assert.equal(result.entities.email!.deleted, 2);
    assert.equal(result.entities.drive_file!.deleted, 1);
    for (const [type, e] of Object.entries(result.entities)) {
      assert.equal(e.error, null, `${type}: no error`);
      assert.equal(e.heldDeletions, 0, `${type}: nothing held`);
      assert.deepEqual([e.created, e.updated, e.conflicts], [0, 0, 0], `${type}: nothing else repaired`);
      if (type !== 'email' && type !== 'drive_file') assert.equal(e.deleted, 0, `${type}: nothing deleted`);
    }
    assert.ok(result.entities.email!.checked >= before.threads - 2);
    assert.ok(result.entities.drive_file!.checked >= before.files - 1);
    for (const t of [thread, foreign]) assert.ok((await h.db.query('SELECT deleted_at FROM email_threads WHERE id = $1', [t.id])).rows[0].deleted_at, 'the ghost threads are tombstoned');
    assert.ok((await h.db.query('SELECT deleted_at FROM drive_files WHERE id = $1', [file.id])).rows[0].deleted_at, 'the ghost file is tombstoned');
    assert.deepEqual(await live(), { ...before, threads: before.threads - 2, files: before.files - 1 }, 'nothing else deleted or created');

    const status = (await syncStatus(h.db, CONNECTORS))[SYSTEM]!;
    for (const [plural, checked, deleted] of [['emails', result.entities.email!.checked, 2], ['drive_files', result.entities.drive_file!.checked, 1]] as const) {
      const st = status[plural]!.last_reconciled;
      assert.ok(st, `${plural}: last_reconciled in the status`);
      assert.equal(st.deleted, deleted, plural);
      assert.equal(st.checked, checked, plural);
      assert.equal(st.held_deletions, 0, plural);
      assert.equal(st.error, null, plural);
    }
  });

  test('the mass-delete guard holds in a reconciliation too', async () => {
    const h = await setup({ google: { users: [ANA] }, env: { MASS_DELETE_MIN_RECORDS: '3' } });
    h.google!.calendar.seed(ANA, ANA, 10);
    await h.cycleOf({ system: SYSTEM, connection: ANA }, 'calendar_event');
    // Eight synced events whose records are gone: far more than MASS_DELETE_MAX_SHARE at once.
    const { rows: ghosts } = await h.db.query(
      `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, status)
       SELECT $1, $1, 'Ghost ' || i, now(), now() + interval '1 hour', 'confirmed' FROM generate_series(1, 8) i RETURNING id, version`,
      [ANA],
    );
    for (const [i, g] of ghosts.entries()) {
      await linkGhost(h.db, g, { system: SYSTEM, connection: ANA, entityType: 'calendar_event', externalId: `ghost0event0id00000${i}` });
    }
    await ensureSchedules(h.client, h.cfg);
    await triggerSchedule(h.client, h.cfg, `reconcile:google_workspace:${ANA}`);
    const st = await waitFor('the reconciliation ran', async () => (await syncStatus(h.db, CONNECTORS))[SYSTEM]!.calendar_events!.last_reconciled, 60_000, 200);
    assert.equal(st.deleted, 0);
    assert.equal(st.held_deletions, 8);
    assert.equal(await count(h.db, "SELECT count(*) n FROM calendar_events WHERE summary LIKE 'Ghost %' AND deleted_at IS NULL"), 8, 'nothing deleted');
    assert.equal((await syncStatus(h.db, CONNECTORS))[SYSTEM]!.calendar_events!.held_deletions, 8, 'held for an operator (deletions confirm)');
  });
});
