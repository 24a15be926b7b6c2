/** Associations both ways: contact -> company, deal -> company, deal <-> contacts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { count, harnessPerTest, subscribe, type Harness } from './helpers';

const setup = harnessPerTest();

async function localIdOf(h: Harness, type: string, externalId: string): Promise<string> {
  const { rows } = await h.db.query('SELECT local_id FROM sync_registry WHERE entity_type = $1 AND external_id = $2', [type, externalId]);
  assert.ok(rows[0], `${type} ${externalId} is registered`);
  return rows[0].local_id;
}
async function externalIdOf(h: Harness, localId: string): Promise<string> {
  const { rows } = await h.db.query('SELECT external_id FROM sync_registry WHERE local_id = $1', [localId]);
  assert.ok(rows[0]?.external_id, `${localId} has an external id`);
  return rows[0].external_id;
}

describe('associations', () => {
  test('HubSpot associations arrive in Aurora, Aurora associations arrive in HubSpot, and stay quiet', async () => {
    const h = await setup();
    const [acme, globex] = h.sandbox.seed('companies', 2);
    const [ann, bob, cat] = h.sandbox.seed('contacts', 3);
    const [deal] = h.sandbox.seed('deals', 1);
    h.sandbox.userAssociate('contacts', ann!.id, 'companies', acme!.id);
    h.sandbox.userAssociate('contacts', bob!.id, 'companies', globex!.id);
    h.sandbox.userAssociate('deals', deal!.id, 'companies', acme!.id);
    h.sandbox.userAssociate('deals', deal!.id, 'contacts', ann!.id);
    h.sandbox.userAssociate('deals', deal!.id, 'contacts', bob!.id);
    await h.cycle();

    const acmeL = await localIdOf(h, 'company', acme!.id);
    const globexL = await localIdOf(h, 'company', globex!.id);
    const annL = await localIdOf(h, 'contact', ann!.id);
    const bobL = await localIdOf(h, 'contact', bob!.id);
    const catL = await localIdOf(h, 'contact', cat!.id);
    const dealL = await localIdOf(h, 'deal', deal!.id);
    const company = async (id: string) => (await h.db.query('SELECT company_id FROM contacts WHERE id = $1', [id])).rows[0].company_id;
    assert.equal(await company(annL), acmeL);
    assert.equal(await company(bobL), globexL);
    assert.equal(await company(catL), null);
    assert.equal((await h.db.query('SELECT company_id FROM deals WHERE id = $1', [dealL])).rows[0].company_id, acmeL);
    const members = async () => (await h.db.query('SELECT contact_id FROM deal_contacts WHERE deal_id = $1 ORDER BY contact_id', [dealL])).rows.map((r) => r.contact_id);
    assert.deepEqual(await members(), [annL, bobL].sort());

    // Aurora: Cat joins Globex and the deal; Bob leaves the deal; a new local company with a new local contact.
    await h.db.query('UPDATE contacts SET company_id = $1 WHERE id = $2', [globexL, catL]);
    await h.db.query('DELETE FROM deal_contacts WHERE deal_id = $1 AND contact_id = $2', [dealL, bobL]);
    await h.db.query('INSERT INTO deal_contacts (deal_id, contact_id) VALUES ($1, $2)', [dealL, catL]);
    const newCo = (await h.db.query(`INSERT INTO companies (name, domain) VALUES ('Umbrella', 'umbrella.example') RETURNING id`)).rows[0].id;
    const newPerson = (await h.db.query(`INSERT INTO contacts (first_name, email, company_id) VALUES ('Dana', 'dana@umbrella.example', $1) RETURNING id`, [newCo])).rows[0].id;
    await h.cycle();
    assert.deepEqual(h.sandbox.associations('contacts', cat!.id, 'companies'), [globex!.id]);
    assert.deepEqual(h.sandbox.associations('deals', deal!.id, 'contacts').sort(), [ann!.id, cat!.id].sort());
    assert.deepEqual(h.sandbox.associations('contacts', await externalIdOf(h, newPerson), 'companies'), [await externalIdOf(h, newCo)]);

    // HubSpot: Ann moves from Acme to Globex (the new default association becomes primary).
    const res = await fetch(`${h.sandbox.url}/crm/v4/objects/contacts/${ann!.id}/associations/companies/${acme!.id}`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer sandbox-token' },
    });
    assert.equal(res.status, 204);
    h.sandbox.userAssociate('contacts', ann!.id, 'companies', globex!.id);
    await h.cycle();
    assert.equal(await company(annL), globexL);

    const versions = (await h.db.query('SELECT id, version FROM contacts ORDER BY id')).rows;
    const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
    await h.cycle();
    assert.deepEqual((await h.db.query('SELECT id, version FROM contacts ORDER BY id')).rows, versions, 'quiet after the round trip');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox);
  });

  test('a contact archived in HubSpot leaves the deals it was on, in Aurora too, and a later deal edit does not bring it back', async () => {
    const h = await setup();
    const [acme] = h.sandbox.seed('companies', 1);
    const [ann, bob] = h.sandbox.seed('contacts', 2);
    const [deal] = h.sandbox.seed('deals', 1);
    h.sandbox.userAssociate('contacts', ann!.id, 'companies', acme!.id);
    h.sandbox.userAssociate('deals', deal!.id, 'contacts', ann!.id);
    h.sandbox.userAssociate('deals', deal!.id, 'contacts', bob!.id);
    h.sandbox.userAssociate('deals', deal!.id, 'companies', acme!.id);
    await h.cycle();
    const annL = await localIdOf(h, 'contact', ann!.id);
    const bobL = await localIdOf(h, 'contact', bob!.id);
    const dealL = await localIdOf(h, 'deal', deal!.id);
    const members = async () => (await h.db.query('SELECT contact_id FROM deal_contacts WHERE deal_id = $1 ORDER BY contact_id', [dealL])).rows.map((r) => r.contact_id);
    assert.deepEqual(await members(), [annL, bobL].sort());

    const sub = await subscribe();
    try {
      h.sandbox.userArchive('contacts', ann!.id); // HubSpot drops Ann's associations with it
      await h.reconcile({ system: 'hubspot' }); // (no webhook here: the reconciliation finds the archive)
      assert.ok((await h.db.query('SELECT deleted_at FROM contacts WHERE id = $1', [annL])).rows[0].deleted_at, 'Ann is soft-deleted');
      assert.deepEqual(await members(), [bobL], 'the deal no longer lists the archived contact');
      const reg = (await h.db.query("SELECT sync_status, synced_snapshot, local_version FROM sync_registry WHERE local_id = $1", [dealL])).rows[0];
      const { version } = (await h.db.query('SELECT version FROM deals WHERE id = $1', [dealL])).rows[0];
      assert.equal(reg.sync_status, 'synced');
      assert.equal(reg.local_version, version, 'in sync: nothing to push for the deal');
      assert.equal(reg.synced_snapshot.contact_ids, bobL);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(sub.events.some((e) => e.event.entity_type === 'deal' && e.event.entity_id === dealL && e.event.action === 'updated'), 'the changed deal is announced');
    } finally {
      await sub.close();
    }

    // A later Aurora edit of the deal goes out without trying to re-associate Ann.
    const calls = h.sandbox.stats().requests;
    await h.db.query("UPDATE deals SET name = 'Renamed in Aurora' WHERE id = $1", [dealL]);
    await h.cycle();
    assert.equal(h.sandbox.get('deals', deal!.id)!.properties.dealname, 'Renamed in Aurora');
    assert.deepEqual(h.sandbox.associations('deals', deal!.id, 'contacts'), [bob!.id]);
    assert.ok(h.sandbox.stats().requests > calls);
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE sync_status = 'error'"), 0);
  });
});
