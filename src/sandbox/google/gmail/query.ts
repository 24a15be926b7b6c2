/**
 * The subset of Gmail's search language the emulator understands (`q` of threads.list and
 * messages.list), evaluated per message (a thread matches when one of its messages does):
 *
 *   in:inbox|sent|trash|spam|draft(s)|starred|important|unread|chat(s)|anywhere
 *   label:<name or id>      (names compare lower case with blanks and "/" as "-": label:follow-up, label:customers-globex)
 *   is:unread|read|starred|unstarred|important    category:primary|social|promotions|updates|forums
 *   from:  to: (To and Cc)  cc:  subject:  rfc822msgid:  ("me" = the mailbox's owner; substring of name or address)
 *   after:/before: YYYY/MM/DD (UTC midnight; Gmail uses Pacific time) or epoch seconds
 *   newer_than:/older_than: <n>h|d|m|y   has:userlabels|nouserlabels|attachment (never: no attachments)
 *   words and "phrases" (subject, addresses and text), -negation, OR, ( ) grouping, { } any-of
 *
 * Unknown operators are searched as text. Spam and trash are left out unless `includeSpamTrash`,
 * or the query asks for them (in:trash, in:spam, in:anywhere, label:trash, label:spam).
 */
import { searchKey } from './labels';
import type { MessageContent } from './mime';

export interface Matchable {
  labels: ReadonlySet<string>;
  internalDate: number;
  content: MessageContent;
  sizeEstimate?: number;
}

export interface QueryContext {
  owner: string;
  now: number;
  /** a label id from a `label:` value (a user label's search key or id, or a system label), or undefined */
  label(value: string): string | undefined;
  /** true when the message has a user label */
  hasUserLabel(m: Matchable): boolean;
}

type Node =
  | { k: 'and'; of: Node[] }
  | { k: 'or'; of: Node[] }
  | { k: 'not'; of: Node }
  | { k: 'term'; key?: string; value: string };

export interface CompiledQuery {
  test(m: Matchable): boolean;
  /** the query asks for spam or trash explicitly */
  wantsSpamTrash: boolean;
}

type Tok = { t: '(' | ')' | '{' | '}' | '-' } | { t: 'word'; key?: string; value: string; quoted: boolean };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const readValue = (): { value: string; quoted: boolean } => {
    if (q[i] === '"') {
      const end = q.indexOf('"', i + 1);
      const value = q.slice(i + 1, end < 0 ? q.length : end);
      i = end < 0 ? q.length : end + 1;
      return { value, quoted: true };
    }
    const start = i;
    while (i < q.length && !/[\s(){}"]/.test(q[i]!)) i++;
    return { value: q.slice(start, i), quoted: false };
  };
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '{' || c === '}') {
      out.push({ t: c });
      i++;
      continue;
    }
    if (c === '-' && i + 1 < q.length && !/\s/.test(q[i + 1]!)) {
      out.push({ t: '-' });
      i++;
      continue;
    }
    const m = /^([A-Za-z_]+):/.exec(q.slice(i));
    if (m && i + m[0].length < q.length && !/\s/.test(q[i + m[0].length]!)) {
      const key = m[1]!.toLowerCase();
      i += m[0].length;
      if (q[i] === '(') {
        // key:(a b c) → each word with the key
        const end = q.indexOf(')', i);
        const inner = q.slice(i + 1, end < 0 ? q.length : end);
        i = end < 0 ? q.length : end + 1;
        out.push({ t: '(' });
        for (const w of inner.match(/"[^"]*"|\S+/g) ?? []) out.push({ t: 'word', key, value: w.replace(/^"|"$/g, ''), quoted: w.startsWith('"') });
        out.push({ t: ')' });
        continue;
      }
      out.push({ t: 'word', key, ...readValue() });
      continue;
    }
    out.push({ t: 'word', ...readValue() });
  }
  return out;
}

function parse(tokens: Tok[]): Node {
  let i = 0;
  const seq = (closer?: ')' | '}'): Node[] => {
    const items: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.t === ')' || t.t === '}') {
        i++;
        if (t.t === closer) break;
        continue; // stray closer
      }
      items.push(disjunction());
    }
    return items;
  };
  const disjunction = (): Node => {
    const of = [unary()];
    for (;;) {
      const t = tokens[i];
      if (t && t.t === 'word' && !t.key && !t.quoted && t.value === 'OR' && i + 1 < tokens.length) {
        i++;
        of.push(unary());
      } else break;
    }
    return of.length === 1 ? of[0]! : { k: 'or', of };
  };
  const unary = (): Node => {
    const t = tokens[i++];
    if (!t) return { k: 'and', of: [] };
    if (t.t === '-') return { k: 'not', of: unary() };
    if (t.t === '(') return { k: 'and', of: seq(')') };
    if (t.t === '{') return { k: 'or', of: seq('}') };
    if (t.t !== 'word') return { k: 'and', of: [] };
    if (!t.key && !t.quoted && t.value === 'AND') return unary();
    return t.key ? { k: 'term', key: t.key, value: t.value } : { k: 'term', value: t.value };
  };
  return { k: 'and', of: seq() };
}

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: DAY_MS, m: 30 * DAY_MS, y: 365 * DAY_MS };
const IN_LABELS: Record<string, string> = {
  inbox: 'INBOX', sent: 'SENT', trash: 'TRASH', bin: 'TRASH', spam: 'SPAM', draft: 'DRAFT', drafts: 'DRAFT',
  starred: 'STARRED', important: 'IMPORTANT', unread: 'UNREAD', chat: 'CHAT', chats: 'CHAT',
};
const CATEGORIES: Record<string, string> = {
  primary: 'CATEGORY_PERSONAL', personal: 'CATEGORY_PERSONAL', social: 'CATEGORY_SOCIAL', promotions: 'CATEGORY_PROMOTIONS',
  updates: 'CATEGORY_UPDATES', forums: 'CATEGORY_FORUMS',
};

function dateValue(v: string): number | undefined {
  if (/^\d{9,}$/.test(v)) return Number(v) * 1000;
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(v);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

const addrText = (a: { email: string; name?: string }) => `${a.name ?? ''} <${a.email}>`.toLowerCase();

export function compileQuery(q: string | undefined, ctx: QueryContext): CompiledQuery {
  const root = parse(tokenize(q ?? ''));
  let wantsSpamTrash = false;
  const owner = ctx.owner.toLowerCase();
  const who = (v: string) => (v.toLowerCase() === 'me' ? owner : v.toLowerCase());

  const compile = (n: Node): ((m: Matchable) => boolean) => {
    switch (n.k) {
      case 'and': {
        const fs = n.of.map(compile);
        return (m) => fs.every((f) => f(m));
      }
      case 'or': {
        const fs = n.of.map(compile);
        return (m) => fs.some((f) => f(m));
      }
      case 'not': {
        const f = compile(n.of);
        return (m) => !f(m);
      }
      case 'term':
        return term(n.key, n.value);
    }
  };

  const hasLabel = (id: string | undefined) => (m: Matchable) => id !== undefined && m.labels.has(id);
  const never = () => false;

  const term = (key: string | undefined, raw: string): ((m: Matchable) => boolean) => {
    const v = raw.toLowerCase();
    switch (key) {
      case undefined:
        break;
      case 'in':
        if (v === 'anywhere' || v === 'all') {
          wantsSpamTrash = true;
          return () => true;
        }
        if (v === 'trash' || v === 'bin' || v === 'spam') wantsSpamTrash = true;
        return hasLabel(IN_LABELS[v]);
      case 'label': {
        const id = ctx.label(raw);
        if (id === 'TRASH' || id === 'SPAM') wantsSpamTrash = true;
        return hasLabel(id);
      }
      case 'is':
        if (v === 'read') return (m) => !m.labels.has('UNREAD');
        if (v === 'unstarred') return (m) => !m.labels.has('STARRED');
        return hasLabel(IN_LABELS[v]);
      case 'category':
        return hasLabel(CATEGORIES[v]);
      case 'from': {
        const x = who(raw);
        return (m) => addrText(m.content.from).includes(x);
      }
      case 'to':
      case 'deliveredto': {
        const x = who(raw);
        return (m) => [...m.content.to, ...m.content.cc].some((a) => addrText(a).includes(x));
      }
      case 'cc': {
        const x = who(raw);
        return (m) => m.content.cc.some((a) => addrText(a).includes(x));
      }
      case 'subject':
        return (m) => m.content.subject.toLowerCase().includes(v);
      case 'rfc822msgid':
        return (m) => m.content.messageId.toLowerCase().replace(/^<|>$/g, '') === v.replace(/^<|>$/g, '');
      case 'after':
      case 'before':
      case 'newer':
      case 'older': {
        const t = dateValue(raw);
        if (t === undefined) return never;
        return key === 'after' || key === 'newer' ? (m) => m.internalDate >= t : (m) => m.internalDate < t;
      }
      case 'newer_than':
      case 'older_than': {
        const mm = /^(\d+)([hdmy])$/.exec(v);
        if (!mm) return never;
        const t = ctx.now - Number(mm[1]) * UNIT_MS[mm[2]!]!;
        return key === 'newer_than' ? (m) => m.internalDate > t : (m) => m.internalDate < t;
      }
      case 'has':
        if (v === 'userlabels') return (m) => ctx.hasUserLabel(m);
        if (v === 'nouserlabels') return (m) => !ctx.hasUserLabel(m);
        return never;
      default:
        return text(`${key}:${v}`);
    }
    return text(v);
  };

  const text = (v: string) => (m: Matchable) => {
    const c = m.content;
    return (
      c.subject.toLowerCase().includes(v) ||
      addrText(c.from).includes(v) ||
      c.to.some((a) => addrText(a).includes(v)) ||
      c.cc.some((a) => addrText(a).includes(v)) ||
      c.text.toLowerCase().includes(v)
    );
  };

  const test = compile(root);
  return { test, wantsSpamTrash };
}

/** `label:` values: system labels by id or their search names, user labels by search key or id. */
export function labelResolver(labels: Iterable<{ id: string; name: string; type: string }>): (value: string) => string | undefined {
  const byKey = new Map<string, string>();
  for (const l of labels) {
    byKey.set(l.id.toLowerCase(), l.id);
    if (l.type === 'user') byKey.set(searchKey(l.name), l.id);
  }
  return (value) => {
    const v = value.toLowerCase();
    return byKey.get(v) ?? byKey.get(searchKey(value)) ?? IN_LABELS[v] ?? (v.startsWith('category_') ? v.toUpperCase() : undefined);
  };
}
