/**
 * Mailboxes: messages grouped in threads, labels, and the history feed.
 *
 * Every change of a mailbox (a message added or deleted, labels added to or removed from a message)
 * appends one history record per message and change type, with the next value of the mailbox's
 * historyId (which rises by a random 1–4, so ids have gaps as at Gmail); the message's historyId
 * becomes the record's. history.list returns the records after a startHistoryId; records older than
 * the retention (or dropped by expireHistory) are gone, and a startHistoryId before them is a 404.
 * Seeded messages get historyIds but no records: history begins after the seed.
 * Label create/rename/colour changes make no history record (Gmail's history has no label types).
 */
import type { Prng } from '../prng';
import { gmailNotFound, invalidArgument, labelConflict } from './errors';
import { SYSTEM_LABELS, nameKey, parseLabelInput, type LabelRec } from './labels';
import type { MessageContent } from './mime';
import type { Matchable } from './query';
import type { GmailLabelInput } from './types';

export type HistoryType = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface StoredMessage extends Matchable {
  id: string;
  threadId: string;
  labels: Set<string>;
  internalDate: number;
  historyId: number;
  content: MessageContent;
}

export interface StoredThread {
  id: string;
  /** ascending internalDate */
  messages: StoredMessage[];
}

export interface HistoryEntry {
  id: number;
  time: number;
  type: HistoryType;
  messageId: string;
  threadId: string;
  /** the message's labels after the change (before it, for a deletion) */
  labelIds: string[];
  /** labelAdded / labelRemoved: the labels added or removed */
  changed?: string[];
}

export interface WatchRec {
  topicName: string;
  labelIds: string[];
  behavior: 'include' | 'exclude';
  historyId: number;
  expiration: number;
}

export interface Mailbox {
  email: string;
  messages: Map<string, StoredMessage>;
  threads: Map<string, StoredThread>;
  labels: Map<string, LabelRec>;
  nextLabel: number;
  historyId: number;
  /** ascending; `history[historyHead..]` are retained */
  history: HistoryEntry[];
  historyHead: number;
  /** the highest history id no longer retained: a startHistoryId below it is a 404 */
  floor: number;
  watch?: WatchRec;
  prng: Prng;
}

export interface NewMessage {
  /** an existing thread, or undefined for a new one (whose id is the message's) */
  threadId?: string;
  internalDate: number;
  labels: string[];
  content: MessageContent;
}

const MAX_RECORDS = 100_000;

export class GmailStore {
  private readonly boxes = new Map<string, Mailbox>();
  /** called with the records of every change but seeding (push notifications) */
  onChange: (mb: Mailbox, entries: HistoryEntry[]) => void = () => undefined;

  constructor(
    private readonly prng: (salt: string) => Prng,
    readonly retentionMs: number,
  ) {}

  ensure(email: string): Mailbox {
    let mb = this.boxes.get(email);
    if (!mb) {
      const prng = this.prng(`gmail:${email}`);
      const start = prng.int(100_000, 4_000_000);
      mb = {
        email,
        messages: new Map(),
        threads: new Map(),
        labels: new Map(SYSTEM_LABELS.map((l) => [l.id, { ...l }])),
        nextLabel: 1,
        historyId: start,
        history: [],
        historyHead: 0,
        floor: start,
        prng,
      };
      this.boxes.set(email, mb);
    }
    return mb;
  }

  get(email: string): Mailbox | undefined {
    return this.boxes.get(email);
  }

  all(): Mailbox[] {
    return [...this.boxes.values()];
  }

  // ---- ids ---------------------------------------------------------------------------------------

  /** Gmail-like ids: 16 hex digits, rising with the time (ms << 20 | random). */
  newMessageId(mb: Mailbox, internalDate: number, prng: Prng = mb.prng): string {
    for (;;) {
      const n = (BigInt(Math.max(0, Math.floor(internalDate))) << 20n) | BigInt(prng.int(0, 0xfffff));
      const id = n.toString(16).padStart(16, '0');
      if (!mb.messages.has(id) && !mb.threads.has(id)) return id;
    }
  }

  private bump(mb: Mailbox): number {
    mb.historyId += mb.prng.int(1, 4);
    return mb.historyId;
  }

  private record(mb: Mailbox, m: StoredMessage, type: HistoryType, changed?: string[], labelIds = [...m.labels]): HistoryEntry {
    const e: HistoryEntry = { id: this.bump(mb), time: Date.now(), type, messageId: m.id, threadId: m.threadId, labelIds };
    if (changed) e.changed = changed;
    mb.history.push(e);
    if (mb.history.length - mb.historyHead > MAX_RECORDS) this.dropUntil(mb, mb.historyHead + (mb.history.length - mb.historyHead - MAX_RECORDS));
    return e;
  }

  private commit(mb: Mailbox, entries: HistoryEntry[]): HistoryEntry[] {
    if (entries.length > 0) this.onChange(mb, entries);
    return entries;
  }

  // ---- messages ----------------------------------------------------------------------------------

  thread(mb: Mailbox, id: string): StoredThread {
    const t = mb.threads.get(id);
    if (!t) throw gmailNotFound();
    return t;
  }

  message(mb: Mailbox, id: string): StoredMessage {
    const m = mb.messages.get(id);
    if (!m) throw gmailNotFound();
    return m;
  }

  /** A new message; `record` false (seeding) gives it a historyId without a history record. */
  insert(mb: Mailbox, spec: NewMessage, record: boolean, id = this.newMessageId(mb, spec.internalDate)): StoredMessage {
    let thread = spec.threadId === undefined ? undefined : this.thread(mb, spec.threadId);
    const m: StoredMessage = {
      id,
      threadId: thread?.id ?? id,
      labels: new Set(spec.labels),
      internalDate: spec.internalDate,
      historyId: 0,
      content: spec.content,
      sizeEstimate: spec.content.sizeEstimate,
    };
    if (!thread) {
      thread = { id, messages: [] };
      mb.threads.set(id, thread);
    }
    const msgs = thread.messages;
    let at = msgs.length;
    while (at > 0 && msgs[at - 1]!.internalDate > m.internalDate) at--;
    msgs.splice(at, 0, m);
    mb.messages.set(id, m);
    if (record) {
      const e = this.record(mb, m, 'messageAdded');
      m.historyId = e.id;
      this.commit(mb, [e]);
    } else {
      m.historyId = this.bump(mb);
    }
    return m;
  }

  /** Adds and removes labels (already validated); one record per message and change type that changed something. */
  modify(mb: Mailbox, msgs: StoredMessage[], add: readonly string[], remove: readonly string[]): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    for (const m of msgs) {
      const added = add.filter((l) => !m.labels.has(l));
      const removed = remove.filter((l) => m.labels.has(l));
      for (const l of added) m.labels.add(l);
      for (const l of removed) m.labels.delete(l);
      if (added.length) entries.push(this.record(mb, m, 'labelAdded', added));
      if (removed.length) entries.push(this.record(mb, m, 'labelRemoved', removed));
      if (added.length || removed.length) m.historyId = mb.historyId;
    }
    return this.commit(mb, entries);
  }

  /** Permanently deletes (threads go when their last message goes). */
  remove(mb: Mailbox, msgs: StoredMessage[]): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    for (const m of msgs) {
      if (mb.messages.get(m.id) !== m) continue;
      mb.messages.delete(m.id);
      const t = mb.threads.get(m.threadId);
      if (t) {
        t.messages = t.messages.filter((x) => x !== m);
        if (t.messages.length === 0) mb.threads.delete(t.id);
      }
      entries.push(this.record(mb, m, 'messageDeleted', undefined, [...m.labels]));
    }
    return this.commit(mb, entries);
  }

  /** Seeding is over: history starts now. */
  resetHistory(mb: Mailbox): void {
    this.dropUntil(mb, mb.history.length);
    mb.floor = mb.historyId;
  }

  // ---- history -----------------------------------------------------------------------------------

  private dropUntil(mb: Mailbox, index: number): void {
    if (index <= mb.historyHead) return;
    mb.floor = Math.max(mb.floor, mb.history[index - 1]!.id);
    mb.historyHead = index;
    if (mb.historyHead > 1024 && mb.historyHead * 2 > mb.history.length) {
      mb.history = mb.history.slice(mb.historyHead);
      mb.historyHead = 0;
    }
  }

  /** Drops the records older than the retention. */
  prune(mb: Mailbox, now = Date.now()): void {
    const edge = now - this.retentionMs;
    let i = mb.historyHead;
    while (i < mb.history.length && mb.history[i]!.time < edge) i++;
    this.dropUntil(mb, i);
  }

  expire(mb: Mailbox): void {
    this.dropUntil(mb, mb.history.length);
    mb.floor = mb.historyId;
  }

  retained(mb: Mailbox): HistoryEntry[] {
    this.prune(mb);
    return mb.history.slice(mb.historyHead);
  }

  /** The records after `start`, or the 404 of an id outside the retained history. */
  since(mb: Mailbox, start: number): HistoryEntry[] {
    this.prune(mb);
    if (start < mb.floor || start > mb.historyId) throw gmailNotFound();
    const h = mb.history;
    let lo = mb.historyHead;
    let hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (h[mid]!.id <= start) lo = mid + 1;
      else hi = mid;
    }
    return h.slice(lo);
  }

  // ---- labels ------------------------------------------------------------------------------------

  label(mb: Mailbox, id: string): LabelRec {
    const l = mb.labels.get(id);
    if (!l) throw gmailNotFound();
    return l;
  }

  private checkName(mb: Mailbox, name: string, self?: LabelRec): void {
    const key = nameKey(name);
    for (const l of mb.labels.values()) if (l !== self && nameKey(l.name) === key) throw labelConflict();
  }

  createLabel(mb: Mailbox, body: unknown): LabelRec {
    const input = parseLabelInput(body);
    if (input.name === undefined) throw invalidArgument('Invalid label name');
    this.checkName(mb, input.name);
    const rec: LabelRec = {
      id: `Label_${mb.nextLabel++}`,
      name: input.name,
      type: 'user',
      messageListVisibility: input.messageListVisibility ?? 'show',
      labelListVisibility: input.labelListVisibility ?? 'labelShow',
    };
    if (input.color) rec.color = input.color;
    mb.labels.set(rec.id, rec);
    return rec;
  }

  /** PATCH merges the given fields; PUT (`replace`) resets the absent visibilities and colour. */
  updateLabel(mb: Mailbox, rec: LabelRec, body: unknown, replace: boolean): LabelRec {
    if (rec.type === 'system') throw invalidArgument('Invalid update request');
    const input: GmailLabelInput = parseLabelInput(body);
    if (replace && input.name === undefined) throw invalidArgument('Invalid label name');
    if (input.name !== undefined) this.checkName(mb, input.name, rec);
    if (input.name !== undefined) rec.name = input.name;
    if (input.messageListVisibility !== undefined || replace) rec.messageListVisibility = input.messageListVisibility ?? 'show';
    if (input.labelListVisibility !== undefined || replace) rec.labelListVisibility = input.labelListVisibility ?? 'labelShow';
    if (input.color !== undefined || replace) {
      if (input.color) rec.color = input.color;
      else delete rec.color;
    }
    return rec;
  }

  /** Removes the label from every message (labelRemoved records) and from the mailbox. */
  deleteLabel(mb: Mailbox, rec: LabelRec): HistoryEntry[] {
    if (rec.type === 'system') throw invalidArgument('Invalid delete request');
    const tagged = [...mb.messages.values()].filter((m) => m.labels.has(rec.id));
    const entries = this.modify(mb, tagged, [], [rec.id]);
    mb.labels.delete(rec.id);
    return entries;
  }

  counts(mb: Mailbox, id: string): { messagesTotal: number; messagesUnread: number; threadsTotal: number; threadsUnread: number } {
    let messagesTotal = 0;
    let messagesUnread = 0;
    let threadsTotal = 0;
    let threadsUnread = 0;
    for (const t of mb.threads.values()) {
      let has = false;
      let unread = false;
      for (const m of t.messages) {
        if (!m.labels.has(id)) continue;
        has = true;
        messagesTotal++;
        if (m.labels.has('UNREAD')) {
          messagesUnread++;
          unread = true;
        }
      }
      if (has) threadsTotal++;
      if (unread) threadsUnread++;
    }
    return { messagesTotal, messagesUnread, threadsTotal, threadsUnread };
  }
}

/** The latest internalDate of a thread (its sort key in lists). */
export const lastDate = (t: StoredThread): number => t.messages[t.messages.length - 1]?.internalDate ?? 0;

export const threadHistoryId = (t: StoredThread): number => t.messages.reduce((h, m) => Math.max(h, m.historyId), 0);
