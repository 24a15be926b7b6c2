/**
 * Gmail v1 over HTTP (paths at the origin root, as googleapis builds them from `rootUrl`), with each
 * method's scopes and quota units (https://developers.google.com/gmail/api/reference/quota):
 *
 *   GET    /gmail/v1/users/:userId/profile                          1
 *   POST   /gmail/v1/users/:userId/watch | /stop                    100 | 50
 *   GET    /gmail/v1/users/:userId/history                          2
 *   GET    /gmail/v1/users/:userId/labels | POST                    1 | 5
 *   GET|PATCH|PUT|DELETE /gmail/v1/users/:userId/labels/:id        1 | 5 | 5 | 5
 *   GET    /gmail/v1/users/:userId/threads                          10
 *   GET|DELETE /gmail/v1/users/:userId/threads/:id                 10 | 20
 *   POST   /gmail/v1/users/:userId/threads/:id/modify|trash|untrash 10
 *   GET    /gmail/v1/users/:userId/messages                         5
 *   GET|DELETE /gmail/v1/users/:userId/messages/:id                5 | 10
 *   POST   /gmail/v1/users/:userId/messages/:id/modify|trash|untrash 5
 *   POST   /gmail/v1/users/:userId/messages/batchModify|batchDelete 50
 *   501    messages.send/insert/import, drafts.*, attachments.get (sending mail is not part of sync)
 *
 * `userId` is `me` or the token's own address; any other address is Gmail's 403 "Delegation denied
 * for <token's user>" (what Google answers when a token of one user names another mailbox; a
 * service account reaches a mailbox only by impersonating its user). A service-account token without
 * a subject has no mailbox: 400 failedPrecondition. A token with only gmail.metadata cannot use `q`
 * or format full/raw (403).
 */
import { createHash } from 'node:crypto';
import { SCOPE } from '../auth';
import { qList, qString, type ApiContext, type ApiResult, type Core, type Query } from '../server';
import { delegationDenied, failedPrecondition, forbidden, invalidArgument, invalidValue, notImplemented } from './errors';
import { renderLabel, SYSTEM_IDS, UNSETTABLE } from './labels';
import { compileQuery, labelResolver } from './query';
import { HISTORY_TYPES, renderMessage, renderRecord, renderThread, type Format } from './render';
import { lastDate, threadHistoryId, type GmailStore, type HistoryEntry, type HistoryType, type Mailbox, type StoredMessage, type StoredThread } from './store';

const V1 = '/gmail/v1/users/:userId';
const S = SCOPE;
const FULL = [S.gmail];
const MODIFY = [S.gmail, S.gmailModify];
const READ = [S.gmail, S.gmailModify, S.gmailReadonly, S.gmailMetadata];
const PROFILE = [...READ, S.gmailCompose];
const LABELS_READ = [...READ, S.gmailLabels];
const LABELS_WRITE = [S.gmail, S.gmailModify, S.gmailLabels];
const SEND = [S.gmail, S.gmailModify, S.gmailCompose, S.gmailSend];
const INSERT = [S.gmail, S.gmailModify, S.gmailInsert];
const DRAFTS = [S.gmail, S.gmailModify, S.gmailCompose];
const NOT_METADATA_ONLY = new Set<string>([S.gmail, S.gmailModify, S.gmailReadonly]);

const MAX_RESULTS = 500;
const MAX_LABEL_CHANGES = 100;
const MAX_BATCH = 1000;
const ID_RE = /^[0-9a-f]{1,16}$/i;
const FORMATS = new Set<Format>(['minimal', 'metadata', 'full', 'raw']);

const POOL = 'gmail';
const units = (n: number) => ({ quota: { pool: POOL, units: n } });

export interface GmailRouteDeps {
  store: GmailStore;
  projectId: string;
  watchLifetimeMs: number;
}

function maxResults(q: Query, dflt: number): number {
  const v = qString(q, 'maxResults');
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw invalidValue('max_results', 'TYPE_UINT32', v);
  return Math.min(MAX_RESULTS, n === 0 ? dflt : n);
}

function boolParam(q: Query, name: string, field: string): boolean {
  const v = qString(q, name);
  if (v === undefined || v === '') return false;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalidValue(field, 'TYPE_BOOL', v);
}

function formatParam(q: Query, allowRaw: boolean, request: string): Format {
  const v = qString(q, 'format');
  if (v === undefined || v === '') return 'full';
  const f = v.toLowerCase() as Format;
  if (!FORMATS.has(f) || (f === 'raw' && !allowRaw)) throw invalidValue('format', `type.googleapis.com/google.apps.gmail.v1.${request}.Format`, v);
  return f;
}

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw invalidArgument('Invalid id value');
  return id.toLowerCase();
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);

function encodePage(p: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

function decodePage<T>(token: string | undefined, binding: string): T | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { b?: unknown };
    if (v && v.b === binding) return v as T;
  } catch {
    /* below */
  }
  throw invalidArgument('Invalid pageToken');
}

function body(ctx: ApiContext): Record<string, unknown> {
  const b = ctx.json();
  if (b === undefined) return {};
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw invalidArgument('Invalid JSON payload received.');
  return b as Record<string, unknown>;
}

function idList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidValue(field, 'TYPE_STRING', JSON.stringify(v));
  return v as string[];
}

/** The messages a list or search covers (spam and trash left out unless asked for). */
export function messageFilter(mb: Mailbox, opts: { q?: string; labelIds?: string[]; includeSpamTrash?: boolean }, now = Date.now()): (m: StoredMessage) => boolean {
  const labelIds = opts.labelIds ?? [];
  const compiled = compileQuery(opts.q, {
    owner: mb.email,
    now,
    label: labelResolver(mb.labels.values()),
    hasUserLabel: (m) => [...m.labels].some((l) => !SYSTEM_IDS.has(l)),
  });
  const excludeSpamTrash = !opts.includeSpamTrash && !compiled.wantsSpamTrash && !labelIds.some((l) => l === 'TRASH' || l === 'SPAM');
  return (m) => {
    if (excludeSpamTrash && (m.labels.has('TRASH') || m.labels.has('SPAM'))) return false;
    for (const l of labelIds) if (!m.labels.has(l)) return false;
    return compiled.test(m);
  };
}

/** Threads with a matching message, newest (latest message) first. */
export function matchingThreads(mb: Mailbox, match: (m: StoredMessage) => boolean): StoredThread[] {
  const out: StoredThread[] = [];
  for (const t of mb.threads.values()) if (t.messages.some(match)) out.push(t);
  return out.sort((a, b) => lastDate(b) - lastDate(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** Label changes of a modify request, validated against the mailbox (unknown and unsettable labels: 400). */
export function labelChange(mb: Mailbox, add: string[], remove: string[]): { add: string[]; remove: string[] } {
  if (add.length === 0 && remove.length === 0) throw invalidArgument('No label add or removes specified');
  if (add.length > MAX_LABEL_CHANGES || remove.length > MAX_LABEL_CHANGES) throw invalidArgument(`Too many label changes: at most ${MAX_LABEL_CHANGES} to add and ${MAX_LABEL_CHANGES} to remove`);
  for (const l of [...add, ...remove]) {
    if (!mb.labels.has(l) || UNSETTABLE.has(l)) throw invalidArgument(`Invalid label: ${l}`);
  }
  for (const l of add) if (remove.includes(l)) throw invalidArgument(`Label ${l} cannot be both added and removed`);
  return { add: [...new Set(add)], remove: [...new Set(remove)] };
}

export const TRASH_CHANGE = { add: ['TRASH'], remove: ['INBOX', 'SPAM'] };
export const UNTRASH_CHANGE = { add: [] as string[], remove: ['TRASH'] };

export function registerGmailRoutes(core: Core, deps: GmailRouteDeps): void {
  const { store } = deps;
  const r = core.route;

  const mailbox = (ctx: ApiContext): Mailbox => {
    const p = ctx.principal;
    if (p.kind === 'serviceAccount') throw failedPrecondition();
    const uid = ctx.params.userId ?? '';
    if (uid !== 'me' && uid.trim().toLowerCase() !== p.email) throw delegationDenied(p.email);
    return store.ensure(p.email);
  };
  const metadataOnly = (ctx: ApiContext) => ![...ctx.principal.scopes].some((s) => NOT_METADATA_ONLY.has(s));
  const noQ = (ctx: ApiContext) => {
    if (metadataOnly(ctx) && (qString(ctx.query, 'q') ?? '') !== '') throw forbidden("Metadata scope does not support 'q' parameter");
  };
  const formatOf = (ctx: ApiContext, allowRaw: boolean, request: string): Format => {
    const f = formatParam(ctx.query, allowRaw, request);
    if ((f === 'full' || f === 'raw') && metadataOnly(ctx)) throw forbidden(`Metadata scope doesn't allow format ${f.toUpperCase()}`);
    return f;
  };
  const ok = (b: unknown): ApiResult => ({ status: 200, body: b });
  const thread = (mb: Mailbox, ctx: ApiContext) => store.thread(mb, checkId(ctx.params.id!));
  const message = (mb: Mailbox, ctx: ApiContext) => store.message(mb, checkId(ctx.params.id!));
  const threadMinimal = (t: StoredThread) => {
    const out = renderThread(t, 'minimal');
    return { id: out.id, snippet: out.snippet, historyId: out.historyId, messages: out.messages };
  };
  const minimal = (m: StoredMessage) => renderMessage(m, 'minimal');
  const unimplemented = (method: string) => (): ApiResult => {
    throw notImplemented(method);
  };

  // ---- profile, watch --------------------------------------------------------------------------

  r('GET', `${V1}/profile`, PROFILE, (ctx) => {
    const mb = mailbox(ctx);
    return ok({ emailAddress: mb.email, messagesTotal: mb.messages.size, threadsTotal: mb.threads.size, historyId: String(mb.historyId) });
  }, units(1));

  r('POST', `${V1}/watch`, READ, (ctx) => {
    const mb = mailbox(ctx);
    const b = body(ctx);
    const topicName = typeof b.topicName === 'string' ? b.topicName : '';
    const prefix = `projects/${deps.projectId}/topics/`;
    if (!topicName.startsWith(prefix) || !/^[A-Za-z][\w.~+%-]{2,254}$/.test(topicName.slice(prefix.length))) {
      throw invalidArgument(`Invalid topicName does not match ${prefix}*`);
    }
    const labelIds = idList(b.labelIds, 'label_ids');
    for (const l of labelIds) if (!mb.labels.has(l)) throw invalidArgument(`Invalid label: ${l}`);
    const rawBehavior = b.labelFilterBehavior ?? b.labelFilterAction;
    let behavior: 'include' | 'exclude' = 'include';
    if (rawBehavior !== undefined && rawBehavior !== null) {
      const v = String(rawBehavior).toLowerCase();
      if (v !== 'include' && v !== 'exclude') {
        throw invalidValue('label_filter_behavior', 'type.googleapis.com/google.apps.gmail.v1.WatchRequest.LabelFilterBehavior', String(rawBehavior));
      }
      behavior = v;
    }
    const expiration = Date.now() + deps.watchLifetimeMs;
    mb.watch = { topicName, labelIds, behavior, historyId: mb.historyId, expiration };
    return ok({ historyId: String(mb.historyId), expiration: String(expiration) });
  }, units(100));

  r('POST', `${V1}/stop`, READ, (ctx) => {
    delete mailbox(ctx).watch;
    return { status: 204 };
  }, units(50));

  // ---- history -----------------------------------------------------------------------------------

  r('GET', `${V1}/history`, READ, (ctx) => {
    const mb = mailbox(ctx);
    const q = ctx.query;
    const raw = qString(q, 'startHistoryId');
    if (raw === undefined || raw === '') throw invalidArgument('startHistoryId is required');
    if (!/^\d+$/.test(raw)) throw invalidValue('start_history_id', 'TYPE_UINT64', raw);
    const start = Number(raw);
    const types = qList(q, 'historyTypes').map((t) => {
      const k = HISTORY_TYPES.find((h) => h.toLowerCase() === t.toLowerCase() || h.replace(/([A-Z])/g, '_$1').toUpperCase() === t);
      if (!k) throw invalidValue('history_types', 'type.googleapis.com/google.apps.gmail.v1.ListHistoryRequest.HistoryType', t);
      return k;
    });
    const labelId = qString(q, 'labelId');
    const max = maxResults(q, 100);
    const binding = hash(`${start}|${[...new Set(types)].sort().join(',')}|${labelId ?? ''}`);
    const page = decodePage<{ b: string; a: number }>(qString(q, 'pageToken'), binding);
    const typeSet = new Set<HistoryType>(types);
    const keep = (e: HistoryEntry) =>
      (typeSet.size === 0 || typeSet.has(e.type)) && (labelId === undefined || e.labelIds.includes(labelId) || (e.changed?.includes(labelId) ?? false));
    const entries = store.since(mb, start);
    const out: HistoryEntry[] = [];
    let more = false;
    for (const e of entries) {
      if (page && e.id <= page.a) continue;
      if (!keep(e)) continue;
      if (out.length === max) {
        more = true;
        break;
      }
      out.push(e);
    }
    const res: Record<string, unknown> = {};
    if (out.length) res.history = out.map(renderRecord);
    if (more) res.nextPageToken = encodePage({ b: binding, a: out[out.length - 1]!.id });
    res.historyId = String(mb.historyId);
    return ok(res);
  }, units(2));

  // ---- labels ------------------------------------------------------------------------------------

  r('GET', `${V1}/labels`, LABELS_READ, (ctx) => ok({ labels: [...mailbox(ctx).labels.values()].map((l) => renderLabel(l)) }), units(1));

  r('POST', `${V1}/labels`, LABELS_WRITE, (ctx) => {
    const mb = mailbox(ctx);
    return ok(renderLabel(store.createLabel(mb, ctx.json())));
  }, units(5));

  r('GET', `${V1}/labels/:id`, LABELS_READ, (ctx) => {
    const mb = mailbox(ctx);
    const l = store.label(mb, ctx.params.id!);
    return ok(renderLabel(l, store.counts(mb, l.id)));
  }, units(1));

  for (const method of ['PATCH', 'PUT'] as const) {
    r(method, `${V1}/labels/:id`, LABELS_WRITE, (ctx) => {
      const mb = mailbox(ctx);
      const l = store.label(mb, ctx.params.id!);
      return ok(renderLabel(store.updateLabel(mb, l, ctx.json() ?? {}, method === 'PUT')));
    }, units(5));
  }

  r('DELETE', `${V1}/labels/:id`, LABELS_WRITE, (ctx) => {
    const mb = mailbox(ctx);
    store.deleteLabel(mb, store.label(mb, ctx.params.id!));
    return { status: 204 };
  }, units(5));

  // ---- threads -----------------------------------------------------------------------------------

  r('GET', `${V1}/threads`, READ, (ctx) => {
    noQ(ctx);
    const mb = mailbox(ctx);
    const q = ctx.query;
    const opts = { q: qString(q, 'q'), labelIds: qList(q, 'labelIds'), includeSpamTrash: boolParam(q, 'includeSpamTrash', 'include_spam_trash') };
    const max = maxResults(q, 100);
    const binding = hash(`t|${opts.q ?? ''}|${[...opts.labelIds].sort().join(',')}|${opts.includeSpamTrash}`);
    const page = decodePage<{ b: string; d: number; i: string }>(qString(q, 'pageToken'), binding);
    const all = matchingThreads(mb, messageFilter(mb, opts));
    let start = 0;
    if (page) {
      // keyset: after (date desc, id desc) of the last thread returned
      start = all.findIndex((t) => lastDate(t) < page.d || (lastDate(t) === page.d && t.id < page.i));
      if (start < 0) start = all.length;
    }
    const slice = all.slice(start, start + max);
    const res: Record<string, unknown> = {};
    if (slice.length) res.threads = slice.map((t) => ({ id: t.id, snippet: t.messages[t.messages.length - 1]!.content.snippet, historyId: String(threadHistoryId(t)) }));
    if (start + max < all.length) {
      const last = slice[slice.length - 1]!;
      res.nextPageToken = encodePage({ b: binding, d: lastDate(last), i: last.id });
    }
    res.resultSizeEstimate = all.length;
    return ok(res);
  }, units(10));

  r('GET', `${V1}/threads/:id`, READ, (ctx) => {
    const mb = mailbox(ctx);
    const format = formatOf(ctx, false, 'GetThreadRequest') as Exclude<Format, 'raw'>;
    return ok(renderThread(thread(mb, ctx), format, qList(ctx.query, 'metadataHeaders')));
  }, units(10));

  r('POST', `${V1}/threads/:id/modify`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const t = thread(mb, ctx);
    const b = body(ctx);
    const c = labelChange(mb, idList(b.addLabelIds, 'add_label_ids'), idList(b.removeLabelIds, 'remove_label_ids'));
    store.modify(mb, t.messages, c.add, c.remove);
    return ok(threadMinimal(t));
  }, units(10));

  r('POST', `${V1}/threads/:id/trash`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const t = thread(mb, ctx);
    store.modify(mb, t.messages, TRASH_CHANGE.add, TRASH_CHANGE.remove);
    return ok(threadMinimal(t));
  }, units(10));

  r('POST', `${V1}/threads/:id/untrash`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const t = thread(mb, ctx);
    store.modify(mb, t.messages, UNTRASH_CHANGE.add, UNTRASH_CHANGE.remove);
    return ok(threadMinimal(t));
  }, units(10));

  r('DELETE', `${V1}/threads/:id`, FULL, (ctx) => {
    const mb = mailbox(ctx);
    store.remove(mb, [...thread(mb, ctx).messages]);
    return { status: 204 };
  }, units(20));

  // ---- messages ----------------------------------------------------------------------------------

  r('GET', `${V1}/messages`, READ, (ctx) => {
    noQ(ctx);
    const mb = mailbox(ctx);
    const q = ctx.query;
    const opts = { q: qString(q, 'q'), labelIds: qList(q, 'labelIds'), includeSpamTrash: boolParam(q, 'includeSpamTrash', 'include_spam_trash') };
    const max = maxResults(q, 100);
    const binding = hash(`m|${opts.q ?? ''}|${[...opts.labelIds].sort().join(',')}|${opts.includeSpamTrash}`);
    const page = decodePage<{ b: string; d: number; i: string }>(qString(q, 'pageToken'), binding);
    const match = messageFilter(mb, opts);
    const all = [...mb.messages.values()].filter(match).sort((a, b) => b.internalDate - a.internalDate || (a.id < b.id ? 1 : -1));
    let start = 0;
    if (page) {
      start = all.findIndex((m) => m.internalDate < page.d || (m.internalDate === page.d && m.id < page.i));
      if (start < 0) start = all.length;
    }
    const slice = all.slice(start, start + max);
    const res: Record<string, unknown> = {};
    if (slice.length) res.messages = slice.map((m) => ({ id: m.id, threadId: m.threadId }));
    if (start + max < all.length) {
      const last = slice[slice.length - 1]!;
      res.nextPageToken = encodePage({ b: binding, d: last.internalDate, i: last.id });
    }
    res.resultSizeEstimate = all.length;
    return ok(res);
  }, units(5));

  r('GET', `${V1}/messages/:id`, READ, (ctx) => {
    const mb = mailbox(ctx);
    const format = formatOf(ctx, true, 'GetMessageRequest');
    return ok(renderMessage(message(mb, ctx), format, qList(ctx.query, 'metadataHeaders')));
  }, units(5));

  r('POST', `${V1}/messages/:id/modify`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const m = message(mb, ctx);
    const b = body(ctx);
    const c = labelChange(mb, idList(b.addLabelIds, 'add_label_ids'), idList(b.removeLabelIds, 'remove_label_ids'));
    store.modify(mb, [m], c.add, c.remove);
    return ok(minimal(m));
  }, units(5));

  r('POST', `${V1}/messages/:id/trash`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const m = message(mb, ctx);
    store.modify(mb, [m], TRASH_CHANGE.add, TRASH_CHANGE.remove);
    return ok(minimal(m));
  }, units(5));

  r('POST', `${V1}/messages/:id/untrash`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const m = message(mb, ctx);
    store.modify(mb, [m], UNTRASH_CHANGE.add, UNTRASH_CHANGE.remove);
    return ok(minimal(m));
  }, units(5));

  r('DELETE', `${V1}/messages/:id`, FULL, (ctx) => {
    const mb = mailbox(ctx);
    store.remove(mb, [message(mb, ctx)]);
    return { status: 204 };
  }, units(10));

  /** batchModify / batchDelete: unknown ids are skipped (Gmail: "no guarantees that messages … existed"). */
  const batchIds = (mb: Mailbox, b: Record<string, unknown>): StoredMessage[] => {
    const ids = idList(b.ids, 'ids');
    if (ids.length === 0) throw invalidArgument('ids must not be empty');
    if (ids.length > MAX_BATCH) throw invalidArgument(`Too many ids: at most ${MAX_BATCH}`);
    return ids.map(checkId).flatMap((id) => mb.messages.get(id) ?? []);
  };

  r('POST', `${V1}/messages/batchModify`, MODIFY, (ctx) => {
    const mb = mailbox(ctx);
    const b = body(ctx);
    const msgs = batchIds(mb, b);
    const c = labelChange(mb, idList(b.addLabelIds, 'add_label_ids'), idList(b.removeLabelIds, 'remove_label_ids'));
    store.modify(mb, [...new Set(msgs)], c.add, c.remove);
    return { status: 204 };
  }, units(50));

  r('POST', `${V1}/messages/batchDelete`, FULL, (ctx) => {
    const mb = mailbox(ctx);
    store.remove(mb, [...new Set(batchIds(mb, body(ctx)))]);
    return { status: 204 };
  }, units(50));

  // ---- not emulated: sending, drafts, attachments -------------------------------------------------

  r('POST', `${V1}/messages/send`, SEND, unimplemented('users.messages.send'), units(100));
  r('POST', `${V1}/messages`, INSERT, unimplemented('users.messages.insert'), units(25));
  r('POST', `${V1}/messages/import`, INSERT, unimplemented('users.messages.import'), units(25));
  r('GET', `${V1}/messages/:messageId/attachments/:id`, READ, unimplemented('users.messages.attachments.get'), units(5));
  r('GET', `${V1}/drafts`, [...DRAFTS, S.gmailReadonly], unimplemented('users.drafts.list'), units(5));
  r('POST', `${V1}/drafts`, DRAFTS, unimplemented('users.drafts.create'), units(10));
  r('POST', `${V1}/drafts/send`, DRAFTS, unimplemented('users.drafts.send'), units(100));
  r('GET', `${V1}/drafts/:id`, [...DRAFTS, S.gmailReadonly], unimplemented('users.drafts.get'), units(5));
  r('PUT', `${V1}/drafts/:id`, DRAFTS, unimplemented('users.drafts.update'), units(15));
  r('DELETE', `${V1}/drafts/:id`, DRAFTS, unimplemented('users.drafts.delete'), units(10));
}
