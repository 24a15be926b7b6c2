/**
 * The Drive v3 module: mounts its routes on the core (their own `drive` request-quota pool), gives
 * every user a My Drive, turns file changes into `changes.watch` notifications (state `change`),
 * and offers the test-side helpers (seeding, shared drives, acting as a user in the Drive UI,
 * expiring change page tokens) and their admin HTTP routes.
 *
 * Deviations from Drive, on purpose:
 *   - no content: uploads (/upload/drive/v3), export, copy, revisions, comments and files.watch are
 *     not mounted (404); files.create makes metadata-only files;
 *   - permissions: only a file's own (direct) permissions are listed, never inherited ones (Drive
 *     lists inherited ones too, with permissionDetails.inherited); they still grant access to what
 *     is below a folder and in a shared drive; no expirations, no pending owners, no ownership
 *     transfer (role `owner` on create/update: Drive's 403 without transferOwnership, 400 with it);
 *   - a shared drive's members are the permissions of its root folder (files.get of the drive id);
 *     drive changes (`changeType: drive`) are not reported, the root folder's file changes are;
 *   - Google accounts: addresses on the Workspace domain, the seeded customers' domains and
 *     gmail.com; sharing with any other address without a notification email is refused, as Drive
 *     refuses addresses without a Google account;
 *   - files.list ignores orderBy (ascending id order); q supports the subset in query.ts;
 *   - modifiedTime moves on every change by an editor (name, parents, trash, content), not on stars;
 *   - moves between My Drive and a shared drive, or between shared drives, are refused.
 */
import { adminRouter, body, str } from '../admin';
import { notFound } from '../errors';
import { CUSTOMERS } from '../people';
import { quotaConfig } from '../quota';
import type { Core } from '../server';
import type { QuotaOptions } from '../types';
import { changesKey, registerDriveRoutes } from './routes';
import { planDrive } from './seed';
import { DriveStore, permissionIdFor, renderPermission, type FileRec } from './store';
import { FOLDER_MIME, type DriveOptions, type DriveRole, type DriveSandbox, type DriveStats } from './types';

export { DRIVE_SCOPES } from './routes';

export function mountDrive(core: Core, opts: DriveOptions, topLevelQuotas: boolean | QuotaOptions | undefined): DriveSandbox {
  const quotas = quotaConfig(opts.quotas ?? (topLevelQuotas === false ? false : true), { perUserPerMinute: 12_000, perProjectPerMinute: 12_000, mode: 'mixed' });
  core.quota.addPool('drive', { ...quotas, service: 'drive.googleapis.com', projectNumber: core.auth.projectNumber });
  const isServiceAccount = (email: string) => email.endsWith('.iam.gserviceaccount.com');
  const googleDomains = new Set([core.auth.domain, 'gmail.com', ...CUSTOMERS.map((c) => c.domain)]);
  const users = () => core.auth.users().filter((u) => !isServiceAccount(u));
  const store = new DriveStore(core.prng('drive'), users, googleDomains, opts.changeRetention);
  const stats: DriveStats = { notificationEmails: 0 };
  store.onChange = (affected) => {
    for (const u of affected) core.channels.notify(changesKey(u));
  };
  core.auth.onAccount((email) => {
    googleDomains.add(email.slice(email.indexOf('@') + 1));
    if (!isServiceAccount(email)) store.ensureUser(email);
  });
  registerDriveRoutes(core, store, stats);

  const user = (u: string) => {
    const e = core.auth.user(u);
    store.ensureUser(e);
    return e;
  };
  const file = (u: string, id: string): FileRec => store.visible(u, id, true);
  const seedCalls = new Map<string, number>();

  const api: DriveSandbox = {
    seed(u, count, o = {}) {
      const owner = user(u);
      if (!Number.isInteger(count) || count < 0 || count > 200_000) throw new Error('count must be an integer 0..200000');
      const root = o.driveId ? file(owner, o.driveId) : store.files.get(store.rootOf(owner))!;
      if (o.driveId && root.root !== 'shared-drive') throw new Error(`${o.driveId} is not a shared drive`);
      const call = (seedCalls.get(`${owner}:${root.id}`) ?? 0) + 1;
      seedCalls.set(`${owner}:${root.id}`, call);
      const plan = planDrive({
        prng: core.prng(`drive-seed:${owner}:${root.id}:${call}`),
        owner,
        domain: core.auth.domain,
        otherUsers: users().filter((x) => x !== owner),
        count,
        folders: o.folders,
        depth: o.depth,
        shared: Boolean(o.driveId),
      });
      const made: FileRec[] = [];
      const folderIds: string[] = [];
      const make = (item: (typeof plan.files)[number], parentId: string): FileRec => {
        const f = store.insert({
          id: store.newId(),
          name: item.name,
          mimeType: item.mimeType,
          parents: [parentId],
          driveId: root.driveId,
          owner: root.driveId ? undefined : owner,
          createdTime: item.createdTime,
          modifiedTime: item.modifiedTime,
          modifiedBy: item.modifiedBy,
          size: item.size,
          trashed: item.trashed,
        });
        if (!root.driveId) f.permissions.push(store.userPerm(owner, 'owner'));
        for (const s of item.shares) {
          f.permissions.push({
            id: s.type === 'anyone' ? 'anyoneWithLink' : permissionIdFor(s.type, s.emailAddress ?? s.domain),
            type: s.type,
            role: s.role,
            ...(s.emailAddress ? { emailAddress: s.emailAddress } : {}),
            ...(s.domain ? { domain: s.domain, allowFileDiscovery: false } : {}),
            ...(s.type === 'anyone' ? { allowFileDiscovery: false } : {}),
          });
        }
        if (item.starred) f.starredBy.add(owner);
        made.push(f);
        return f;
      };
      for (const fo of plan.folders) {
        const f = make({ ...fo, mimeType: FOLDER_MIME, size: undefined, parent: fo.parent }, fo.parent < 0 ? root.id : folderIds[fo.parent]!);
        folderIds.push(f.id);
      }
      for (const it of plan.files) make(it, it.parent < 0 ? root.id : folderIds[it.parent]!);
      // what is in a trashed folder is trashed too
      for (const f of made) if (f.trashed && f.mimeType === FOLDER_MIME) for (const x of store.subtree(f)) x.trashed = true;
      store.record(
        made.map((f) => f.id),
        false,
      );
      return made.map((f) => store.render(f, owner));
    },
    addSharedDrive(u, name, members = {}) {
      const owner = user(u);
      for (const m of Object.keys(members)) if (core.auth.users().includes(m.toLowerCase())) store.ensureUser(m.toLowerCase());
      return DriveStore.driveInfo(store.addDrive(owner, name, members));
    },
    sharedDrives(u) {
      return store.drivesOf(user(u)).map(DriveStore.driveInfo);
    },
    rootId(u) {
      return store.rootOf(user(u));
    },
    userCreate(u, input) {
      const e = user(u);
      return store.render(store.create(e, { ...input }, true), e);
    },
    userUpdate(u, fileId, patch) {
      const e = user(u);
      const { addParents = [], removeParents = [], ...body } = patch;
      return store.render(store.update(e, file(e, fileId), body, addParents, removeParents, true), e);
    },
    userDelete(u, fileId) {
      const e = user(u);
      store.remove(e, file(e, fileId));
    },
    userShare(u, fileId, p) {
      const e = user(u);
      return renderPermission(store.share(e, file(e, fileId), { ...p }, { transferOwnership: false, sendNotificationEmail: false }));
    },
    userUpdatePermission(u, fileId, permissionId, role: DriveRole) {
      const e = user(u);
      return renderPermission(store.changeRole(e, file(e, fileId), permissionId, { role }, false));
    },
    userUnshare(u, fileId, permissionId) {
      const e = user(u);
      store.unshare(e, file(e, fileId), permissionId);
    },
    get(u, fileId) {
      const e = user(u);
      try {
        return store.render(file(e, fileId), e);
      } catch {
        return undefined;
      }
    },
    list(u) {
      const e = user(u);
      return store
        .sortedIds()
        .map((id) => store.files.get(id)!)
        .filter((f) => !f.deleted && !f.root && store.canSee(e, f))
        .map((f) => store.render(f, e));
    },
    permissions(fileId) {
      const f = store.files.get(fileId);
      if (!f || f.deleted) throw new Error(`no file ${fileId}`);
      return f.permissions.map(renderPermission);
    },
    expireChangeTokens(u) {
      store.expireTokens(u === undefined ? undefined : user(u));
    },
    get stats() {
      return { ...stats };
    },
  };
  adminDriveRoutes(core, api);
  return api;
}

/**
 * Drive's admin HTTP API (no auth, no quotas, no faults): what `sandbox.drive` offers in-process.
 *
 *   POST   /_sandbox/google/drive/:user/seed        {count, folders?, depth?, driveId?}   201 {count, ids}
 *   GET    /_sandbox/google/drive/:user/drives                                            {drives}
 *   POST   /_sandbox/google/drive/:user/drives      {name, members?: {email: role}}       201 drive
 *   GET    /_sandbox/google/drive/:user/files                                             {files} (as the user sees them)
 *   GET    /_sandbox/google/drive/:user/files/:fileId                                     the file (404 when not visible)
 *   -- act as the user in the Drive UI (change feed and notifications as for API writes):
 *   POST   /_sandbox/google/drive/:user/files       {name, mimeType?, parents?}           201 file
 *   PATCH  /_sandbox/google/drive/:user/files/:fileId   {name?, starred?, trashed?, addParents?, removeParents?}  file
 *   DELETE /_sandbox/google/drive/:user/files/:fileId                                     204 (permanently)
 *   GET    /_sandbox/google/drive/files/:fileId/permissions                               {permissions}
 *   POST   /_sandbox/google/drive/:user/files/:fileId/permissions   {type, role, emailAddress?, domain?}  201 permission
 *   PATCH  /_sandbox/google/drive/:user/files/:fileId/permissions/:permissionId   {role}   permission
 *   DELETE /_sandbox/google/drive/:user/files/:fileId/permissions/:permissionId            204
 *   POST   /_sandbox/google/drive/expire-change-tokens   {user?}                          204
 *   GET    /_sandbox/google/drive/stats                                                   {notificationEmails}
 */
function adminDriveRoutes(core: Core, drive: DriveSandbox): void {
  const route = adminRouter(core.app);
  const D = '/_sandbox/google/drive';
  const U = `${D}/:user`;
  type P = Record<string, string>;
  const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String));
  route('POST', `${U}/seed`, (req, reply) => {
    const b = body(req);
    const num = (v: unknown) => (v === undefined ? undefined : Number(v));
    const files = drive.seed((req.params as P).user!, Number(b.count ?? 0), { folders: num(b.folders), depth: num(b.depth), driveId: b.driveId === undefined ? undefined : str(b.driveId, 'driveId') });
    reply.code(201);
    return { count: files.length, ids: files.map((f) => f.id) };
  });
  route('GET', `${U}/drives`, (req) => ({ drives: drive.sharedDrives((req.params as P).user!) }));
  route('POST', `${U}/drives`, (req, reply) => {
    const b = body(req);
    const members = (b.members && typeof b.members === 'object' ? b.members : {}) as Record<string, DriveRole>;
    reply.code(201);
    return drive.addSharedDrive((req.params as P).user!, str(b.name, 'name'), members);
  });
  route('GET', `${U}/files`, (req) => ({ files: drive.list((req.params as P).user!) }));
  route('GET', `${U}/files/:fileId`, (req) => {
    const p = req.params as P;
    const f = drive.get(p.user!, p.fileId!);
    if (!f) throw notFound();
    return f;
  });
  route('POST', `${U}/files`, (req, reply) => {
    const b = body(req);
    reply.code(201);
    return drive.userCreate((req.params as P).user!, { name: str(b.name, 'name'), mimeType: b.mimeType === undefined ? undefined : str(b.mimeType, 'mimeType'), parents: list(b.parents) });
  });
  route('PATCH', `${U}/files/:fileId`, (req) => {
    const p = req.params as P;
    const b = body(req);
    return drive.userUpdate(p.user!, p.fileId!, {
      ...(b.name !== undefined ? { name: String(b.name) } : {}),
      ...(typeof b.starred === 'boolean' ? { starred: b.starred } : {}),
      ...(typeof b.trashed === 'boolean' ? { trashed: b.trashed } : {}),
      addParents: list(b.addParents),
      removeParents: list(b.removeParents),
    });
  });
  route('DELETE', `${U}/files/:fileId`, (req) => {
    const p = req.params as P;
    drive.userDelete(p.user!, p.fileId!);
    return undefined;
  });
  route('GET', `${D}/files/:fileId/permissions`, (req) => ({ permissions: drive.permissions((req.params as P).fileId!) }));
  route('POST', `${U}/files/:fileId/permissions`, (req, reply) => {
    const p = req.params as P;
    const b = body(req);
    reply.code(201);
    return drive.userShare(p.user!, p.fileId!, b as never);
  });
  route('PATCH', `${U}/files/:fileId/permissions/:permissionId`, (req) => {
    const p = req.params as P;
    return drive.userUpdatePermission(p.user!, p.fileId!, p.permissionId!, str(body(req).role, 'role') as DriveRole);
  });
  route('DELETE', `${U}/files/:fileId/permissions/:permissionId`, (req) => {
    const p = req.params as P;
    drive.userUnshare(p.user!, p.fileId!, p.permissionId!);
    return undefined;
  });
  route('POST', `${D}/expire-change-tokens`, (req) => {
    const b = body(req);
    drive.expireChangeTokens(b.user === undefined ? undefined : str(b.user, 'user'));
    return undefined;
  });
  route('GET', `${D}/stats`, () => drive.stats);
}
