/**
 * HubSpot two-way sync through the whole stack: the real Temporal dev server, Postgres, Redis, the
 * real @hubspot/api-client, and the HubSpot sandbox (rate limits on unless a test says otherwise).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { count, harnessPerTest, subscribe, waitFor, type Harness } from './helpers';
import { canonicalize } from '../src/core/model';
import { hubspotSpec } from '../src/connectors/hubspot/entities';
import { toCanonical } from '../src/connectors/hubspot/mapping';

const setup = harnessPerTest();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function localContacts(h: Harness): Promise<any[]> {
  const { rows } = await h.db.query(`SELECT c.*, r.external_id, r.local_version, r.external_version, r.sync_status
    FROM contacts c LEFT JOIN sync_registry r ON r.local_id = c.id AND r.external_system = 'hubspot' AND r.entity_type = 'contact'
    ORDER BY c.id`);
  return rows as any[];
}

describe('HubSpot two-way sync', () => {
  test('full backfill of a few thousand records per type matches the sandbox', async () => {
    const h = await setup();
    h.sandbox.seed('contacts', 3000);
    h.sandbox.seed('companies', 2000);
    h.sandbox.seed('deals', 2000);
    h.sandbox.resetStats();
    const summary = await h.cycle();
    for (const t of ['contact', 'company', 'deal']) assert.equal(summary.entities[t]?.lastError, null, `no error for ${t}`);
    // The budget spends HubSpot's limits without tripping them: not one request refused.
    assert.equal(h.sandbox.stats().rateLimited, 0, 'no 429 in a full run (searches at 5/s, 100 requests/10 s)');
    assert.ok(h.sandbox.stats().searchRequests >= 35);
    // One association batch read per 1,000 records (the read's limit) and association, not per search page of 200.
    const routes = h.sandbox.stats().byRoute;
    assert.equal(routes['POST /crm/v4/associations/contacts/companies/batch/read'], 3, '3,000 contacts: 3 reads of their companies');
    assert.equal(routes['POST /crm/v4/associations/deals/companies/batch/read'], 2, '2,000 deals: 2 reads of their companies');
    assert.equal(routes['POST /crm/v4/associations/deals/contacts/batch/read'], 2, '...and 2 of their contacts');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts'), 3000);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM companies'), 2000);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM deals'), 2000);
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE sync_status = 'synced' AND external_id IS NOT NULL"), 7000);
    // Values equal the sandbox's, field by field.
    const byExt = new Map((await localContacts(h)).map((r) => [r.external_id, r]));
    for (const rec of h.sandbox.list('contacts')) {
      const local = byExt.get(rec.id);
      assert.ok(local, `contact ${rec.id} pulled`);
      assert.deepEqual(canonicalize(hubspotSpec('contact'), local), toCanonical('contact', rec));
    }
    const { rows: deals } = await h.db.query('SELECT d.*, r.external_id FROM deals d JOIN sync_registry r ON r.local_id = d.id');
    const sbDeals = new Map(h.sandbox.list('deals').map((d) => [d.id, d]));
    for (const d of deals) assert.deepEqual(canonicalize(hubspotSpec('deal'), d), toCanonical('deal', sbDeals.get(d.external_id)!));
  });

  test('incremental: edits on both sides flow across, a second cycle is quiet', async () => {
    const h = await setup();
    const seeded = h.sandbox.seed('contacts', 50);
    await h.cycle();
    const sub = await subscribe();
    try {
      // HubSpot user edits 3 contacts; Aurora edits 2 others.
      for (const r of seeded.slice(0, 3)) h.sandbox.userUpdate('contacts', r.id, { phone: '+1 555 0100' });
      const locals = await localContacts(h);
      const target = locals.filter((l) => !seeded.slice(0, 3).some((s) => s.id === l.external_id)).slice(0, 2);
      for (const l of target) await h.db.query("UPDATE contacts SET last_name = 'Aurora-Edited' WHERE id = $1", [l.id]);
      await new Promise((r) => setTimeout(r, 50));
      await h.cycle();
      const after1 = new Map((await localContacts(h)).map((r) => [r.external_id, r]));
      for (const r of seeded.slice(0, 3)) assert.equal(after1.get(r.id).phone, '+1 555 0100');
      for (const l of target) {
        assert.equal(h.sandbox.get('contacts', l.external_id)!.properties.lastname, 'Aurora-Edited');
        const now = after1.get(l.external_id);
        assert.equal(now.local_version, now.version, 'registry local_version caught up');
        assert.equal(now.external_version, l.external_version + 1, 'external_version advanced once');
      }
      await waitFor('events relayed', async () => sub.events.length >= 5 || undefined, 10_000);
      const pulledUpdates = sub.events.filter((e) => e.event.direction === 'pull' && e.event.action === 'updated');
      const pushedUpdates = sub.events.filter((e) => e.event.direction === 'push' && e.event.action === 'updated');
      assert.equal(pulledUpdates.length, 3);
      assert.equal(pushedUpdates.length, 2);

      // Quiet: nothing changes anywhere on the next cycle.
      const versions = await h.db.query('SELECT id, version FROM contacts ORDER BY id');
      const registry = await h.db.query('SELECT local_id, local_version, external_version, synced_hash FROM sync_registry ORDER BY local_id');
      const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
      h.sandbox.resetStats();
      const before = sub.events.length;
      await h.cycle();
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual((await h.db.query('SELECT id, version FROM contacts ORDER BY id')).rows, versions.rows);
      assert.deepEqual((await h.db.query('SELECT local_id, local_version, external_version, synced_hash FROM sync_registry ORDER BY local_id')).rows, registry.rows);
      assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox);
      assert.deepEqual(sub.events.slice(before), [], 'no events on a quiet cycle');
      const writes = Object.entries(h.sandbox.stats().byRoute).filter(([route]) => /POST .*batch\/(update|upsert|create|archive)|PATCH|DELETE/.test(route));
      assert.deepEqual(writes, [], 'no writes to HubSpot on a quiet cycle');
      // That cycle read the echoes of its own pushes once (with their associations: HubSpot may have
      // changed something else at the same time). From then on an idle cycle is one search per entity
      // type: the lookback's re-reads are known, and deletions come from webhooks and the
      // reconciliation schedule, not from a scan each cycle.
      h.sandbox.resetStats();
      await h.cycle();
      const calls = Object.values(h.sandbox.stats().byRoute).reduce((a, b) => a + b, 0);
      assert.ok(calls <= 3, `an idle cycle costs at most one call per entity type (contact, company, deal): ${JSON.stringify(h.sandbox.stats().byRoute)}`);
    } finally {
      await sub.close();
    }
  });

  test('a local create appears in HubSpot with its external_id stored', async () => {
    const h = await setup();
    const { rows } = await h.db.query(
      `INSERT INTO contacts (first_name, last_name, email, phone) VALUES ('Ada', 'Lovelace', 'ada@example.com', '+44 20 7946 0000') RETURNING id`,
    );
    const id = rows[0].id as string;
    await h.cycle('contact');
    const reg = (await h.db.query("SELECT * FROM sync_registry WHERE local_id = $1", [id])).rows[0];
    assert.ok(reg?.external_id, 'external_id stored');
    assert.equal(reg.sync_status, 'synced');
    const remote = h.sandbox.get('contacts', reg.external_id)!;
    assert.equal(remote.properties.email, 'ada@example.com');
    assert.equal(remote.properties.firstname, 'Ada');
    assert.equal(remote.properties.aurora_id, id);
  });

  test('a create retried after a timeout makes no duplicate in HubSpot', async () => {
    const h = await setup();
    const { rows } = await h.db.query(
      `INSERT INTO companies (name, domain, industry) VALUES ('Initech', 'initech.example', 'Software') RETURNING id`,
    );
    const id = rows[0].id as string;
    // The write lands in HubSpot, then the answer is lost (gateway timeout).
    h.sandbox.faults.set({ failNext: { route: 'batch/upsert', status: 504, count: 1, afterHandling: true } });
    await h.cycle('company');
    const matches = h.sandbox.list('companies').filter((c) => c.properties.aurora_id === id);
    assert.equal(matches.length, 1, 'exactly one company in HubSpot');
    const reg = (await h.db.query('SELECT external_id, sync_status FROM sync_registry WHERE local_id = $1', [id])).rows[0];
    assert.equal(reg.external_id, matches[0]!.id);
    assert.equal(reg.sync_status, 'synced');
  });

  test('conflicting edits resolve last-write-wins with the versions right', async () => {
    const h = await setup();
    const [a, b] = h.sandbox.seed('contacts', 2);
    await h.cycle();
    const before = new Map((await localContacts(h)).map((r) => [r.external_id, r]));
    const la = before.get(a!.id);
    const lb = before.get(b!.id);
    // Record A: Aurora edits first, HubSpot later -> HubSpot wins.
    await h.db.query("UPDATE contacts SET first_name = 'Local-A' WHERE id = $1", [la.id]);
    await new Promise((r) => setTimeout(r, 20));
    h.sandbox.userUpdate('contacts', a!.id, { firstname: 'Remote-A' });
    // Record B: HubSpot edits first, Aurora later -> Aurora wins.
    h.sandbox.userUpdate('contacts', b!.id, { firstname: 'Remote-B' });
    await new Promise((r) => setTimeout(r, 20));
    await h.db.query("UPDATE contacts SET first_name = 'Local-B' WHERE id = $1", [lb.id]);
    await h.cycle();
    const afterRows = new Map((await localContacts(h)).map((r) => [r.external_id, r]));
    assert.equal(afterRows.get(a!.id).first_name, 'Remote-A');
    assert.equal(h.sandbox.get('contacts', a!.id)!.properties.firstname, 'Remote-A');
    assert.equal(afterRows.get(b!.id).first_name, 'Local-B');
    assert.equal(h.sandbox.get('contacts', b!.id)!.properties.firstname, 'Local-B');
    for (const [ext, row] of afterRows) {
      assert.equal(row.sync_status, 'synced', `${ext} synced`);
      assert.equal(row.local_version, row.version, `${ext} registry local_version equals the row's version`);
    }
    const regs = (await h.db.query('SELECT local_id, last_resolution, external_version FROM sync_registry')).rows;
    const ra = regs.find((r) => r.local_id === la.id);
    const rb = regs.find((r) => r.local_id === lb.id);
    assert.equal(ra.last_resolution.winner, 'external');
    assert.equal(ra.last_resolution.local.values.first_name, 'Local-A', 'the loser’s values are kept');
    assert.equal(rb.last_resolution.winner, 'local');
    assert.equal(rb.last_resolution.external.values.first_name, 'Remote-B');
    assert.ok(ra.external_version > la.external_version && rb.external_version > lb.external_version);
    // And then it is quiet.
    const versions = (await h.db.query('SELECT id, version FROM contacts ORDER BY id')).rows;
    await h.cycle();
    assert.deepEqual((await h.db.query('SELECT id, version FROM contacts ORDER BY id')).rows, versions);
  });

  test('a lagging search index never reverts a newer write', async () => {
    const h = await setup({ sandbox: { searchLagMs: 1500 } });
    const [a] = h.sandbox.seed('contacts', 1);
    await new Promise((r) => setTimeout(r, 1600)); // indexed
    await h.cycle('contact');
    const [row] = await localContacts(h);
    await h.db.query("UPDATE contacts SET first_name = 'Fresh' WHERE id = $1", [row.id]);
    await h.cycle('contact'); // pushes 'Fresh'; HubSpot's search still shows the old version for 1.5 s
    const stale = await h.cycle('contact'); // the pull reads that stale version: it must not win
    // (the stale version is the one this engine already synced: the connector knows it and skips it)
    assert.equal(stale.entities.contact?.lastPull?.updated ?? 0, 0, 'the stale version was not applied');
    const [after1] = await localContacts(h);
    assert.equal(after1.first_name, 'Fresh');
    assert.equal(h.sandbox.get('contacts', a!.id)!.properties.firstname, 'Fresh');
    await new Promise((r) => setTimeout(r, 1600));
    await h.cycle('contact');
    const [after2] = await localContacts(h);
    assert.equal(after2.first_name, 'Fresh');
    assert.equal(after2.version, after1.version, 'no version growth once the index caught up');
  });

  test('deletes propagate both ways', async () => {
    const h = await setup();
    const [a, b] = h.sandbox.seed('deals', 3);
    await h.cycle('deal');
    const rows = (await h.db.query("SELECT d.id, r.external_id FROM deals d JOIN sync_registry r ON r.local_id = d.id")).rows;
    const la = rows.find((r) => r.external_id === a!.id);
    const lb = rows.find((r) => r.external_id === b!.id);
    h.sandbox.userArchive('deals', a!.id);
    await h.db.query('UPDATE deals SET deleted_at = now() WHERE id = $1', [lb.id]);
    await h.cycle('deal');
    // HubSpot's change feed (search) does not show archived records, and no webhook was sent here:
    // the archive is found by the reconciliation schedule.
    assert.equal((await h.db.query('SELECT deleted_at FROM deals WHERE id = $1', [la.id])).rows[0].deleted_at, null, 'a cycle does not scan for archives');
    const result = await h.reconcile({ system: 'hubspot' });
    assert.equal(result.entities.deal?.deleted, 1);
    assert.equal(result.entities.contact?.deleted, 0);
    const da = (await h.db.query('SELECT deleted_at FROM deals WHERE id = $1', [la.id])).rows[0];
    assert.ok(da.deleted_at, 'archived in HubSpot -> soft-deleted locally');
    assert.equal(h.sandbox.get('deals', b!.id), undefined, 'soft-deleted locally -> archived in HubSpot');
    assert.ok(h.sandbox.get('deals', b!.id, { includeArchived: true })?.archived);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_registry WHERE deleted'), 2);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM deals WHERE deleted_at IS NULL'), 1);
  });

  test('12,000 contacts sharing one last-modified timestamp are each pulled exactly once', async () => {
    const h = await setup();
    h.sandbox.seed('contacts', 12_000, { modifiedAt: new Date('2026-01-01T00:00:00.000Z') });
    const sub = await subscribe();
    try {
      await h.cycle('contact');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts'), 12_000);
      assert.equal(await count(h.db, 'SELECT count(DISTINCT external_id) n FROM sync_registry'), 12_000);
      assert.equal(await count(h.db, "SELECT count(*) n FROM sync_outbox WHERE payload->>'action' = 'created'"), 12_000);
      assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts WHERE version <> 1'), 0, 'no record written twice');
      await h.cycle('contact');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), 12_000, 'a second cycle adds nothing');
    } finally {
      await sub.close();
    }
  });

  test('a 429 storm and 5xx faults still end with every record synced', async () => {
    const h = await setup();
    h.sandbox.seed('contacts', 800);
    await h.db.query(`INSERT INTO contacts (first_name, email) SELECT 'Local' || g, 'local' || g || '@aurora.example' FROM generate_series(1, 150) g`);
    h.sandbox.faults.set({ error5xxRate: 0.25, rateLimitBurst: 15 });
    const summary = await h.cycle('contact');
    assert.equal(summary.entities.contact?.lastError, null);
    h.sandbox.faults.clear();
    assert.ok(h.sandbox.stats().faulted > 0, 'faults were injected');
    assert.ok(h.sandbox.stats().rateLimited > 0, '429s were answered');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts'), 950);
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE sync_status = 'synced' AND external_id IS NOT NULL"), 950);
    assert.equal(h.sandbox.list('contacts').length, 950, 'every local contact exists once in HubSpot');
  });

  test('a Redis subscriber receives events in the documented shape', async () => {
    const h = await setup();
    h.sandbox.seed('companies', 3);
    const sub = await subscribe();
    try {
      await h.cycle('company');
      await waitFor('3 events', async () => sub.events.length >= 3 || undefined, 10_000);
      assert.equal(new Set(sub.events.map((e) => e.event.event_id)).size, sub.events.length, 'event ids are unique');
      for (const { channel, event } of sub.events) {
        assert.equal(channel, 'aurora:sync:company');
        assert.equal(event.action, 'created');
        assert.equal(event.source, 'hubspot');
        assert.equal(event.entity_type, 'company');
        assert.equal(typeof event.entity_id, 'string');
        assert.ok(!Number.isNaN(Date.parse(event.timestamp as string)), 'ISO timestamp');
        assert.match(String(event.event_id), /^[1-9]\d*$/, 'an event id to dedupe by');
        const exists = await count(h.db, 'SELECT count(*) n FROM companies WHERE id = $1', [event.entity_id]);
        assert.equal(exists, 1, 'entity_id is the Aurora id');
      }
    } finally {
      await sub.close();
    }
  });
});
