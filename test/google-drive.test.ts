/**
 * Google Drive two-way through the whole stack: the real Temporal dev server, Postgres, Redis, the
 * real googleapis client and google-auth-library (a service account with domain-wide delegation),
 * and the Google sandbox's Drive v3.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { activitySettings, createActivities } from '../src/activities';
import { DRIVE_FILE, DRIVE_PERMISSION } from '../src/connectors/google_workspace/drive/entities';
import { ownPermissions, permissionExternalId, toFileCanonical, toPermissionCanonical } from '../src/connectors/google_workspace/drive/mapping';
import { canonicalize } from '../src/core/model';
import { confirmHeldDeletions } from '../src/store/state';
import { statusQuery, syncWorkflowId } from '../src/workflows/definitions';
import type { DriveFile } from '../src/sandbox/google';
import { count, harnessPerTest, listeningApi, subscribe, waitFor, type Harness } from './helpers';

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

    // A listing interrupted after its first page of files resumes from the heartbeated cursor: the rest
    // of that corpus, then the shared drive, nothing twice, nothing missed.
    const connector = h.deps.connectors.get(SYSTEM, ANA);
    const listed = async (cursor: Record<string, unknown> | null, resume: boolean, stopAfterFilesPage: boolean) => {
      const out: string[] = [];
      let at: Record<string, unknown> | null = null;
      for await (const page of connector.listChanges('drive_file', cursor, resume)) {
        out.push(...page.records.map((r) => r.externalId));
        at = page.cursor;
        const full = (page.cursor as { full?: { phase: string; at?: unknown } }).full;
        if (stopAfterFilesPage && full?.phase === 'files' && full.at) break;
      }
      return { out, at };
    };
    const whole = await listed(null, false, false);
    const head = await listed(null, false, true);
    assert.equal((head.at as { full: { at: { corpus: string } } }).full.at.corpus, 'user', 'stopped inside the user corpus');
    const tail = await listed(head.at, true, false);
    assert.ok(!tail.out.includes(g.drive.rootId(ANA)), 'the tree is not listed again');
    assert.deepEqual([...head.out, ...tail.out].sort(), [...whole.out].sort());
    assert.equal(new Set(whole.out).size, whole.out.length);
    assert.ok((tail.at as { token?: string }).token, 'the resumed listing ends with the start page token');
  });

  test('an invalid page token runs a full resync that finds deletions; the mass-delete guard holds a mass deletion until confirmed', async () => {
    const h = await setup({ google: { users: [ANA] }, env: { MASS_DELETE_MIN_RECORDS: '3' } });
    const g = h.google!;
    g.drive.seed(ANA, 80, { folders: 8 });
    await driveCycle(h, ANA);
    const live = () => count(h.db, 'SELECT count(*) n FROM drive_files WHERE deleted_at IS NULL');
    const start = await live();
    const plain = () => g.drive.list(ANA).filter((f) => f.mimeType !== FOLDER && f.ownedByMe);
    // Deleted while the engine's page token went invalid: only a full listing can find them.
    const victims = plain().slice(0, 5);
    for (const v of victims) g.drive.userDelete(ANA, v.id);
    g.drive.expireChangeTokens(ANA);
    const s1 = await h.cycleOf(target(ANA), 'drive_file');
    assert.equal(s1.entities.drive_file?.lastError, null);
    assert.equal(s1.entities.drive_file?.lastPull?.fullResync, 1);
    assert.equal(await live(), start - 5, 'the five deletions were found');
    for (const v of victims) {
      const { rows } = await h.db.query('SELECT r.deleted, f.deleted_at FROM sync_registry r JOIN drive_files f ON f.id = r.local_id WHERE r.external_id = $1', [v.id]);
      assert.equal(rows[0].deleted, true);
      assert.ok(rows[0].deleted_at);
    }
    await assertInSync(h, ANA);
    // The permission feed's token is invalid too: its full resync drops the deleted files' permissions.
    const s1p = await h.cycleOf(target(ANA), 'drive_permission');
    assert.equal(s1p.entities.drive_permission?.lastPull?.fullResync, 1);
    await assertPermissionsInSync(h, ANA);

    // Now half the files vanish at once: held back, nothing deleted, the type says why.
    const half = plain().slice(0, Math.ceil(start / 2));
    for (const v of half) g.drive.userDelete(ANA, v.id);
    g.drive.expireChangeTokens(ANA);
    const s2 = await h.cycleOf(target(ANA), 'drive_file');
    assert.equal(s2.entities.drive_file?.lastPull?.heldDeletions, half.length);
    assert.equal(await live(), start - 5, 'nothing deleted');
    assert.equal(await confirmHeldDeletions(h.db, { system: SYSTEM, connection: ANA, entityType: 'drive_file' }), true);
    await h.cycleOf(target(ANA), 'drive_file');
    assert.equal(await live(), start - 5 - half.length, 'confirmed deletions applied');
    await assertInSync(h, ANA);
  });

  test('a folder or a grant retried after a lost answer makes no duplicate; a concurrent edit is decided by the policy; permissions link to contacts', async () => {
    const h = await setup({ google: { users: [ANA] } });
    const g = h.google!;
    g.drive.seed(ANA, 40, { folders: 4 });
    await driveCycle(h, ANA);
    const connector = h.deps.connectors.get(SYSTEM, ANA) as unknown as { session: never; create: (t: string, c: unknown[]) => Promise<{ ok: boolean; externalId?: string }[]> };
    const folderRow = async (name: string) =>
      (await h.db.query(`INSERT INTO drive_files (mailbox, name, mime_type) VALUES ($1, $2, $3) RETURNING *`, [ANA, name, FOLDER])).rows[0];
    const named = (name: string) => g.drive.list(ANA).filter((f) => f.name === name);

    // The same process retries (the id taken from generateIds is reused: Drive answers 409, the folder is found).
    const a = await folderRow('Retried here');
    const fa = canonicalize(DRIVE_FILE, a);
    const [first] = await connector.create('drive_file', [{ localId: a.id, fields: fa }]);
    assert.ok(first?.ok);
    const [again] = await connector.create('drive_file', [{ localId: a.id, fields: fa }]);
    assert.equal(again?.externalId, first?.externalId);
    assert.equal(named('Retried here').length, 1);
    // Another worker made it and its answer was lost: the sync's push finds it by its Aurora id.
    const { DriveProduct } = await import('../src/connectors/google_workspace/drive/product');
    const other = new DriveProduct(connector.session, { quotaPerUserPerMinute: 12_000, sharedDrives: true, sendNotificationEmail: false });
    const b = await folderRow('Retried elsewhere');
    const [lost] = await other.create('drive_file', [{ localId: b.id, fields: canonicalize(DRIVE_FILE, b) }]);
    assert.ok(lost?.ok);
    // A grant of the worker's whose answer was lost (Drive permissions carry no Aurora id: the worker remembers its grants).
    const doc = g.drive.list(ANA).find((f) => f.mimeType !== FOLDER && f.ownedByMe)!;
    const docLocal = (await localFile(h, ANA, doc.id)).id;
    const grant = (
      await h.db.query(`INSERT INTO drive_permissions (mailbox, file_id, type, role, email_address) VALUES ($1, $2, 'user', 'writer', 'elena.rossi@acme.test') RETURNING *`, [ANA, docLocal])
    ).rows[0];
    const [lostGrant] = await connector.create('drive_permission', [{ localId: grant.id, fields: { ...canonicalize(DRIVE_PERMISSION, grant), file_id: doc.id } }]);
    assert.ok(lostGrant?.ok);
    await driveCycle(h, ANA);
    await driveCycle(h, ANA);
    assert.equal(named('Retried elsewhere').length, 1, 'no second folder');
    assert.equal(g.drive.permissions(doc.id).filter((p) => p.emailAddress === 'elena.rossi@acme.test').length, 1, 'no second permission');
    const reg = async (localId: string) => (await h.db.query('SELECT external_id, sync_status FROM sync_registry WHERE local_id = $1', [localId])).rows[0];
    assert.deepEqual(await reg(b.id), { external_id: named('Retried elsewhere')[0]!.id, sync_status: 'synced' });
    assert.equal((await reg(grant.id)).external_id, permissionExternalId(doc.id, g.drive.permissions(doc.id).find((p) => p.emailAddress === 'elena.rossi@acme.test')!.id));
    assert.equal(await count(h.db, "SELECT count(*) n FROM drive_permissions WHERE email_address = 'elena.rossi@acme.test' AND deleted_at IS NULL"), 1);
    await assertInSync(h, ANA);
    await assertPermissionsInSync(h, ANA);

    // Concurrent edits, pushed without a pull first: x renamed in Drive first, then in Aurora → Aurora wins (last write);
    // y renamed in Aurora first, then in Drive → Drive wins.
    const acts = createActivities({ ...h.deps, settings: activitySettings(h.cfg) });
    const [x, y] = g.drive.list(ANA).filter((f) => f.mimeType !== FOLDER && f.ownedByMe);
    g.drive.userUpdate(ANA, x!.id, { name: 'Drive X' });
    await new Promise((r) => setTimeout(r, 20));
    await h.db.query("UPDATE drive_files SET name = 'Aurora X' WHERE id = $1", [(await localFile(h, ANA, x!.id)).id]);
    await h.db.query("UPDATE drive_files SET name = 'Aurora Y' WHERE id = $1", [(await localFile(h, ANA, y!.id)).id]);
    await new Promise((r) => setTimeout(r, 20));
    g.drive.userUpdate(ANA, y!.id, { name: 'Drive Y' });
    const pushed = await acts.pushEntity({ system: SYSTEM, connection: ANA, entityType: 'drive_file' });
    assert.equal(pushed.conflicts, 2, 'both files changed in Drive since the last sync: decided by policy');
    assert.equal(pushed.errors, 0);
    assert.equal(g.drive.get(ANA, x!.id)!.name, 'Aurora X');
    assert.equal((await localFile(h, ANA, y!.id)).name, 'Drive Y');
    assert.equal(g.drive.get(ANA, y!.id)!.name, 'Drive Y');
    const res = (await h.db.query('SELECT last_resolution FROM sync_registry WHERE external_id = $1', [y!.id])).rows[0].last_resolution;
    assert.equal(res.winner, 'external');
    await driveCycle(h, ANA);
    await assertInSync(h, ANA);

    // Contacts: a grantee who is a contact is linked, and a contact made later links too.
    const { rows: [elena] } = await h.db.query("INSERT INTO contacts (first_name, email) VALUES ('Elena', 'Elena.Rossi@acme.test') RETURNING id");
    const link = async (email: string) =>
      (await h.db.query('SELECT c.contact_id FROM drive_permission_contacts c JOIN drive_permissions p ON p.id = c.permission_id WHERE p.email_address = $1 AND p.deleted_at IS NULL', [email])).rows;
    assert.deepEqual(await link('elena.rossi@acme.test'), [{ contact_id: elena.id }]);
    assert.ok((await link(ANA)).length > 0 && (await link(ANA)).every((r) => r.contact_id === null), 'no contact, no link');
    const { rows: [ana] } = await h.db.query("INSERT INTO contacts (first_name, email) VALUES ('Ana', $1) RETURNING id", [ANA]);
    assert.ok((await link(ANA)).every((r) => r.contact_id === ana.id));

    // Deleting a row in Aurora trashes the file in Drive (never a permanent delete); the row comes back as
    // trashed (Drive's state), and restoring the file in Drive untrashes the same row.
    const z = g.drive.list(ANA).find((f) => f.mimeType !== FOLDER && f.ownedByMe && !f.trashed && f.id !== x!.id && f.id !== y!.id && f.id !== doc.id)!;
    const zLocal = (await localFile(h, ANA, z.id)).id;
    const zRow = async () => (await h.db.query('SELECT deleted_at, trashed FROM drive_files WHERE id = $1', [zLocal])).rows[0];
    await h.db.query('UPDATE drive_files SET deleted_at = now() WHERE id = $1', [zLocal]);
    await driveCycle(h, ANA);
    assert.equal(g.drive.get(ANA, z.id)!.trashed, true, 'in the trash, not gone');
    await driveCycle(h, ANA);
    assert.deepEqual(await zRow(), { deleted_at: null, trashed: true }, 'back as trashed');
    await assertInSync(h, ANA);
    g.drive.userUpdate(ANA, z.id, { trashed: false });
    await driveCycle(h, ANA);
    assert.deepEqual(await zRow(), { deleted_at: null, trashed: false }, 'restored in Drive → untrashed');
    await assertInSync(h, ANA);

    // Bad input: an ownership grant and a non-folder create fail those records with a clear error; Drive is unchanged.
    const before = { perms: JSON.stringify(g.drive.permissions(doc.id)), files: g.drive.list(ANA).length };
    const owner = (await h.db.query(`INSERT INTO drive_permissions (mailbox, file_id, type, role, email_address) VALUES ($1, $2, 'user', 'owner', 'ben@acme.test') RETURNING id`, [ANA, docLocal])).rows[0].id;
    const pdf = (await h.db.query(`INSERT INTO drive_files (mailbox, name, mime_type) VALUES ($1, 'report.pdf', 'application/pdf') RETURNING id`, [ANA])).rows[0].id;
    const s1 = await h.cycleOf(target(ANA), 'drive_permission');
    const s2 = await h.cycleOf(target(ANA), 'drive_file');
    assert.equal(s1.entities.drive_permission?.lastPush?.errors, 1);
    assert.equal(s2.entities.drive_file?.lastPush?.errors, 1);
    const errorOf = async (id: string) => (await h.db.query('SELECT sync_status, error_message FROM sync_registry WHERE local_id = $1', [id])).rows[0];
    assert.deepEqual(await errorOf(owner), { sync_status: 'error', error_message: 'Google Drive: ownership is never transferred by the sync: grant another role' });
    assert.match((await errorOf(pdf)).error_message, /only folders can be created from Aurora/);
    assert.deepEqual({ perms: JSON.stringify(g.drive.permissions(doc.id)), files: g.drive.list(ANA).length }, before);
  });

  test('quota 403/429 storms and 5xx still end fully synced', async () => {
    const h = await setup({
      google: { users: [ANA, BEN], sandbox: { drive: { quotas: { perUserPerMinute: 100, mode: 'mixed' } } } },
      env: { GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: '1000' },
    });
    const g = h.google!;
    const team = g.drive.addSharedDrive(ANA, 'Team', { [BEN]: 'reader' });
    g.drive.seed(ANA, 1200, { folders: 60 });
    g.drive.seed(ANA, 30, { driveId: team.id, folders: 3 }); // permissions.list per shared-drive item
    g.faults.set({ burst: { status: 429, count: 3 } });
    await driveCycle(h, ANA);
    g.faults.set({ burst: { status: 403, count: 3, reason: 'userRateLimitExceeded' }, errorRate: 0.1 });
    for (const f of g.drive.list(ANA).filter((x) => x.driveId && x.mimeType !== FOLDER).slice(0, 15)) g.drive.userUpdate(ANA, f.id, { name: `${f.name} (storm)` });
    await driveCycle(h, ANA);
    g.faults.clear();
    assert.ok(g.stats.rateLimited + g.stats.faulted > 0, 'the storm happened');
    await assertInSync(h, ANA);
    await assertPermissionsInSync(h, ANA);
  });
});

describe('Google Drive push notifications', () => {
  test('a change in Drive arrives through the changes.watch channels, verified, without waiting for a cycle; forged and unknown channels change nothing', async () => {
    const h = await setup({ google: { users: [ANA] }, env: { PUSH_CHANNELS: 'true' }, worker: false });
    const { app, url } = await listeningApi(h, ['hubspot', SYSTEM]);
    try {
      await h.startWorker();
      const g = h.google!;
      const [doc] = g.drive.seed(ANA, 10, { folders: 1 }).filter((f) => f.mimeType !== FOLDER && !f.trashed);
      await driveCycle(h, ANA); // opens the channels
      const { rows: channels } = await h.db.query("SELECT * FROM sync_channels WHERE stopped_at IS NULL AND entity_type LIKE 'drive_%' ORDER BY entity_type");
      assert.deepEqual(channels.map((c) => c.entity_type), DRIVE_TYPES, 'one changes channel per entity type');
      const active = g.channels.active().filter((c) => c.resourceUri.includes('/drive/v3/changes'));
      assert.equal(active.length, 2);
      assert.ok(active.every((c) => c.address === `${url}/api/webhooks/google`));
      const handle = h.client.workflow.getHandle(syncWorkflowId(SYSTEM, h.cfg.temporal.workflowIdPrefix, ANA));
      const t0 = Date.now();
      g.drive.userUpdate(ANA, doc!.id, { name: 'Pushed by Drive' });
      const carla = g.drive.userShare(ANA, doc!.id, { type: 'user', role: 'reader', emailAddress: 'carla.mendes@acme.test' });
      await waitFor('row updated through the channel', async () => (await count(h.db, "SELECT count(*) n FROM drive_files WHERE name = 'Pushed by Drive'")) === 1 || undefined, 10_000, 20);
      console.log(`Drive push notification → row committed: ${Date.now() - t0} ms`);
      await waitFor('grant pulled through the channel', async () =>
        (await count(h.db, "SELECT count(*) n FROM drive_permissions WHERE email_address = 'carla.mendes@acme.test' AND permission_id = $1 AND deleted_at IS NULL", [carla.id])) === 1 || undefined, 10_000, 20);
      await waitFor('triggered cycles done', async () => {
        const st = await handle.query(statusQuery);
        return st.state === 'idle' && (await g.channels.flush(), true) ? st.cycles : undefined;
      }, 10_000);
      const cycles = (await handle.query(statusQuery)).cycles;
      const ch = active[0]!;
      const headers = { 'x-goog-channel-id': ch.id, 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': 'change', 'x-goog-message-number': '99', 'x-goog-channel-token': 'forged' };
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/google', headers })).statusCode, 401);
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: { ...headers, 'x-goog-channel-id': 'not-ours', 'x-goog-channel-token': ch.token! } })).statusCode, 404);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await handle.query(statusQuery)).cycles, cycles, 'nothing was triggered');
    } finally {
      await app.close();
    }
  });
});
