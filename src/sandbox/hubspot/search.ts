/** POST /crm/v3/objects/{type}/search: filters, sort, paging and the 10k cap over the lagging index. */
import { validationError } from './errors';
import { compareKind, DEFAULT_PROPERTIES, SEARCHABLE_PROPERTIES, type CompareKind } from './schema';
import { parseTime, type Snapshot, type Store } from './store';
import type { ObjectType } from './types';

export const SEARCH_MAX_GROUPS = 5;
export const SEARCH_MAX_FILTERS_PER_GROUP = 10;
export const SEARCH_MAX_FILTERS = 25;
export const SEARCH_MAX_LIMIT = 200;
export const SEARCH_RESULT_CAP = 10_000;

const OPERATORS = new Set([
  'EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN',
  'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN',
]);

type Key = number | string;
type Pred = (s: Snapshot) => boolean;

export interface SearchHit {
  id: string;
  snap: Snapshot;
}

export interface SearchOutcome {
  total: number;
  hits: SearchHit[];
  nextAfter?: string;
  properties: string[];
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw validationError(`Invalid input JSON: ${what} must be an object`);
  return v as Record<string, unknown>;
}

/** The comparable key of a stored value, or undefined when the property has no value. */
function storedKey(kind: CompareKind, raw: string | null | undefined): Key | undefined {
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (kind === 'time') {
    const ms = parseTime(raw);
    return Number.isFinite(ms) ? ms : undefined;
  }
  if (kind === 'number') {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  return raw.toLowerCase();
}

function filterKey(kind: CompareKind, raw: unknown, property: string): Key {
  if (kind === 'time') {
    const ms = parseTime(typeof raw === 'number' ? raw : String(raw ?? ''));
    if (!Number.isFinite(ms)) throw validationError(`There was a problem with the request: "${String(raw)}" is not a valid date for ${property}.`);
    return ms;
  }
  if (kind === 'number') {
    const n = Number(raw);
    if (raw === null || raw === undefined || raw === '' || !Number.isFinite(n)) {
      throw validationError(`There was a problem with the request: "${String(raw)}" is not a valid number for ${property}.`);
    }
    return n;
  }
  if (raw === null || raw === undefined) throw validationError(`There was a problem with the request: missing filter value for ${property}.`);
  return String(raw).toLowerCase();
}

function cmp(a: Key, b: Key): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function tokens(value: string): string[] {
  return value.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

function tokenMatcher(pattern: string): (value: string) => boolean {
  const p = pattern.toLowerCase().trim();
  if (p.includes('*')) {
    const re = new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return (value) => {
      const v = value.toLowerCase();
      return re.test(v) || tokens(v).some((t) => re.test(t));
    };
  }
  return (value) => {
    const v = value.toLowerCase();
    return v === p || tokens(v).includes(p) || (p.length > 0 && tokens(p).length > 1 && v.includes(p));
  };
}

function compileFilter(store: Store, type: ObjectType, raw: unknown): Pred {
  const f = asObject(raw, 'filter');
  const property = f.propertyName;
  const operator = f.operator;
  if (typeof property !== 'string' || !property) throw validationError('There was a problem with the request: filter.propertyName is required.');
  if (typeof operator !== 'string' || !OPERATORS.has(operator)) {
    throw validationError(`There was a problem with the request: unknown filter operator "${String(operator)}".`);
  }
  const def = store.prop(type, property);
  if (!def) throw validationError(`There was a problem with the request: Property "${property}" does not exist for ${type}.`);
  const kind = compareKind(def);
  const get = (s: Snapshot): Key | undefined => storedKey(kind, s.properties[property]);
  switch (operator) {
    case 'HAS_PROPERTY':
      return (s) => get(s) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (s) => get(s) === undefined;
    case 'IN':
    case 'NOT_IN': {
      if (!Array.isArray(f.values)) throw validationError(`There was a problem with the request: ${operator} requires "values".`);
      const values = f.values.map((v) => filterKey(kind, v, property));
      const hit = (s: Snapshot): boolean => {
        const k = get(s);
        return k !== undefined && values.some((v) => cmp(k, v) === 0);
      };
      return operator === 'IN' ? hit : (s) => !hit(s);
    }
    case 'BETWEEN': {
      const low = filterKey(kind, f.value, property);
      const high = filterKey(kind, f.highValue, property);
      return (s) => {
        const k = get(s);
        return k !== undefined && cmp(k, low) >= 0 && cmp(k, high) <= 0;
      };
    }
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const match = tokenMatcher(String(f.value ?? ''));
      const hit = (s: Snapshot): boolean => {
        const v = s.properties[property];
        return v !== null && v !== undefined && v !== '' && match(v);
      };
      return operator === 'CONTAINS_TOKEN' ? hit : (s) => !hit(s);
    }
    default: {
      const v = filterKey(kind, f.value, property);
      const test: (c: number) => boolean =
        operator === 'EQ' ? (c) => c === 0
          : operator === 'NEQ' ? (c) => c !== 0
            : operator === 'LT' ? (c) => c < 0
              : operator === 'LTE' ? (c) => c <= 0
                : operator === 'GT' ? (c) => c > 0
                  : (c) => c >= 0;
      if (operator === 'NEQ') {
        return (s) => {
          const k = get(s);
          return k === undefined || test(cmp(k, v));
        };
      }
      return (s) => {
        const k = get(s);
        return k !== undefined && test(cmp(k, v));
      };
    }
  }
}

function compileQuery(type: ObjectType, query: string): Pred | undefined {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean).map((t) => t.replace(/\*/g, ''));
  if (terms.length === 0) return undefined;
  const props = SEARCHABLE_PROPERTIES[type];
  return (s) =>
    terms.every((term) =>
      props.some((p) => {
        const v = s.properties[p];
        if (!v) return false;
        const lower = v.toLowerCase();
        return lower.startsWith(term) || tokens(lower).some((t) => t.startsWith(term));
      }),
    );
}

interface SortSpec {
  property: string;
  kind: CompareKind;
  descending: boolean;
}

function parseSorts(store: Store, type: ObjectType, raw: unknown): SortSpec | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw validationError('Invalid input JSON: "sorts" must be an array');
  if (raw.length === 0) return undefined;
  if (raw.length > 1) throw validationError('There was a problem with the request: only one sort is supported.');
  const s = raw[0];
  let property: string;
  let descending = false;
  if (typeof s === 'string') {
    descending = s.startsWith('-');
    property = descending ? s.slice(1) : s;
  } else {
    const o = asObject(s, 'sort');
    if (typeof o.propertyName !== 'string') throw validationError('There was a problem with the request: sort.propertyName is required.');
    property = o.propertyName;
    const dir = o.direction ?? 'ASCENDING';
    if (dir !== 'ASCENDING' && dir !== 'DESCENDING') {
      throw validationError(`There was a problem with the request: sort direction must be ASCENDING or DESCENDING, got "${String(dir)}".`);
    }
    descending = dir === 'DESCENDING';
  }
  const def = store.prop(type, property);
  if (!def) throw validationError(`There was a problem with the request: Property "${property}" does not exist for ${type}.`);
  return { property, kind: compareKind(def), descending };
}

function intParam(raw: unknown, name: string, fallback: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(String(raw));
  if (!Number.isInteger(n) || n < 0) throw validationError(`There was a problem with the request: "${name}" must be a non-negative integer, got "${String(raw)}".`);
  return n;
}

export function runSearch(store: Store, type: ObjectType, rawBody: unknown, now = Date.now()): SearchOutcome {
  const body = rawBody === undefined ? {} : asObject(rawBody, 'request body');
  const groupsRaw = body.filterGroups ?? [];
  if (!Array.isArray(groupsRaw)) throw validationError('Invalid input JSON: "filterGroups" must be an array');
  if (groupsRaw.length > SEARCH_MAX_GROUPS) {
    throw validationError(`There was a problem with the request: a search may have at most ${SEARCH_MAX_GROUPS} filterGroups, got ${groupsRaw.length}.`);
  }
  let totalFilters = 0;
  const groups: Pred[][] = groupsRaw.map((g) => {
    const filters = asObject(g, 'filterGroup').filters ?? [];
    if (!Array.isArray(filters)) throw validationError('Invalid input JSON: "filters" must be an array');
    if (filters.length > SEARCH_MAX_FILTERS_PER_GROUP) {
      throw validationError(
        `There was a problem with the request: a filterGroup may have at most ${SEARCH_MAX_FILTERS_PER_GROUP} filters, got ${filters.length}.`,
      );
    }
    totalFilters += filters.length;
    return filters.map((f) => compileFilter(store, type, f));
  });
  if (totalFilters > SEARCH_MAX_FILTERS) {
    throw validationError(`There was a problem with the request: a search may have at most ${SEARCH_MAX_FILTERS} filters in total, got ${totalFilters}.`);
  }
  const sort = parseSorts(store, type, body.sorts);
  const query = typeof body.query === 'string' ? compileQuery(type, body.query) : undefined;
  const limit = intParam(body.limit, 'limit', 10);
  if (limit > SEARCH_MAX_LIMIT) throw validationError(`There was a problem with the request: limit must be at most ${SEARCH_MAX_LIMIT}, got ${limit}.`);
  const after = intParam(body.after, 'after', 0);
  if (after >= SEARCH_RESULT_CAP || after + limit > SEARCH_RESULT_CAP) {
    throw validationError(
      `There was a problem with the request: search results are limited to ${SEARCH_RESULT_CAP} records per query (after=${after}, limit=${limit}). Narrow the filters instead of paging further.`,
    );
  }
  let properties: string[];
  if (body.properties === undefined || body.properties === null) properties = DEFAULT_PROPERTIES[type];
  else if (Array.isArray(body.properties)) properties = body.properties.map(String);
  else throw validationError('Invalid input JSON: "properties" must be an array');
  if (properties.length === 0) properties = DEFAULT_PROPERTIES[type];

  const hits: SearchHit[] = [];
  for (const rec of store.records(type)) {
    if (rec.cur.archived) continue;
    const snap = store.indexed(rec, now);
    if (!snap || snap.archived) continue;
    if (groups.length && !groups.some((g) => g.every((p) => p(snap)))) continue;
    if (query && !query(snap)) continue;
    hits.push({ id: rec.id, snap });
  }
  // records are kept in ascending id order, which is the default order and the tie-breaker
  if (sort) {
    const keyed = hits.map((h, i) => ({ h, i, k: storedKey(sort.kind, h.snap.properties[sort.property]) }));
    keyed.sort((a, b) => {
      if (a.k === undefined || b.k === undefined) {
        if (a.k === b.k) return a.i - b.i;
        return a.k === undefined ? 1 : -1; // no value sorts last either way
      }
      const c = cmp(a.k, b.k);
      if (c !== 0) return sort.descending ? -c : c;
      return a.i - b.i;
    });
    for (let i = 0; i < keyed.length; i++) hits[i] = keyed[i]!.h;
  }
  const page = hits.slice(after, after + limit);
  const out: SearchOutcome = { total: hits.length, hits: page, properties };
  if (after + limit < hits.length && limit > 0) out.nextAfter = String(after + limit);
  return out;
}
