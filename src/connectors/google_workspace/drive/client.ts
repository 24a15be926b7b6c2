/**
 * The Drive v3 calls the connector makes, over the real googleapis client, each through the
 * session's GoogleRequester (the user's Drive budget, Google's backoff, error classification).
 * Thin: no sync logic here.
 *
 * Drive answers 403 for many refusals about one file (a reader renaming, the owner's permission
 * removed, a second parent…); the shared classification reads an unknown 403 as the credentials'
 * (auth: the connection pauses). Those reasons are turned into a GoogleApiError here, before the
 * requester sees them, so they fail that record only.
 */
import { drive, type drive_v3 } from 'googleapis/build/src/apis/drive';
import { GoogleApiError, googleFailure } from '../errors';
import type { GoogleSession } from '../session';
import { FILE_FIELDS, PERMISSION_ONE_FIELDS, PERMISSIONS_FIELDS, type DriveFile, type DrivePermission } from './mapping';

export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';
const SERVICE = 'Google Drive';
export const FILES_PAGE_SIZE = 1000;
export const CHANGES_PAGE_SIZE = 1000;

/** 403 reasons about one file or permission, not about the connection's credentials. */
export const DRIVE_RECORD_403_REASONS: ReadonlySet<string> = new Set([
  'insufficientFilePermissions',
  'forbidden',
  'cannotAddParent',
  'cannotRemoveOwner',
  'cannotModifyOwner',
  'cannotDeletePermission',
  'teamDrivesParentLimit',
  'fieldNotWritable',
  'appNotAuthorizedToFile',
  'cannotShareTeamDriveTopFolderWithAnyoneOrDomains',
  'cannotShareTeamDriveWithNonGoogleAccounts',
  'publishOutNotPermitted',
  'shareInNotPermitted',
  'shareOutNotPermitted',
]);

type Handles = (e: GoogleApiError) => boolean;
const never: Handles = () => false;

export interface DriveSettings {
  quotaPerUserPerMinute: number;
  sharedDrives: boolean;
  sendNotificationEmail: boolean;
}

export class DriveClient {
  private readonly api: drive_v3.Drive;

  constructor(
    private readonly session: GoogleSession,
    private readonly settings: DriveSettings,
  ) {
    this.api = drive({ version: 'v3', ...session.apiOptions });
    session.requester('drive', this.settings.quotaPerUserPerMinute); // its budget exists from the start (status, metrics)
  }

  /** supportsAllDrives (+ includeItemsFromAllDrives for listings) when shared drives are synced */
  private get all(): { supportsAllDrives?: boolean } {
    return this.settings.sharedDrives ? { supportsAllDrives: true } : {};
  }

  private call<T>(what: string, fn: () => Promise<{ data: T }>, handles: Handles = never): Promise<T> {
    const guarded = async () => {
      try {
        return await fn();
      } catch (err) {
        const f = googleFailure(err);
        if (f?.status === 403 && f.reason && DRIVE_RECORD_403_REASONS.has(f.reason)) throw new GoogleApiError(403, f.reason, f.message);
        throw err;
      }
    };
    return this.session.requester('drive', this.settings.quotaPerUserPerMinute).call(SERVICE, what, guarded, handles);
  }

  async startPageToken(): Promise<string> {
    const res = await this.call('changes.getStartPageToken', () => this.api.changes.getStartPageToken({ ...this.all }));
    return res.startPageToken!;
  }

  /**
   * One page of files.list: the user's corpus (My Drive and what is shared with them) or, with
   * `driveId`, one shared drive's. One corpus at a time: over `allDrives` Drive may answer with
   * `incompleteSearch` (some results missing).
   */
  listFiles(p: { q?: string; pageToken?: string; fields?: string; driveId?: string }): Promise<drive_v3.Schema$FileList> {
    const params: drive_v3.Params$Resource$Files$List = {
      pageSize: FILES_PAGE_SIZE,
      pageToken: p.pageToken,
      q: p.q,
      spaces: 'drive',
      corpora: p.driveId ? 'drive' : 'user',
      fields: `nextPageToken,incompleteSearch,files(${p.fields ?? FILE_FIELDS})`,
    };
    if (p.driveId) Object.assign(params, { driveId: p.driveId, includeItemsFromAllDrives: true, supportsAllDrives: true });
    return this.call(`files.list${p.driveId ? ` of shared drive ${p.driveId}` : ''}`, () => this.api.files.list(params));
  }

  getFile(fileId: string, handles: Handles = never): Promise<DriveFile> {
    return this.call(`files.get of ${fileId}`, () => this.api.files.get({ fileId, fields: FILE_FIELDS, ...this.all }), handles);
  }

  listChanges(pageToken: string, handles: Handles = never): Promise<drive_v3.Schema$ChangeList> {
    const params: drive_v3.Params$Resource$Changes$List = {
      pageToken,
      pageSize: CHANGES_PAGE_SIZE,
      includeRemoved: true,
      spaces: 'drive',
      fields: `nextPageToken,newStartPageToken,changes(changeType,time,removed,fileId,driveId,file(${FILE_FIELDS}))`,
    };
    if (this.settings.sharedDrives) Object.assign(params, { includeItemsFromAllDrives: true, supportsAllDrives: true });
    return this.call('changes.list', () => this.api.changes.list(params), handles);
  }

  /** Every shared drive the user is a member of (all pages). */
  async listDrives(): Promise<drive_v3.Schema$Drive[]> {
    if (!this.settings.sharedDrives) return [];
    const out: drive_v3.Schema$Drive[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call('drives.list', () => this.api.drives.list({ pageSize: 100, pageToken, fields: 'nextPageToken,drives(id,name)' }));
      out.push(...(page.drives ?? []));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  async generateIds(count: number): Promise<string[]> {
    const res = await this.call('files.generateIds', () => this.api.files.generateIds({ count, space: 'drive', type: 'files' }));
    return res.ids ?? [];
  }

  createFile(requestBody: DriveFile, handles: Handles = never): Promise<DriveFile> {
    return this.call(`files.create of ${requestBody.id ?? 'a file'}`, () => this.api.files.create({ requestBody, fields: FILE_FIELDS, ...this.all }), handles);
  }

  updateFile(fileId: string, requestBody: DriveFile, move: { addParents?: string; removeParents?: string }, handles: Handles = never): Promise<DriveFile> {
    return this.call(`files.update of ${fileId}`, () => this.api.files.update({ fileId, requestBody, ...move, fields: FILE_FIELDS, ...this.all }), handles);
  }

  /** Every permission of a file (all pages). */
  async listPermissions(fileId: string, handles: Handles = never): Promise<DrivePermission[]> {
    const out: DrivePermission[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call(`permissions.list of ${fileId}`, () => this.api.permissions.list({ fileId, pageSize: 100, pageToken, fields: PERMISSIONS_FIELDS, ...this.all }), handles);
      out.push(...(page.permissions ?? []));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /** Never transfers ownership; emails the grantee only when GOOGLE_DRIVE_SEND_NOTIFICATION_EMAIL says so. */
  createPermission(fileId: string, requestBody: DrivePermission, handles: Handles = never): Promise<DrivePermission> {
    return this.call(
      `permissions.create on ${fileId}`,
      () => this.api.permissions.create({ fileId, requestBody, sendNotificationEmail: this.settings.sendNotificationEmail, transferOwnership: false, fields: PERMISSION_ONE_FIELDS, ...this.all }),
      handles,
    );
  }

  updatePermission(fileId: string, permissionId: string, role: string, handles: Handles = never): Promise<DrivePermission> {
    return this.call(
      `permissions.update of ${permissionId} on ${fileId}`,
      () => this.api.permissions.update({ fileId, permissionId, requestBody: { role }, transferOwnership: false, fields: PERMISSION_ONE_FIELDS, ...this.all }),
      handles,
    );
  }

  async deletePermission(fileId: string, permissionId: string, handles: Handles = never): Promise<void> {
    await this.call(`permissions.delete of ${permissionId} on ${fileId}`, () => this.api.permissions.delete({ fileId, permissionId, ...this.all }), handles);
  }

  watchChanges(pageToken: string, channel: drive_v3.Schema$Channel): Promise<drive_v3.Schema$Channel> {
    const params: drive_v3.Params$Resource$Changes$Watch = { pageToken, requestBody: channel, spaces: 'drive', includeRemoved: true };
    if (this.settings.sharedDrives) Object.assign(params, { includeItemsFromAllDrives: true, supportsAllDrives: true });
    return this.call('changes.watch', () => this.api.changes.watch(params));
  }

  async stopChannel(id: string, resourceId: string, handles: Handles = never): Promise<void> {
    await this.call(`channels.stop of ${id}`, () => this.api.channels.stop({ requestBody: { id, resourceId } }), handles);
  }
}
