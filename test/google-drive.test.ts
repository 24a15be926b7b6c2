/**
 * Google Drive two-way through the whole stack: the real Temporal dev server, Postgres, Redis, the
 * real googleapis client and google-auth-library (a service account with domain-wide delegation),
 * and the Google sandbox's Drive v3.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/server';
import { activitySettings, createActivities } from '../src/activities';
import { DRIVE_FILE, DRIVE_PERMISSION } from '../src/connectors/google_workspace/drive/entities';
import { ownPermissions, permissionExternalId, toFileCanonical, toPermissionCanonical } from '../src/connectors/google_workspace/drive/mapping';
import { canonicalize } from '../src/core/model';
import { confirmHeldDeletions } from '../src/store/state';
import { statusQuery, syncWorkflowId } from '../src/workflows/definitions';
import type { DriveFile } from '../src/sandbox/google';
import { count, harnessPerTest, subscribe, waitFor, type Harness } from './helpers';

const ANA = 'ana@acme.test';
const BEN = 'ben@acme.test';
const SYSTEM = 'google_workspace';
const FOLDER = 'application/vnd.google-apps.folder';
const setup = harnessPerTest();
const target = (connection: string) => ({ system: SYSTEM, connection });
const DRIVE_TYPES = ['drive_file', 'drive_permission'];

/** One cycle of the Drive entity types of a user; both end without an error. */
async function driveCycle(h: Harness, user: string): Promise<void> {
  for (const t of DRIVE_TYPES) {
    const s = await h.cycleOf(target(user), t);
    assert.equal(s.entities[t]?.lastError, null, `${t} of ${user}: no error`);
  }
}

/** Aurora id ↔ Drive id of a user's synced rows of a type. */
async function registry(h: Harness, user: string, type: string): Promise<{ byExt: Map<string, string>; byLocal: Map<string, string> }> {
  const { rows } = await h.db.query(
    'SELECT local_id, external_id FROM sync_registry WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND NOT deleted AND external_id IS NOT NULL',
    [SYSTEM, user, type],
  );
  return { byExt: new Map(rows.map((r) => [r.external_id, r.local_id])), byLocal: new Map(rows.map((r) => [r.local_id, r.external_id])) };
}

/** The user's live Drive (files, folders, shared drives' and My Drive's roots) equals their Aurora rows, field by field. */
async function assertInSync(h: Harness, user: string): Promise<number> {
  const g = h.google!;
  const reg = await registry(h, user, 'drive_file');
  const { rows } = await h.db.query('SELECT * FROM drive_files WHERE mailbox = $1 AND deleted_at IS NULL', [user]);
  const locals = new Map(rows.map((r) => [reg.byLocal.get(r.id), r]));
  const files: DriveFile[] = [...g.drive.list(user), g.drive.get(user, 'root')!, ...g.drive.sharedDrives(user).map((d) => g.drive.get(user, d.id)!)];
  for (const f of files) {
    const local = locals.get(f.id);
    assert.ok(local, `${user}: ${f.name} (${f.id}) is in Aurora`);
    const expected = toFileCanonical(f);
    // parents come back as Aurora ids: translate the sandbox's
    expected.parents = (f.parents ?? []).map((p) => reg.byExt.get(p)).filter(Boolean).sort().join(',') || null;
    assert.deepEqual(canonicalize(DRIVE_FILE, local), expected, `${f.name} (${f.id}) equal on both sides`);
  }
  assert.equal(locals.size, files.length, `no extra live files in Aurora for ${user}`);
  return files.length;
}

/** The permissions of every file the user can share equal Aurora's live permission rows. */
async function assertPermissionsInSync(h: Harness, user: string): Promise<number> {
  const g = h.google!;
  const files = await registry(h, user, 'drive_file');
  const perms = await registry(h, user, 'drive_permission');
  const { rows } = await h.db.query('SELECT * FROM drive_permissions WHERE mailbox = $1 AND deleted_at IS NULL', [user]);
  const locals = new Map(rows.map((r) => [perms.byLocal.get(r.id), r]));
  let n = 0;
  const all = [...g.drive.list(user), g.drive.get(user, 'root')!, ...g.drive.sharedDrives(user).map((d) => g.drive.get(user, d.id)!)];
  for (const f of all.filter((x) => x.capabilities.canShare)) {
    for (const p of ownPermissions(g.drive.permissions(f.id))) {
      const local = locals.get(permissionExternalId(f.id, p.id!));
      assert.ok(local, `${user}: permission ${p.id} of ${f.name} is in Aurora`);
      assert.deepEqual(canonicalize(DRIVE_PERMISSION, local), { ...toPermissionCanonical(f.id, p), file_id: files.byExt.get(f.id) ?? null });
      n++;
    }
  }
  assert.equal(locals.size, n, `no extra live permissions in Aurora for ${user}`);
  return n;
}

const localFile = async (h: Harness, user: string, driveId: string) => {
  const reg = await registry(h, user, 'drive_file');
  const id = reg.byExt.get(driveId);
  assert.ok(id, `${driveId} is synced`);
  return (await h.db.query('SELECT * FROM drive_files WHERE id = $1', [id])).rows[0];
};

describe('Google Drive two-way', () => {
  test('backfill of two users and a shared drive in nested folders, then incremental both ways, then quiet', async () => {
    const h = await setup({ google: { users: [ANA, BEN] } });
    const g = h.google!;
    g.drive.seed(ANA, 1800, { folders: 180, depth: 4 });
    g.drive.seed(BEN, 900, { folders: 80 });
    const sales = g.drive.addSharedDrive(ANA, 'Sales', { [BEN]: 'writer' });
    g.drive.seed(ANA, 500, { driveId: sales.id, folders: 40 });
    for (const user of [ANA, BEN]) await driveCycle(h, user);
    const anaFiles = await assertInSync(h, ANA);
    assert.ok(anaFiles > 2300, `Ana's own, shared-with-her and the shared drive's files (${anaFiles})`);
    await assertInSync(h, BEN);
    assert.ok((await assertPermissionsInSync(h, ANA)) > 1800);
    await assertPermissionsInSync(h, BEN);
    // The tree: a file three folders down has its folder's Aurora id as parent, and so on up to the root.
    const deep = g.drive.list(ANA).find((f) => f.mimeType !== FOLDER && !f.driveId && f.parents?.[0] !== g.drive.rootId(ANA))!;
    let row = await localFile(h, ANA, deep.id);
    let hops = 0;
    while (row.parents) {
      row = (await h.db.query('SELECT * FROM drive_files WHERE id = $1', [row.parents])).rows[0];
      hops++;
    }
    assert.equal(row.name, 'My Drive', 'the chain of parents ends at the root');
    assert.ok(hops >= 2);
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE external_system = $1 AND sync_status <> 'synced'", [SYSTEM]), 0);

    // Drive users rename, move, trash and share; Aurora renames, moves, stars, trashes, creates a folder and grants.
    const mine = g.drive.list(ANA).filter((f) => f.ownedByMe && !f.trashed);
    const folders = mine.filter((f) => f.mimeType === FOLDER);
    const docs = mine.filter((f) => f.mimeType !== FOLDER);
    const [gRename, gMove, gTrash, aRename, aMove, aStar, aTrash, gShare] = docs;
    g.drive.userUpdate(ANA, gRename!.id, { name: 'Renamed in Drive' });
    g.drive.userUpdate(ANA, gMove!.id, { addParents: [folders[3]!.id], removeParents: gMove!.parents });
    g.drive.userUpdate(ANA, gTrash!.id, { trashed: true });
    const carla = g.drive.userShare(ANA, gShare!.id, { type: 'user', role: 'commenter', emailAddress: 'carla.mendes@acme.test' });
    const ids = async (ext: string) => (await localFile(h, ANA, ext)).id as string;
    await h.db.query("UPDATE drive_files SET name = 'Renamed in Aurora' WHERE id = $1", [await ids(aRename!.id)]);
    await h.db.query('UPDATE drive_files SET parents = $2 WHERE id = $1', [await ids(aMove!.id), await ids(folders[5]!.id)]);
    await h.db.query('UPDATE drive_files SET starred = NOT starred WHERE id = $1', [await ids(aStar!.id)]);
    await h.db.query('UPDATE drive_files SET trashed = true WHERE id = $1', [await ids(aTrash!.id)]);
    const parentId = await ids(folders[1]!.id);
    const folderId = (await h.db.query(`INSERT INTO drive_files (mailbox, name, mime_type, parents) VALUES ($1, 'Made in Aurora', $2, $3) RETURNING id`, [ANA, FOLDER, parentId])).rows[0].id;
    const grantId = (
      await h.db.query(`INSERT INTO drive_permissions (mailbox, file_id, type, role, email_address) VALUES ($1, $2, 'user', 'reader', 'hank.scorpio@globex.com') RETURNING id`, [ANA, await ids(docs[8]!.id)])
    ).rows[0].id;
    const sub = await subscribe();
    try {
      await driveCycle(h, ANA);
      await driveCycle(h, ANA); // the permission of the folder made in this cycle, and the grant's echo
      await new Promise((r) => setTimeout(r, 300));
      const files = sub.events.filter((e) => e.channel === 'aurora:sync:drive_file').map((e) => e.event);
      const perms = sub.events.filter((e) => e.channel === 'aurora:sync:drive_permission').map((e) => e.event);
      assert.ok(files.some((e) => e.action === 'updated' && e.direction === 'pull'));
      assert.ok(files.some((e) => e.action === 'created' && e.direction === 'push' && e.entity_id === folderId));
      assert.ok(perms.some((e) => e.action === 'created' && e.direction === 'pull'), 'the grant made in Drive');
      assert.ok(perms.some((e) => e.action === 'created' && e.direction === 'push' && e.entity_id === grantId));
    } finally {
      await sub.close();
    }
    assert.equal((await localFile(h, ANA, gRename!.id)).name, 'Renamed in Drive');
    assert.equal((await localFile(h, ANA, gMove!.id)).parents, await ids(folders[3]!.id), 'moved in Drive → new parent in Aurora');
    assert.equal((await localFile(h, ANA, gTrash!.id)).trashed, true);
    assert.equal(g.drive.get(ANA, aRename!.id)!.name, 'Renamed in Aurora');
    assert.deepEqual(g.drive.get(ANA, aMove!.id)!.parents, [folders[5]!.id], 'moved in Aurora → one parent in Drive');
    assert.equal(g.drive.get(ANA, aStar!.id)!.starred, !aStar!.starred);
    assert.equal(g.drive.get(ANA, aTrash!.id)!.trashed, true);
    const folderExt = (await registry(h, ANA, 'drive_file')).byLocal.get(folderId)!;
    const made = g.drive.get(ANA, folderExt)!;
    assert.equal(made.name, 'Made in Aurora');
    assert.equal(made.mimeType, FOLDER);
    assert.deepEqual(made.parents, [folders[1]!.id]);
    assert.ok(g.drive.permissions(docs[8]!.id).some((p) => p.emailAddress === 'hank.scorpio@globex.com' && p.role === 'reader'), 'granted in Drive');
    assert.equal(g.drive.stats.notificationEmails, 0, 'the sync emails nobody');
    const carlaRow = (await h.db.query('SELECT * FROM drive_permissions WHERE email_address = $1 AND file_id = $2 AND deleted_at IS NULL', ['carla.mendes@acme.test', await ids(gShare!.id)])).rows[0];
    assert.equal(carlaRow.role, 'commenter');
    await assertInSync(h, ANA);
    await assertPermissionsInSync(h, ANA);

    // Revoke both ways: Drive revokes Carla; Aurora revokes Hank.
    g.drive.userUnshare(ANA, gShare!.id, carla.id);
    await h.db.query('UPDATE drive_permissions SET deleted_at = now() WHERE id = $1', [grantId]);
    await driveCycle(h, ANA);
    assert.ok((await h.db.query('SELECT deleted_at FROM drive_permissions WHERE id = $1', [carlaRow.id])).rows[0].deleted_at, 'revoked in Drive → deleted in Aurora');
    assert.ok(!g.drive.permissions(docs[8]!.id).some((p) => p.emailAddress === 'hank.scorpio@globex.com'), 'revoked in Aurora → gone from Drive');
    await assertPermissionsInSync(h, ANA);

    // Quiet: no writes, no events, no version change; one changes.list per type.
    const versions = (await h.db.query('SELECT id, version FROM drive_files UNION ALL SELECT id, version FROM drive_permissions ORDER BY id')).rows;
    const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
    const regUpdated = (await h.db.query('SELECT max(updated_at) m FROM sync_registry')).rows[0].m;
    const before = g.stats.requests;
    await driveCycle(h, ANA);
    assert.deepEqual((await h.db.query('SELECT id, version FROM drive_files UNION ALL SELECT id, version FROM drive_permissions ORDER BY id')).rows, versions);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox, 'nothing published');
    assert.deepEqual((await h.db.query('SELECT max(updated_at) m FROM sync_registry')).rows[0].m, regUpdated, 'no registry writes');
    assert.ok(g.stats.requests - before <= 2, `a quiet cycle costs one changes.list per entity type (${g.stats.requests - before})`);
  });
});
