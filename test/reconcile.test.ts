/** The pure per-record decision of a pull: every branch, without Postgres or an API. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contentHash } from '../src/core/hash';
import { mergeSets, reconcile, type LocalView, type RegistryView, type ReconcileInput } from '../src/core/reconcile';
import type { Canonical } from '../src/core/model';

const LWW = { policy: 'last-write-wins' as const, fallback: 'last-write-wins' as const };
const NOW = '2026-12-01T12:00:00.000Z';
const base: Canonical = { name: 'Ada', phone: '1', city: 'London' };

function reg(snapshot: Canonical, over: Partial<RegistryView> = {}): RegistryView {
  return {
    local_id: 'L1', external_id: 'E1', local_version: 3, external_version: 2, sync_status: 'synced', synced_hash: contentHash(snapshot),
    synced_snapshot: snapshot, external_updated_at: '2026-12-01T10:00:00.000Z', deleted: false, conflict: null, ...over,
  };
}
function local(values: Canonical, over: Partial<LocalView> = {}): LocalView {
  return { id: 'L1', values, version: 3, updated_at: '2026-12-01T10:00:00.000Z', deleted: false, ...over };
}
function input(over: Partial<ReconcileInput> & Pick<ReconcileInput, 'rec'>): ReconcileInput {
  return { reg: null, local: null, policy: LWW, direction: 'two-way', now: NOW, ...over };
}
const rec = (fields: Canonical, updatedAt = '2026-12-01T11:00:00.000Z') => ({ externalId: 'E1', fields, updatedAt });

describe('reconcile()', () => {
  test('new to Aurora: create (keeping the registry local id when one exists)', () => {
    assert.deepEqual(reconcile(input({ rec: rec(base) })), { kind: 'create', localId: null });
    assert.deepEqual(reconcile(input({ rec: rec({ ...base, phone: '2' }), reg: reg(base) })), { kind: 'create', localId: 'L1' });
  });

  test('our own write coming back is unchanged; an older version is stale', () => {
    assert.equal(reconcile(input({ rec: rec(base), reg: reg(base), local: local(base) })).kind, 'unchanged');
    const older = rec({ ...base, phone: '0' }, '2026-12-01T09:00:00.000Z');
    assert.equal(reconcile(input({ rec: older, reg: reg(base), local: local(base) })).kind, 'stale');
  });

  test('changed externally only: apply the external values', () => {
    const d = reconcile(input({ rec: rec({ ...base, phone: '2' }), reg: reg(base), local: local(base) }));
    assert.deepEqual(d, { kind: 'apply', values: { ...base, phone: '2' }, resolution: null, pushBack: false });
  });

  test('both sides already equal: agree (first link or the same edit on both)', () => {
    const same = { ...base, phone: '2' };
    assert.equal(reconcile(input({ rec: rec(same), reg: reg(base), local: local(same, { version: 4 }) })).kind, 'agree');
    assert.equal(reconcile(input({ rec: rec(same), local: local(same) })).kind, 'agree');
  });

  test('both changed, last write wins by timestamp', () => {
    const ext = rec({ ...base, phone: '2' }, '2026-12-01T11:00:00.000Z');
    const laterLocal = local({ ...base, city: 'Paris' }, { version: 4, updated_at: '2026-12-01T11:30:00.000Z' });
    const d1 = reconcile(input({ rec: ext, reg: reg(base), local: laterLocal }));
    assert.equal(d1.kind, 'keep-local');
    assert.equal(d1.kind === 'keep-local' && d1.resolution.winner, 'local');
    const earlierLocal = { ...laterLocal, updated_at: '2026-12-01T10:30:00.000Z' };
    const d2 = reconcile(input({ rec: ext, reg: reg(base), local: earlierLocal }));
    assert.equal(d2.kind, 'apply');
    assert.equal(d2.kind === 'apply' && d2.resolution?.winner, 'external');
    assert.deepEqual(d2.kind === 'apply' && d2.resolution?.local.values, { ...base, city: 'Paris' }, 'the loser is kept on record');
  });

  test('merge: different fields merge and the result goes back; overlapping fields fall back', () => {
    const policy = { policy: 'merge' as const, fallback: 'last-write-wins' as const };
    const ext = rec({ ...base, phone: '2' });
    const d = reconcile(input({ rec: ext, reg: reg(base), local: local({ ...base, city: 'Paris' }, { version: 4 }), policy }));
    assert.deepEqual(d.kind === 'apply' && d.values, { name: 'Ada', phone: '2', city: 'Paris' });
    assert.equal(d.kind === 'apply' && d.pushBack, true, 'HubSpot lacks the local half');
    const manual = reconcile(input({ rec: ext, reg: reg(base), local: local({ ...base, phone: '3' }, { version: 4 }), policy: { policy: 'merge', fallback: 'manual' } }));
    assert.equal(manual.kind, 'open-conflict');
    assert.deepEqual(manual.kind === 'open-conflict' && manual.conflict.fields, ['phone']);
  });

  test('manual: open a conflict with both sides and the base', () => {
    const d = reconcile(input({ rec: rec({ ...base, phone: '2' }), reg: reg(base), local: local({ ...base, phone: '3' }, { version: 4 }), policy: { policy: 'manual', fallback: 'last-write-wins' } }));
    assert.equal(d.kind, 'open-conflict');
    if (d.kind !== 'open-conflict') return;
    assert.deepEqual(d.conflict.base, base);
    assert.equal(d.conflict.external.values.phone, '2');
    assert.equal(d.conflict.local.values.phone, '3');
    assert.equal(d.conflict.detected_at, NOW);
  });

  test('an open conflict holds the record; a newer external value refreshes its snapshot', () => {
    const conflict = { detected_at: NOW, fields: ['phone'], local: { values: { ...base, phone: '3' }, version: 4, updated_at: NOW, deleted: false }, external: { values: { ...base, phone: '2' }, id: 'E1', updated_at: '2026-12-01T11:00:00.000Z' }, base };
    const held = reg(base, { sync_status: 'conflict', conflict });
    assert.deepEqual(reconcile(input({ rec: rec({ ...base, phone: '2' }), reg: held, local: local(base) })), { kind: 'held', refresh: null });
    const d = reconcile(input({ rec: rec({ ...base, phone: '3' }, '2026-12-01T11:05:00.000Z'), reg: held, local: local(base) }));
    assert.equal(d.kind, 'held');
    assert.deepEqual(d.kind === 'held' && d.refresh?.fields, [], 'the external side now agrees with Aurora');
  });

  test('pull-only: the external side wins over a local edit, and the overwritten values are on record', () => {
    const d = reconcile(input({ rec: rec({ ...base, phone: '2' }, '2026-12-01T09:30:00.000Z'), reg: reg(base, { external_updated_at: null }), local: local({ ...base, city: 'Paris' }, { version: 4, updated_at: '2026-12-01T11:59:00.000Z' }), direction: 'pull-only' }));
    assert.equal(d.kind, 'apply');
    if (d.kind !== 'apply') return;
    assert.deepEqual(d.values, { ...base, phone: '2' });
    assert.equal(d.resolution?.policy, 'pull-only');
    assert.equal(d.resolution?.local.values.city, 'Paris');
  });

  test('a local delete not yet sent counts as a local change', () => {
    const deleted = local(base, { version: 4, deleted: true, updated_at: '2026-12-01T11:30:00.000Z' });
    const d = reconcile(input({ rec: rec({ ...base, phone: '2' }), reg: reg(base), local: deleted }));
    assert.equal(d.kind, 'keep-local', 'the later delete wins');
  });

  test('set fields: both sides\' changes to a set merge three-way, and disjoint changes merge whatever the policy', () => {
    assert.equal(mergeSets('a,c', 'b,c', 'a,c,d'), 'b,c,d', 'local removed a and added b; external added d');
    assert.equal(mergeSets(null, 'a', 'b'), 'a,b');
    assert.equal(mergeSets('a', null, 'a'), null, 'a removal on one side wins over no change');
    const sb: Canonical = { labels: 'a,c', unread: 'true', priority: 'normal' };
    const ext = rec({ labels: 'a,c,d', unread: 'true', priority: 'normal' }, '2026-12-01T11:00:00.000Z');
    const loc = local({ labels: 'b,c', unread: 'false', priority: 'normal' }, { version: 4, updated_at: '2026-12-01T11:30:00.000Z' });
    const d = reconcile(input({ rec: ext, reg: reg(sb), local: loc, setFields: ['labels'] }));
    assert.equal(d.kind, 'apply');
    if (d.kind !== 'apply') return;
    assert.deepEqual(d.values, { labels: 'b,c,d', unread: 'false', priority: 'normal' }, 'merged set, the local read state kept');
    assert.equal(d.pushBack, true, 'the merge differs from the external side: pushed');
    assert.equal(d.resolution?.winner, 'both');
    assert.match(d.resolution?.policy ?? '', /sets merged: labels/);
    // Without setFields the same edit is a whole-record last-write-wins.
    assert.equal(reconcile(input({ rec: ext, reg: reg(sb), local: loc })).kind, 'keep-local');
    // A real overlap (both changed priority differently) still goes by the policy.
    const ext2 = rec({ labels: 'a,c,d', unread: 'true', priority: 'starred' }, '2026-12-01T12:00:00.000Z');
    const loc2 = local({ labels: 'b,c', unread: 'true', priority: 'urgent' }, { version: 4, updated_at: '2026-12-01T11:30:00.000Z' });
    const d2 = reconcile(input({ rec: ext2, reg: reg(sb), local: loc2, setFields: ['labels'] }));
    assert.equal(d2.kind, 'apply');
    assert.equal(d2.kind === 'apply' && d2.values.priority, 'starred', 'the later write wins the overlap');
    assert.equal(d2.kind === 'apply' && d2.values.labels, 'b,c,d', 'and the label sets still merge');
    assert.equal(d2.kind === 'apply' && d2.pushBack, true);
  });
});
