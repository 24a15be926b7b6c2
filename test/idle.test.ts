/**
 * What a quiet cycle costs (issue 12), through the whole stack (Temporal, Postgres, Redis, the
 * HubSpot and Google sandboxes): no row written or locked in any table, one API call per entity
 * type, no event — while the operator status still shows every type cycling; and the state left
 * in Postgres by quiet cycles (cursors not rewritten) still brings every later change, also to a
 * brand-new sync workflow that starts from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowChanges, rowVersions } from '../bench/idle';
import { operatorStatus } from '../src/status';
import { syncWorkflowId } from '../src/workflows/definitions';
import { count, harnessPerTest, type Harness } from './helpers';

const USER = 'idle@acme.test';
const GOOGLE: { system: string; connection?: string } = { system: 'google_workspace', connection: USER };
const HUBSPOT: { system: string; connection?: string } = { system: 'hubspot' };
const setup = harnessPerTest();

/**
 * Both connections backfilled and settled: the second round links what the first left (e.g.
 * associations) and runs a HubSpot lookback (2 s here) after the backfill's last change, so its
 * search cursor knows everything before it is in the index (from then on it stays as it is).
 */
async function synced(opts: Parameters<typeof setup>[0] = {}): Promise<Harness> {
  const h = await setup({ google: { users: [USER] }, ...opts });
  h.sandbox.seed('companies', 4);
  h.sandbox.seed('contacts', 30);
  h.sandbox.seed('deals', 4);
  h.google!.calendar.seed(USER, USER, 40);
  h.google!.gmail.seed(USER, 12);
  h.google!.drive.seed(USER, 30, { folders: 3, depth: 1 });
  for (let i = 0; i < 2; i++) {
    if (i) await new Promise((r) => setTimeout(r, 2100));
    for (const t of [HUBSPOT, GOOGLE]) {
      const summary = await h.cycleOf(t);
      for (const [type, e] of Object.entries(summary.entities)) assert.equal(e.lastError, null, `${t.system} ${type}`);
    }
  }
  return h;
}

const storedState = async (h: Harness) =>
  new Map(
    (await h.db.query('SELECT external_system, entity_type, cursor, last_pull_at, last_success_at FROM sync_state')).rows.map((r) => [`${r.external_system}/${r.entity_type}`, r]),
  );

test('a quiet cycle writes and locks no row, calls each entity type once and publishes nothing; the status still shows it ran', async () => {
  const h = await synced();
  const statusBefore = await operatorStatus({ cfg: h.cfg, db: h.db, temporal: h.client });
  const rows = await rowVersions(h.db);
  const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
  h.sandbox.resetStats();
  h.google!.resetStats();
  const cycles = 2;
  for (let i = 0; i < cycles; i++) {
    for (const t of [HUBSPOT, GOOGLE]) {
      const summary = await h.cycleOf(t);
      for (const [type, e] of Object.entries(summary.entities)) {
        assert.equal(e.lastError, null, `${t.system} ${type}`);
        assert.equal((e.lastPull?.created ?? 0) + (e.lastPull?.updated ?? 0) + (e.lastPull?.deleted ?? 0), 0, `${type}: nothing pulled`);
      }
    }
  }
  assert.deepEqual([...rowChanges(rows, await rowVersions(h.db))], [], 'no row inserted, changed, locked or deleted in any table');
  assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox, 'no event');
  assert.equal(h.sandbox.stats().requests, 3 * cycles, `HubSpot: one search per type and cycle (${JSON.stringify(h.sandbox.stats().byRoute)})`);
  assert.equal(h.google!.stats.requests, 5 * cycles, `Google: one call per type and cycle (${JSON.stringify(h.google!.stats.byRoute)})`);

  // sync_state was not touched, yet the operator status shows every type's last cycle and success.
  const status = await operatorStatus({ cfg: h.cfg, db: h.db, temporal: h.client });
  for (const [system, types] of Object.entries({ hubspot: ['companies', 'contacts', 'deals'], google_workspace: ['calendar_events', 'email_labels', 'emails', 'drive_files', 'drive_permissions'] })) {
    for (const plural of types) {
      const before = statusBefore[system]![plural]!;
      const now = status[system]![plural]!;
      assert.equal(now.status, 'synced', `${system} ${plural}`);
      assert.ok(Date.parse(now.last_cycle_at!) > Date.parse(before.last_cycle_at!), `${system} ${plural}: last_cycle_at moved on (${before.last_cycle_at} → ${now.last_cycle_at})`);
      assert.ok(Date.parse(now.last_success_at!) > Date.parse(before.last_success_at!), `${system} ${plural}: last_success_at moved on`);
      if (system === 'google_workspace') assert.equal(now.connections?.[USER]?.last_success_at, now.last_success_at, 'per connection too');
    }
  }
});

test('after quiet cycles the stored state brings the next changes, to the running workflow and to a new one started from Postgres', async () => {
  const h = await synced();
  for (const t of [HUBSPOT, GOOGLE]) await h.cycleOf(t);
  const quiet = await storedState(h);
  for (const t of [HUBSPOT, GOOGLE]) await h.cycleOf(t);
  assert.deepEqual(await storedState(h), quiet, 'quiet cycles leave sync_state as it was (cursors included)');
  const g = h.google!;

  // Changes on every side, picked up by the running workflows (they hold their own cursors).
  const contact = h.sandbox.list('contacts')[0]!;
  h.sandbox.userUpdate('contacts', contact.id, { firstname: 'Quietly' });
  const event = g.calendar.list(USER, USER).find((e) => e.status !== 'cancelled' && e.organizer.email === USER)!;
  g.calendar.userPatch(USER, USER, event.id, { summary: 'After the quiet' });
  const label = g.gmail.createLabel(USER, { name: 'Made while idle' });
  const file = g.drive.list(USER).find((f) => !f.trashed && f.mimeType !== 'application/vnd.google-apps.folder')!;
  g.drive.userUpdate(USER, file.id, { name: 'Renamed while idle' });
  await h.cycleOf(HUBSPOT);
  await h.cycleOf(GOOGLE);
  assert.equal(await count(h.db, "SELECT count(*) n FROM contacts WHERE first_name = 'Quietly'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM calendar_events WHERE summary = 'After the quiet'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM email_labels WHERE name = 'Made while idle'"), 1, 'a label listing that changed is applied');
  assert.equal(await count(h.db, "SELECT count(*) n FROM drive_files WHERE name = 'Renamed while idle'"), 1);
  // What changed is recorded for operators; what did not stays as it was.
  const after = await storedState(h);
  for (const key of ['hubspot/contact', 'google_workspace/calendar_event', 'google_workspace/email_label', 'google_workspace/drive_file']) {
    assert.ok(after.get(key)!.last_pull_at > quiet.get(key)!.last_pull_at, `${key}: last_pull_at recorded`);
    assert.ok(after.get(key)!.last_success_at > quiet.get(key)!.last_success_at, `${key}: last_success_at recorded`);
  }
  for (const key of ['hubspot/company', 'hubspot/deal']) assert.deepEqual(after.get(key), quiet.get(key), `${key}: untouched`);

  // More quiet cycles, then changes while no workflow runs: new workflows start from the cursors in
  // Postgres (written only when they changed) and miss nothing, without a full listing.
  for (const t of [HUBSPOT, GOOGLE]) await h.cycleOf(t);
  for (const t of [HUBSPOT, GOOGLE]) await h.client.workflow.getHandle(syncWorkflowId(t.system, h.cfg.temporal.workflowIdPrefix, t.connection)).terminate('restart from Postgres');
  h.sandbox.userUpdate('contacts', contact.id, { firstname: 'Restarted' });
  const deal = h.sandbox.list('deals')[0]!;
  h.sandbox.userUpdate('deals', deal.id, { dealname: 'Deal after restart' });
  g.calendar.userPatch(USER, USER, event.id, { summary: 'After the restart' });
  g.gmail.updateLabel(USER, label.id, { name: 'Renamed while stopped' });
  g.gmail.deliver(USER, { from: 'dora@vendor.example', to: USER, subject: 'While stopped' });
  g.drive.userUpdate(USER, file.id, { name: 'Renamed while stopped' });
  const hub = await h.cycleOf(HUBSPOT);
  const goo = await h.cycleOf(GOOGLE);
  for (const [type, e] of [...Object.entries(hub.entities), ...Object.entries(goo.entities)]) {
    assert.equal(e.lastError, null, type);
    assert.equal(e.lastPull?.fullResync, undefined, `${type}: went on from the stored cursor`);
  }
  assert.equal(hub.entities.contact?.lastPull?.updated, 1);
  assert.ok((hub.entities.contact?.lastPull?.fetched ?? 0) < 30, 'not a listing of every contact');
  assert.equal(hub.entities.deal?.lastPull?.updated, 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM contacts WHERE first_name = 'Restarted'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM deals WHERE name = 'Deal after restart'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM calendar_events WHERE summary = 'After the restart'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM email_labels WHERE name = 'Renamed while stopped'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM email_threads WHERE subject = 'While stopped'"), 1);
  assert.equal(await count(h.db, "SELECT count(*) n FROM drive_files WHERE name = 'Renamed while stopped'"), 1);
});

test('HubSpot: a cursor whose search time is kept through quiet cycles still finds a change the search index shows late', async () => {
  const h = await setup({ sandbox: { searchLagMs: 1500 } }); // within the harness's lookback (2 s)
  h.sandbox.seed('contacts', 5);
  await new Promise((r) => setTimeout(r, 1600)); // indexed
  await h.cycle('contact');
  await new Promise((r) => setTimeout(r, 2100)); // the last search is now a lookback past the cursor
  await h.cycle('contact');
  const cursorOf = async () => (await h.db.query("SELECT cursor FROM sync_state WHERE entity_type = 'contact'")).rows[0].cursor;
  const kept = await cursorOf();
  h.sandbox.resetStats();
  await h.cycle('contact');
  await h.cycle('contact');
  assert.deepEqual(await cursorOf(), kept, 'quiet cycles keep the cursor as it was');
  assert.equal(h.sandbox.stats().requests, 2, 'one search a cycle');
  const [first] = h.sandbox.list('contacts');
  h.sandbox.userUpdate('contacts', first!.id, { firstname: 'Late' });
  await h.cycle('contact'); // most likely before the index shows it (whether it does is not the point)
  await new Promise((r) => setTimeout(r, 1600));
  // A new workflow from the stored cursor (older search time) and the running one find it alike.
  await h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix)).terminate('restart from Postgres');
  await h.cycle('contact');
  assert.equal(await count(h.db, "SELECT count(*) n FROM contacts WHERE first_name = 'Late'"), 1);
});
