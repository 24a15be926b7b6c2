/**
 * Gmail's admin HTTP API (no auth, no quotas, no faults): what `sandbox.gmail` offers in-process.
 * `:user` is an email; label ids or user label names are accepted wherever labels are named.
 *
 *   GET    /_sandbox/google/gmail/:user/profile                        {emailAddress, messagesTotal, threadsTotal, historyId}
 *   POST   /_sandbox/google/gmail/:user/seed       {threads, pastDays?, userLabels?}  201 {count, threadIds}
 *   GET    /_sandbox/google/gmail/:user/threads?q=&labelIds=&includeSpamTrash=true   {threads} (format full, newest first)
 *   GET    /_sandbox/google/gmail/:user/threads/:threadId             the thread as stored
 *   GET    /_sandbox/google/gmail/:user/messages/:messageId           the message as stored
 *   GET    /_sandbox/google/gmail/:user/history                       {history} (the retained records)
 *   GET    /_sandbox/google/gmail/:user/labels                        {labels} (with counts)
 *   -- act as the user (history records and pushes as for API writes):
 *   POST   /_sandbox/google/gmail/:user/messages   DeliverInput        201 the new message (threadId: a reply)
 *   POST   /_sandbox/google/gmail/:user/threads/:threadId/modify   {addLabelIds?, removeLabelIds?}  thread
 *   POST   /_sandbox/google/gmail/:user/threads/:threadId/(read|unread|star|unstar|archive|trash|untrash)  thread
 *   DELETE /_sandbox/google/gmail/:user/threads/:threadId             204 (permanently)
 *   POST   /_sandbox/google/gmail/:user/messages/:messageId/modify {addLabelIds?, removeLabelIds?}  message
 *   DELETE /_sandbox/google/gmail/:user/messages/:messageId           204 (permanently)
 *   POST   /_sandbox/google/gmail/:user/labels     {name, color?, messageListVisibility?, labelListVisibility?}  201 label
 *   PATCH  /_sandbox/google/gmail/:user/labels/:labelId   (same fields)  label
 *   DELETE /_sandbox/google/gmail/:user/labels/:labelId               204
 *   POST   /_sandbox/google/gmail/expire-history   {user?}            204
 *   GET    /_sandbox/google/gmail/watches                             {items: GmailWatchInfo[]}
 *   GET    /_sandbox/google/gmail/pubsub                              {subscriptions, stats, certsUrl, jwksUrl}
 *   PUT    /_sandbox/google/gmail/pubsub/subscriptions   PushSubscriptionInput  PushSubscriptionInfo
 *   DELETE /_sandbox/google/gmail/pubsub/subscriptions?subscription=projects/P/subscriptions/S   204 (404 unknown)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adminRouter, body, str } from '../admin';
import { notFound } from '../errors';
import type { DeliverInput, GmailLabelChange, GmailLabelInput, GmailSandbox, PushSubscriptionInput } from './types';

type Params = Record<string, string>;

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String));

export function adminGmailRoutes(app: FastifyInstance, gmail: GmailSandbox): void {
  const route = adminRouter(app);
  const G = '/_sandbox/google/gmail';
  const U = `${G}/:user`;
  const p = (req: FastifyRequest): Params => req.params as Params;
  const q = (req: FastifyRequest) => req.query as Record<string, string | string[] | undefined>;
  const labelChange = (req: FastifyRequest): GmailLabelChange => {
    const b = body(req);
    return { addLabelIds: list(b.addLabelIds), removeLabelIds: list(b.removeLabelIds) };
  };

  route('GET', `${U}/profile`, (req) => gmail.profile(p(req).user!));
  route('POST', `${U}/seed`, (req, reply) => {
    const b = body(req);
    const threads = gmail.seed(p(req).user!, Number(b.threads ?? b.count ?? 0), {
      pastDays: b.pastDays === undefined ? undefined : Number(b.pastDays),
      userLabels: b.userLabels === undefined ? undefined : b.userLabels !== false,
    });
    reply.code(201);
    return { count: threads.length, threadIds: threads.map((t) => t.id) };
  });
  route('GET', `${U}/threads`, (req) => {
    const x = q(req);
    const qs = typeof x.q === 'string' ? x.q : undefined;
    return { threads: gmail.threads(p(req).user!, { q: qs, labelIds: list(x.labelIds), includeSpamTrash: x.includeSpamTrash === 'true' }) };
  });
  route('GET', `${U}/threads/:threadId`, (req) => {
    const t = gmail.thread(p(req).user!, p(req).threadId!);
    if (!t) throw notFound();
    return t;
  });
  route('GET', `${U}/messages/:messageId`, (req) => {
    const m = gmail.message(p(req).user!, p(req).messageId!);
    if (!m) throw notFound();
    return m;
  });
  route('GET', `${U}/history`, (req) => ({ history: gmail.history(p(req).user!) }));
  route('GET', `${U}/labels`, (req) => ({ labels: gmail.labels(p(req).user!) }));

  route('POST', `${U}/messages`, (req, reply) => {
    const m = gmail.deliver(p(req).user!, body(req) as unknown as DeliverInput);
    reply.code(201);
    return m;
  });
  route('POST', `${U}/threads/:threadId/modify`, (req) => gmail.modifyThread(p(req).user!, p(req).threadId!, labelChange(req)));
  const actions = { read: gmail.markRead, unread: gmail.markUnread, star: gmail.star, unstar: gmail.unstar, archive: gmail.archive, trash: gmail.trash, untrash: gmail.untrash };
  for (const [name, fn] of Object.entries(actions)) {
    route('POST', `${U}/threads/:threadId/${name}`, (req) => fn(p(req).user!, p(req).threadId!));
  }
  route('DELETE', `${U}/threads/:threadId`, (req) => {
    gmail.deleteThread(p(req).user!, p(req).threadId!);
    return undefined;
  });
  route('POST', `${U}/messages/:messageId/modify`, (req) => gmail.modifyMessage(p(req).user!, p(req).messageId!, labelChange(req)));
  route('DELETE', `${U}/messages/:messageId`, (req) => {
    gmail.deleteMessage(p(req).user!, p(req).messageId!);
    return undefined;
  });
  route('POST', `${U}/labels`, (req, reply) => {
    const b = body(req);
    const label = gmail.createLabel(p(req).user!, { ...(b as GmailLabelInput), name: str(b.name, 'name') });
    reply.code(201);
    return label;
  });
  route('PATCH', `${U}/labels/:labelId`, (req) => gmail.updateLabel(p(req).user!, p(req).labelId!, body(req) as GmailLabelInput));
  route('DELETE', `${U}/labels/:labelId`, (req) => {
    gmail.deleteLabel(p(req).user!, p(req).labelId!);
    return undefined;
  });

  route('POST', `${G}/expire-history`, (req) => {
    const b = body(req);
    gmail.expireHistory(b.user === undefined ? undefined : str(b.user, 'user'));
    return undefined;
  });
  route('GET', `${G}/watches`, () => ({ items: gmail.watches() }));
  route('GET', `${G}/pubsub`, () => ({
    subscriptions: gmail.pubsub.subscriptions(),
    stats: gmail.pubsub.stats,
    certsUrl: gmail.pubsub.certsUrl,
    jwksUrl: gmail.pubsub.jwksUrl,
  }));
  route('PUT', `${G}/pubsub/subscriptions`, (req) => gmail.pubsub.configure(body(req) as unknown as PushSubscriptionInput));
  route('DELETE', `${G}/pubsub/subscriptions`, (req) => {
    const name = q(req).subscription;
    if (typeof name !== 'string' || !gmail.pubsub.remove(name)) throw notFound();
    return undefined;
  });
}
