/**
 * The Gmail v1 module: mounts its routes on the core (their own unit-quota pool), gives every user a
 * mailbox, turns mailbox changes into Pub/Sub push notifications for users.watch, and offers the
 * test-side helpers (seeding, acting as the user in the Gmail UI, expiring history, push
 * subscriptions).
 *
 * Deviations from Gmail, on purpose:
 *   - sending (messages.send/insert/import, drafts) and attachments answer 501: sync does not send
 *     mail; a sent message is made with `deliver` from the mailbox's owner;
 *   - `deliver` changes one mailbox: mail between two sandbox users is not copied to the other's;
 *   - threads.trash adds TRASH and removes INBOX (and SPAM); untrash only removes TRASH, so the
 *     thread comes back archived (as the API does; the Gmail UI's "Move to Inbox" adds INBOX);
 *   - history: one record per message and change type; label create/rename/colour changes make no
 *     history record and no push (Gmail's history has no label types: poll labels.list);
 *   - search: the subset in query.ts, dates in UTC; resultSizeEstimate is exact;
 *   - push: changes within `pushCoalesceMs` become one notification carrying the mailbox's historyId
 *     then (Gmail caps notifications at about one per second per user); `historyId` in the
 *     notification is a JSON number, as Gmail's deliveries carry it (its guide shows a string:
 *     accept both); topics need no creating and no IAM grant, but must be in the sandbox's project;
 *   - `fields` (partial responses) is ignored: full resources come back.
 */
import { failedPrecondition, invalidArgument } from './errors';
import { adminGmailRoutes } from './admin';
import { nameKey, renderLabel } from './labels';
import { buildContent, nameFromEmail, parseAddress, parseAddresses, type Addr } from './mime';
import { GoogleKeys, PubSub, registerCertRoutes } from './pubsub';
import { renderMessage, renderRecord, renderThread } from './render';
import { labelChange, matchingThreads, messageFilter, registerGmailRoutes, TRASH_CHANGE, UNTRASH_CHANGE } from './routes';
import { generateThreads, SEED_LABELS } from './seed';
import { GmailStore, type HistoryEntry, type Mailbox, type StoredMessage, type StoredThread } from './store';
import type { DeliverInput, GmailLabelChange, GmailOptions, GmailSandbox } from './types';
import { quotaConfig } from '../quota';
import type { Core } from '../server';
import type { QuotaOptions } from '../types';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const HEX = '0123456789abcdef';
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface MountedGmail {
  api: GmailSandbox;
  close(): void;
}

export function mountGmail(core: Core, opts: GmailOptions, topLevelQuotas: boolean | QuotaOptions | undefined, url: () => string): MountedGmail {
  const retentionMs = opts.historyRetentionMs ?? 7 * DAY_MS;
  const watchLifetimeMs = opts.watchLifetimeMs ?? 7 * DAY_MS;
  const coalesceMs = Math.max(0, opts.pushCoalesceMs ?? 50);
  if (!(retentionMs > 0) || !(watchLifetimeMs > 0)) throw new Error('historyRetentionMs and watchLifetimeMs must be positive');

  const quotas = quotaConfig(opts.quotas ?? (topLevelQuotas === false ? false : true), { perUserPerMinute: 15_000, perProjectPerMinute: 1_200_000, mode: 'mixed' });
  core.quota.addPool('gmail', { ...quotas, service: 'gmail.googleapis.com', projectNumber: core.auth.projectNumber });

  const store = new GmailStore(core.prng, retentionMs);
  const keys = new GoogleKeys();
  const pubsub = new PubSub({
    projectId: core.auth.projectId,
    projectNumber: core.auth.projectNumber,
    ids: core.prng('pubsub'),
    keys,
    retry: {
      maxAttempts: Math.max(1, opts.pushRetry?.maxAttempts ?? 5),
      minBackoffMs: Math.max(0, opts.pushRetry?.minBackoffMs ?? 100),
      maxBackoffMs: Math.max(0, opts.pushRetry?.maxBackoffMs ?? 5000),
    },
  });
  for (const sub of opts.push === undefined ? [] : Array.isArray(opts.push) ? opts.push : [opts.push]) pubsub.configure(sub);

  const isServiceAccount = (email: string) => email.endsWith('.iam.gserviceaccount.com');
  core.auth.onAccount((email) => {
    if (!isServiceAccount(email)) store.ensure(email);
  });

  // ---- push --------------------------------------------------------------------------------------

  const watched = (mb: Mailbox, e: HistoryEntry): boolean => {
    const w = mb.watch!;
    if (w.labelIds.length === 0) return true;
    const touched = new Set([...e.labelIds, ...(e.changed ?? [])]);
    const hit = w.labelIds.some((l) => touched.has(l));
    return w.behavior === 'include' ? hit : !hit;
  };
  store.onChange = (mb, entries) => {
    const w = mb.watch;
    if (!w) return;
    if (Date.now() >= w.expiration) {
      delete mb.watch;
      return;
    }
    if (!entries.some((e) => watched(mb, e))) return;
    pubsub.schedule(`gmail:${mb.email}`, coalesceMs, () => {
      const now = mb.watch;
      if (!now || Date.now() >= now.expiration) return undefined;
      return { topic: now.topicName, data: { emailAddress: mb.email, historyId: mb.historyId } };
    });
  };

  registerGmailRoutes(core, { store, projectId: core.auth.projectId, watchLifetimeMs });
  registerCertRoutes(core.app, keys);

  // ---- the test-side API -------------------------------------------------------------------------

  const box = (user: string): Mailbox => {
    const u = core.auth.user(user);
    if (isServiceAccount(u)) throw failedPrecondition();
    return store.ensure(u);
  };
  /** a label id, or a user label's name (case-insensitive) */
  const labelId = (mb: Mailbox, idOrName: string): string => {
    if (mb.labels.has(idOrName)) return idOrName;
    const key = nameKey(idOrName);
    for (const l of mb.labels.values()) if (nameKey(l.name) === key) return l.id;
    throw invalidArgument(`Invalid label: ${idOrName}`);
  };
  const change = (mb: Mailbox, c: GmailLabelChange) =>
    labelChange(mb, (c.addLabelIds ?? []).map((l) => labelId(mb, l)), (c.removeLabelIds ?? []).map((l) => labelId(mb, l)));
  const onThread = (user: string, threadId: string, fn: (mb: Mailbox, t: StoredThread) => void) => {
    const mb = box(user);
    const t = store.thread(mb, threadId);
    fn(mb, t);
    return renderThread(t);
  };
  const last = (t: StoredThread): StoredMessage => t.messages[t.messages.length - 1]!;
  const gmailStyleId = (mb: Mailbox) => `<CA+${mb.prng.chars(40, B62)}@mail.gmail.com>`;
  const seedCalls = new Map<string, number>();

  const api: GmailSandbox = {
    seed(user, count, o = {}) {
      const mb = box(user);
      if (!Number.isInteger(count) || count < 0 || count > 100_000) throw new Error('threads must be an integer 0..100000');
      const pastDays = o.pastDays ?? 120;
      if (!(Number.isFinite(pastDays) && pastDays >= 1)) throw new Error('pastDays must be at least 1');
      const labels: Record<string, string> = {};
      if (o.userLabels !== false) {
        for (const spec of SEED_LABELS) {
          const existing = [...mb.labels.values()].find((l) => nameKey(l.name) === nameKey(spec.name));
          labels[spec.key] = existing?.id ?? store.createLabel(mb, spec.color ? { name: spec.name, color: spec.color } : { name: spec.name }).id;
        }
      }
      const call = (seedCalls.get(mb.email) ?? 0) + 1;
      seedCalls.set(mb.email, call);
      const prng = core.prng(`gmail-seed:${mb.email}:${call}`);
      const specs = generateThreads(
        {
          prng,
          owner: mb.email,
          domain: core.auth.domain,
          otherUsers: core.auth.users().filter((u) => u !== mb.email),
          pastDays,
          anchor: Math.floor(Date.now() / HOUR_MS) * HOUR_MS,
          labels,
        },
        count,
      );
      // in time order, so historyIds rise with the dates as in a mailbox that received them
      const flat = specs.flatMap((msgs, ti) => msgs.map((m, mi) => ({ m, ti, mi })));
      flat.sort((a, b) => a.m.internalDate - b.m.internalDate || a.ti - b.ti || a.mi - b.mi);
      const threadIds: string[] = [];
      for (const { m, ti } of flat) {
        const content = buildContent({
          from: m.from,
          to: m.to,
          cc: m.cc,
          subject: m.subject,
          text: m.text,
          messageId: m.messageId,
          inReplyTo: m.inReplyTo,
          references: m.references,
          internalDate: m.internalDate,
          timeZone: m.timeZone,
          deliveredTo: m.inbound ? mb.email : undefined,
          boundary: `000000000000${prng.chars(16, HEX)}`,
        });
        const id = store.newMessageId(mb, m.internalDate, prng);
        const stored = store.insert(mb, { threadId: threadIds[ti], internalDate: m.internalDate, labels: m.labels, content }, false, id);
        threadIds[ti] ??= stored.threadId;
      }
      store.resetHistory(mb);
      return threadIds.filter(Boolean).map((id) => renderThread(store.thread(mb, id)));
    },

    deliver(user, input: DeliverInput) {
      const mb = box(user);
      if (!input || typeof input !== 'object') throw new Error('deliver needs a message');
      let from: Addr = parseAddress(input.from);
      const fromOwner = from.email.toLowerCase() === mb.email;
      if (fromOwner && !from.name) from = { email: mb.email, name: nameFromEmail(mb.email) };
      let to = parseAddresses(input.to);
      const cc = parseAddresses(input.cc);
      if (to.length === 0 && cc.length === 0) {
        if (fromOwner) throw new Error('a message from the mailbox owner needs a recipient (to or cc)');
        to = [{ email: mb.email }];
      }
      const thread = input.threadId === undefined ? undefined : store.thread(mb, input.threadId);
      const replyTo = thread ? last(thread) : undefined;
      const baseSubject = replyTo?.content.subject;
      const subject = input.subject ?? (baseSubject !== undefined ? (/^re:/i.test(baseSubject) ? baseSubject : `Re: ${baseSubject}`) : '(no subject)');
      const internalDate = input.date === undefined ? Date.now() : new Date(input.date).getTime();
      if (!Number.isFinite(internalDate)) throw new Error(`invalid date: ${String(input.date)}`);
      const toOwner = [...to, ...cc].some((a) => a.email.toLowerCase() === mb.email);
      let labels: string[];
      if (input.labelIds) labels = input.labelIds.map((l) => labelId(mb, l));
      else if (fromOwner) labels = toOwner ? ['SENT', 'INBOX'] : ['SENT'];
      else {
        labels = [];
        if (input.unread !== false) labels.push('UNREAD');
        if (input.important) labels.push('IMPORTANT');
        labels.push(`CATEGORY_${(input.category ?? 'personal').toUpperCase()}`, 'INBOX');
      }
      if (input.starred) labels.push('STARRED');
      for (const l of input.addLabelIds ?? []) labels.push(labelId(mb, l));
      labels = [...new Set(labels)];
      for (const l of labels) if (!mb.labels.has(l)) throw invalidArgument(`Invalid label: ${l}`);
      const senderDomain = from.email.split('@')[1]!.toLowerCase();
      const messageId = fromOwner || senderDomain === core.auth.domain ? gmailStyleId(mb) : `<${mb.prng.chars(16, HEX)}.${mb.prng.int(1000, 99999)}@${senderDomain}>`;
      const references = replyTo ? [replyTo.content.references, replyTo.content.messageId].filter(Boolean).join(' ') : undefined;
      const content = buildContent({
        from,
        to,
        cc,
        subject,
        text: input.text ?? (input.html === undefined ? `${subject}\n` : undefined),
        html: input.html,
        messageId,
        inReplyTo: replyTo?.content.messageId,
        references,
        internalDate,
        deliveredTo: fromOwner ? undefined : mb.email,
        boundary: `000000000000${mb.prng.chars(16, HEX)}`,
      });
      return renderMessage(store.insert(mb, { threadId: thread?.id, internalDate, labels, content }, true));
    },

    modifyThread: (user, threadId, c) =>
      onThread(user, threadId, (mb, t) => {
        const x = change(mb, c);
        store.modify(mb, t.messages, x.add, x.remove);
      }),
    modifyMessage(user, messageId, c) {
      const mb = box(user);
      const m = store.message(mb, messageId);
      const x = change(mb, c);
      store.modify(mb, [m], x.add, x.remove);
      return renderMessage(m);
    },
    markRead: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, t.messages, [], ['UNREAD'])),
    markUnread: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, [last(t)], ['UNREAD'], [])),
    star: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, [last(t)], ['STARRED'], [])),
    unstar: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, t.messages, [], ['STARRED'])),
    archive: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, t.messages, [], ['INBOX'])),
    trash: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, t.messages, TRASH_CHANGE.add, TRASH_CHANGE.remove)),
    untrash: (user, threadId) => onThread(user, threadId, (mb, t) => store.modify(mb, t.messages, UNTRASH_CHANGE.add, UNTRASH_CHANGE.remove)),
    deleteThread(user, threadId) {
      const mb = box(user);
      store.remove(mb, [...store.thread(mb, threadId).messages]);
    },
    deleteMessage(user, messageId) {
      const mb = box(user);
      store.remove(mb, [store.message(mb, messageId)]);
    },

    createLabel: (user, label) => renderLabel(store.createLabel(box(user), label)),
    updateLabel(user, id, patch) {
      const mb = box(user);
      return renderLabel(store.updateLabel(mb, store.label(mb, labelId(mb, id)), patch, false));
    },
    deleteLabel(user, id) {
      const mb = box(user);
      store.deleteLabel(mb, store.label(mb, labelId(mb, id)));
    },
    labels(user) {
      const mb = box(user);
      return [...mb.labels.values()].map((l) => renderLabel(l, store.counts(mb, l.id)));
    },

    threads(user, o = {}) {
      const mb = box(user);
      return matchingThreads(mb, messageFilter(mb, o)).map((t) => renderThread(t));
    },
    thread(user, threadId) {
      const t = box(user).threads.get(threadId);
      return t ? renderThread(t) : undefined;
    },
    message(user, messageId) {
      const m = box(user).messages.get(messageId);
      return m ? renderMessage(m) : undefined;
    },
    profile(user) {
      const mb = box(user);
      return { emailAddress: mb.email, messagesTotal: mb.messages.size, threadsTotal: mb.threads.size, historyId: String(mb.historyId) };
    },
    history: (user) => store.retained(box(user)).map(renderRecord),
    expireHistory(user) {
      for (const mb of user === undefined ? store.all() : [box(user)]) store.expire(mb);
    },
    watches() {
      const now = Date.now();
      return store
        .all()
        .filter((mb) => mb.watch && mb.watch.expiration > now)
        .map((mb) => {
          const w = mb.watch!;
          return { user: mb.email, topicName: w.topicName, labelIds: [...w.labelIds], labelFilterBehavior: w.behavior, historyId: String(w.historyId), expiration: w.expiration };
        });
    },

    pubsub: {
      configure: (sub) => pubsub.configure(sub),
      remove: (name) => pubsub.remove(name),
      subscriptions: () => pubsub.subscriptions(),
      get stats() {
        return pubsub.stats();
      },
      flush: () => pubsub.flush(),
      get certsUrl() {
        return `${url()}oauth2/v1/certs`;
      },
      get jwksUrl() {
        return `${url()}oauth2/v3/certs`;
      },
    },
  };

  adminGmailRoutes(core.app, api);
  return { api, close: () => pubsub.close() };
}
