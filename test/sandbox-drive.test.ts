/**
 * The Google sandbox's Drive v3, exercised through the real googleapis drive client (an access
 * token from the sandbox), plus raw fetch where the exact wire shape matters, and a local receiver
 * for changes.watch notifications. Every test starts its own sandbox on a random port.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { GaxiosError } from 'gaxios';
import { OAuth2Client } from 'google-auth-library';
import { drive, type drive_v3 } from 'googleapis/build/src/apis/drive';
import { startGoogleSandbox, type GoogleSandbox, type GoogleSandboxOptions } from '../src/sandbox/google/index';

const ANA = 'ana@acme.test';
const BEN = 'ben@acme.test';
const FOLDER = 'application/vnd.google-apps.folder';
const ALL = { supportsAllDrives: true, includeItemsFromAllDrives: true } as const;

async function withSandbox(opts: GoogleSandboxOptions, fn: (sb: GoogleSandbox) => Promise<void>): Promise<void> {
  const sb = await startGoogleSandbox({ users: [ANA, BEN], ...opts });
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

function driveFor(sb: GoogleSandbox, user: string): drive_v3.Drive {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: sb.auth.tokenFor(user) });
  return drive({ version: 'v3', auth: auth as never, rootUrl: sb.url, retry: false });
}

type ErrorBody = { error: { code: number; message: string; status?: string; errors: Array<Record<string, string>> } };

async function gaxiosError(p: Promise<unknown>): Promise<GaxiosError<ErrorBody>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GaxiosError, `expected a GaxiosError, got ${String(e)}`);
    return e as GaxiosError<ErrorBody>;
  }
  assert.fail('expected the call to fail');
}
const reasonOf = (e: GaxiosError<ErrorBody>) => e.response?.data.error.errors[0]?.reason;

async function allChanges(d: drive_v3.Drive, pageToken: string): Promise<{ changes: drive_v3.Schema$Change[]; next: string }> {
  const changes: drive_v3.Schema$Change[] = [];
  let token: string | undefined = pageToken;
  for (;;) {
    const { data }: { data: drive_v3.Schema$ChangeList } = await d.changes.list({ pageToken: token, pageSize: 1000, ...ALL, fields: 'nextPageToken,newStartPageToken,changes(fileId,removed,time,driveId,file(id,name,trashed,parents,starred))' });
    changes.push(...(data.changes ?? []));
    if (data.newStartPageToken) return { changes, next: data.newStartPageToken };
    token = data.nextPageToken!;
  }
}

test('files.list: the four default fields, `fields` honoured, pages of up to 1,000, shared drives only with supportsAllDrives', async () => {
  await withSandbox({}, async (sb) => {
    sb.drive.seed(ANA, 2500, { folders: 200 });
    const shared = sb.drive.addSharedDrive(ANA, 'Sales', { [BEN]: 'writer' });
    sb.drive.seed(ANA, 300, { driveId: shared.id });
    const d = driveFor(sb, ANA);
    const res = await fetch(new URL('drive/v3/files?pageSize=2', sb.url), { headers: { authorization: `Bearer ${sb.auth.tokenFor(ANA)}` } });
    assert.equal(res.headers.get('content-type'), 'application/json; charset=UTF-8');
    const body = (await res.json()) as { kind: string; files: Record<string, unknown>[]; nextPageToken: string; incompleteSearch: boolean };
    assert.equal(body.kind, 'drive#fileList');
    assert.equal(body.incompleteSearch, false);
    assert.deepEqual(Object.keys(body.files[0]!).sort(), ['id', 'kind', 'mimeType', 'name']);
    assert.ok(body.nextPageToken);

    const fields = 'nextPageToken,files(id,name,mimeType,parents,driveId,owners(emailAddress),modifiedTime,size,starred,trashed,webViewLink,permissions(id,type,role,emailAddress))';
    const listAll = async (params: drive_v3.Params$Resource$Files$List) => {
      const out: drive_v3.Schema$File[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const { data } = await d.files.list({ ...params, pageSize: 1000, pageToken, fields });
        out.push(...data.files!);
        pageToken = data.nextPageToken ?? undefined;
        pages++;
      } while (pageToken);
      return { out, pages };
    };
    const mine = await listAll({});
    assert.equal(mine.out.length, 2500, 'My Drive only by default');
    assert.equal(mine.pages, 3);
    assert.equal(new Set(mine.out.map((f) => f.id)).size, 2500, 'no file twice across pages');
    const f = mine.out.find((x) => x.mimeType !== FOLDER && x.parents?.[0] !== sb.drive.rootId(ANA))!;
    assert.equal(f.owners?.[0]?.emailAddress, ANA);
    assert.ok(f.permissions?.some((p) => p.role === 'owner' && p.emailAddress === ANA));
    assert.match(f.webViewLink!, /^https:\/\/(docs|drive)\.google\.com\//);
    const all = await listAll({ corpora: 'allDrives', ...ALL });
    assert.equal(all.out.length, 2800);
    const inShared = all.out.filter((x) => x.driveId === shared.id);
    assert.equal(inShared.length, 300);
    assert.ok(inShared.every((x) => x.permissions === undefined && x.owners === undefined), 'no owners, no permissions for shared-drive items');
    const folders = await listAll({ q: `mimeType = '${FOLDER}' and trashed = false` });
    assert.ok(folders.out.length > 150 && folders.out.every((x) => x.mimeType === FOLDER));

    assert.equal(reasonOf(await gaxiosError(d.files.get({ fileId: inShared[0]!.id! }))), 'notFound', 'a shared-drive item without supportsAllDrives');
    assert.equal((await d.files.get({ fileId: inShared[0]!.id!, supportsAllDrives: true })).data.id, inShared[0]!.id);
    assert.equal(reasonOf(await gaxiosError(d.files.list({ corpora: 'allDrives' }))), 'teamDriveInclusionRequired');
    const badQ = await gaxiosError(d.files.list({ q: 'name === nonsense' }));
    assert.equal(badQ.status, 400);
    assert.equal(badQ.response?.data.error.errors[0]?.location, 'q');
    const root = (await d.files.get({ fileId: 'root', fields: 'id,name,mimeType' })).data;
    assert.deepEqual(root, { id: sb.drive.rootId(ANA), name: 'My Drive', mimeType: FOLDER });
    const drives = (await driveFor(sb, BEN).drives.list({})).data;
    assert.deepEqual(drives.drives?.map((x) => x.name), ['Sales']);
    assert.equal((await d.files.get({ fileId: shared.id, supportsAllDrives: true, fields: 'id,name,driveId' })).data.name, 'Sales', 'a shared drive id is its root folder');
  });
});

test('changes: start page token, renames, moves, trash and permanent deletion; other users see what is shared with them; invalid tokens are 400', async () => {
  await withSandbox({}, async (sb) => {
    const d = driveFor(sb, ANA);
    const b = driveFor(sb, BEN);
    const start = (await d.changes.getStartPageToken({})).data;
    assert.equal(start.kind, 'drive#startPageToken');
    const benStart = (await b.changes.getStartPageToken({})).data.startPageToken!;
    const projects = (await d.files.create({ requestBody: { name: 'Projects', mimeType: FOLDER }, fields: 'id' })).data.id!;
    const archive = (await d.files.create({ requestBody: { name: 'Archive', mimeType: FOLDER }, fields: 'id' })).data.id!;
    const doc = (await d.files.create({ requestBody: { name: 'Plan', mimeType: 'application/vnd.google-apps.document', parents: [projects] }, fields: 'id,parents' })).data;
    assert.deepEqual(doc.parents, [projects]);
    await d.files.update({ fileId: doc.id!, requestBody: { name: 'Plan v2', starred: true } });
    await d.files.update({ fileId: doc.id!, addParents: archive, removeParents: projects });
    const second = await gaxiosError(d.files.update({ fileId: doc.id!, addParents: projects }));
    assert.equal(second.status, 403);
    assert.equal(reasonOf(second), 'cannotAddParent');
    const { changes, next } = await allChanges(d, start.startPageToken!);
    const byId = new Map(changes.map((c) => [c.fileId, c]));
    assert.equal(changes.length, 3, 'one change per file: its latest state');
    assert.deepEqual(byId.get(doc.id)!.file, { id: doc.id, name: 'Plan v2', trashed: false, parents: [archive], starred: true });

    // Sharing the folder with Ben: he sees it and what is inside.
    const perm = (await d.permissions.create({ fileId: archive, sendNotificationEmail: false, requestBody: { type: 'user', role: 'reader', emailAddress: BEN } })).data;
    const benView = await allChanges(b, benStart);
    assert.deepEqual(benView.changes.map((c) => c.fileId).sort(), [archive, doc.id].sort());
    const readerEdit = await gaxiosError(b.files.update({ fileId: doc.id!, requestBody: { name: 'Ben was here' } }));
    assert.equal(readerEdit.status, 403);
    assert.equal(reasonOf(readerEdit), 'insufficientFilePermissions');
    await b.files.update({ fileId: doc.id!, requestBody: { starred: true } }); // a star is the reader's own
    assert.equal(sb.drive.get(ANA, doc.id!)!.starred, true);

    // Trash (the folder, and with it the doc), then unshare: Ben's feed says removed.
    await d.files.update({ fileId: archive, requestBody: { trashed: true } });
    const trashed = await allChanges(d, next);
    assert.ok(trashed.changes.every((c) => !c.removed && c.file?.trashed === true));
    assert.equal(trashed.changes.length, 2);
    await d.permissions.delete({ fileId: archive, permissionId: perm.id! });
    const benGone = await allChanges(b, benView.next);
    assert.ok(benGone.changes.length === 2 && benGone.changes.every((c) => c.removed === true && c.file === undefined));
    assert.equal(sb.drive.get(BEN, doc.id!), undefined);
    const unshared = await allChanges(d, trashed.next);
    assert.deepEqual(unshared.changes.map((c) => c.fileId).sort(), [archive, doc.id].sort(), 'a sharing change is a change of the file (and of what is inside)');
    await d.files.delete({ fileId: projects });
    const deleted = await allChanges(d, unshared.next);
    assert.deepEqual(deleted.changes.map((c) => [c.fileId, c.removed]), [[projects, true]]);

    const bad = await gaxiosError(d.changes.list({ pageToken: 'nonsense' }));
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.response?.data.error.errors[0], { domain: 'global', reason: 'invalid', message: 'Invalid Value', location: 'pageToken', locationType: 'parameter' });
    sb.drive.expireChangeTokens(ANA);
    assert.equal((await gaxiosError(d.changes.list({ pageToken: deleted.next }))).status, 400, 'an expired token');
    assert.ok((await b.changes.list({ pageToken: benGone.next })).data.newStartPageToken, "Ben's tokens still work");
  });
});

test('generateIds and idempotent folder creates; permission validation errors', async () => {
  await withSandbox({}, async (sb) => {
    const d = driveFor(sb, ANA);
    const ids = (await d.files.generateIds({ count: 3, space: 'drive' })).data;
    assert.equal(ids.kind, 'drive#generatedIds');
    assert.equal(ids.ids!.length, 3);
    const id = ids.ids![0]!;
    const made = (await d.files.create({ requestBody: { id, name: 'Customers', mimeType: FOLDER, appProperties: { auroraId: 'a-1' } }, fields: 'id,name' })).data;
    assert.equal(made.id, id);
    const byProperty = (await d.files.list({ q: "appProperties has { key='auroraId' and value='a-1' }", fields: 'files(id,appProperties)' })).data.files;
    assert.deepEqual(byProperty, [{ id, appProperties: { auroraId: 'a-1' } }]);
    const again = await gaxiosError(d.files.create({ requestBody: { id, name: 'Customers', mimeType: FOLDER } }));
    assert.equal(again.status, 409);
    assert.equal(reasonOf(again), 'fileIdInUse');
    assert.equal(sb.drive.list(ANA).filter((f) => f.name === 'Customers').length, 1, 'a retried create makes no second folder');
    assert.equal(reasonOf(await gaxiosError(d.files.create({ requestBody: { id: '1made-up-id-not-generated-by-drive', name: 'x' } }))), 'fileIdNotUsable');

    const grant = { type: 'user', role: 'writer', emailAddress: 'carla.mendes@acme.test' };
    const p1 = (await d.permissions.create({ fileId: id, sendNotificationEmail: false, requestBody: grant })).data;
    const p2 = (await d.permissions.create({ fileId: id, sendNotificationEmail: false, requestBody: { ...grant, role: 'reader' } })).data;
    assert.equal(p2.id, p1.id, 'the grantee keeps one permission id');
    assert.equal(sb.drive.permissions(id).filter((p) => p.emailAddress === 'carla.mendes@acme.test').length, 1);
    assert.equal(sb.drive.permissions(id).find((p) => p.id === p1.id)!.role, 'reader');
    assert.equal(sb.drive.stats.notificationEmails, 0);

    const owner = await gaxiosError(d.permissions.create({ fileId: id, requestBody: { type: 'user', role: 'owner', emailAddress: BEN } }));
    assert.equal(owner.status, 403);
    assert.deepEqual(owner.response?.data.error.errors[0], {
      domain: 'global', reason: 'forbidden', message: "The transferOwnership parameter must be enabled when the permission role is 'owner'.", location: 'transferOwnership', locationType: 'parameter',
    });
    const badEmail = await gaxiosError(d.permissions.create({ fileId: id, sendNotificationEmail: false, requestBody: { type: 'user', role: 'reader', emailAddress: 'not-an-email' } }));
    assert.equal(badEmail.status, 400);
    assert.equal(reasonOf(badEmail), 'invalidSharingRequest');
    const noAccount = await gaxiosError(d.permissions.create({ fileId: id, sendNotificationEmail: false, requestBody: { type: 'user', role: 'reader', emailAddress: 'x@nowhere.example' } }));
    assert.match(noAccount.response!.data.error.message, /no Google account/);
    assert.equal(reasonOf(await gaxiosError(d.permissions.create({ fileId: id, requestBody: { type: 'anyone', role: 'organizer' } }))), 'invalidSharingRequest', 'organizer outside a shared drive');
    assert.equal(reasonOf(await gaxiosError(d.permissions.create({ fileId: id, requestBody: { type: 'domain', role: 'reader' } }))), 'required');
    const ownerPerm = sb.drive.permissions(id).find((p) => p.role === 'owner')!;
    const last = await gaxiosError(d.permissions.delete({ fileId: id, permissionId: ownerPerm.id }));
    assert.equal(last.status, 403);
    assert.equal(reasonOf(last), 'cannotRemoveOwner');
    assert.equal(reasonOf(await gaxiosError(d.permissions.update({ fileId: id, permissionId: p1.id!, requestBody: { role: 'owner' } }))), 'forbidden');
    assert.equal(sb.drive.permissions(id).length, 2, 'refused requests changed nothing');
    const domain = (await d.permissions.create({ fileId: id, requestBody: { type: 'domain', role: 'reader', domain: 'acme.test' } })).data;
    assert.match(domain.id!, /k$/);
    const list = (await d.permissions.list({ fileId: id })).data;
    assert.equal(list.kind, 'drive#permissionList');
    assert.equal(list.permissions!.length, 3);
    await d.permissions.update({ fileId: id, permissionId: p1.id!, requestBody: { role: 'commenter' } });
    await d.permissions.delete({ fileId: id, permissionId: p1.id! });
    assert.equal(reasonOf(await gaxiosError(d.permissions.get({ fileId: id, permissionId: p1.id! }))), 'notFound');
  });
});

test('changes.watch: a sync message, then `change` messages with the channel token; channels.stop ends them', async () => {
  const got: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    got.push(req.headers);
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    await withSandbox({}, async (sb) => {
      const d = driveFor(sb, ANA);
      const pageToken = (await d.changes.getStartPageToken({})).data.startPageToken!;
      const ch = (await d.changes.watch({ pageToken, ...ALL, requestBody: { id: 'drive-chan-1', type: 'web_hook', address, token: 'tok-1' } })).data;
      assert.equal(ch.kind, 'api#channel');
      assert.ok(ch.resourceId && ch.expiration);
      assert.match(ch.resourceUri!, /^https:\/\/www\.googleapis\.com\/drive\/v3\/changes\?/);
      await sb.channels.flush();
      sb.drive.userCreate(ANA, { name: 'Notes' });
      await sb.channels.flush();
      assert.deepEqual(got.map((h) => h['x-goog-resource-state']), ['sync', 'change']);
      assert.ok(got.every((h) => h['x-goog-channel-token'] === 'tok-1' && h['x-goog-channel-id'] === 'drive-chan-1' && h['x-goog-resource-id'] === ch.resourceId));
      sb.drive.userCreate(BEN, { name: 'Not Ana’s' });
      await sb.channels.flush();
      assert.equal(got.length, 2, "Ben's change is not on Ana's channel");
      await d.channels.stop({ requestBody: { id: ch.id, resourceId: ch.resourceId } });
      sb.drive.userCreate(ANA, { name: 'After stop' });
      await sb.channels.flush();
      assert.equal(got.length, 2);
      assert.equal((await gaxiosError(d.changes.watch({ pageToken: 'bad', requestBody: { id: 'x2', type: 'web_hook', address } }))).status, 400);
    });
  } finally {
    server.close();
  }
});

test('quota: per-user refusals are 403 userRateLimitExceeded (Drive pool, apart from Calendar)', async () => {
  await withSandbox({ drive: { quotas: { perUserPerMinute: 5 } } }, async (sb) => {
    const d = driveFor(sb, ANA);
    for (let i = 0; i < 5; i++) await d.files.list({});
    const e = await gaxiosError(d.files.list({}));
    assert.equal(e.status, 403);
    assert.equal(reasonOf(e), 'userRateLimitExceeded');
    assert.equal(e.response?.data.error.errors[0]?.domain, 'usageLimits');
    assert.ok((await driveFor(sb, BEN).files.list({})).data.files, 'another user has their own quota');
    assert.equal(sb.stats.quotaUnits.drive?.[ANA], 5);
  });
});
