/**
 * Pure mappers between Drive v3 resources and Aurora's canonical drive_file / drive_permission
 * records. No I/O.
 *
 * - a file's `parents` are Drive file ids (the store turns them into Aurora ids), `owners` the
 *   owners' emails sorted, `starred` the connection user's own star;
 * - a permission's external id is `<fileId>:<permissionId>` (Drive's permission id is the
 *   grantee's, the same on every file); inherited permissions (shared-drive members, a parent
 *   folder's) are left out: they belong to the folder or drive they come from.
 */
import type { drive_v3 } from 'googleapis/build/src/apis/drive';
import { canonicalize, type Canonical } from '../../../core/model';
import type { ExternalRecord } from '../../types';
import { DRIVE_FILE, DRIVE_PERMISSION, FOLDER_MIME } from './entities';

export type DriveFile = drive_v3.Schema$File;
export type DrivePermission = drive_v3.Schema$Permission;

/** The app property carrying the Aurora id of a folder the engine created (written once, at creation). */
export const AURORA_ID_PROPERTY = 'auroraId';

const PERMISSION_FIELDS = 'id,type,role,emailAddress,domain,displayName,allowFileDiscovery,deleted,permissionDetails(inherited)';
/** What the engine reads of a file (files.list / files.get / changes.list `file(...)`). */
export const FILE_FIELDS =
  'id,name,mimeType,parents,driveId,owners(emailAddress),lastModifyingUser(emailAddress),createdTime,modifiedTime,size,webViewLink,' +
  `starred,trashed,version,appProperties,capabilities(canShare),permissions(${PERMISSION_FIELDS})`;
export const PERMISSIONS_FIELDS = `nextPageToken,permissions(${PERMISSION_FIELDS})`;
export const PERMISSION_ONE_FIELDS = PERMISSION_FIELDS;

export const ROLES = ['owner', 'organizer', 'fileOrganizer', 'writer', 'commenter', 'reader'] as const;
export const TYPES = ['user', 'group', 'domain', 'anyone'] as const;

/** A local value Drive cannot take (reported as that record's write error, nothing sent). */
export class InvalidDriveWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDriveWriteError';
  }
}

const sortedEmails = (list: readonly { emailAddress?: string | null }[] | null | undefined): string[] | null => {
  const emails = [...new Set((list ?? []).map((u) => u.emailAddress?.trim().toLowerCase()).filter((e): e is string => Boolean(e)))].sort();
  return emails.length ? emails : null;
};

export function toFileCanonical(f: DriveFile): Canonical {
  return canonicalize(DRIVE_FILE, {
    name: f.name,
    mime_type: f.mimeType,
    parents: f.parents ?? [],
    drive_id: f.driveId,
    owners: sortedEmails(f.owners),
    last_modifying_user: f.lastModifyingUser?.emailAddress,
    created_time: f.createdTime,
    modified_time: f.modifiedTime,
    size: f.size,
    web_view_link: f.webViewLink,
    starred: f.starred === true,
    trashed: f.trashed === true,
  });
}

/** `changedAt`: the change's time from changes.list (stars and shares do not move modifiedTime). */
export function toFileRecord(f: DriveFile, changedAt?: string | null): ExternalRecord {
  const modified = f.modifiedTime ?? f.createdTime ?? new Date().toISOString();
  const updatedAt = changedAt && Date.parse(changedAt) > Date.parse(modified) ? changedAt : modified;
  return {
    externalId: f.id!,
    fields: toFileCanonical(f),
    updatedAt: new Date(updatedAt).toISOString(),
    auroraId: f.appProperties?.[AURORA_ID_PROPERTY] ?? null,
    archived: false,
    // Drive's version rises with every change of the file: the marker of conditional writes
    ...(f.version ? { etag: String(f.version) } : {}),
  };
}

export const permissionExternalId = (fileId: string, permissionId: string): string => `${fileId}:${permissionId}`;

export function parsePermissionExternalId(externalId: string): { fileId: string; permissionId: string } {
  const i = externalId.lastIndexOf(':');
  if (i <= 0 || i === externalId.length - 1) throw new InvalidDriveWriteError(`"${externalId}" is not a Drive permission id (<fileId>:<permissionId>)`);
  return { fileId: externalId.slice(0, i), permissionId: externalId.slice(i + 1) };
}

/** A file's own permissions (inherited ones belong to the folder or shared drive they come from). */
export function ownPermissions(list: readonly DrivePermission[] | null | undefined): DrivePermission[] {
  return (list ?? []).filter((p) => p.id && p.deleted !== true && !(p.permissionDetails?.length && p.permissionDetails.every((d) => d.inherited === true)));
}

export function toPermissionCanonical(fileId: string, p: DrivePermission): Canonical {
  return canonicalize(DRIVE_PERMISSION, {
    file_id: fileId,
    permission_id: p.id,
    type: p.type,
    role: p.role,
    email_address: p.emailAddress,
    domain: p.domain,
    display_name: p.displayName,
    allow_file_discovery: p.type === 'anyone' || p.type === 'domain' ? p.allowFileDiscovery === true : null,
  });
}

export function toPermissionRecord(fileId: string, p: DrivePermission, updatedAt: string): ExternalRecord {
  return { externalId: permissionExternalId(fileId, p.id!), fields: toPermissionCanonical(fileId, p), updatedAt, auroraId: null, archived: false };
}

/** The grantee of a permission, to find an existing grant (Drive keeps one per grantee). */
export function granteeKey(p: { type?: string | null; emailAddress?: string | null; email_address?: string | null; domain?: string | null }): string {
  const email = (p.emailAddress ?? p.email_address ?? '').toLowerCase();
  return `${p.type ?? ''}:${p.type === 'domain' ? (p.domain ?? '').toLowerCase() : p.type === 'anyone' ? '' : email}`;
}

/** A permissions.create body from a local row; refuses what the sync never does (ownership). */
export function toPermissionBody(fields: Canonical): DrivePermission {
  const type = fields.type;
  const role = fields.role;
  if (!type || !(TYPES as readonly string[]).includes(type)) throw new InvalidDriveWriteError(`type must be one of ${TYPES.join(', ')} (got ${type ?? 'none'})`);
  if (!role || !(ROLES as readonly string[]).includes(role)) throw new InvalidDriveWriteError(`role must be one of ${ROLES.join(', ')} (got ${role ?? 'none'})`);
  if (role === 'owner') throw new InvalidDriveWriteError('ownership is never transferred by the sync: grant another role');
  const body: DrivePermission = { type, role };
  if (type === 'user' || type === 'group') {
    if (!fields.email_address) throw new InvalidDriveWriteError(`a ${type} permission needs email_address`);
    body.emailAddress = fields.email_address;
  } else if (type === 'domain') {
    if (!fields.domain) throw new InvalidDriveWriteError('a domain permission needs domain');
    body.domain = fields.domain;
  }
  if ((type === 'domain' || type === 'anyone') && fields.allow_file_discovery !== null && fields.allow_file_discovery !== undefined) {
    body.allowFileDiscovery = fields.allow_file_discovery === 'true';
  }
  return body;
}

/** The files.create body of a folder made in Aurora (contents are not synced, so only folders). */
export function toFolderBody(fields: Canonical, id: string, auroraId: string, parent: string | undefined): DriveFile {
  if (fields.mime_type && fields.mime_type !== FOLDER_MIME) {
    throw new InvalidDriveWriteError(`only folders can be created from Aurora (mime_type ${FOLDER_MIME}); contents are not synced`);
  }
  if (!fields.name) throw new InvalidDriveWriteError('a folder needs a name');
  const body: DriveFile = { id, name: fields.name, mimeType: FOLDER_MIME, appProperties: { [AURORA_ID_PROPERTY]: auroraId } };
  if (parent) body.parents = [parent];
  if (fields.starred === 'true') body.starred = true;
  return body;
}

export const splitIds = (v: string | null | undefined): string[] => (v ?? '').split(',').filter(Boolean);
