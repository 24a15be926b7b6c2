/**
 * Pure mappers between Gmail v1 resources and Aurora's canonical email / email_label records, and
 * the label changes a local edit becomes. No I/O.
 *
 * A thread's label state is the union over its messages (as the Gmail UI shows it), except TRASH:
 * a thread is trashed when every message is. Label ids stay Gmail's (`INBOX`, `Label_12`): the
 * store translates `labels` to email_label Aurora ids through the registry.
 */
import type { gmail_v1 } from 'googleapis/build/src/apis/gmail';
import { canonicalize, normalizeValue, type Canonical } from '../../../core/model';
import type { ExternalRecord } from '../../types';
import { EMAIL, EMAIL_LABEL, PRIORITIES, STATE_LABELS, type Priority } from './entities';

export type GmailThread = gmail_v1.Schema$Thread;
export type GmailMessage = gmail_v1.Schema$Message;
export type GmailLabel = gmail_v1.Schema$Label;

/** The headers threads.get asks for (format=metadata). */
export const METADATA_HEADERS = ['From', 'To', 'Cc', 'Date', 'Subject'];

/** A local value Gmail cannot take (reported as that record's write error). */
export class InvalidEmailChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEmailChangeError';
  }
}

export interface Address {
  email: string;
  name?: string;
}

/**
 * Addresses of a From/To/Cc header: `a@x.com`, `Name <a@x.com>`, `"Last, First" <a@x.com>`, groups
 * (`team: a@x.com, b@x.com;`) and comments; lower-cased emails, first occurrence kept.
 */
export function parseAddressList(header: string | null | undefined): Address[] {
  if (!header) return [];
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  let paren = 0;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i]!;
    if (ch === '\\' && quoted) {
      cur += ch + (header[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"' && paren === 0) quoted = !quoted;
    else if (!quoted && ch === '(') paren++;
    else if (!quoted && ch === ')' && paren > 0) paren--;
    else if (!quoted && paren === 0 && ch === '<') angle++;
    else if (!quoted && paren === 0 && ch === '>' && angle > 0) angle--;
    if (!quoted && paren === 0 && angle === 0 && (ch === ',' || ch === ';')) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  const seen = new Set<string>();
  const out: Address[] = [];
  for (let p of parts) {
    p = p.replace(/\([^)]*\)/g, ' ').trim();
    const group = /^[^"<@]*:\s*(.*)$/.exec(p);
    if (group) p = group[1]!.trim();
    if (!p) continue;
    const m = /^(.*)<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$/.exec(p);
    const email = (m ? m[2]! : p).replace(/^mailto:/i, '').trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(email) || seen.has(email)) continue;
    seen.add(email);
    const name = m ? m[1]!.trim().replace(/^"(.*)"$/s, '$1').replace(/\\(.)/g, '$1').trim() : '';
    out.push(name && name.toLowerCase() !== email ? { email, name } : { email });
  }
  return out;
}

const header = (m: GmailMessage, name: string): string | undefined =>
  m.payload?.headers?.find((h) => h.name?.toLowerCase() === name.toLowerCase())?.value ?? undefined;

/** The text/plain content of a message (format=full): its first text/plain part, decoded. */
export function plainTextBody(m: GmailMessage): string | undefined {
  const walk = (p: gmail_v1.Schema$MessagePart | undefined): string | undefined => {
    if (!p) return undefined;
    if (p.mimeType?.toLowerCase() === 'text/plain' && !p.filename && p.body?.data) {
      return Buffer.from(p.body.data, 'base64url').toString('utf8');
    }
    for (const c of p.parts ?? []) {
      const t = walk(c);
      if (t !== undefined) return t;
    }
    return undefined;
  };
  return walk(m.payload);
}

export interface CanonicalMessage {
  id: string;
  from: Address | null;
  to: Address[];
  cc: Address[];
  date: string | null;
  subject: string | null;
  snippet: string | null;
  labels: string[];
  body?: string;
}

const iso = (ms: string | null | undefined): string | null => {
  const n = Number(ms);
  return Number.isFinite(n) && n > 0 ? new Date(n).toISOString() : null;
};

export function canonicalMessage(m: GmailMessage, withBody: boolean): CanonicalMessage {
  const out: CanonicalMessage = {
    id: m.id ?? '',
    from: parseAddressList(header(m, 'From'))[0] ?? null,
    to: parseAddressList(header(m, 'To')),
    cc: parseAddressList(header(m, 'Cc')),
    date: iso(m.internalDate),
    subject: header(m, 'Subject')?.trim() || null,
    snippet: m.snippet || null,
    labels: [...new Set(m.labelIds ?? [])].sort(),
  };
  if (withBody) {
    const body = plainTextBody(m);
    if (body !== undefined) out.body = body;
  }
  return out;
}

/** The thread's label state: the union over its messages; TRASH only when every message has it. */
export function threadLabels(messages: readonly GmailMessage[]): Set<string> {
  const all = new Set<string>();
  for (const m of messages) for (const l of m.labelIds ?? []) all.add(l);
  if (messages.length && !messages.every((m) => m.labelIds?.includes('TRASH'))) all.delete('TRASH');
  return all;
}

export function priorityOf(labels: ReadonlySet<string>): Priority {
  const important = labels.has('IMPORTANT');
  const starred = labels.has('STARRED');
  return starred ? (important ? 'urgent' : 'starred') : important ? 'important' : 'normal';
}

/** The IMPORTANT / STARRED markers a priority stands for. */
export function markersOf(priority: string | null | undefined): { IMPORTANT: boolean; STARRED: boolean } {
  const p = (priority ?? 'normal').trim().toLowerCase();
  if (!(PRIORITIES as readonly string[]).includes(p)) {
    throw new InvalidEmailChangeError(`priority "${priority}" is not one of ${PRIORITIES.join(', ')}`);
  }
  return { IMPORTANT: p === 'important' || p === 'urgent', STARRED: p === 'starred' || p === 'urgent' };
}

/** A Gmail thread (format metadata or full) as a canonical email record; labels as Gmail ids. */
export function toEmailFields(t: GmailThread, withBodies: boolean): Canonical {
  const messages = [...(t.messages ?? [])].sort((a, b) => Number(a.internalDate ?? 0) - Number(b.internalDate ?? 0) || ((a.id ?? '') < (b.id ?? '') ? -1 : 1));
  const canon = messages.map((m) => canonicalMessage(m, withBodies));
  const labels = threadLabels(messages);
  const people = new Map<string, { email: string; name?: string; roles: Set<string> }>();
  for (const m of canon) {
    const add = (a: Address, role: string) => {
      const p = people.get(a.email) ?? { email: a.email, roles: new Set<string>() };
      if (a.name && !p.name) p.name = a.name;
      p.roles.add(role);
      people.set(a.email, p);
    };
    if (m.from) add(m.from, 'from');
    for (const a of m.to) add(a, 'to');
    for (const a of m.cc) add(a, 'cc');
  }
  const participants = [...people.values()]
    .sort((a, b) => (a.email < b.email ? -1 : 1))
    .map((p) => ({ email: p.email, ...(p.name ? { name: p.name } : {}), roles: [...p.roles].sort() }));
  const first = canon[0];
  const last = canon[canon.length - 1];
  return canonicalize(EMAIL, {
    subject: first?.subject ?? null,
    snippet: last?.snippet ?? t.snippet ?? null,
    participants: participants.length ? participants : null,
    message_count: canon.length,
    first_message_at: first?.date ?? null,
    last_message_at: last?.date ?? null,
    labels: [...labels].filter((l) => !STATE_LABELS.includes(l)),
    unread: labels.has('UNREAD'),
    priority: priorityOf(labels),
    archived: !labels.has('INBOX'),
    trashed: labels.has('TRASH'),
    messages: canon.length ? canon : null,
  });
}

/**
 * A thread as an external record. Gmail gives threads no modification time: `observedAt` (when the
 * change was read) stands for it, so a change pulled later counts as the later write.
 */
export function toEmailRecord(t: GmailThread, withBodies: boolean, observedAt: string): ExternalRecord {
  return { externalId: t.id!, fields: toEmailFields(t, withBodies), updatedAt: observedAt, auroraId: null, archived: false };
}

export function toLabelFields(l: GmailLabel): Canonical {
  return canonicalize(EMAIL_LABEL, {
    name: l.name ?? null,
    label_type: l.type === 'system' ? 'system' : 'user',
    label_list_visibility: l.labelListVisibility ?? null,
    message_list_visibility: l.messageListVisibility ?? null,
    text_color: l.color?.textColor?.toLowerCase() ?? null,
    background_color: l.color?.backgroundColor?.toLowerCase() ?? null,
  });
}

export function toLabelRecord(l: GmailLabel, observedAt: string): ExternalRecord {
  return { externalId: l.id!, fields: toLabelFields(l), updatedAt: observedAt, auroraId: null, archived: false };
}

/** The body of labels.create / labels.patch for these (changed) fields of a user label. */
export function toLabelBody(fields: Canonical, changed?: readonly string[]): gmail_v1.Schema$Label {
  const has = (f: string) => !changed || changed.includes(f);
  const body: gmail_v1.Schema$Label = {};
  if (has('name')) {
    const name = fields.name?.trim();
    if (!name) throw new InvalidEmailChangeError('a label needs a name');
    body.name = name;
  }
  if (has('label_list_visibility') && fields.label_list_visibility) body.labelListVisibility = fields.label_list_visibility;
  if (has('message_list_visibility') && fields.message_list_visibility) body.messageListVisibility = fields.message_list_visibility;
  if (has('text_color') || has('background_color')) {
    const text = fields.text_color;
    const bg = fields.background_color;
    if (Boolean(text) !== Boolean(bg)) throw new InvalidEmailChangeError('a label colour needs both text_color and background_color (or neither)');
    if (text && bg) body.color = { textColor: text, backgroundColor: bg };
    else if (changed) body.color = null as never; // patch: null removes the colour
  }
  return body;
}

/**
 * The record a thread write leaves: `fields` (what was sent) with what Gmail computes from the
 * write taken from its answer (threads.modify / trash / untrash return the thread's messages with
 * their labelIds): each known message's labels, and the read state, priority, archive and trash
 * flags they add up to. Removing UNREAD takes it off every message, a trash also takes INBOX: the
 * write's record says so, instead of the next pull finding it changed and taking Gmail's answer to
 * our own write for a change of Gmail's. The thread's user labels keep the values sent (a label
 * Gmail added meanwhile still comes in with the next pull), and so do messages the answer has and
 * the record does not (mail that arrived meanwhile).
 */
export function afterThreadWrite(fields: Canonical, answer: gmail_v1.Schema$Thread | undefined): Canonical {
  let messages: CanonicalMessage[];
  try {
    messages = JSON.parse(fields.messages ?? 'null') as CanonicalMessage[];
  } catch {
    return fields;
  }
  if (!Array.isArray(messages) || !messages.length) return fields;
  const answered = new Map((answer?.messages ?? []).filter((m) => m.id && m.labelIds).map((m) => [m.id!, m]));
  if (!messages.every((m) => answered.has(m.id))) return fields;
  const known = messages.map((m) => answered.get(m.id)!);
  const labels = threadLabels(known);
  return canonicalize(EMAIL, {
    ...fields,
    messages: messages.map((m) => ({ ...m, labels: [...new Set(answered.get(m.id)!.labelIds)].sort() })),
    unread: labels.has('UNREAD'),
    priority: priorityOf(labels),
    archived: !labels.has('INBOX'),
    trashed: labels.has('TRASH'),
  });
}

export interface ThreadChange {
  add: string[];
  remove: string[];
  /** threads.trash (true) or threads.untrash (false) first */
  trash?: boolean;
}

const boolOf = (v: string | null | undefined): boolean => normalizeValue('boolean', v) === 'true';

/**
 * The label changes of a local edit: only what changed since the last sync (`previous`), so a
 * label Gmail added or removed meanwhile is neither undone nor re-added. `changed` limits the
 * fields considered. `labels` hold Gmail ids.
 */
export function threadChange(fields: Canonical, previous: Canonical | null | undefined, changed?: readonly string[]): ThreadChange {
  const prev = previous ?? {};
  const has = (f: string) => (!changed || changed.includes(f)) && (fields[f] ?? null) !== (prev[f] ?? null);
  const add = new Set<string>();
  const remove = new Set<string>();
  const out: ThreadChange = { add: [], remove: [] };
  if (has('labels')) {
    const now = new Set((fields.labels ?? '').split(',').filter(Boolean));
    const before = new Set((prev.labels ?? '').split(',').filter(Boolean));
    const state = [...now].filter((l) => STATE_LABELS.includes(l) && !before.has(l));
    if (state.length) {
      throw new InvalidEmailChangeError(`${state.join(', ')} ${state.length > 1 ? 'are' : 'is'} set with the thread's own fields (unread, archived, trashed, priority), not in labels`);
    }
    for (const l of now) if (!before.has(l)) add.add(l);
    for (const l of before) if (!now.has(l)) remove.add(l);
  }
  if (has('unread')) (boolOf(fields.unread) ? add : remove).add('UNREAD');
  if (has('archived')) (boolOf(fields.archived) ? remove : add).add('INBOX');
  if (has('priority')) {
    const want = markersOf(fields.priority);
    const had = markersOf(prev.priority ?? 'normal');
    for (const k of ['IMPORTANT', 'STARRED'] as const) {
      if (want[k] && !had[k]) add.add(k);
      if (!want[k] && had[k]) remove.add(k);
    }
  }
  if (has('trashed')) out.trash = boolOf(fields.trashed);
  out.add = [...add].sort();
  out.remove = [...remove].filter((l) => !add.has(l)).sort();
  return out;
}
