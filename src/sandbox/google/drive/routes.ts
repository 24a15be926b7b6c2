/**
 * Drive v3 routes (all under /drive/v3, their own `drive` quota pool, one request = one unit):
 *
 *   GET    /drive/v3/about                                   the user (fields honoured)
 *   GET    /drive/v3/files                                   files.list (q, corpora, driveId, includeItemsFromAllDrives, pageSize ≤ 1000, fields)
 *   POST   /drive/v3/files                                   files.create, metadata only (id from generateIds)
 *   GET    /drive/v3/files/generateIds                       {kind, space, ids}
 *   GET    /drive/v3/files/:fileId                           files.get ('root' = My Drive)
 *   PATCH  /drive/v3/files/:fileId                           files.update (addParents, removeParents)
 *   DELETE /drive/v3/files/:fileId                           files.delete (permanent)
 *   GET    /drive/v3/files/:fileId/permissions               permissions.list (pageSize ≤ 100)
 *   POST   /drive/v3/files/:fileId/permissions               permissions.create (sendNotificationEmail, transferOwnership)
 *   GET    /drive/v3/files/:fileId/permissions/:permissionId
 *   PATCH  /drive/v3/files/:fileId/permissions/:permissionId permissions.update
 *   DELETE /drive/v3/files/:fileId/permissions/:permissionId
 *   GET    /drive/v3/drives                                  shared drives the user is a member of
 *   GET    /drive/v3/drives/:driveId
 *   GET    /drive/v3/changes/startPageToken
 *   GET    /drive/v3/changes                                 changes.list (pageToken required)
 *   POST   /drive/v3/changes/watch                           push channel (state `change`)
 *   POST   /drive/v3/channels/stop
 */
import { createHash } from 'node:crypto';
import { GoogleError, invalid, required } from '../errors';
import { qBool, qInt, qList, qString, type ApiContext, type Core } from '../server';
import { parseFields, parseQuery, selectFields, type FieldTree } from './query';
import { displayNameOf, DriveStore, permissionIdFor, renderPermission, type FileRec } from './store';

const V3 = '/drive/v3';
const DRIVE = 'https://www.googleapis.com/auth/drive';
export const DRIVE_SCOPES = {
  drive: DRIVE,
  readonly: `${DRIVE}.readonly`,
  metadata: `${DRIVE}.metadata`,
  metadataReadonly: `${DRIVE}.metadata.readonly`,
  file: `${DRIVE}.file`,
} as const;
const READ = [DRIVE, DRIVE_SCOPES.readonly, DRIVE_SCOPES.metadata, DRIVE_SCOPES.metadataReadonly, DRIVE_SCOPES.file];
const WRITE = [DRIVE, DRIVE_SCOPES.metadata, DRIVE_SCOPES.file];
const SHARE = [DRIVE, DRIVE_SCOPES.file];
const QUOTA = { quota: { pool: 'drive' } };

const FILE_DEFAULT = parseFields('kind,id,name,mimeType');
const LIST_DEFAULT = parseFields('kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)');
const CHANGES_DEFAULT = parseFields('kind,nextPageToken,newStartPageToken,changes(kind,type,changeType,time,removed,fileId,driveId,file(kind,id,name,mimeType))');
const PERMISSION_DEFAULT = parseFields('kind,id,type,emailAddress,domain,role,displayName,allowFileDiscovery,deleted');
const PERMISSIONS_DEFAULT = parseFields('kind,nextPageToken,permissions(kind,id,type,emailAddress,domain,role,displayName,allowFileDiscovery,deleted)');

const fieldsOf = (ctx: ApiContext, dflt: FieldTree | null): FieldTree | null => {
  const f = qString(ctx.query, 'fields');
  return f === undefined ? dflt : parseFields(f);
};

const ok = (body: unknown, tree: FieldTree | null) => ({ status: 200, body: selectFields(body, tree) });

const obj = (v: unknown): Record<string, unknown> => {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid JSON payload received.');
  return v as Record<string, unknown>;
};

const idList = (ctx: ApiContext, name: string): string[] =>
  qList(ctx.query, name)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

/** files.list page tokens: the last id of the page, bound to the query they belong to. */
function listToken(lastId: string, key: string): string {
  return Buffer.from(JSON.stringify({ a: lastId, k: key })).toString('base64url');
}
function readListToken(token: string, key: string): string {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown; k?: unknown };
    if (typeof t.a === 'string' && t.k === key) return t.a;
  } catch {
    // fall through
  }
  throw invalid('Invalid Value', { location: 'pageToken', locationType: 'parameter' });
}

export function registerDriveRoutes(core: Core, store: DriveStore, stats: { notificationEmails: number }): void {
  const me = (ctx: ApiContext) => {
    store.ensureUser(ctx.principal.email);
    return ctx.principal.email;
  };
  const allDrives = (ctx: ApiContext) => qBool(ctx.query, 'supportsAllDrives') === true || qBool(ctx.query, 'supportsTeamDrives') === true;
  const fileOf = (ctx: ApiContext): FileRec => store.visible(me(ctx), ctx.params.fileId!, allDrives(ctx));

  core.route('GET', `${V3}/about`, READ, (ctx) => {
    const user = me(ctx);
    const about = {
      kind: 'drive#about',
      user: { kind: 'drive#user', emailAddress: user, displayName: displayNameOf(user), me: true, permissionId: permissionIdFor('user', user) },
      rootFolderId: store.rootOf(user),
    };
    return ok(about, fieldsOf(ctx, parseFields('kind,user')));
  }, QUOTA);

  core.route('GET', `${V3}/files`, READ, (ctx) => {
    const user = me(ctx);
    const pageSize = qInt(ctx.query, 'pageSize', 1, 1000) ?? 100;
    const corpora = qString(ctx.query, 'corpora') ?? 'user';
    const driveId = qString(ctx.query, 'driveId');
    const includeAll = qBool(ctx.query, 'includeItemsFromAllDrives') === true || qBool(ctx.query, 'includeTeamDriveItems') === true;
    if (!['user', 'drive', 'allDrives', 'domain'].includes(corpora)) throw invalid('Invalid Value', { location: 'corpora', locationType: 'parameter' });
    if ((corpora === 'drive' || corpora === 'allDrives' || driveId) && !(includeAll && allDrives(ctx))) {
      throw GoogleError.of(403, 'teamDriveInclusionRequired', 'The includeItemsFromAllDrives and supportsAllDrives parameters must be set to true when corpora is drive or allDrives.');
    }
    if (corpora === 'drive' && !driveId) throw required('Required parameter: driveId', { location: 'driveId', locationType: 'parameter' });
    if (driveId && !store.drives.has(driveId)) throw GoogleError.of(404, 'notFound', `Shared drive not found: ${driveId}`, { location: 'driveId', locationType: 'parameter' });
    const spaces = qString(ctx.query, 'spaces') ?? 'drive';
    const q = qString(ctx.query, 'q');
    const match = parseQuery(q);
    const tree = fieldsOf(ctx, LIST_DEFAULT);
    const key = createHash('sha256').update(JSON.stringify([user, q ?? '', corpora, driveId ?? '', includeAll, spaces])).digest('hex').slice(0, 16);
    const token = qString(ctx.query, 'pageToken');
    const after = token ? readListToken(token, key) : undefined;
    const ids = store.sortedIds();
    let lo = 0;
    if (after !== undefined) {
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ids[mid]! <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    const files: unknown[] = [];
    let last: string | undefined;
    let more = false;
    if (spaces.split(',').includes('drive')) {
      for (let i = lo; i < ids.length; i++) {
        const f = store.files.get(ids[i]!)!;
        if (f.deleted || f.root) continue;
        if (corpora === 'drive' ? f.driveId !== driveId : f.driveId && (corpora !== 'allDrives' || !includeAll)) continue;
        if (!store.canSee(user, f)) continue;
        const target = { name: f.name, mimeType: f.mimeType, trashed: f.trashed, starred: f.starredBy.has(user), parents: f.parents, owners: f.owner ? [f.owner] : [], modifiedTime: f.modifiedTime, createdTime: f.createdTime, appProperties: f.appProperties };
        if (!match(target)) continue;
        if (files.length === pageSize) {
          more = true;
          break;
        }
        files.push(store.render(f, user));
        last = f.id;
      }
    }
    const body: Record<string, unknown> = { kind: 'drive#fileList', incompleteSearch: false, files };
    if (more && last) body.nextPageToken = listToken(last, key);
    return ok(body, tree);
  }, QUOTA);

  core.route('GET', `${V3}/files/generateIds`, WRITE, (ctx) => {
    me(ctx);
    const count = qInt(ctx.query, 'count', 1, 1000) ?? 10;
    const space = qString(ctx.query, 'space') ?? 'drive';
    if (space !== 'drive') throw invalid('Invalid Value', { location: 'space', locationType: 'parameter' });
    const type = qString(ctx.query, 'type') ?? 'files';
    if (type !== 'files') throw invalid('Invalid Value', { location: 'type', locationType: 'parameter' });
    return ok({ kind: 'drive#generatedIds', space, ids: store.generateIds(count) }, fieldsOf(ctx, null));
  }, QUOTA);

  core.route('POST', `${V3}/files`, WRITE, (ctx) => {
    const user = me(ctx);
    const f = store.create(user, obj(ctx.json()), allDrives(ctx));
    return ok(store.render(f, user), fieldsOf(ctx, FILE_DEFAULT));
  }, QUOTA);

  core.route('GET', `${V3}/files/:fileId`, READ, (ctx) => {
    const f = fileOf(ctx);
    return ok(store.render(f, me(ctx)), fieldsOf(ctx, FILE_DEFAULT));
  }, QUOTA);

  core.route('PATCH', `${V3}/files/:fileId`, WRITE, (ctx) => {
    const user = me(ctx);
    const f = fileOf(ctx);
    const updated = store.update(user, f, obj(ctx.json()), idList(ctx, 'addParents'), idList(ctx, 'removeParents'), allDrives(ctx));
    return ok(store.render(updated, user), fieldsOf(ctx, FILE_DEFAULT));
  }, QUOTA);

  core.route('DELETE', `${V3}/files/:fileId`, WRITE, (ctx) => {
    store.remove(me(ctx), fileOf(ctx));
    return { status: 204 };
  }, QUOTA);

  // ---- permissions -------------------------------------------------------------------------------

  core.route('GET', `${V3}/files/:fileId/permissions`, READ, (ctx) => {
    const f = fileOf(ctx);
    const pageSize = qInt(ctx.query, 'pageSize', 1, 100) ?? 100;
    const start = qString(ctx.query, 'pageToken');
    let offset = 0;
    if (start !== undefined) {
      offset = /^\d+$/.test(start) ? Number(start) : -1;
      if (offset < 0 || offset > f.permissions.length) throw invalid('Invalid Value', { location: 'pageToken', locationType: 'parameter' });
    }
    const page = f.permissions.slice(offset, offset + pageSize).map(renderPermission);
    const body: Record<string, unknown> = { kind: 'drive#permissionList', permissions: page };
    if (offset + pageSize < f.permissions.length) body.nextPageToken = String(offset + pageSize);
    return ok(body, fieldsOf(ctx, PERMISSIONS_DEFAULT));
  }, QUOTA);

  core.route('POST', `${V3}/files/:fileId/permissions`, SHARE, (ctx) => {
    const user = me(ctx);
    const f = fileOf(ctx);
    const notify = qBool(ctx.query, 'sendNotificationEmail');
    const transferOwnership = qBool(ctx.query, 'transferOwnership') === true;
    const body = obj(ctx.json());
    const p = store.share(user, f, body, { transferOwnership, sendNotificationEmail: notify !== false });
    // Drive emails user and group grantees unless told not to.
    if (notify !== false && (p.type === 'user' || p.type === 'group')) stats.notificationEmails++;
    return ok(renderPermission(p), fieldsOf(ctx, PERMISSION_DEFAULT));
  }, QUOTA);

  core.route('GET', `${V3}/files/:fileId/permissions/:permissionId`, READ, (ctx) => {
    const f = fileOf(ctx);
    return ok(renderPermission(store.permission(f, ctx.params.permissionId!)), fieldsOf(ctx, PERMISSION_DEFAULT));
  }, QUOTA);

  core.route('PATCH', `${V3}/files/:fileId/permissions/:permissionId`, SHARE, (ctx) => {
    const user = me(ctx);
    const f = fileOf(ctx);
    const p = store.changeRole(user, f, ctx.params.permissionId!, obj(ctx.json()), qBool(ctx.query, 'transferOwnership') === true);
    return ok(renderPermission(p), fieldsOf(ctx, PERMISSION_DEFAULT));
  }, QUOTA);

  core.route('DELETE', `${V3}/files/:fileId/permissions/:permissionId`, SHARE, (ctx) => {
    store.unshare(me(ctx), fileOf(ctx), ctx.params.permissionId!);
    return { status: 204 };
  }, QUOTA);

  // ---- shared drives -------------------------------------------------------------------------------

  core.route('GET', `${V3}/drives`, READ, (ctx) => {
    const user = me(ctx);
    const pageSize = qInt(ctx.query, 'pageSize', 1, 100) ?? 10;
    const start = qString(ctx.query, 'pageToken');
    const all = store.drivesOf(user);
    const offset = start === undefined ? 0 : /^\d+$/.test(start) ? Number(start) : -1;
    if (offset < 0 || offset > all.length) throw invalid('Invalid Value', { location: 'pageToken', locationType: 'parameter' });
    const body: Record<string, unknown> = { kind: 'drive#driveList', drives: all.slice(offset, offset + pageSize).map(DriveStore.driveInfo) };
    if (offset + pageSize < all.length) body.nextPageToken = String(offset + pageSize);
    return ok(body, fieldsOf(ctx, null));
  }, QUOTA);

  core.route('GET', `${V3}/drives/:driveId`, READ, (ctx) => {
    const user = me(ctx);
    const d = store.drives.get(ctx.params.driveId!);
    if (!d || !store.drivesOf(user).includes(d)) throw GoogleError.of(404, 'notFound', `Shared drive not found: ${ctx.params.driveId}`, { location: 'driveId', locationType: 'parameter' });
    return ok(DriveStore.driveInfo(d), fieldsOf(ctx, null));
  }, QUOTA);

  // ---- changes -------------------------------------------------------------------------------------

  core.route('GET', `${V3}/changes/startPageToken`, READ, (ctx) => {
    me(ctx);
    return ok({ kind: 'drive#startPageToken', startPageToken: store.startPageToken }, fieldsOf(ctx, null));
  }, QUOTA);

  core.route('GET', `${V3}/changes`, READ, (ctx) => {
    const user = me(ctx);
    const token = qString(ctx.query, 'pageToken');
    if (token === undefined || token === '') throw required('Required parameter: pageToken', { location: 'pageToken', locationType: 'parameter' });
    const from = store.tokenPosition(user, token);
    const pageSize = qInt(ctx.query, 'pageSize', 1, 1000) ?? 100;
    const includeRemoved = qBool(ctx.query, 'includeRemoved') ?? true;
    const restrictToMyDrive = qBool(ctx.query, 'restrictToMyDrive') === true;
    const includeAll = (qBool(ctx.query, 'includeItemsFromAllDrives') === true || qBool(ctx.query, 'includeTeamDriveItems') === true) && allDrives(ctx);
    const driveId = qString(ctx.query, 'driveId');
    const tree = fieldsOf(ctx, CHANGES_DEFAULT);
    const changes: unknown[] = [];
    let nextPageToken: string | undefined;
    for (const e of store.changesFrom(from)) {
      const f = store.files.get(e.fileId)!;
      if (f.root === 'my-drive' && f.owner !== user) continue;
      if (driveId ? f.driveId !== driveId : f.driveId && (!includeAll || restrictToMyDrive)) continue;
      const live = !f.deleted && store.canSee(user, f);
      if (!live && (!includeRemoved || !f.seenBy.has(user))) continue;
      if (changes.length === pageSize) {
        nextPageToken = String(e.seq);
        break;
      }
      const c: Record<string, unknown> = { kind: 'drive#change', type: 'file', changeType: 'file', time: new Date(e.time).toISOString(), removed: !live, fileId: f.id };
      if (live) c.file = store.render(f, user);
      if (f.driveId) c.driveId = f.driveId;
      changes.push(c);
    }
    const body: Record<string, unknown> = { kind: 'drive#changeList', changes };
    if (nextPageToken) body.nextPageToken = nextPageToken;
    else body.newStartPageToken = store.startPageToken;
    return ok(body, tree);
  }, QUOTA);

  core.route('POST', `${V3}/changes/watch`, READ, (ctx) => {
    const user = me(ctx);
    const token = qString(ctx.query, 'pageToken');
    if (token === undefined || token === '') throw required('Required parameter: pageToken', { location: 'pageToken', locationType: 'parameter' });
    store.tokenPosition(user, token);
    const channel = core.channels.open(user, ctx.json(), {
      key: changesKey(user),
      resourceId: createHash('sha256').update(`drive-changes:${user}`).digest('base64url').slice(0, 27),
      resourceUri: `https://www.googleapis.com/drive/v3/changes?alt=json&pageToken=${encodeURIComponent(token)}`,
      changeState: 'change',
    });
    return { status: 200, body: channel };
  }, QUOTA);

  core.route('POST', `${V3}/channels/stop`, READ, (ctx) => {
    core.channels.stop(ctx.json());
    return { status: 204 };
  }, QUOTA);
}

export const changesKey = (user: string): string => `drive:changes:${user}`;
