/**
 * Drive's two little languages: `fields` (partial responses, e.g. `nextPageToken,files(id,name)`)
 * and the `q` search query of files.list (the subset the sandbox understands: `and`, `or`, `not`,
 * parentheses; `name`, `mimeType`, `trashed`, `starred`, `'<id>' in parents`, `'<email>' in
 * owners`, `modifiedTime`/`createdTime` comparisons, `name contains`). Anything else is Drive's
 * 400 "Invalid Value" on the parameter.
 */
import { invalid } from '../errors';

// ---- fields ---------------------------------------------------------------------------------------

/** field name → sub-selection (null: the whole value) */
export type FieldTree = Map<string, FieldTree | null>;

export function parseFields(spec: string): FieldTree | null {
  const s = spec.replace(/\s+/g, '');
  if (s === '' || s === '*') return null;
  let i = 0;
  const bad = () => invalid(`Invalid field selection ${spec}`, { location: 'fields', locationType: 'parameter' });
  const list = (): FieldTree => {
    const tree: FieldTree = new Map();
    for (;;) {
      const m = /^[A-Za-z0-9_*]+(\/[A-Za-z0-9_*]+)*/.exec(s.slice(i));
      if (!m) throw bad();
      i += m[0].length;
      const path = m[0].split('/');
      let sub: FieldTree | null = null;
      if (s[i] === '(') {
        i++;
        sub = list();
        if (s[i] !== ')') throw bad();
        i++;
      }
      // a/b/c is a(b(c))
      let node = tree;
      for (let k = 0; k < path.length - 1; k++) {
        const existing = node.get(path[k]!);
        const next: FieldTree = existing ?? new Map();
        node.set(path[k]!, next);
        node = next;
      }
      const last = path[path.length - 1]!;
      node.set(last, last === '*' ? null : sub);
      if (s[i] === ',') {
        i++;
        continue;
      }
      return tree;
    }
  };
  const tree = list();
  if (i !== s.length) throw bad();
  return tree;
}

/** The value with only the selected fields (arrays select per element). */
export function selectFields(value: unknown, tree: FieldTree | null): unknown {
  if (tree === null || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => selectFields(v, tree));
  if (tree.has('*')) return value;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of tree) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = selectFields(v, sub);
  }
  return out;
}

// ---- q ----------------------------------------------------------------------------------------------

export interface QueryTarget {
  name: string;
  mimeType: string;
  trashed: boolean;
  starred: boolean;
  parents: string[];
  owners: string[];
  modifiedTime: number;
  createdTime: number;
  appProperties: Record<string, string>;
}

export type Predicate = (f: QueryTarget) => boolean;

type Tok = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'op'; v: string } | { t: 'paren'; v: '(' | ')' } | { t: 'brace'; v: '{' | '}' };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let v = '';
      i++;
      while (i < q.length && q[i] !== c) {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        v += q[i++];
      }
      if (i >= q.length) throw badQuery();
      i++;
      out.push({ t: 'str', v });
    } else if (c === '(' || c === ')') {
      out.push({ t: 'paren', v: c });
      i++;
    } else if (c === '{' || c === '}') {
      out.push({ t: 'brace', v: c });
      i++;
    } else if ('=!<>'.includes(c)) {
      const m = /^(!=|<=|>=|=|<|>)/.exec(q.slice(i));
      if (!m) throw badQuery();
      out.push({ t: 'op', v: m[0] });
      i += m[0].length;
    } else {
      const m = /^[A-Za-z0-9_.]+/.exec(q.slice(i));
      if (!m) throw badQuery();
      out.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

const badQuery = () => invalid('Invalid Value', { location: 'q', locationType: 'parameter' });

export function parseQuery(q: string | undefined): Predicate {
  if (q === undefined || q.trim() === '') return () => true;
  const toks = tokenize(q);
  let i = 0;
  const peekWord = (w: string) => toks[i]?.t === 'word' && toks[i]!.v.toLowerCase() === w;
  const expr = (): Predicate => {
    const parts = [conj()];
    while (peekWord('or')) {
      i++;
      parts.push(conj());
    }
    return parts.length === 1 ? parts[0]! : (f) => parts.some((p) => p(f));
  };
  const conj = (): Predicate => {
    const parts = [unary()];
    while (peekWord('and')) {
      i++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0]! : (f) => parts.every((p) => p(f));
  };
  const unary = (): Predicate => {
    if (peekWord('not')) {
      i++;
      const inner = unary();
      return (f) => !inner(f);
    }
    const t = toks[i];
    if (t?.t === 'paren' && t.v === '(') {
      i++;
      const inner = expr();
      const close = toks[i++];
      if (close?.t !== 'paren' || close.v !== ')') throw badQuery();
      return inner;
    }
    return term();
  };
  const term = (): Predicate => {
    if (toks[i]?.t === 'word' && (toks[i]!.v === 'appProperties' || toks[i]!.v === 'properties') && toks[i + 1]?.t === 'word' && toks[i + 1]!.v === 'has') {
      // appProperties has { key='k' and value='v' }
      const [open, k, eq1, key, and, v, eq2, value, close] = toks.slice(i + 2, i + 11);
      const okShape = open?.t === 'brace' && k?.v === 'key' && eq1?.v === '=' && key?.t === 'str' && and?.v === 'and' && v?.v === 'value' && eq2?.v === '=' && value?.t === 'str' && close?.t === 'brace';
      if (!okShape) throw badQuery();
      i += 11;
      const [kk, vv] = [key.v, value.v];
      return (f) => f.appProperties[kk] === vv;
    }
    const a = toks[i++];
    const op = toks[i++];
    const b = toks[i++];
    if (!a || !op || !b) throw badQuery();
    if (a.t === 'str' && op.t === 'word' && op.v === 'in' && b.t === 'word') {
      const v = a.v;
      if (b.v === 'parents') return (f) => f.parents.includes(v);
      if (b.v === 'owners') return (f) => f.owners.includes(v.toLowerCase());
      throw badQuery();
    }
    if (a.t !== 'word') throw badQuery();
    const field = a.v;
    const opv = op.v;
    if (field === 'trashed' || field === 'starred') {
      if (b.t !== 'word' || (b.v !== 'true' && b.v !== 'false') || (opv !== '=' && opv !== '!=')) throw badQuery();
      const want = b.v === 'true';
      return opv === '=' ? (f) => f[field] === want : (f) => f[field] !== want;
    }
    if (b.t !== 'str') throw badQuery();
    const v = b.v;
    if (field === 'name' || field === 'mimeType') {
      if (opv === '=') return (f) => f[field] === v;
      if (opv === '!=') return (f) => f[field] !== v;
      if (op.t === 'word' && opv === 'contains') return field === 'name' ? (f) => f.name.toLowerCase().includes(v.toLowerCase()) : (f) => f.mimeType.includes(v);
      throw badQuery();
    }
    if (field === 'modifiedTime' || field === 'createdTime') {
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw badQuery();
      const cmp: Record<string, (x: number) => boolean> = { '=': (x) => x === t, '!=': (x) => x !== t, '<': (x) => x < t, '<=': (x) => x <= t, '>': (x) => x > t, '>=': (x) => x >= t };
      const c = cmp[opv];
      if (!c) throw badQuery();
      return (f) => c(f[field]);
    }
    throw badQuery();
  };
  const p = expr();
  if (i !== toks.length) throw badQuery();
  return p;
}
