/**
 * The Drive model: one file space shared by every user of the sandbox (files, folders with their
 * parents, My Drive roots, shared drives with their root folders), permissions on files and
 * folders (inherited by what is inside a folder or a shared drive for visibility), per-user stars,
 * trash that follows the folder tree, and one change log every user's `changes.list` reads from.
 *
 * Errors are Google-shaped (GoogleError); the routes and the test-side API call the same methods,
 * so an act "in the Drive UI" changes the feed and sends notifications exactly like an API write.
 */
import { GoogleError, invalid, required } from '../errors';
import { hashString, type Prng } from '../prng';
import { FOLDER_MIME, type DrivePermission, type DrivePermissionType, type DriveRole, type DriveFile, type SharedDriveInfo } from './types';

export const ROLES: readonly DriveRole[] = ['owner', 'organizer', 'fileOrganizer', 'writer', 'commenter', 'reader'];
const RANK: Record<DriveRole, number> = { owner: 6, organizer: 5, fileOrganizer: 4, writer: 3, commenter: 2, reader: 1 };
const TYPES: readonly DrivePermissionType[] = ['user', 'group', 'domain', 'anyone'];
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface PermRec {
  id: string;
  type: DrivePermissionType;
  role: DriveRole;
  emailAddress?: string;
  domain?: string;
  allowFileDiscovery?: boolean;
}

export interface FileRec {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  /** the shared drive it lives in */
  driveId?: string;
  /** My Drive items: the owner's email */
  owner?: string;
  createdTime: number;
  modifiedTime: number;
  modifiedBy: string;
  size?: number;
  starredBy: Set<string>;
  trashed: boolean;
  explicitlyTrashed: boolean;
  version: number;
  permissions: PermRec[];
  /** private to the app (one app: the engine's project) */
  appProperties: Record<string, string>;
  /** a My Drive root or a shared drive's root folder: never listed, never changed through the API */
  root?: 'my-drive' | 'shared-drive';
  deleted: boolean;
  /** users who could see it at some point: they get `removed` changes when it goes */
  seenBy: Set<string>;
}

export interface DriveRec {
  id: string;
  name: string;
  createdTime: number;
}

export interface ChangeEntry {
  seq: number;
  fileId: string;
  time: number;
}

// ---- errors (the shapes Drive answers with) -----------------------------------------------------

export const fileNotFound = (id: string): GoogleError => GoogleError.of(404, 'notFound', `File not found: ${id}.`, { location: 'fileId', locationType: 'parameter' });
export const permissionNotFound = (id: string): GoogleError =>
  GoogleError.of(404, 'notFound', `Permission not found: ${id}.`, { location: 'permissionId', locationType: 'parameter' });
export const insufficientFilePermissions = (): GoogleError =>
  GoogleError.of(403, 'insufficientFilePermissions', 'The user does not have sufficient permissions for this file.');
export const invalidSharing = (why: string): GoogleError => GoogleError.of(400, 'invalidSharingRequest', `Bad Request. User message: "${why}"`);

const rank = (r: DriveRole | undefined): number => (r ? RANK[r] : 0);
const domainOf = (email: string): string => email.slice(email.indexOf('@') + 1);

/** "carla.mendes@acme.test" → "Carla Mendes" */
export function displayNameOf(email: string): string {
  return email
    .slice(0, email.indexOf('@'))
    .split(/[._-]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
}

/** Drive's permission ids are the grantee's: the same on every file (a user's account id; 'anyone'…). */
export function permissionIdFor(type: DrivePermissionType, who: string | undefined, allowFileDiscovery?: boolean): string {
  if (type === 'anyone') return allowFileDiscovery ? 'anyone' : 'anyoneWithLink';
  const key = `${type}:${(who ?? '').toLowerCase()}`;
  const digits = `${hashString(key)}${hashString(`${key}#`)}`.padEnd(20, '7').slice(0, 20);
  return type === 'domain' ? `${digits}k` : digits;
}

export class DriveStore {
  readonly files = new Map<string, FileRec>();
  readonly drives = new Map<string, DriveRec>();
  private readonly roots = new Map<string, string>();
  private readonly children = new Map<string, Set<string>>();
  private readonly issuedIds = new Set<string>();
  readonly log: ChangeEntry[] = [];
  private readonly lastSeq = new Map<string, number>();
  private seq = 1000;
  /** page tokens below this answer 400 (per user; '*' for everyone) */
  private readonly minToken = new Map<string, number>();
  private sorted: string[] | null = null;
  /** the users who may see what changed (their channels are notified) */
  onChange: (users: Set<string>) => void = () => undefined;

  constructor(
    private readonly prng: Prng,
    private readonly users: () => string[],
    private readonly googleDomains: ReadonlySet<string>,
    private readonly changeRetention?: number,
  ) {}

  // ---- ids, roots, drives ------------------------------------------------------------------------

  newId(): string {
    return `1${this.prng.chars(32, ID_ALPHABET)}`;
  }

  generateIds(count: number): string[] {
    const ids = Array.from({ length: count }, () => this.newId());
    for (const id of ids) this.issuedIds.add(id);
    return ids;
  }

  ensureUser(email: string): string {
    let id = this.roots.get(email);
    if (!id) {
      id = `0A${this.prng.chars(17, ID_ALPHABET.slice(0, 62))}Uk9PVA`;
      const now = Date.now();
      this.insert({ id, name: 'My Drive', mimeType: FOLDER_MIME, parents: [], owner: email, createdTime: now, modifiedTime: now, modifiedBy: email, root: 'my-drive' });
      this.files.get(id)!.permissions.push(this.userPerm(email, 'owner'));
      this.roots.set(email, id);
    }
    return id;
  }

  rootOf(user: string): string {
    return this.ensureUser(user);
  }

  addDrive(user: string, name: string, members: Record<string, DriveRole>): DriveRec {
    const id = `0A${this.prng.chars(17, ID_ALPHABET.slice(0, 62))}Uk9PVA`;
    const now = Date.now();
    const d: DriveRec = { id, name, createdTime: now };
    this.drives.set(id, d);
    this.insert({ id, name, mimeType: FOLDER_MIME, parents: [], driveId: id, createdTime: now, modifiedTime: now, modifiedBy: user, root: 'shared-drive' });
    const root = this.files.get(id)!;
    root.permissions.push(this.userPerm(user, 'organizer'));
    for (const [email, role] of Object.entries(members)) {
      if (email === user) continue;
      if (role === 'owner') throw new Error('shared drives have no owners: use organizer');
      root.permissions.push(this.userPerm(email.toLowerCase(), role));
    }
    this.record([id]);
    return d;
  }

  drivesOf(user: string): DriveRec[] {
    return [...this.drives.values()].filter((d) => rank(this.roleOf(user, this.files.get(d.id)!)) > 0).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  static driveInfo(d: DriveRec): SharedDriveInfo {
    return { kind: 'drive#drive', id: d.id, name: d.name, createdTime: new Date(d.createdTime).toISOString() };
  }

  userPerm(email: string, role: DriveRole): PermRec {
    return { id: permissionIdFor('user', email), type: 'user', role, emailAddress: email };
  }

  // ---- access ------------------------------------------------------------------------------------

  /** The best role the user has on the file: its own permissions and those of the folders above it. */
  roleOf(user: string, f: FileRec): DriveRole | undefined {
    if (f.deleted) return undefined;
    const domain = domainOf(user);
    let best: DriveRole | undefined;
    const seen = new Set<string>();
    let level: FileRec[] = [f];
    while (level.length) {
      const next: FileRec[] = [];
      for (const x of level) {
        if (seen.has(x.id)) continue;
        seen.add(x.id);
        for (const p of x.permissions) {
          const hit = (p.type === 'user' && p.emailAddress === user) || (p.type === 'domain' && p.domain === domain);
          if (hit && rank(p.role) > rank(best)) best = p.role;
        }
        for (const pid of x.parents) {
          const parent = this.files.get(pid);
          if (parent && !parent.deleted) next.push(parent);
        }
        if (x.driveId && x.id !== x.driveId) {
          const droot = this.files.get(x.driveId);
          if (droot) next.push(droot);
        }
      }
      level = next;
    }
    return best;
  }

  canSee(user: string, f: FileRec): boolean {
    return rank(this.roleOf(user, f)) > 0;
  }

  /** A file the user can see, or 404 (shared-drive items need supportsAllDrives, as in Drive). */
  visible(user: string, id: string, supportsAllDrives: boolean): FileRec {
    const fid = id === 'root' ? this.rootOf(user) : id;
    const f = this.files.get(fid);
    if (!f || f.deleted || !this.canSee(user, f) || (f.driveId && !supportsAllDrives)) throw fileNotFound(id);
    return f;
  }

  requireRole(user: string, f: FileRec, min: DriveRole): DriveRole {
    const r = this.roleOf(user, f);
    if (rank(r) < RANK[min]) throw insufficientFilePermissions();
    return r!;
  }

  // ---- rendering ---------------------------------------------------------------------------------

  render(f: FileRec, viewer: string): DriveFile {
    const role = this.roleOf(viewer, f);
    const canEdit = rank(role) >= RANK.writer;
    const userOf = (email: string) => ({ kind: 'drive#user' as const, emailAddress: email, displayName: displayNameOf(email), me: email === viewer, permissionId: permissionIdFor('user', email) });
    const out: DriveFile = {
      kind: 'drive#file',
      id: f.id,
      name: f.name,
      mimeType: f.mimeType,
      createdTime: new Date(f.createdTime).toISOString(),
      modifiedTime: new Date(f.modifiedTime).toISOString(),
      webViewLink: webViewLink(f),
      starred: f.starredBy.has(viewer),
      trashed: f.trashed,
      explicitlyTrashed: f.explicitlyTrashed,
      version: String(f.version),
      lastModifyingUser: userOf(f.modifiedBy),
      permissionIds: f.permissions.map((p) => p.id),
      capabilities: {
        canEdit,
        canRename: canEdit && !f.root,
        canShare: canEdit,
        canTrash: canEdit && !f.root && (!f.driveId || rank(role) >= RANK.fileOrganizer || f.owner === viewer || canEdit),
        canAddChildren: canEdit && f.mimeType === FOLDER_MIME,
      },
    };
    if (f.parents.length) out.parents = [...f.parents];
    if (f.driveId) out.driveId = f.driveId;
    if (f.owner) {
      out.owners = [userOf(f.owner)];
      out.ownedByMe = f.owner === viewer;
    } else out.ownedByMe = false;
    if (f.size !== undefined) out.size = String(f.size);
    if (Object.keys(f.appProperties).length) out.appProperties = { ...f.appProperties };
    // Drive: only for users who can share, never for shared-drive items.
    if (canEdit && !f.driveId) out.permissions = f.permissions.map(renderPermission);
    return out;
  }

  // ---- the change log ----------------------------------------------------------------------------

  get startPageToken(): string {
    return String(this.seq + 1);
  }

  /** Logs a change of these files; records who can see them now; notifies whoever could. */
  record(ids: Iterable<string>, notify = true): void {
    const now = Date.now();
    const affected = new Set<string>();
    const users = this.users();
    for (const id of ids) {
      const f = this.files.get(id);
      if (!f) continue;
      for (const u of users) if (this.canSee(u, f)) f.seenBy.add(u);
      for (const u of f.seenBy) affected.add(u);
      const seq = ++this.seq;
      this.log.push({ seq, fileId: id, time: now });
      this.lastSeq.set(id, seq);
    }
    if (notify && affected.size) this.onChange(affected);
  }

  /** The position a page token names; 400 for tokens that are not ours or no longer valid. */
  tokenPosition(user: string, token: string): number {
    const n = /^\d{1,15}$/.test(token) ? Number(token) : NaN;
    const min = Math.max(this.minToken.get(user) ?? 0, this.minToken.get('*') ?? 0, this.changeRetention ? this.seq + 1 - this.changeRetention : 0);
    if (!Number.isFinite(n) || n < 1 || n > this.seq + 1 || n < min) {
      throw GoogleError.of(400, 'invalid', 'Invalid Value', { location: 'pageToken', locationType: 'parameter' });
    }
    return n;
  }

  /** Every token issued so far (for one user, or all) stops working; new ones work. */
  expireTokens(user?: string): void {
    // a position no file change takes, so the current start token is among the expired ones
    this.log.push({ seq: ++this.seq, fileId: '', time: Date.now() });
    this.minToken.set(user ?? '*', this.seq + 1);
  }

  /** The latest log entry of each file from position `from` on, in log order, up to `limit` relevant ones. */
  *changesFrom(from: number): Generator<ChangeEntry> {
    // log[i].seq === 1001 + i
    for (let i = Math.max(0, from - 1001); i < this.log.length; i++) {
      const e = this.log[i]!;
      if (this.lastSeq.get(e.fileId) === e.seq) yield e;
    }
  }

  // ---- ordered listing -----------------------------------------------------------------------------

  sortedIds(): string[] {
    this.sorted ??= [...this.files.keys()].sort();
    return this.sorted;
  }

  // ---- writes --------------------------------------------------------------------------------------

  insert(
    spec: Omit<FileRec, 'starredBy' | 'trashed' | 'explicitlyTrashed' | 'version' | 'permissions' | 'deleted' | 'seenBy' | 'appProperties'> &
      Partial<Pick<FileRec, 'starredBy' | 'permissions' | 'trashed' | 'appProperties'>>,
  ): FileRec {
    const f: FileRec = {
      appProperties: {},
      starredBy: new Set(),
      trashed: false,
      explicitlyTrashed: false,
      version: 1,
      permissions: [],
      deleted: false,
      seenBy: new Set(),
      ...spec,
    };
    if (f.trashed) f.explicitlyTrashed = true;
    this.files.set(f.id, f);
    for (const p of f.parents) this.childSet(p).add(f.id);
    this.sorted = null;
    return f;
  }

  private childSet(parent: string): Set<string> {
    let s = this.children.get(parent);
    if (!s) {
      s = new Set();
      this.children.set(parent, s);
    }
    return s;
  }

  /** The file and everything below it (live ones). */
  subtree(f: FileRec): FileRec[] {
    const out: FileRec[] = [];
    const stack = [f];
    const seen = new Set<string>();
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x.id)) continue;
      seen.add(x.id);
      out.push(x);
      for (const c of this.children.get(x.id) ?? []) {
        const child = this.files.get(c);
        if (child && !child.deleted) stack.push(child);
      }
    }
    return out;
  }

  /** files.create (metadata only). `id`: one from generateIds. */
  create(user: string, body: Record<string, unknown>, supportsAllDrives: boolean): FileRec {
    const name = body.name === undefined || body.name === null ? 'Untitled' : String(body.name);
    const mimeType = typeof body.mimeType === 'string' && body.mimeType ? body.mimeType : 'application/octet-stream';
    let id: string;
    if (body.id !== undefined && body.id !== null) {
      id = String(body.id);
      if (this.files.has(id)) throw GoogleError.of(409, 'fileIdInUse', 'A file already exists with the provided ID.');
      if (!this.issuedIds.has(id)) throw GoogleError.of(400, 'fileIdNotUsable', 'The provided file ID is not usable.', { location: 'file.id', locationType: 'other' });
    } else id = this.newId();
    const parentIds = Array.isArray(body.parents) ? body.parents.map(String) : [this.rootOf(user)];
    if (parentIds.length > 1) throw GoogleError.of(403, 'cannotAddParent', 'Increasing the number of parents is not allowed.');
    const parent = parentIds.length ? this.visible(user, parentIds[0]!, supportsAllDrives) : this.files.get(this.rootOf(user))!;
    if (parent.mimeType !== FOLDER_MIME) throw GoogleError.of(400, 'invalid', 'The parent is not a folder.', { location: 'parents', locationType: 'other' });
    this.requireRole(user, parent, 'writer');
    const now = Date.now();
    const f = this.insert({
      id,
      name,
      mimeType,
      parents: [parent.id],
      driveId: parent.driveId,
      owner: parent.driveId ? undefined : user,
      createdTime: now,
      modifiedTime: now,
      modifiedBy: user,
      size: mimeType.startsWith('application/vnd.google-apps.') ? undefined : 0,
    });
    this.issuedIds.delete(id);
    if (!f.driveId) f.permissions.push(this.userPerm(user, 'owner'));
    if (body.starred === true) f.starredBy.add(user);
    f.appProperties = appProperties(body.appProperties);
    this.record([f.id]);
    return f;
  }

  /** files.update: metadata (name, starred, trashed) and a move (addParents / removeParents). */
  update(user: string, f: FileRec, body: Record<string, unknown>, addParents: string[], removeParents: string[], supportsAllDrives: boolean): FileRec {
    const role = this.roleOf(user, f);
    const edits = ['name', 'trashed', 'mimeType', 'description'].some((k) => body[k] !== undefined) || addParents.length > 0 || removeParents.length > 0;
    if (f.root && edits) throw insufficientFilePermissions();
    if (edits && rank(role) < RANK.writer) throw insufficientFilePermissions();
    if (body.mimeType !== undefined && body.mimeType !== f.mimeType && (f.mimeType === FOLDER_MIME || body.mimeType === FOLDER_MIME)) {
      throw GoogleError.of(403, 'fieldNotWritable', 'The resource body includes fields which are not directly writable.');
    }
    if (body.name !== undefined && (typeof body.name !== 'string' || body.name.trim() === '')) throw invalid('Invalid Value', { location: 'file.name', locationType: 'other' });
    for (const k of ['starred', 'trashed']) {
      if (body[k] !== undefined && typeof body[k] !== 'boolean') throw invalid('Invalid Value', { location: `file.${k}`, locationType: 'other' });
    }
    // the move: validate everything before changing anything
    let parents = f.parents;
    if (addParents.length || removeParents.length) {
      for (const r of removeParents) if (!f.parents.includes(r)) throw GoogleError.of(400, 'invalid', `Invalid Value`, { location: 'removeParents', locationType: 'parameter' });
      const added = addParents.filter((p) => !f.parents.includes(p)).map((p) => this.visible(user, p, supportsAllDrives));
      for (const p of added) {
        if (p.mimeType !== FOLDER_MIME) throw GoogleError.of(400, 'invalid', 'The parent is not a folder.', { location: 'addParents', locationType: 'parameter' });
        this.requireRole(user, p, 'writer');
        if ((p.driveId ?? null) !== (f.driveId ?? null)) {
          throw GoogleError.of(403, 'teamDrivesParentLimit', 'Moving items between My Drive and shared drives, or between shared drives, is not supported by the sandbox.');
        }
        if (this.subtree(f).some((x) => x.id === p.id)) throw GoogleError.of(400, 'invalid', 'A folder cannot be moved into itself or its descendants.', { location: 'addParents', locationType: 'parameter' });
      }
      parents = [...f.parents.filter((p) => !removeParents.includes(p)), ...added.map((p) => p.id)];
      if (parents.length > 1) throw GoogleError.of(403, 'cannotAddParent', 'Increasing the number of parents is not allowed.');
      if (parents.length === 0 && f.driveId) throw GoogleError.of(403, 'teamDrivesParentLimit', 'A shared drive item must have exactly one parent.');
    }
    const changed = new Set<string>([f.id]);
    let touched = false;
    if (parents !== f.parents) {
      for (const p of f.parents) this.children.get(p)?.delete(f.id);
      for (const p of parents) this.childSet(p).add(f.id);
      f.parents = parents;
      // who can see what is below changes with the move
      for (const x of this.subtree(f)) changed.add(x.id);
      touched = true;
    }
    if (typeof body.name === 'string' && body.name !== f.name) {
      f.name = body.name;
      touched = true;
    }
    if (typeof body.mimeType === 'string' && body.mimeType !== f.mimeType) {
      f.mimeType = body.mimeType;
      touched = true;
    }
    if (typeof body.starred === 'boolean' && body.starred !== f.starredBy.has(user)) {
      if (body.starred) f.starredBy.add(user);
      else f.starredBy.delete(user);
      f.version++;
    }
    if (typeof body.trashed === 'boolean' && body.trashed !== f.explicitlyTrashed) {
      // Trash follows the tree: what is below a trashed folder is trashed with it (not explicitly).
      for (const x of this.subtree(f)) {
        if (x === f) {
          f.trashed = body.trashed;
          f.explicitlyTrashed = body.trashed;
        } else if (!x.explicitlyTrashed) {
          x.trashed = body.trashed;
          x.version++;
        }
        changed.add(x.id);
      }
      touched = true;
    }
    if (touched) {
      f.version++;
      f.modifiedTime = Math.max(Date.now(), f.modifiedTime + 1);
      f.modifiedBy = user;
    }
    this.record(changed);
    return f;
  }

  /** files.delete: permanently, with everything below it (owner, or organizer of the shared drive). */
  remove(user: string, f: FileRec): void {
    if (f.root) throw insufficientFilePermissions();
    const role = this.roleOf(user, f);
    if (f.driveId ? rank(role) < RANK.fileOrganizer : f.owner !== user) throw insufficientFilePermissions();
    const gone = this.subtree(f);
    for (const x of gone) x.deleted = true;
    for (const p of f.parents) this.children.get(p)?.delete(f.id);
    this.record(gone.map((x) => x.id));
  }

  // ---- permissions -------------------------------------------------------------------------------

  /** permissions.create; a grantee who already has a permission keeps its id and gets the new role. */
  share(
    user: string,
    f: FileRec,
    body: Record<string, unknown>,
    opts: { transferOwnership: boolean; sendNotificationEmail: boolean },
  ): PermRec {
    this.requireRole(user, f, 'writer');
    const type = body.type as DrivePermissionType;
    const role = body.role as DriveRole;
    if (body.type === undefined) throw required('Required parameter: permission.type', { location: 'permission.type', locationType: 'other' });
    if (body.role === undefined) throw required('Required parameter: permission.role', { location: 'permission.role', locationType: 'other' });
    if (!TYPES.includes(type)) throw invalid(`Invalid permission type: ${String(body.type)}`, { location: 'permission.type', locationType: 'other' });
    if (!ROLES.includes(role)) throw invalid(`Invalid permission role: ${String(body.role)}`, { location: 'permission.role', locationType: 'other' });
    if (role === 'owner' && !opts.transferOwnership) {
      throw GoogleError.of(403, 'forbidden', "The transferOwnership parameter must be enabled when the permission role is 'owner'.", { location: 'transferOwnership', locationType: 'parameter' });
    }
    if (role === 'owner' && (type !== 'user' || f.driveId)) throw invalidSharing('Ownership can only be transferred to a user, and not for items in a shared drive.');
    if ((role === 'organizer' || role === 'fileOrganizer') && !f.driveId) throw invalidSharing(`The role ${role} is only valid for items in a shared drive.`);
    if (role === 'organizer' && f.root !== 'shared-drive') throw invalidSharing('The organizer role is only valid on a shared drive.');
    let who: string | undefined;
    if (type === 'user' || type === 'group') {
      const email = typeof body.emailAddress === 'string' ? body.emailAddress.trim().toLowerCase() : '';
      if (!email) throw required('Required parameter: permission.emailAddress', { location: 'permission.emailAddress', locationType: 'other' });
      if (!EMAIL_RE.test(email)) throw invalidSharing(`Sorry, the email address ${String(body.emailAddress)} is invalid.`);
      if (!opts.sendNotificationEmail && !this.googleDomains.has(domainOf(email))) {
        throw invalidSharing(
          `You are trying to invite ${email}. Since there is no Google account associated with this email address, you must check the "Notify people" box to invite this recipient.`,
        );
      }
      who = email;
    } else if (type === 'domain') {
      const domain = typeof body.domain === 'string' ? body.domain.trim().toLowerCase() : '';
      if (!domain) throw required('Required parameter: permission.domain', { location: 'permission.domain', locationType: 'other' });
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) throw invalidSharing(`Sorry, ${String(body.domain)} is not a valid domain.`);
      who = domain;
    }
    const discovery = type === 'anyone' || type === 'domain' ? body.allowFileDiscovery === true : undefined;
    const id = permissionIdFor(type, who, discovery);
    let p = f.permissions.find((x) => x.id === id || (type === 'anyone' && x.type === 'anyone'));
    if (p) {
      if (p.role === 'owner') throw GoogleError.of(403, 'cannotModifyOwner', 'The owner of a file cannot be given another role.');
      p.role = role;
      if (discovery !== undefined) p.allowFileDiscovery = discovery;
      p.id = id;
    } else {
      p = { id, type, role };
      if (type === 'user' || type === 'group') p.emailAddress = who;
      if (type === 'domain') p.domain = who;
      if (discovery !== undefined) p.allowFileDiscovery = discovery;
      f.permissions.push(p);
    }
    this.permissionsChanged(f);
    return p;
  }

  permission(f: FileRec, permissionId: string): PermRec {
    const p = f.permissions.find((x) => x.id === permissionId);
    if (!p) throw permissionNotFound(permissionId);
    return p;
  }

  /** permissions.update (the role; expiration and discovery are left alone). */
  changeRole(user: string, f: FileRec, permissionId: string, body: Record<string, unknown>, transferOwnership: boolean): PermRec {
    this.requireRole(user, f, 'writer');
    const p = this.permission(f, permissionId);
    const role = body.role as DriveRole;
    if (body.role === undefined) throw required('Required parameter: permission.role', { location: 'permission.role', locationType: 'other' });
    if (!ROLES.includes(role)) throw invalid(`Invalid permission role: ${String(body.role)}`, { location: 'permission.role', locationType: 'other' });
    if (role === 'owner' && !transferOwnership) {
      throw GoogleError.of(403, 'forbidden', "The transferOwnership parameter must be enabled when the permission role is 'owner'.", { location: 'transferOwnership', locationType: 'parameter' });
    }
    if (p.role === 'owner' && role !== 'owner') throw GoogleError.of(403, 'cannotModifyOwner', 'The owner of a file cannot be given another role.');
    if (role === 'owner') throw invalidSharing('Ownership transfer is not emulated by the sandbox.');
    if ((role === 'organizer' || role === 'fileOrganizer') && !f.driveId) throw invalidSharing(`The role ${role} is only valid for items in a shared drive.`);
    if (p.role === 'organizer' && role !== 'organizer') this.keepAnOrganizer(f, p);
    if (p.role !== role) {
      p.role = role;
      this.permissionsChanged(f);
    }
    return p;
  }

  /** permissions.delete: never the owner's, never a shared drive's last organizer. */
  unshare(user: string, f: FileRec, permissionId: string): void {
    const p = this.permission(f, permissionId);
    // a user may always remove their own access
    if (!(p.type === 'user' && p.emailAddress === user)) this.requireRole(user, f, 'writer');
    if (p.role === 'owner') throw GoogleError.of(403, 'cannotRemoveOwner', 'The owner of a file cannot be removed.');
    if (p.role === 'organizer') this.keepAnOrganizer(f, p);
    f.permissions = f.permissions.filter((x) => x !== p);
    this.permissionsChanged(f);
  }

  private keepAnOrganizer(f: FileRec, leaving: PermRec): void {
    if (f.root === 'shared-drive' && !f.permissions.some((x) => x !== leaving && x.role === 'organizer')) {
      throw GoogleError.of(403, 'cannotDeletePermission', 'The last organizer of a shared drive cannot be removed.');
    }
  }

  /** A sharing change: the file changes, and so does what is below it for whoever gains or loses access. */
  private permissionsChanged(f: FileRec): void {
    f.version++;
    this.record(f.mimeType === FOLDER_MIME ? this.subtree(f).map((x) => x.id) : [f.id]);
  }
}

/** files.create's appProperties: string values (null drops a key), at most 30 of them. */
function appProperties(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid Value', { location: 'file.appProperties', locationType: 'other' });
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null && x !== undefined) out[k] = String(x);
  if (Object.keys(out).length > 30) throw invalid('Too many properties.', { location: 'file.appProperties', locationType: 'other' });
  return out;
}

export function renderPermission(p: PermRec): DrivePermission {
  const out: DrivePermission = { kind: 'drive#permission', id: p.id, type: p.type, role: p.role };
  if (p.emailAddress) {
    out.emailAddress = p.emailAddress;
    out.displayName = displayNameOf(p.emailAddress);
  }
  if (p.domain) {
    out.domain = p.domain;
    out.displayName = p.domain;
  }
  if (p.allowFileDiscovery !== undefined) out.allowFileDiscovery = p.allowFileDiscovery;
  out.deleted = false;
  return out;
}

export function webViewLink(f: FileRec): string {
  switch (f.mimeType) {
    case FOLDER_MIME:
      return `https://drive.google.com/drive/folders/${f.id}`;
    case 'application/vnd.google-apps.document':
      return `https://docs.google.com/document/d/${f.id}/edit?usp=drivesdk`;
    case 'application/vnd.google-apps.spreadsheet':
      return `https://docs.google.com/spreadsheets/d/${f.id}/edit?usp=drivesdk`;
    case 'application/vnd.google-apps.presentation':
      return `https://docs.google.com/presentation/d/${f.id}/edit?usp=drivesdk`;
    default:
      return `https://drive.google.com/file/d/${f.id}/view?usp=drivesdk`;
  }
}
