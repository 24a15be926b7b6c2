/** The pure decisions over a pulled page (store/pull-plan): which rows, registry entries and events a page writes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contentHash } from '../src/core/hash';
import type { Canonical, EntitySpec } from '../src/core/model';
import type { LocalRow } from '../src/store/local';
import { completePage, planPage, type PageInput } from '../src/store/pull-plan';
import { registryRowsJson, type RegistryRow, type RegistryWrite } from '../src/store/registry';

const spec: EntitySpec = {
  type: 'contact', plural: 'contacts', table: 'contacts', direction: 'two-way', matchBy: 'email',
  fields: { email: 'email', name: 'text' },
};
const NOW = '2026-12-01T12:00:00.000Z';
const T0 = '2026-12-01T10:00:00.000Z';
const T1 = '2026-12-01T11:00:00.000Z';
const NONE = { auroraId: null, archived: false };

function reg(localId: string, externalId: string, snapshot: Canonical, over: Partial<RegistryRow> = {}): RegistryRow {
  return {
    id: 1, connection: 'default', local_id: localId, external_id: externalId, local_version: 2, external_version: 3, sync_status: 'synced',
    synced_hash: contentHash(snapshot), synced_snapshot: snapshot, external_updated_at: new Date(T0), external_etag: null, deleted: false, conflict: null, ...over,
  };
}
function row(id: string, values: Canonical, over: Partial<LocalRow> = {}): LocalRow {
  return { id, version: 2, updated_at: new Date(T0), deleted_at: null, ...values, ...over };
}
function page(over: Partial<PageInput>): PageInput {
  let n = 0;
  return {
    system: 'hubspot', connection: 'default', spec, policy: { policy: 'last-write-wins', fallback: 'last-write-wins' },
    records: [], registry: [], locals: new Map(), matched: new Map(), now: NOW, newId: () => `new-${++n}`, ...over,
  };
}

describe('planPage()', () => {
  test('one page, every kind: new, newer, unchanged (our own write back), stale, natural-key link', () => {
    const ada = { email: 'ada@x.test', name: 'Ada' };
    const bob = { email: 'bob@x.test', name: 'Bob' };
    const cy = { email: 'cy@x.test', name: 'Cy' };
    const dee = { email: 'dee@x.test', name: 'Dee' };
    const input = page({
      records: [
        { ...NONE, externalId: 'E1', fields: ada, updatedAt: T1 }, // new
        { ...NONE, externalId: 'E2', fields: { ...bob, name: 'Robert' }, updatedAt: T1 }, // newer
        { ...NONE, externalId: 'E3', fields: cy, updatedAt: T1 }, // unchanged
        { ...NONE, externalId: 'E4', fields: { ...dee, name: 'D' }, updatedAt: '2026-12-01T09:00:00.000Z' }, // older than the last sync
        { ...NONE, externalId: 'E5', fields: { email: 'eve@x.test', name: 'Eve' }, updatedAt: T1 }, // links to an unlinked local row by email
      ],
      registry: [reg('L2', 'E2', bob), reg('L3', 'E3', cy), reg('L4', 'E4', dee)],
      locals: new Map([['L2', row('L2', bob)], ['L3', row('L3', cy)], ['L4', row('L4', dee)]]),
      matched: new Map([['eve@x.test', row('L5', { email: 'eve@x.test', name: 'Eve' })]]),
    });
    const plan = planPage(input);
    assert.deepEqual(plan.inserts, [{ id: 'new-1', ...ada }]);
    assert.deepEqual(plan.updates, [{ id: 'L2', ...bob, name: 'Robert' }]);
    assert.deepEqual(plan.pending.map((p) => [p.localId, p.kind]), [['new-1', 'created'], ['L2', 'updated']]);
    assert.equal(plan.unchanged, 2, 'E3 unchanged, E5 agrees with the matched row');
    assert.equal(plan.skipped, 1, 'E4 is stale');
    assert.deepEqual(plan.registryOnly.map((r) => [r.local_id, r.external_id, r.sync_status]), [['L5', 'E5', 'synced']]);

    const done = completePage(input, plan, new Map([['new-1', { version: 1, updated_at: NOW }], ['L2', { version: 3, updated_at: NOW }]]));
    assert.equal(done.created, 1);
    assert.equal(done.updated, 1);
    assert.deepEqual(done.registry.map((r) => [r.local_id, r.local_version, r.external_version, r.synced_hash]), [
      ['L5', 2, 1, contentHash({ email: 'eve@x.test', name: 'Eve' })],
      ['new-1', 1, 1, contentHash(ada)],
      ['L2', 3, 4, contentHash({ ...bob, name: 'Robert' })],
    ]);
    assert.deepEqual(done.events.map((e) => [e.action, e.entity_id, e.local_version, e.external_version]), [
      ['created', 'new-1', 1, 1],
      ['updated', 'L2', 3, 4],
    ]);
  });

  test('without the written versions, the written rows\' entries and events are left to the statement that writes the rows', () => {
    const ada = { email: 'ada@x.test', name: 'Ada' };
    const bob = { email: 'bob@x.test', name: 'Bob' };
    const input = page({
      records: [
        { ...NONE, externalId: 'E1', fields: ada, updatedAt: T1 }, // new
        { ...NONE, externalId: 'E2', fields: { ...bob, name: 'Robert' }, updatedAt: T1 }, // newer
        { ...NONE, externalId: 'E5', fields: { email: 'eve@x.test', name: 'Eve' }, updatedAt: T1 }, // links, no row write
      ],
      registry: [reg('L2', 'E2', bob)],
      locals: new Map([['L2', row('L2', bob)]]),
      matched: new Map([['eve@x.test', row('L5', { email: 'eve@x.test', name: 'Eve' })]]),
    });
    const done = completePage(input, planPage(input));
    assert.deepEqual(done.registry.map((r) => [r.local_id, r.local_version, r.local_updated_at, r.from_row ?? false]), [
      ['L5', 2, T0, false], // no row written: its own version
      ['new-1', null, null, true], // filled from the row the statement writes
      ['L2', null, null, true],
    ]);
    assert.deepEqual(done.events.map((e) => [e.entity_id, e.local_version, e.from_row ?? false]), [['new-1', null, true], ['L2', null, true]]);
    assert.deepEqual([done.created, done.updated], [1, 1]);
  });

  test('a natural key links one external record only; a second one is created', () => {
    const plan = planPage(page({
      records: [
        { ...NONE, externalId: 'E1', fields: { email: 'ann@x.test', name: 'Ann' }, updatedAt: T1 },
        { ...NONE, externalId: 'E2', fields: { email: 'ann@x.test', name: 'Ann' }, updatedAt: T1 },
      ],
      matched: new Map([['ann@x.test', row('L1', { email: 'ann@x.test', name: 'Ann' })]]),
    }));
    assert.deepEqual(plan.registryOnly.map((r) => r.external_id), ['E1']);
    assert.deepEqual(plan.inserts.map((r) => r.id), ['new-1']);
  });

  test('manual policy: a record changed on both sides opens a conflict and an event, writes no row', () => {
    const base = { email: 'ada@x.test', name: 'Ada' };
    const plan = planPage(page({
      policy: { policy: 'manual', fallback: 'manual' },
      records: [{ ...NONE, externalId: 'E1', fields: { ...base, name: 'Ada (HubSpot)' }, updatedAt: T1 }],
      registry: [reg('L1', 'E1', base)],
      locals: new Map([['L1', row('L1', { ...base, name: 'Ada (Aurora)' }, { version: 3 })]]),
    }));
    assert.equal(plan.conflicts, 1);
    assert.deepEqual(plan.opened, ['L1']);
    assert.deepEqual(plan.inserts, []);
    assert.deepEqual(plan.updates, []);
    assert.equal(plan.registryOnly[0]!.sync_status, 'conflict');
    assert.deepEqual(plan.conflictEvents.map((e) => [e.action, e.entity_id]), [['conflict', 'L1']]);
  });

  test('last write wins for the local side: the registry goes pending, nothing is written locally', () => {
    const base = { email: 'ada@x.test', name: 'Ada' };
    const plan = planPage(page({
      records: [{ ...NONE, externalId: 'E1', fields: { ...base, name: 'Ada (HubSpot)' }, updatedAt: T1 }],
      registry: [reg('L1', 'E1', base)],
      locals: new Map([['L1', row('L1', { ...base, name: 'Ada (Aurora)' }, { version: 3, updated_at: new Date('2026-12-01T11:30:00.000Z') })]]),
    }));
    assert.equal(plan.conflicts, 1);
    assert.deepEqual(plan.updates, []);
    assert.equal(plan.registryOnly[0]!.sync_status, 'pending');
  });
});

test("registry rows as the upsert's parameter: null fields left out (read back as NULL), a snapshot's nulls kept", () => {
  const write: RegistryWrite = {
    local_id: 'l1', external_id: 'x1', local_version: null, external_version: 2, sync_status: 'synced', error_message: null, synced_hash: 'h',
    synced_snapshot: { email: 'a@b.test', name: null }, external_updated_at: T1, local_updated_at: null, deleted: false, last_resolution: null,
    synced: true, conflict: undefined, external_etag: null,
  };
  assert.deepEqual(JSON.parse(registryRowsJson([write])), [
    { local_id: 'l1', external_id: 'x1', external_version: 2, sync_status: 'synced', synced_hash: 'h', synced_snapshot: { email: 'a@b.test', name: null }, external_updated_at: T1, deleted: false, synced: true },
  ]);
});
