/**
 * The cases where two-way sync usually loses data: a delete racing an edit, edits to different
 * fields on each side, records that exist on both sides before the first sync, restores, and a
 * record Postgres rejects.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { count, harnessPerTest, type Harness } from './helpers';

const setup = harnessPerTest();
const tick = () => new Promise((r) => setTimeout(r, 20));

async function localOf(h: Harness, table: string, externalId: string) {
  const { rows } = await h.db.query(
    `SELECT t.*, r.sync_status, r.error_message, r.local_version, r.deleted AS reg_deleted, r.last_resolution
     FROM ${table} t JOIN sync_registry r ON r.local_id = t.id WHERE r.external_id = $1`,
    [externalId],
  );
  return rows[0];
}

describe('edge cases', () => {
  test('a local delete is not undone by an earlier HubSpot edit; a later HubSpot edit wins over it', async () => {
    const h = await setup();
    const [a, b] = h.sandbox.seed('contacts', 2);
    await h.cycle('contact');
    // a: HubSpot edits first, Aurora deletes later -> the delete wins and reaches HubSpot.
    h.sandbox.userUpdate('contacts', a!.id, { phone: '+1 555 0101' });
    await tick();
    await h.db.query('UPDATE contacts SET deleted_at = now() WHERE id = $1', [(await localOf(h, 'contacts', a!.id)).id]);
    // b: Aurora deletes first, HubSpot edits later -> the edit wins; the record comes back.
    await h.db.query('UPDATE contacts SET deleted_at = now() WHERE id = $1', [(await localOf(h, 'contacts', b!.id)).id]);
    await tick();
    h.sandbox.userUpdate('contacts', b!.id, { phone: '+1 555 0102' });
    await h.cycle('contact');
    assert.equal(h.sandbox.get('contacts', a!.id), undefined, 'a archived in HubSpot');
    const la = await localOf(h, 'contacts', a!.id);
    assert.ok(la.deleted_at && la.reg_deleted, 'a stays deleted');
    const lb = await localOf(h, 'contacts', b!.id);
    assert.equal(lb.deleted_at, null, 'b restored in Aurora');
    assert.equal(lb.phone, '+1 555 0102');
    assert.equal(lb.last_resolution.winner, 'external');
    assert.equal(lb.last_resolution.local.deleted, true, 'the losing delete is on record');
    assert.ok(h.sandbox.get('contacts', b!.id), 'b still in HubSpot');
  });

  test('edits to different fields on each side both survive', async () => {
    const h = await setup({ sandbox: { searchLagMs: 1500 } });
    const [a] = h.sandbox.seed('contacts', 1);
    await new Promise((r) => setTimeout(r, 1600));
    await h.cycle('contact');
    // HubSpot changes the phone; HubSpot's search will not show it for 1.5 s, so this cycle's pull misses it.
    h.sandbox.userUpdate('contacts', a!.id, { phone: '+44 20 0000 0000' });
    const local = await localOf(h, 'contacts', a!.id);
    await h.db.query("UPDATE contacts SET last_name = 'Aurora-Side' WHERE id = $1", [local.id]);
    await h.cycle('contact'); // pushes last_name only
    assert.equal(h.sandbox.get('contacts', a!.id)!.properties.phone, '+44 20 0000 0000', 'the HubSpot edit was not overwritten');
    assert.equal(h.sandbox.get('contacts', a!.id)!.properties.lastname, 'Aurora-Side');
    await new Promise((r) => setTimeout(r, 1600));
    await h.cycle('contact'); // now the pull sees the phone change
    const after = await localOf(h, 'contacts', a!.id);
    assert.equal(after.phone, '+44 20 0000 0000');
    assert.equal(after.last_name, 'Aurora-Side');
    assert.equal(after.sync_status, 'synced');
  });

  test('a contact that exists on both sides before the first sync is linked by email, not duplicated', async () => {
    const h = await setup();
    const [a] = h.sandbox.seed('contacts', 3);
    await h.db.query(`INSERT INTO contacts (first_name, last_name, email) VALUES ('Local', 'Twin', $1)`, [a!.properties.email!.toUpperCase()]);
    await h.cycle('contact');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts'), 3, 'no duplicate row');
    assert.equal(h.sandbox.list('contacts').length, 3, 'no duplicate in HubSpot');
    const linked = await localOf(h, 'contacts', a!.id);
    assert.equal(linked.sync_status, 'synced');
    // Last write wins between the two: the local row was written after HubSpot's record.
    assert.equal(linked.last_name, 'Twin');
    assert.equal(h.sandbox.get('contacts', a!.id)!.properties.lastname, 'Twin');
  });

  test('a record deleted on both sides and restored in Aurora is created again', async () => {
    const h = await setup();
    const { rows } = await h.db.query(`INSERT INTO companies (name, domain) VALUES ('Phoenix', 'phoenix.example') RETURNING id`);
    const id = rows[0].id;
    await h.cycle('company');
    await h.db.query('UPDATE companies SET deleted_at = now() WHERE id = $1', [id]);
    await h.cycle('company');
    assert.equal(h.sandbox.list('companies').length, 0);
    await h.db.query('UPDATE companies SET deleted_at = NULL WHERE id = $1', [id]);
    await h.cycle('company');
    const live = h.sandbox.list('companies');
    assert.equal(live.length, 1, 'created again in HubSpot');
    assert.equal(live[0]!.properties.name, 'Phoenix');
    const reg = (await h.db.query('SELECT external_id, deleted, sync_status FROM sync_registry WHERE local_id = $1', [id])).rows[0];
    assert.equal(reg.external_id, live[0]!.id);
    assert.equal(reg.deleted, false);
    assert.equal(reg.sync_status, 'synced');
  });

  test('an archive in HubSpot loses to a later Aurora edit: the record is created again', async () => {
    const h = await setup();
    const [d] = h.sandbox.seed('deals', 2);
    await h.cycle('deal');
    const local = await localOf(h, 'deals', d!.id);
    h.sandbox.userArchive('deals', d!.id);
    await tick();
    await h.db.query("UPDATE deals SET stage = 'closedwon' WHERE id = $1", [local.id]);
    await h.cycle('deal');
    const row = (await h.db.query('SELECT deleted_at, stage FROM deals WHERE id = $1', [local.id])).rows[0];
    assert.equal(row.deleted_at, null, 'kept in Aurora');
    assert.equal(row.stage, 'closedwon');
    const again = h.sandbox.list('deals').filter((x) => x.properties.aurora_id === local.id);
    assert.equal(again.length, 1, 'created again in HubSpot');
    assert.equal(again[0]!.properties.dealstage, 'closedwon');
    const reg = (await h.db.query('SELECT external_id, deleted, sync_status, last_resolution FROM sync_registry WHERE local_id = $1', [local.id])).rows[0];
    assert.equal(reg.external_id, again[0]!.id);
    assert.equal(reg.deleted, false);
    assert.equal(reg.sync_status, 'synced');
  });

  test('a record Postgres rejects is marked as an error and does not block the rest', async () => {
    const h = await setup();
    const deals = h.sandbox.seed('deals', 5);
    await h.cycle('deal');
    // An amount beyond NUMERIC(18,2), and a normal edit on another deal.
    h.sandbox.userUpdate('deals', deals[0]!.id, { amount: '1e20' });
    h.sandbox.userUpdate('deals', deals[1]!.id, { dealname: 'Still syncs' });
    const summary = await h.cycle('deal');
    assert.equal(summary.entities.deal?.lastError, null);
    assert.equal(summary.entities.deal?.lastPull?.failed, 1);
    assert.equal((await localOf(h, 'deals', deals[1]!.id)).name, 'Still syncs');
    const bad = await localOf(h, 'deals', deals[0]!.id);
    assert.equal(bad.sync_status, 'error');
    assert.match(bad.error_message, /numeric field overflow/);
    // Corrected in HubSpot: the next cycle takes it, and the error is cleared from its registry entry.
    h.sandbox.userUpdate('deals', deals[0]!.id, { amount: '2500' });
    await h.cycle('deal');
    const fixed = await localOf(h, 'deals', deals[0]!.id);
    assert.deepEqual([fixed.sync_status, fixed.error_message, Number(fixed.amount)], ['synced', null, 2500]);
  });
});
