/** Drive's pure parts: the mappers, the parents-first order, the write bodies' refusals, the settings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDriveConfig } from '../src/connectors/google_workspace/drive';
import { DRIVE_PERMISSION } from '../src/connectors/google_workspace/drive/entities';
import {
  granteeKey,
  InvalidDriveWriteError,
  ownPermissions,
  parsePermissionExternalId,
  toFileRecord,
  toFolderBody,
  toPermissionBody,
} from '../src/connectors/google_workspace/drive/mapping';
import { parentsFirst } from '../src/connectors/google_workspace/drive/product';
import { canonicalize } from '../src/core/model';
import { ConfigError } from '../src/core/env';

const FOLDER = 'application/vnd.google-apps.folder';

test('a file maps to its canonical record: owners sorted and lower-cased, parents as ids, the later of modifiedTime and the change time', () => {
  const rec = toFileRecord(
    {
      id: 'f1', name: 'Plan', mimeType: 'application/pdf', parents: ['p2'], owners: [{ emailAddress: 'Ben@acme.test' }, { emailAddress: 'ana@acme.test' }],
      lastModifyingUser: { emailAddress: 'Ana@Acme.test' }, createdTime: '2026-01-01T00:00:00Z', modifiedTime: '2026-02-01T00:00:00.000Z', size: '2048',
      starred: true, trashed: false, version: '7', appProperties: { auroraId: 'a-1' }, webViewLink: 'https://drive.google.com/file/d/f1/view',
    },
    '2026-03-01T00:00:00Z',
  );
  assert.deepEqual(rec.fields, {
    name: 'Plan', mime_type: 'application/pdf', parents: 'p2', drive_id: null, owners: '["ana@acme.test","ben@acme.test"]', last_modifying_user: 'ana@acme.test',
    created_time: '2026-01-01T00:00:00.000Z', modified_time: '2026-02-01T00:00:00.000Z', size: '2048', web_view_link: 'https://drive.google.com/file/d/f1/view',
    starred: 'true', trashed: 'false',
  });
  assert.equal(rec.updatedAt, '2026-03-01T00:00:00.000Z', 'a star moves no modifiedTime: the change time counts');
  assert.equal(rec.auroraId, 'a-1');
  assert.equal(rec.etag, '7');
  assert.equal(toFileRecord({ id: 'f', modifiedTime: '2026-02-01T00:00:00Z' }, '2026-01-01T00:00:00Z').updatedAt, '2026-02-01T00:00:00.000Z');
});

test('parents first: every record comes in a later level than the records it is in; unknown parents are level 0', () => {
  const r = (id: string, parents: string | null) => ({ externalId: id, fields: { parents }, updatedAt: '', auroraId: null, archived: false });
  const levels = parentsFirst([r('c', 'b'), r('b', 'a'), r('x', 'elsewhere'), r('a', null), r('d', 'b')]);
  assert.deepEqual(levels.map((l) => l.map((x) => x.externalId).sort()), [['a', 'x'], ['b'], ['c', 'd']]);
  assert.deepEqual(parentsFirst([r('p', 'q'), r('q', 'p')]).flat().length, 2, 'a cycle does not loop');
});

test('write bodies refuse what the sync never does, before anything is sent', () => {
  const p = (f: Record<string, string | null>) => canonicalize(DRIVE_PERMISSION, f);
  assert.deepEqual(toPermissionBody(p({ type: 'user', role: 'writer', email_address: 'carla@acme.test' })), { type: 'user', role: 'writer', emailAddress: 'carla@acme.test' });
  assert.deepEqual(toPermissionBody(p({ type: 'anyone', role: 'reader', allow_file_discovery: 'false' })), { type: 'anyone', role: 'reader', allowFileDiscovery: false });
  assert.throws(() => toPermissionBody(p({ type: 'user', role: 'owner', email_address: 'x@acme.test' })), /ownership is never transferred/);
  assert.throws(() => toPermissionBody(p({ type: 'user', role: 'editor', email_address: 'x@acme.test' })), InvalidDriveWriteError);
  assert.throws(() => toPermissionBody(p({ type: 'user', role: 'reader' })), /needs email_address/);
  assert.throws(() => toPermissionBody(p({ type: 'domain', role: 'reader' })), /needs domain/);
  assert.throws(() => toFolderBody({ name: 'x', mime_type: 'application/pdf' }, 'id', 'a', undefined), /only folders/);
  assert.throws(() => toFolderBody({ name: null, mime_type: FOLDER }, 'id', 'a', undefined), /needs a name/);
  assert.deepEqual(toFolderBody({ name: 'F', mime_type: null, starred: 'true' }, 'id1', 'a-1', 'p'), {
    id: 'id1', name: 'F', mimeType: FOLDER, parents: ['p'], starred: true, appProperties: { auroraId: 'a-1' },
  });
  assert.deepEqual(parsePermissionExternalId('1abc:0123k'), { fileId: '1abc', permissionId: '0123k' });
  assert.throws(() => parsePermissionExternalId('nocolon'), InvalidDriveWriteError);
  assert.equal(granteeKey({ type: 'user', emailAddress: 'A@x.test' }), granteeKey({ type: 'user', email_address: 'a@x.test' }));
});

test('inherited permissions are left to the folder or drive they come from', () => {
  const own = ownPermissions([
    { id: '1', role: 'writer' },
    { id: '2', role: 'organizer', permissionDetails: [{ inherited: true }] },
    { id: '3', role: 'reader', permissionDetails: [{ inherited: true }, { inherited: false }] },
    { id: '4', role: 'reader', deleted: true },
  ]);
  assert.deepEqual(own.map((x) => x.id), ['1', '3']);
});

test('Drive settings: defaults, and a bad value named in the error', () => {
  assert.deepEqual(parseDriveConfig({}), { quotaPerUserPerMinute: 12_000, sharedDrives: true, sendNotificationEmail: false });
  assert.deepEqual(parseDriveConfig({ GOOGLE_DRIVE_SHARED_DRIVES: 'false', GOOGLE_DRIVE_SEND_NOTIFICATION_EMAIL: 'true', GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: '600' }), {
    quotaPerUserPerMinute: 600, sharedDrives: false, sendNotificationEmail: true,
  });
  assert.throws(() => parseDriveConfig({ GOOGLE_DRIVE_SHARED_DRIVES: 'yes' }), (e: unknown) => e instanceof ConfigError && /GOOGLE_DRIVE_SHARED_DRIVES/.test(e.message));
  assert.throws(() => parseDriveConfig({ GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: '0' }), /GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE/);
});
