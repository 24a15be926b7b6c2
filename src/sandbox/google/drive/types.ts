/** Public types of the Google sandbox's Drive v3 module. */
import type { QuotaOptions } from '../types';

export type DriveRole = 'owner' | 'organizer' | 'fileOrganizer' | 'writer' | 'commenter' | 'reader';
export type DrivePermissionType = 'user' | 'group' | 'domain' | 'anyone';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

/** A permission as Drive v3 renders it (`drive#permission`). */
export interface DrivePermission {
  kind: 'drive#permission';
  id: string;
  type: DrivePermissionType;
  role: DriveRole;
  emailAddress?: string;
  domain?: string;
  displayName?: string;
  allowFileDiscovery?: boolean;
  deleted?: boolean;
}

/** A file as Drive v3 renders it with `fields=*` for the user who asks (`drive#file`). */
export interface DriveFile {
  kind: 'drive#file';
  id: string;
  name: string;
  mimeType: string;
  parents?: string[];
  driveId?: string;
  owners?: { kind: 'drive#user'; emailAddress: string; displayName: string; me: boolean; permissionId: string }[];
  lastModifyingUser?: { kind: 'drive#user'; emailAddress: string; displayName: string; me: boolean; permissionId: string };
  createdTime: string;
  modifiedTime: string;
  /** bytes, as an int64 string; only for uploaded (non-Google) files */
  size?: string;
  webViewLink: string;
  starred: boolean;
  trashed: boolean;
  explicitlyTrashed: boolean;
  version: string;
  permissionIds?: string[];
  /** not populated for items in shared drives (as Drive) */
  permissions?: DrivePermission[];
  ownedByMe?: boolean;
  appProperties?: Record<string, string>;
  capabilities: { canEdit: boolean; canRename: boolean; canShare: boolean; canTrash: boolean; canAddChildren: boolean };
}

export interface SharedDriveInfo {
  kind: 'drive#drive';
  id: string;
  name: string;
  createdTime: string;
}

export interface DriveFileInput {
  name: string;
  mimeType?: string;
  /** default: the user's My Drive root */
  parents?: string[];
}

export interface DriveFilePatch {
  name?: string;
  starred?: boolean;
  trashed?: boolean;
  addParents?: string[];
  removeParents?: string[];
}

export interface DrivePermissionInput {
  type: DrivePermissionType;
  role: DriveRole;
  emailAddress?: string;
  domain?: string;
  allowFileDiscovery?: boolean;
}

export interface DriveSeedOptions {
  /** folders among the files (default: about a tenth), nested up to `depth` levels (default 4) */
  folders?: number;
  depth?: number;
  /** a shared drive's id to seed into instead of the user's My Drive */
  driveId?: string;
}

export interface DriveOptions {
  /** per-user / per-project request quotas of the Drive pool (default 12,000 and 120,000 a minute, mode 'mixed') */
  quotas?: boolean | QuotaOptions;
  /** page tokens older than this many changes are refused as invalid (default: never) */
  changeRetention?: number;
}

export interface DriveStats {
  /** permissions.create calls that would have emailed the grantee (sendNotificationEmail not false) */
  notificationEmails: number;
}

export interface DriveSandbox {
  /** a realistic tree of folders, Docs, Sheets, Slides and uploads with shares, deterministic; no quota */
  seed(user: string, count: number, opts?: DriveSeedOptions): DriveFile[];
  /** a shared drive with the user as organizer and the others as members with the given roles */
  addSharedDrive(user: string, name: string, members?: Record<string, DriveRole>): SharedDriveInfo;
  sharedDrives(user: string): SharedDriveInfo[];
  /** the user's My Drive root folder id */
  rootId(user: string): string;
  // -- act as the user in the Drive UI (change feed and push notifications as for API writes):
  userCreate(user: string, input: DriveFileInput): DriveFile;
  userUpdate(user: string, fileId: string, patch: DriveFilePatch): DriveFile;
  /** permanently deletes the file (and its descendants) */
  userDelete(user: string, fileId: string): void;
  userShare(user: string, fileId: string, p: DrivePermissionInput): DrivePermission;
  userUpdatePermission(user: string, fileId: string, permissionId: string, role: DriveRole): DrivePermission;
  userUnshare(user: string, fileId: string, permissionId: string): void;
  /** the file as the user sees it (undefined when the user cannot see it or it is deleted) */
  get(user: string, fileId: string): DriveFile | undefined;
  /** every file the user can see, trashed ones included (My Drive and shared drives), roots excluded */
  list(user: string): DriveFile[];
  /** the file's permissions (direct ones), any user's view */
  permissions(fileId: string): DrivePermission[];
  /** every change page token issued so far (all users, or one) answers 400 on changes.list */
  expireChangeTokens(user?: string): void;
  readonly stats: DriveStats;
}
