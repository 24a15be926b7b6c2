/**
 * Google Drive two-way for one user: files and folders (drive_file) and their permissions
 * (drive_permission), each with its own position in Drive's change feed.
 *
 * Pull: a full listing takes changes.getStartPageToken first, then lists the roots (My Drive and
 * each shared drive's root folder), the folders parents-first (so every folder's parent is known
 * before it arrives and the tree links up), then the other files, in pages of 1,000; later runs read
 * changes.list from the stored token to newStartPageToken (removed → a deletion, trashed → trashed,
 * the rest upserted; within a page parents before children). An invalid page token →
 * CursorExpiredError (the engine's full resync behind its mass-delete guard). Permissions: every
 * file the user can share, read from files.list (My Drive) or permissions.list (shared drives);
 * incrementally re-read for the files changes.list names. A permission gone from a file is found by
 * the grantees seen so far (Drive's permission ids are the grantee's), kept in the cursor.
 *
 * Writes: rename, move (addParents/removeParents against the last synced parents), star,
 * trash/untrash (an Aurora delete trashes, never deletes), create a folder (id from
 * files.generateIds, kept before the call; written once as appProperties.auroraId so a retry in
 * any process finds it); grant (looks for the grantee's permission first), change a role, revoke.
 * Ownership is never transferred. Drive v3 has no If-Match: an update reads the file first and
 * reports a change since the last synced version (kept as the etag) as changedExternally (policy decides).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../../core/errors';
import { canonicalize, type Canonical } from '../../../core/model';
import {
  CursorExpiredError,
  type ChangeCursor,
  type ChangePage,
  type ExternalDeletion,
  type ExternalRecord,
  type OpenChannelRequest,
  type PushChannel,
  type WriteCreate,
  type WriteDelete,
  type WriteOutcome,
  type WriteUpdate,
} from '../../types';
import { isGoogleApiError, type GoogleApiError } from '../errors';
import type { GoogleProduct, GoogleSession } from '../session';
import { DriveClient, FILES_PAGE_SIZE, type DriveSettings } from './client';
import { DRIVE_FILE, DRIVE_FILE_TYPE, DRIVE_PERMISSION, DRIVE_PERMISSION_TYPE, FILE_READ_ONLY_FIELDS, FOLDER_MIME } from './entities';
import {
  AURORA_ID_PROPERTY,
  granteeKey,
  InvalidDriveWriteError,
  ownPermissions,
  parsePermissionExternalId,
  permissionExternalId,
  splitIds,
  toFileCanonical,
  toFileRecord,
  toFolderBody,
  toPermissionBody,
  toPermissionCanonical,
  toPermissionRecord,
  type DriveFile,
  type DrivePermission,
} from './mapping';

/** Position in one user's Drive change feed, for one entity type. */
export interface DriveCursor extends ChangeCursor {
  v: 1;
  /** the changes.list page token to read from (after a full listing: the start token taken before it) */
  token?: string;
  /**
   * a full listing under way (only a resumed run continues it): the start token, the phase, and
   * where the files phase is (the corpus, 'user' or a shared drive id, and its files.list page)
   */
  full?: { start: string; phase: 'tree' | 'files'; at?: ListPosition };
  /** drive_permission: the permission ids seen so far (the grantees), to tell a revoked one */
  principals?: string[];
}

/** A place in a listing: the corpus ('user', or a shared drive's id) and the files.list page in it. */
export interface ListPosition {
  corpus: string;
  pageToken?: string;
}

const USER_CORPUS = 'user';
/**
 * Grantees kept in the permission cursor (it travels through workflow history: ~22 bytes each). Past
 * this, new grantees' revocations are found by the next full listing only.
 */
const MAX_PRINCIPALS = 2000;
const MAX_LEDGER = 100_000;
const FOLDER_Q = `mimeType = '${FOLDER_MIME}'`;
const NOT_FOLDER_Q = `mimeType != '${FOLDER_MIME}'`;
const PERMISSION_LIST_FIELDS = 'id,mimeType,driveId,capabilities(canShare),permissions(id,type,role,emailAddress,domain,displayName,allowFileDiscovery,deleted,permissionDetails(inherited))';

export function parseDriveCursor(cursor: ChangeCursor | null): DriveCursor | null {
  if (!cursor) return null;
  const c = cursor as Partial<DriveCursor>;
  const out: DriveCursor = { v: 1 };
  if (typeof c.token === 'string' && c.token) out.token = c.token;
  if (c.full && typeof c.full === 'object' && typeof c.full.start === 'string') {
    const at = c.full.at && typeof c.full.at.corpus === 'string' ? { corpus: c.full.at.corpus, ...(typeof c.full.at.pageToken === 'string' ? { pageToken: c.full.at.pageToken } : {}) } : undefined;
    out.full = { start: c.full.start, phase: c.full.phase === 'files' ? 'files' : 'tree', ...(at ? { at } : {}) };
  }
  if (Array.isArray(c.principals)) out.principals = c.principals.filter((p): p is string => typeof p === 'string');
  return out;
}

/**
 * The records in an order where every folder comes after the folders it is in (when those are
 * among them): levels by depth. Records whose parents are not among them are level 0.
 */
export function parentsFirst(records: ExternalRecord[]): ExternalRecord[][] {
  const byId = new Map(records.map((r) => [r.externalId, r]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, trail: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const r = byId.get(id)!;
    let d = 0;
    for (const p of splitIds(r.fields.parents)) {
      if (byId.has(p) && !trail.has(p)) d = Math.max(d, depthOf(p, new Set([...trail, id])) + 1);
    }
    depth.set(id, d);
    return d;
  };
  const levels: ExternalRecord[][] = [];
  for (const r of records) (levels[depthOf(r.externalId, new Set([r.externalId]))] ??= []).push(r);
  return levels.filter(Boolean);
}

const chunks = <T>(list: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
};

const pick = (fields: Canonical, names: readonly string[]): Canonical => Object.fromEntries(names.filter((n) => n in fields).map((n) => [n, fields[n] ?? null]));

export class DriveProduct implements GoogleProduct {
  readonly entityTypes = [DRIVE_FILE_TYPE, DRIVE_PERMISSION_TYPE] as const;
  private readonly client: DriveClient;
  /** Aurora id → the Drive id chosen for its folder, kept before files.create (a retry reuses it) */
  private readonly ledger = new Map<string, string>();
  /**
   * `<fileId>|<grantee>` → the Aurora id of a grant this process sent, kept before the call:
   * Drive permissions carry no property to write it into, so a pull that sees the grant before the
   * answer came back links it by this (a retried grant finds the permission by its grantee).
   */
  private readonly grants = new Map<string, string>();

  constructor(
    private readonly session: GoogleSession,
    private readonly settings: DriveSettings,
  ) {
    this.client = new DriveClient(session, settings);
  }

  private upstream(what: string, e: GoogleApiError): ApplicationFailure {
    return ApplicationFailure.create({ type: ErrorType.Upstream, message: `Google Drive could not ${what} for ${this.session.user}: ${e.describe()}` });
  }

  // ---- change feeds --------------------------------------------------------------------------------

  listChanges(type: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    const prev = parseDriveCursor(cursor);
    // A full listing continues only when resumed; a stored token reads the change feed; else a new listing.
    const resumedListing = resume && prev?.full ? prev : null;
    const incremental = !resumedListing && prev?.token ? prev : null;
    if (type === DRIVE_PERMISSION_TYPE) return incremental ? this.permissionChanges(incremental) : this.permissionListing(resumedListing, prev?.principals);
    return incremental ? this.fileChanges(incremental) : this.fileListing(resumedListing);
  }

  /** The corpora listed one by one: the user's, then each shared drive's (ascending ids). */
  private async corpora(): Promise<string[]> {
    return [USER_CORPUS, ...(await this.client.listDrives()).map((d) => d.id!).filter(Boolean).sort()];
  }

  /**
   * files.list over every corpus, page by page, from `from` on; `next` is where the page after this
   * one starts (undefined: this was the last). A corpus gone since `from` was taken is skipped.
   */
  private async *listAll(q: string | undefined, fields: string | undefined, from?: ListPosition): AsyncIterable<{ files: DriveFile[]; next?: ListPosition }> {
    const list = await this.corpora();
    let i = 0;
    let pageToken: string | undefined;
    if (from) {
      i = list.indexOf(from.corpus);
      if (i >= 0) pageToken = from.pageToken;
      else i = list.findIndex((c) => c !== USER_CORPUS && c > from.corpus);
      if (i < 0) return;
    }
    for (; i < list.length; i++) {
      const corpus = list[i]!;
      for (;;) {
        const page = await this.client.listFiles({ q, fields, pageToken, driveId: corpus === USER_CORPUS ? undefined : corpus });
        pageToken = page.nextPageToken ?? undefined;
        const next = pageToken ? { corpus, pageToken } : i + 1 < list.length ? { corpus: list[i + 1]! } : undefined;
        yield { files: (page.files ?? []).filter((f) => f.id), next };
        if (!pageToken) break;
      }
    }
  }

  /** The user's My Drive root and each shared drive's root folder (files.list never lists them). */
  private async roots(): Promise<DriveFile[]> {
    const out = [await this.client.getFile('root')];
    for (const id of (await this.corpora()).slice(1)) {
      try {
        out.push(await this.client.getFile(id, (e) => e.status === 404));
      } catch (e) {
        if (!isGoogleApiError(e)) throw e; // left the drive since drives.list
      }
    }
    return out;
  }

  private async *fileListing(resumed: DriveCursor | null): AsyncIterable<ChangePage> {
    const start = resumed?.full?.start ?? (await this.client.startPageToken());
    let from = resumed?.full?.phase === 'files' ? resumed.full.at : undefined;
    if (resumed?.full?.phase !== 'files') {
      // Roots and folders parents-first, so each folder's parent is in the registry before it arrives.
      const tree: ExternalRecord[] = (await this.roots()).map((f) => toFileRecord(f));
      for await (const page of this.listAll(FOLDER_Q, undefined)) for (const f of page.files) tree.push(toFileRecord(f));
      const pages = parentsFirst(tree).flatMap((level) => chunks(level, FILES_PAGE_SIZE));
      for (const [i, records] of pages.entries()) {
        const last = i === pages.length - 1;
        yield { records, cursor: { v: 1, full: { start, phase: last ? 'files' : 'tree' } } satisfies DriveCursor };
      }
      from = undefined;
    }
    let yielded = false;
    for await (const page of this.listAll(NOT_FOLDER_Q, undefined, from)) {
      const cursor: DriveCursor = page.next ? { v: 1, full: { start, phase: 'files', at: page.next } } : { v: 1, token: start };
      yielded = true;
      yield { records: page.files.map((f) => toFileRecord(f)), cursor };
    }
    if (!yielded) yield { records: [], cursor: { v: 1, token: start } satisfies DriveCursor };
  }

  /** One changes.list page; an invalid or expired token is CursorExpiredError. */
  private async changesPage(token: string) {
    try {
      return await this.client.listChanges(token, (e) => e.status === 400 || e.status === 404 || e.status === 410);
    } catch (e) {
      if (isGoogleApiError(e)) throw new CursorExpiredError(`Drive change page token of ${this.session.user} is no longer valid: ${e.describe()}`);
      throw e;
    }
  }

  private async *fileChanges(prev: DriveCursor): AsyncIterable<ChangePage> {
    let token = prev.token!;
    for (;;) {
      const page = await this.changesPage(token);
      const records: ExternalRecord[] = [];
      const deletions: ExternalDeletion[] = [];
      for (const c of page.changes ?? []) {
        const at = c.time ?? undefined;
        if (c.changeType === 'drive') {
          // A shared drive joined (its root folder, so its items link up) or left (the root goes).
          if (!c.driveId) continue;
          const root = c.removed ? null : await this.client.getFile(c.driveId, (e) => e.status === 404).catch((e: unknown) => (isGoogleApiError(e) ? null : Promise.reject(e)));
          if (root) records.push(toFileRecord(root, at));
          else deletions.push(at ? { externalId: c.driveId, deletedAt: at } : { externalId: c.driveId });
          continue;
        }
        if (!c.fileId) continue;
        if (c.removed || !c.file) deletions.push(at ? { externalId: c.fileId, deletedAt: at } : { externalId: c.fileId });
        else records.push(toFileRecord(c.file, at));
      }
      const next = page.nextPageToken ?? undefined;
      const after: DriveCursor = { v: 1, token: next ?? page.newStartPageToken ?? token };
      const levels = parentsFirst(records);
      if (levels.length === 0) yield { records: [], deletions, cursor: after };
      for (const [i, level] of levels.entries()) {
        // Until the page's last part is applied, a resumed run reads this page again.
        if (i < levels.length - 1) yield { records: level, cursor: { v: 1, token } satisfies DriveCursor };
        else yield deletions.length ? { records: level, deletions, cursor: after } : { records: level, cursor: after };
      }
      if (!next) return;
      token = next;
    }
  }

  /** The file's own permissions, when the user can share it (else null: its permissions are not synced). */
  private async permissionsOf(f: DriveFile): Promise<DrivePermission[] | null> {
    if (!f.id || f.capabilities?.canShare !== true) return null;
    if (f.permissions) return ownPermissions(f.permissions);
    try {
      return ownPermissions(await this.client.listPermissions(f.id, (e) => e.status === 404 || e.status === 403));
    } catch (e) {
      if (isGoogleApiError(e)) return null; // gone or no longer shareable since
      throw e;
    }
  }

  private async *permissionListing(resumed: DriveCursor | null, known: string[] | undefined): AsyncIterable<ChangePage> {
    const principals = new Set(known ?? []);
    const start = resumed?.full?.start ?? (await this.client.startPageToken());
    const from = resumed?.full?.at;
    const now = () => new Date().toISOString();
    const recordsOf = async (files: DriveFile[]): Promise<ExternalRecord[]> => {
      const out: ExternalRecord[] = [];
      for (const f of files) {
        for (const p of (await this.permissionsOf(f)) ?? []) {
          out.push(this.permissionRecord(f.id!, p, now()));
          if (principals.size < MAX_PRINCIPALS) principals.add(p.id!);
        }
      }
      return out;
    };
    if (!from) {
      yield { records: await recordsOf(await this.roots()), cursor: { v: 1, full: { start, phase: 'files', at: { corpus: USER_CORPUS } }, principals: [...principals] } satisfies DriveCursor };
    }
    let yielded = false;
    for await (const page of this.listAll(undefined, PERMISSION_LIST_FIELDS, from)) {
      const records = await recordsOf(page.files);
      const list = [...principals].sort();
      yielded = true;
      yield { records, cursor: page.next ? { v: 1, full: { start, phase: 'files', at: page.next }, principals: list } : { v: 1, token: start, principals: list } };
    }
    if (!yielded) yield { records: [], cursor: { v: 1, token: start, principals: [...principals].sort() } satisfies DriveCursor };
  }

  private async *permissionChanges(prev: DriveCursor): AsyncIterable<ChangePage> {
    const principals = new Set(prev.principals ?? []);
    let token = prev.token!;
    for (;;) {
      const page = await this.changesPage(token);
      const records: ExternalRecord[] = [];
      const deletions: ExternalDeletion[] = [];
      const revokeAll = (fileId: string, except: Set<string>, at?: string) => {
        for (const p of principals) if (!except.has(p)) deletions.push({ externalId: permissionExternalId(fileId, p), ...(at ? { deletedAt: at } : {}) });
      };
      for (const c of page.changes ?? []) {
        const at = c.time ?? new Date().toISOString();
        const fileId = c.changeType === 'drive' ? c.driveId : c.fileId;
        if (!fileId) continue;
        let file = c.file ?? null;
        if (c.changeType === 'drive' && !c.removed) {
          file = await this.client.getFile(fileId, (e) => e.status === 404).catch((e: unknown) => (isGoogleApiError(e) ? null : Promise.reject(e)));
        }
        const perms = c.removed || !file ? null : await this.permissionsOf(file);
        const current = new Set<string>();
        for (const p of perms ?? []) {
          records.push(this.permissionRecord(fileId, p, at));
          current.add(p.id!);
          if (principals.size < MAX_PRINCIPALS) principals.add(p.id!);
        }
        revokeAll(fileId, current, at);
      }
      const next = page.nextPageToken ?? undefined;
      const cursor: DriveCursor = { v: 1, token: next ?? page.newStartPageToken ?? token, principals: [...principals].sort() };
      yield deletions.length ? { records, deletions, cursor } : { records, cursor };
      if (!next) return;
      token = next;
    }
  }

  // ---- reads ---------------------------------------------------------------------------------------

  private async fileOrNull(id: string): Promise<DriveFile | null> {
    try {
      return await this.client.getFile(id, (e) => e.status === 404);
    } catch (e) {
      if (isGoogleApiError(e)) return null;
      throw e;
    }
  }

  private async permissionOrNull(externalId: string): Promise<{ fileId: string; p: DrivePermission } | null> {
    const { fileId, permissionId } = parsePermissionExternalId(externalId);
    const f = await this.fileOrNull(fileId);
    const perms = f ? await this.permissionsOf(f) : null;
    const p = perms?.find((x) => x.id === permissionId);
    return p ? { fileId, p } : null;
  }

  async readByIds(type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const out: ExternalRecord[] = [];
    for (const id of externalIds) {
      if (type === DRIVE_FILE_TYPE) {
        const f = await this.fileOrNull(id);
        if (f) out.push(toFileRecord(f));
      } else {
        const found = await this.permissionOrNull(id);
        if (found) out.push(this.permissionRecord(found.fileId, found.p, new Date().toISOString()));
      }
    }
    return out;
  }

  /** Of these ids, the ones gone from Drive (a trashed file is not gone: it is trashed). */
  async readArchived(type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const out: ExternalRecord[] = [];
    const spec = type === DRIVE_FILE_TYPE ? DRIVE_FILE : DRIVE_PERMISSION;
    for (const id of externalIds) {
      const there = type === DRIVE_FILE_TYPE ? await this.fileOrNull(id) : await this.permissionOrNull(id);
      if (there) continue;
      const now = new Date().toISOString();
      out.push({ externalId: id, fields: canonicalize(spec, {}), updatedAt: now, auroraId: null, archived: true, archivedAt: now });
    }
    return out;
  }

  // ---- writes --------------------------------------------------------------------------------------

  /** One write per record; a 4xx, a per-file 403 or an unwritable value fails that record only. */
  private async each<I extends { localId: string }>(items: I[], write: (item: I) => Promise<WriteOutcome>): Promise<WriteOutcome[]> {
    const out: WriteOutcome[] = [];
    for (const item of items) {
      try {
        out.push(await write(item));
      } catch (e) {
        if (isGoogleApiError(e)) out.push({ localId: item.localId, ok: false, error: `Google Drive: ${e.describe()}`, notFound: e.status === 404 });
        else if (e instanceof InvalidDriveWriteError) out.push({ localId: item.localId, ok: false, error: `Google Drive: ${e.message}` });
        else throw e;
      }
    }
    return out;
  }

  private fileWritten(localId: string, f: DriveFile, fields?: Canonical, created?: boolean): WriteOutcome {
    const rec = toFileRecord(f);
    const o: WriteOutcome = { localId, ok: true, externalId: rec.externalId, fields: fields ?? rec.fields, updatedAt: rec.updatedAt };
    if (created !== undefined) o.created = created;
    if (rec.etag) o.etag = rec.etag;
    return o;
  }

  private permissionWritten(localId: string, fileId: string, p: DrivePermission, created?: boolean): WriteOutcome {
    const o: WriteOutcome = { localId, ok: true, externalId: permissionExternalId(fileId, p.id!), fields: toPermissionCanonical(fileId, p), updatedAt: new Date().toISOString() };
    if (created !== undefined) o.created = created;
    return o;
  }

  private remember(localId: string, id: string): void {
    if (this.ledger.size >= MAX_LEDGER) this.ledger.clear();
    this.ledger.set(localId, id);
  }

  private permissionRecord(fileId: string, p: DrivePermission, at: string): ExternalRecord {
    const rec = toPermissionRecord(fileId, p, at);
    rec.auroraId = this.grants.get(`${fileId}|${granteeKey(p)}`) ?? null;
    return rec;
  }

  create(type: string, creates: WriteCreate[]): Promise<WriteOutcome[]> {
    return type === DRIVE_FILE_TYPE ? this.createFolders(creates) : this.grant(creates);
  }

  private async createFolders(creates: WriteCreate[]): Promise<WriteOutcome[]> {
    const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
    return this.each(creates, async (c) => {
      // Checked before anything is sent (and before an id is taken).
      toFolderBody(c.fields, 'check', c.localId, undefined);
      const parents = splitIds(c.fields.parents);
      if (parents.length > 1) throw new InvalidDriveWriteError('a Drive item has one parent folder');
      let id = this.ledger.get(c.localId);
      if (!id) {
        // An earlier attempt (maybe in another worker) made it: its app property says so.
        const q = `appProperties has { key='${AURORA_ID_PROPERTY}' and value='${c.localId.replace(/['\\]/g, '\\$&')}' }`;
        const found: DriveFile[] = [];
        for await (const page of this.listAll(q, undefined)) found.push(...page.files);
        const existing = found.find((f) => f.trashed !== true) ?? found[0];
        if (existing?.id) return this.fileWritten(c.localId, existing, undefined, false);
        [id] = await this.client.generateIds(1);
        if (!id) throw ApplicationFailure.create({ type: ErrorType.Upstream, message: 'Google Drive files.generateIds answered no id' });
        this.remember(c.localId, id);
      }
      let folder: DriveFile;
      let created = true;
      try {
        folder = await this.client.createFile(toFolderBody(c.fields, id, c.localId, parents[0]), clientError);
      } catch (e) {
        if (!isGoogleApiError(e) || e.status !== 409) throw e;
        // fileIdInUse: the id is ours, taken for this Aurora id: an earlier attempt got through.
        created = false;
        folder = await this.client.getFile(id, clientError);
      }
      return this.fileWritten(c.localId, folder, undefined, created);
    });
  }

  private async grant(creates: WriteCreate[]): Promise<WriteOutcome[]> {
    const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
    return this.each(creates, async (c) => {
      const body = toPermissionBody(c.fields);
      const fileId = c.fields.file_id;
      if (!fileId) throw new InvalidDriveWriteError('file_id must name a synced Drive file');
      if (this.grants.size >= MAX_LEDGER) this.grants.clear();
      this.grants.set(`${fileId}|${granteeKey(body)}`, c.localId);
      // Drive keeps one permission per grantee: a retried grant finds the first one.
      const existing = (await this.client.listPermissions(fileId, clientError)).find((p) => granteeKey(p) === granteeKey(body));
      if (existing) {
        if (existing.role === 'owner') throw new InvalidDriveWriteError(`${granteeKey(body)} owns ${fileId}: ownership is never changed by the sync`);
        const p = existing.role === body.role ? existing : await this.client.updatePermission(fileId, existing.id!, body.role!, clientError);
        return this.permissionWritten(c.localId, fileId, p, false);
      }
      return this.permissionWritten(c.localId, fileId, await this.client.createPermission(fileId, body, clientError), true);
    });
  }

  update(type: string, updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    return type === DRIVE_FILE_TYPE ? this.updateFiles(updates) : this.changeRoles(updates);
  }

  private async updateFiles(updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
    return this.each(updates, async (u) => {
      const sent = (u.changed ?? ['name', 'parents', 'starred', 'trashed']).filter((f) => ['name', 'parents', 'starred', 'trashed'].includes(f));
      const current = await this.client.getFile(u.externalId, clientError);
      const now = toFileCanonical(current);
      const prev = u.previous ?? null;
      // What we mean to write, compared with Drive now and with the last synced state.
      const target: Canonical = { ...(prev ?? now), ...pick(u.fields, sent) };
      const parentsNow = splitIds(now.parents);
      const same = (f: string) => (f === 'parents' ? splitIds(target.parents).every((p) => parentsNow.includes(p)) : (now[f] ?? null) === (target[f] ?? null));
      // No If-Match in Drive v3: its version (the etag last synced) tells a change made there since.
      if (u.etag && current.version && String(current.version) !== u.etag) {
        if (prev && sent.every(same)) return this.fileWritten(u.localId, current); // an earlier attempt of this write got through
        return { localId: u.localId, ok: false, error: `Google Drive: file ${u.externalId} changed in Drive since the last sync (version ${u.etag} → ${current.version})`, changedExternally: toFileRecord(current) };
      }
      const body: DriveFile = {};
      if (sent.includes('name') && u.fields.name !== now.name) {
        if (!u.fields.name) throw new InvalidDriveWriteError('a Drive file needs a name');
        body.name = u.fields.name;
      }
      for (const f of ['starred', 'trashed'] as const) if (sent.includes(f) && (u.fields[f] ?? 'false') !== now[f]) body[f] = u.fields[f] === 'true';
      const move: { addParents?: string; removeParents?: string } = {};
      if (sent.includes('parents')) {
        const want = splitIds(u.fields.parents);
        if (want.length > 1) throw new InvalidDriveWriteError('a Drive item has one parent folder');
        // Only parents the last sync knew are removed (others are folders Aurora never saw).
        const known = prev ? splitIds(prev.parents) : parentsNow;
        const add = want.filter((p) => !parentsNow.includes(p));
        const remove = known.filter((p) => parentsNow.includes(p) && !want.includes(p));
        if (add.length === 0 && remove.length > 0 && remove.length === parentsNow.length) {
          throw new InvalidDriveWriteError('moving a file out of its only folder needs a folder to move it to');
        }
        if (add.length) move.addParents = add.join(',');
        if (remove.length) move.removeParents = remove.join(',');
      }
      const answer = Object.keys(body).length || move.addParents || move.removeParents ? await this.client.updateFile(u.externalId, body, move, clientError) : current;
      const canonical = toFileCanonical(answer);
      // Other fields keep the local values: a change Drive has and we have not pulled still shows as one.
      const fields = u.changed ? { ...u.fields, ...pick(canonical, [...u.changed, ...FILE_READ_ONLY_FIELDS]) } : canonical;
      return this.fileWritten(u.localId, answer, fields);
    });
  }

  private async changeRoles(updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
    return this.each(updates, async (u) => {
      const { fileId, permissionId } = parsePermissionExternalId(u.externalId);
      const changed = u.changed ?? ['role'];
      const fixed = changed.filter((f) => ['file_id', 'type', 'email_address', 'domain', 'allow_file_discovery'].includes(f));
      if (fixed.length) throw new InvalidDriveWriteError(`a permission's ${fixed.join(', ')} cannot change: revoke it and grant a new one`);
      if (!changed.includes('role')) {
        const found = await this.permissionOrNull(u.externalId);
        if (!found) return { localId: u.localId, ok: false, error: `Google Drive: permission ${u.externalId} is gone`, notFound: true };
        return this.permissionWritten(u.localId, fileId, found.p);
      }
      const role = u.fields.role;
      if (role === 'owner' || u.previous?.role === 'owner') throw new InvalidDriveWriteError('ownership is never transferred by the sync');
      toPermissionBody({ ...u.fields, role });
      return this.permissionWritten(u.localId, fileId, await this.client.updatePermission(fileId, permissionId, role!, clientError));
    });
  }

  delete(type: string, deletes: WriteDelete[]): Promise<WriteOutcome[]> {
    const handles = (e: GoogleApiError) => e.status === 404;
    return this.each(deletes, async (d) => {
      // The time of the deletion: for a file, Drive's modifiedTime of the trashing, so the trashed file
      // the change feed reports next is not older than it (it comes back into Aurora as trashed).
      let at = new Date().toISOString();
      try {
        if (type === DRIVE_FILE_TYPE) {
          // Never a permanent delete: into Drive's trash, from where it can be restored.
          const trashed = await this.client.updateFile(d.externalId, { trashed: true }, {}, handles);
          at = toFileRecord(trashed).updatedAt;
        } else {
          const { fileId, permissionId } = parsePermissionExternalId(d.externalId);
          await this.client.deletePermission(fileId, permissionId, handles);
        }
      } catch (e) {
        if (!isGoogleApiError(e) || e.status !== 404) throw e; // 404: gone already
      }
      return { localId: d.localId, ok: true, externalId: d.externalId, fields: {}, updatedAt: at };
    });
  }

  // ---- push channels -------------------------------------------------------------------------------

  /** One changes.watch channel per user and entity type (both read the same change feed). */
  async watchableResources(): Promise<string[]> {
    return ['changes'];
  }

  async openChannel(_type: string, req: OpenChannelRequest): Promise<PushChannel> {
    // Drive's changes channels live at most a week.
    const ttlMs = Math.min(this.session.cfg.channelTtlSeconds, 604_800) * 1000;
    const res = await this.client.watchChanges(await this.client.startPageToken(), {
      id: req.channelId,
      type: 'web_hook',
      address: req.address,
      token: req.token,
      expiration: String(Date.now() + ttlMs),
    });
    const expiration = Number(res.expiration);
    return {
      channelId: res.id ?? req.channelId,
      resourceId: res.resourceId!,
      resource: req.resource,
      expiresAt: new Date(Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now() + ttlMs).toISOString(),
    };
  }

  async stopChannel(_type: string, channel: PushChannel): Promise<void> {
    try {
      await this.client.stopChannel(channel.channelId, channel.resourceId, (e) => e.status === 404);
    } catch (e) {
      if (!isGoogleApiError(e)) throw e; // 404: expired or stopped already
    }
  }
}
