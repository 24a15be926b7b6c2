/**
 * In-memory CRM state: records per type, unique-value indexes, associations, property history and
 * the lagging search index (each record keeps the versions that search may still be seeing).
 */
import { assocType, defaultType, primaryType, type AssocTypeDef } from './associations';
import { HsError, propertyValidationError, type PropertyValidationError } from './errors';
import { seedRealistic } from './generate';
import { defaultSchema, LAST_MODIFIED, SINGULAR, type PropDef } from './schema';
import { OBJECT_TYPES, type ObjectType, type SandboxRecord } from './types';

export type SourceType = 'API' | 'CRM_UI' | 'IMPORT';

/**
 * A change to the CRM, reported to `Store.onChange` (webhooks). Not reported for `IMPORT` writes
 * (seeding) nor for the system properties (last-modified dates, hs_object_id, createdate).
 */
export type StoreChange =
  | { kind: 'creation' | 'deletion'; type: ObjectType; id: string; at: number; source: SourceType }
  | { kind: 'propertyChange'; type: ObjectType; id: string; at: number; source: SourceType; name: string; value: string }
  | {
      kind: 'associationChange';
      type: ObjectType;
      id: string;
      toType: ObjectType;
      toId: string;
      at: number;
      source: SourceType;
      removed: boolean;
      primary: boolean;
    };

/** One immutable version of a record. */
export interface Snapshot {
  readonly properties: Readonly<Record<string, string | null>>;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly archived: boolean;
  readonly archivedAt?: number;
}

export interface HistoryEntry {
  value: string;
  timestamp: string;
  sourceType: SourceType;
  sourceId?: string;
}

export interface Rec {
  readonly id: string;
  readonly type: ObjectType;
  cur: Snapshot;
  /** wall-clock time `cur` was written (what the search lag is measured from) */
  changedAt: number;
  /** earlier versions search may still see: [time it became current, version]; null = did not exist */
  older?: Array<{ t: number; snap: Snapshot | null }>;
  /** per-property history, newest first; created lazily on the first change of a property */
  history?: Map<string, HistoryEntry[]>;
  createSource: SourceType;
}

export interface StoreOptions {
  searchLagMs: number;
  strictEnumerations: boolean;
  randomSeed: number;
}

export interface UniqueConflict {
  property: string;
  value: string;
  existingId: string;
}

const SYSTEM_PROPS = new Set(['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate']);
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses a datetime given as epoch ms (number or digits) or an ISO/RFC string; NaN when invalid. */
export function parseTime(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return Number.NaN;
  const s = value.trim();
  if (/^-?\d+$/.test(s)) return Number(s);
  if (s === '') return Number.NaN;
  return Date.parse(s);
}

export class Store {
  readonly schema = defaultSchema();
  private readonly recs = {} as Record<ObjectType, Map<string, Rec>>;
  /** records per type in ascending id order (ids are allocated increasing, so appends keep order) */
  private readonly order = {} as Record<ObjectType, Rec[]>;
  /** type -> property -> lower-cased value -> id (live records only) */
  private readonly unique = {} as Record<ObjectType, Map<string, Map<string, string>>>;
  /** `${fromType}|${fromId}|${toType}` -> toId -> type ids */
  private readonly assoc = new Map<string, Map<string, Set<number>>>();
  private nextId = 1001;
  private seedRound = 0;
  /** change listener (webhooks); called synchronously, so it must be cheap */
  onChange: ((c: StoreChange) => void) | undefined;

  private reports(source: SourceType): boolean {
    return this.onChange !== undefined && source !== 'IMPORT';
  }

  constructor(readonly opts: StoreOptions) {
    for (const t of OBJECT_TYPES) {
      this.recs[t] = new Map();
      this.order[t] = [];
      this.unique[t] = new Map();
    }
  }

  // ---- lookup ------------------------------------------------------------------------------

  records(type: ObjectType): readonly Rec[] {
    return this.order[type];
  }

  byId(type: ObjectType, id: string, includeArchived = false): Rec | undefined {
    const rec = this.recs[type].get(String(id));
    if (!rec || (rec.cur.archived && !includeArchived)) return undefined;
    return rec;
  }

  /** Properties usable as `idProperty` (upsert, idProperty reads): unique custom ones, and email for contacts. */
  isIdProperty(type: ObjectType, name: string): boolean {
    if (type === 'contacts' && name === 'email') return true;
    const def = this.schema[type].get(name);
    return Boolean(def && !def.archived && def.hasUniqueValue);
  }

  byUnique(type: ObjectType, property: string, value: string): Rec | undefined {
    const id = this.unique[type].get(property)?.get(value.trim().toLowerCase());
    return id === undefined ? undefined : this.byId(type, id);
  }

  /** Resolves `id` as the record id, or as the value of `idProperty` when given (and not hs_object_id). */
  resolve(type: ObjectType, id: string, idProperty?: string, includeArchived = false): Rec | undefined {
    if (!idProperty || idProperty === 'hs_object_id') return this.byId(type, id, includeArchived);
    const live = this.byUnique(type, idProperty, id);
    if (live || !includeArchived) return live;
    const needle = id.trim().toLowerCase();
    return this.order[type].find((r) => r.cur.archived && (r.cur.properties[idProperty] ?? '').toLowerCase() === needle);
  }

  prop(type: ObjectType, name: string): PropDef | undefined {
    const def = this.schema[type].get(name);
    return def && !def.archived ? def : undefined;
  }

  // ---- validation --------------------------------------------------------------------------

  /**
   * Validates and normalises API input properties (values coerced to strings, datetimes to ISO).
   * Throws a 400 VALIDATION_ERROR listing every invalid property. `null` clears a property.
   */
  validate(type: ObjectType, input: unknown): Record<string, string> {
    if (input === undefined || input === null) return {};
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw new HsError(400, 'VALIDATION_ERROR', 'Invalid input JSON: "properties" must be an object');
    }
    const out: Record<string, string> = {};
    const problems: PropertyValidationError[] = [];
    for (const [name, raw] of Object.entries(input as Record<string, unknown>)) {
      const def = this.prop(type, name);
      if (!def) {
        problems.push({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name });
        continue;
      }
      if (def.readOnlyValue) {
        problems.push({
          isValid: false,
          message: `"${name}" is a read only property; its value cannot be set.`,
          error: 'READ_ONLY_VALUE',
          name,
        });
        continue;
      }
      let value: string;
      if (raw === null || raw === undefined) value = '';
      else if (typeof raw === 'string') value = raw;
      else if (typeof raw === 'number' || typeof raw === 'boolean') value = String(raw);
      else {
        problems.push({ isValid: false, message: `${JSON.stringify(raw)} is not a valid property value.`, error: 'INVALID_VALUE', name });
        continue;
      }
      const problem = this.checkValue(type, def, value);
      if (typeof problem === 'string') out[name] = problem;
      else problems.push(problem);
    }
    if (problems.length) throw propertyValidationError(problems);
    return out;
  }

  /** Returns the normalised value, or the validation problem. */
  private checkValue(type: ObjectType, def: PropDef, value: string): string | PropertyValidationError {
    const name = def.name;
    if (value === '') return '';
    const bad = (error: string, message: string): PropertyValidationError => ({ isValid: false, message, error, name });
    switch (def.type) {
      case 'number':
        return value.trim() !== '' && Number.isFinite(Number(value)) ? value.trim() : bad('INVALID_FLOAT', `${value} was not a valid number.`);
      case 'datetime': {
        const ms = parseTime(value);
        return Number.isFinite(ms) ? iso(ms) : bad('INVALID_DATE', `${value} was not a valid date-time; use epoch milliseconds or ISO 8601.`);
      }
      case 'date': {
        const ms = parseTime(value);
        if (!Number.isFinite(ms)) return bad('INVALID_DATE', `${value} was not a valid date.`);
        if (ms % 86_400_000 !== 0) return bad('INVALID_DATE', `${value} is at ${iso(ms)} UTC; dates must be midnight UTC.`);
        return iso(ms).slice(0, 10);
      }
      case 'bool':
        return value === 'true' || value === 'false' ? value : bad('INVALID_BOOLEAN', `${value} was not a valid boolean ("true" or "false").`);
      case 'enumeration':
        if (this.opts.strictEnumerations && !def.options.some((o) => o.value === value)) {
          return bad('INVALID_OPTION', `${value} was not one of the allowed options: [${def.options.map((o) => o.value).join(', ')}]`);
        }
        return value;
      default:
        if (type === 'contacts' && name === 'email' && !EMAIL_RE.test(value.trim())) {
          return bad('INVALID_EMAIL', `Email address ${value} is invalid`);
        }
        return value;
    }
  }

  /** A unique value already held by another live record. */
  conflict(type: ObjectType, props: Record<string, string | null>, selfId?: string): UniqueConflict | undefined {
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === '' || !this.isUnique(type, name)) continue;
      const existingId = this.unique[type].get(name)?.get(value.trim().toLowerCase());
      if (existingId !== undefined && existingId !== selfId) return { property: name, value, existingId };
    }
    return undefined;
  }

  conflictError(type: ObjectType, c: UniqueConflict): HsError {
    return new HsError(409, 'CONFLICT', conflictMessage(type, c));
  }

  private isUnique(type: ObjectType, name: string): boolean {
    return (type === 'contacts' && name === 'email') || Boolean(this.schema[type].get(name)?.hasUniqueValue);
  }

  private index(type: ObjectType, name: string, value: string | null | undefined, id: string, add: boolean): void {
    if (value === null || value === undefined || value === '' || !this.isUnique(type, name)) return;
    const key = value.trim().toLowerCase();
    let m = this.unique[type].get(name);
    if (add) {
      if (!m) this.unique[type].set(name, (m = new Map()));
      m.set(key, id);
    } else if (m && m.get(key) === id) {
      m.delete(key);
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Creates a record. `props` must already be validated; unique conflicts throw 409.
   * `at` fixes createdAt/updatedAt (seeding); otherwise now.
   */
  create(type: ObjectType, props: Record<string, string | null>, source: SourceType, at?: number): Rec {
    const c = this.conflict(type, props);
    if (c) throw this.conflictError(type, c);
    const id = String(this.nextId++);
    const ts = at ?? Date.now();
    const properties: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(props)) if (v !== null) properties[k] = v;
    stamp(type, properties, id, ts, ts);
    const rec: Rec = {
      id,
      type,
      cur: { properties, createdAt: ts, updatedAt: ts, archived: false },
      changedAt: Date.now(),
      createSource: source,
    };
    if (this.opts.searchLagMs > 0) rec.older = [{ t: Number.NEGATIVE_INFINITY, snap: null }];
    this.recs[type].set(id, rec);
    this.order[type].push(rec);
    for (const [k, v] of Object.entries(properties)) this.index(type, k, v, id, true);
    if (this.reports(source)) {
      const emit = this.onChange!;
      emit({ kind: 'creation', type, id, at: ts, source });
      for (const [k, v] of Object.entries(properties)) {
        if (!SYSTEM_PROPS.has(k) && v !== null && v !== '') emit({ kind: 'propertyChange', type, id, at: ts, source, name: k, value: v });
      }
    }
    return rec;
  }

  /**
   * Applies property changes (null or '' from the UI helpers: null removes the value). Returns
   * false when no value actually changed — then, as in HubSpot, nothing is written and the
   * last-modified date does not move. Unique conflicts throw 409.
   */
  update(rec: Rec, changes: Record<string, string | null>, source: SourceType): boolean {
    const type = rec.type;
    const prev = rec.cur.properties;
    const changed: Array<[string, string | null]> = [];
    for (const [k, v] of Object.entries(changes)) {
      if (SYSTEM_PROPS.has(k)) continue;
      // '' and unset are the same "no value" for change detection
      const before = prev[k] ?? null;
      if (before === v || (before === null && v === '')) continue;
      changed.push([k, v]);
    }
    if (changed.length === 0) return false;
    const c = this.conflict(type, Object.fromEntries(changed), rec.id);
    if (c) throw this.conflictError(type, c);
    const ts = this.nextTimestamp(rec);
    const properties = { ...prev };
    for (const [k, v] of changed) {
      this.index(type, k, prev[k], rec.id, false);
      this.recordHistory(rec, k, v, ts, source);
      if (v === null) delete properties[k];
      else properties[k] = v;
      this.index(type, k, v, rec.id, true);
    }
    stamp(type, properties, rec.id, rec.cur.createdAt, ts);
    this.commit(rec, { ...rec.cur, properties, updatedAt: ts });
    if (this.reports(source)) {
      for (const [k, v] of changed) this.onChange!({ kind: 'propertyChange', type, id: rec.id, at: ts, source, name: k, value: v ?? '' });
    }
    return true;
  }

  /**
   * Archives (soft-deletes) a record; idempotent. Its associations are removed (reported as the
   * deletion only, no associationChange events).
   */
  archive(rec: Rec, source: SourceType = 'API'): void {
    if (rec.cur.archived) return;
    const ts = this.nextTimestamp(rec);
    const properties = { ...rec.cur.properties };
    stamp(rec.type, properties, rec.id, rec.cur.createdAt, ts);
    for (const [k, v] of Object.entries(properties)) this.index(rec.type, k, v, rec.id, false);
    for (const to of OBJECT_TYPES) {
      for (const toId of [...this.assocMap(rec.type, rec.id, to).keys()]) this.removeAssociation(rec.type, rec.id, to, toId, { touch: false, silent: true });
    }
    this.commit(rec, { ...rec.cur, properties, updatedAt: ts, archived: true, archivedAt: ts });
    if (this.reports(source)) this.onChange!({ kind: 'deletion', type: rec.type, id: rec.id, at: ts, source });
  }

  /** Bumps the last-modified date without a property change (association changes). */
  touch(rec: Rec): void {
    if (rec.cur.archived) return;
    const ts = this.nextTimestamp(rec);
    const properties = { ...rec.cur.properties };
    stamp(rec.type, properties, rec.id, rec.cur.createdAt, ts);
    this.commit(rec, { ...rec.cur, properties, updatedAt: ts });
  }

  private nextTimestamp(rec: Rec): number {
    return Math.max(Date.now(), rec.cur.updatedAt + 1);
  }

  private commit(rec: Rec, snap: Snapshot): void {
    const now = Date.now();
    if (this.opts.searchLagMs > 0) {
      (rec.older ??= []).push({ t: rec.changedAt, snap: rec.cur });
    }
    rec.cur = snap;
    rec.changedAt = now;
    this.prune(rec, now - this.opts.searchLagMs);
  }

  private recordHistory(rec: Rec, name: string, value: string | null, ts: number, source: SourceType): void {
    const history = (rec.history ??= new Map());
    let list = history.get(name);
    if (!list) {
      list = [];
      const old = rec.cur.properties[name];
      if (old !== undefined && old !== null) list.push({ value: old, timestamp: iso(rec.cur.createdAt), sourceType: rec.createSource });
      history.set(name, list);
    }
    list.unshift({ value: value ?? '', timestamp: iso(ts), sourceType: source });
  }

  propertyHistory(rec: Rec, name: string): HistoryEntry[] {
    const list = rec.history?.get(name);
    if (list) return list;
    const v = rec.cur.properties[name];
    if (v === undefined || v === null) return [];
    const timestamp = SYSTEM_PROPS.has(name) ? iso(rec.cur.updatedAt) : iso(rec.cur.createdAt);
    return [{ value: v, timestamp, sourceType: rec.createSource }];
  }

  // ---- search index (eventual consistency) ---------------------------------------------------

  /** Drops versions search can no longer see. */
  private prune(rec: Rec, cutoff: number): void {
    const older = rec.older;
    if (!older) return;
    if (rec.changedAt <= cutoff) {
      rec.older = undefined;
      return;
    }
    let keep = 0;
    for (let i = older.length - 1; i >= 0; i--) {
      if (older[i]!.t <= cutoff) {
        keep = i;
        break;
      }
    }
    if (keep > 0) rec.older = older.slice(keep);
  }

  /** The version of `rec` the search index holds at `now` (null: not indexed yet). */
  indexed(rec: Rec, now = Date.now()): Snapshot | null {
    const lag = this.opts.searchLagMs;
    if (lag <= 0 || !rec.older) return rec.cur;
    const cutoff = now - lag;
    this.prune(rec, cutoff);
    if (!rec.older) return rec.cur;
    for (let i = rec.older.length - 1; i >= 0; i--) {
      const v = rec.older[i]!;
      if (v.t <= cutoff) return v.snap;
    }
    return null;
  }

  // ---- associations ------------------------------------------------------------------------

  private assocMap(from: ObjectType, fromId: string, to: ObjectType): Map<string, Set<number>> {
    return this.assoc.get(`${from}|${fromId}|${to}`) ?? EMPTY_MAP;
  }

  /** Association types from one record to the records of `to`, in association order. */
  associationsOf(from: ObjectType, fromId: string, to: ObjectType): ReadonlyMap<string, ReadonlySet<number>> {
    return this.assocMap(from, fromId, to);
  }

  private addType(def: AssocTypeDef, fromId: string, toId: string): boolean {
    const key = `${def.from}|${fromId}|${def.to}`;
    let m = this.assoc.get(key);
    if (!m) this.assoc.set(key, (m = new Map()));
    let set = m.get(toId);
    if (!set) m.set(toId, (set = new Set()));
    if (set.has(def.typeId)) return false;
    set.add(def.typeId);
    return true;
  }

  /** Adds the given types (and their inverses). Returns the newly created type ids (both directions). */
  addAssociation(from: ObjectType, fromId: string, to: ObjectType, toId: string, typeIds: number[], source: SourceType = 'API'): AssocTypeDef[] {
    const created: AssocTypeDef[] = [];
    for (const typeId of typeIds) {
      const def = assocType(typeId);
      if (!def || def.from !== from || def.to !== to) continue;
      if (def.primary) {
        // the contact/deal side may have one primary company
        if (def.from === 'companies') this.clearPrimary(assocType(def.inverse)!, toId);
        else this.clearPrimary(def, fromId);
      }
      if (this.addType(def, fromId, toId)) created.push(def);
      const inv = assocType(def.inverse)!;
      if (this.addType(inv, toId, fromId)) created.push(inv);
    }
    if (created.length) {
      this.touchPair(from, fromId, to, toId);
      if (this.reports(source)) this.reportAssociation(created, from, fromId, to, toId, source, false);
    }
    return created;
  }

  /** One associationChange per direction whose types changed (as HubSpot sends one per side). */
  private reportAssociation(defs: AssocTypeDef[], from: ObjectType, fromId: string, to: ObjectType, toId: string, source: SourceType, removed: boolean): void {
    const at = Date.now();
    for (const [a, aId, b, bId] of [[from, fromId, to, toId], [to, toId, from, fromId]] as const) {
      const mine = defs.filter((d) => d.from === a && d.to === b);
      if (mine.length === 0) continue;
      this.onChange!({ kind: 'associationChange', type: a, id: aId, toType: b, toId: bId, at, source, removed, primary: mine.some((d) => d.primary) });
    }
  }

  /**
   * The default association: the unlabeled type both ways, plus the primary-company label when the
   * contact/deal has no primary company yet.
   */
  addDefaultAssociation(
    from: ObjectType,
    fromId: string,
    to: ObjectType,
    toId: string,
    source: SourceType = 'API',
  ): Array<{ def: AssocTypeDef; fromId: string; toId: string }> {
    const out: Array<{ def: AssocTypeDef; fromId: string; toId: string }> = [];
    const unlabeled = defaultType(from, to);
    if (!unlabeled) return out;
    const ids = [unlabeled.typeId];
    // the contact/deal side of a link to a company gets the Primary label if it has none yet
    if (to === 'companies' || from === 'companies') {
      const childIsFrom = to === 'companies';
      const child = childIsFrom ? from : to;
      const childId = childIsFrom ? fromId : toId;
      const primary = primaryType(child, 'companies');
      if (primary && !this.hasType(child, childId, 'companies', primary.typeId)) {
        ids.push(childIsFrom ? primary.typeId : primary.inverse);
      }
    }
    for (const def of this.addAssociation(from, fromId, to, toId, ids, source)) {
      out.push(def.from === from ? { def, fromId, toId } : { def, fromId: toId, toId: fromId });
    }
    // report the spec even if it already existed, as HubSpot does
    if (out.length === 0) {
      out.push({ def: unlabeled, fromId, toId }, { def: assocType(unlabeled.inverse)!, fromId: toId, toId: fromId });
    }
    return out;
  }

  private hasType(from: ObjectType, fromId: string, to: ObjectType, typeId: number): boolean {
    for (const set of this.assocMap(from, fromId, to).values()) if (set.has(typeId)) return true;
    return false;
  }

  /** A record has at most one primary company. */
  private clearPrimary(def: AssocTypeDef, fromId: string): void {
    const m = this.assocMap(def.from, fromId, def.to);
    for (const [toId, set] of m) {
      if (set.delete(def.typeId)) {
        this.assocMap(def.to, toId, def.from).get(fromId)?.delete(def.inverse);
      }
    }
  }

  /**
   * Removes associations (all types, or `typeIds`) in both directions. `touch` (default true) bumps
   * both records' last-modified dates; `silent` reports no associationChange.
   */
  removeAssociation(
    from: ObjectType,
    fromId: string,
    to: ObjectType,
    toId: string,
    opts: { touch?: boolean; typeIds?: number[]; source?: SourceType; silent?: boolean } = {},
  ): boolean {
    const touch = opts.touch ?? true;
    const typeIds = opts.typeIds;
    const source = opts.source ?? 'API';
    const fwd = this.assoc.get(`${from}|${fromId}|${to}`);
    const set = fwd?.get(toId);
    if (!fwd || !set) return false;
    const remove = typeIds ?? [...set];
    let changed = false;
    const back = this.assoc.get(`${to}|${toId}|${from}`);
    const backSet = back?.get(fromId);
    const removed: AssocTypeDef[] = [];
    for (const typeId of remove) {
      const def = assocType(typeId);
      if (set.delete(typeId)) {
        changed = true;
        if (def) removed.push(def);
      }
      if (def && backSet?.delete(def.inverse)) removed.push(assocType(def.inverse)!);
    }
    if (set.size === 0) fwd.delete(toId);
    if (backSet && backSet.size === 0) back!.delete(fromId);
    if (changed && touch) this.touchPair(from, fromId, to, toId);
    if (changed && !opts.silent && this.reports(source)) this.reportAssociation(removed, from, fromId, to, toId, source, true);
    return changed;
  }

  private touchPair(from: ObjectType, fromId: string, to: ObjectType, toId: string): void {
    const a = this.byId(from, fromId);
    const b = this.byId(to, toId);
    if (a) this.touch(a);
    if (b) this.touch(b);
  }

  // ---- seeding -----------------------------------------------------------------------------

  seed(type: ObjectType, count: number, modifiedAt?: Date): Rec[] {
    const round = this.seedRound++;
    const domains = type === 'companies' ? new Set(this.order.companies.map((r) => r.cur.properties.domain)) : undefined;
    const props = seedRealistic(type, count, {
      seed: (this.opts.randomSeed + round * 7919) >>> 0,
      emailTaken: (e) => this.unique.contacts.get('email')?.has(e) ?? false,
      domainTaken: (d) => domains?.has(d) ?? false,
    });
    const at = modifiedAt ? modifiedAt.getTime() : Date.now();
    return props.map((p) => this.create(type, p, 'IMPORT', at));
  }

  // ---- views -------------------------------------------------------------------------------

  toSandboxRecord(rec: Rec): SandboxRecord {
    return snapshotToRecord(rec.id, rec.cur);
  }
}

const EMPTY_MAP: Map<string, Set<number>> = new Map();

export function snapshotToRecord(id: string, s: Snapshot): SandboxRecord {
  const out: SandboxRecord = {
    id,
    properties: { ...s.properties },
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    archived: s.archived,
  };
  if (s.archivedAt !== undefined) out.archivedAt = iso(s.archivedAt);
  return out;
}

function stamp(type: ObjectType, p: Record<string, string | null>, id: string, createdAt: number, updatedAt: number): void {
  p.hs_object_id = id;
  p.createdate = iso(createdAt);
  p.hs_lastmodifieddate = iso(updatedAt);
  if (LAST_MODIFIED[type] === 'lastmodifieddate') p.lastmodifieddate = iso(updatedAt);
}

export function conflictMessage(type: ObjectType, c: UniqueConflict): string {
  if (type === 'contacts' && c.property === 'email') return `Contact already exists. Existing ID: ${c.existingId}`;
  return `A ${SINGULAR[type]} with ${c.property} "${c.value}" already exists (${c.property} has unique values). Existing ID: ${c.existingId}`;
}
