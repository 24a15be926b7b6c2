/**
 * The Google sandbox's Gmail v1, exercised through the real googleapis client and the real
 * google-auth-library (an access token from the sandbox, and the service-account JWT flow), plus raw
 * fetch where the exact wire shape matters, and a local receiver for Pub/Sub push deliveries. Every
 * test starts its own sandbox on a random port.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Gaxios, GaxiosError } from 'gaxios';
import { JWT, OAuth2Client } from 'google-auth-library';
import { google, type gmail_v1 } from 'googleapis';
import { GOOGLE_TOKEN_URL, SCOPE, startGoogleSandbox, type GoogleSandbox, type GoogleSandboxOptions } from '../src/sandbox/google/index';

const ANA = 'ana@acme.test';
const BEN = 'ben@acme.test';
const TOPIC = 'projects/aurora-sandbox/topics/gmail';

async function withSandbox(opts: GoogleSandboxOptions, fn: (sb: GoogleSandbox) => Promise<void>): Promise<void> {
  const sb = await startGoogleSandbox({ users: [ANA, BEN], ...opts });
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

/** googleapis types `auth` with its nested google-auth-library copy; the top-level one is the same shape. */
const gmailApi = (auth: OAuth2Client, sb: GoogleSandbox): gmail_v1.Gmail => google.gmail({ version: 'v1', auth: auth as never, rootUrl: sb.url });

function gmailFor(sb: GoogleSandbox, user: string): gmail_v1.Gmail {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: sb.auth.tokenFor(user) });
  return gmailApi(auth, sb);
}

type ErrorBody = { error: { code: number; message: string; status?: string; errors: Array<Record<string, string>> } };

async function gaxiosError(p: Promise<unknown>): Promise<GaxiosError<ErrorBody>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GaxiosError, `expected a GaxiosError, got ${String(e)}`);
    return e as GaxiosError<ErrorBody>;
  }
  assert.fail('expected the call to fail');
}

const reasonOf = (e: GaxiosError<ErrorBody>) => e.response?.data.error.errors[0]?.reason;

async function raw(sb: GoogleSandbox, method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, sb.url), { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const header = (m: gmail_v1.Schema$Message, name: string) => m.payload?.headers?.find((h) => h.name === name)?.value;
const decode = (data: string | null | undefined) => Buffer.from(data ?? '', 'base64url').toString('utf8');

async function listAllThreads(g: gmail_v1.Gmail, params: gmail_v1.Params$Resource$Users$Threads$List) {
  const threads: gmail_v1.Schema$Thread[] = [];
  const estimates: number[] = [];
  let pageToken: string | undefined;
  for (;;) {
    const res = await g.users.threads.list({ userId: 'me', ...params, pageToken });
    threads.push(...(res.data.threads ?? []));
    estimates.push(res.data.resultSizeEstimate ?? -1);
    if (!res.data.nextPageToken) return { threads, estimates };
    pageToken = res.data.nextPageToken;
  }
}

async function historyAll(g: gmail_v1.Gmail, params: gmail_v1.Params$Resource$Users$History$List) {
  const records: gmail_v1.Schema$History[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  for (;;) {
    const res = await g.users.history.list({ userId: 'me', ...params, pageToken });
    pages++;
    records.push(...(res.data.history ?? []));
    if (!res.data.nextPageToken) return { records, pages, historyId: res.data.historyId };
    pageToken = res.data.nextPageToken;
  }
}

/** The change type of a record (each record has exactly one). */
function typeOf(r: gmail_v1.Schema$History): string {
  const types = (['messagesAdded', 'messagesDeleted', 'labelsAdded', 'labelsRemoved'] as const).filter((k) => r[k] !== undefined);
  assert.equal(types.length, 1, `one change type per record: ${JSON.stringify(r)}`);
  return types[0]!;
}

interface Delivery {
  url: string;
  headers: IncomingHttpHeaders;
  body: { message: { data: string; messageId: string; publishTime: string; message_id?: string }; subscription: string };
}

/** A Pub/Sub push endpoint: records every delivery; `answers` are the statuses to reply with, in turn (then 204). */
async function receiver(answers: number[] = []) {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(body) as Delivery['body'] });
      res.statusCode = answers.shift() ?? 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub/gmail`;
  return { url, deliveries, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const pushData = (d: Delivery) => JSON.parse(Buffer.from(d.body.message.data, 'base64').toString('utf8')) as { emailAddress: string; historyId: number };

// ---- auth, delegation, scopes ------------------------------------------------------------------

test('service-account JWT flow (transporter rewrite), delegation and scopes: metadata-only limits, gmail.modify cannot delete permanently', async () => {
  await withSandbox({}, async (sb) => {
    const key = sb.auth.serviceAccount();
    const transporter = new Gaxios();
    transporter.interceptors.request.add({
      resolved: async (config) => {
        if (String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(sb.tokenUrl);
        return config;
      },
    });
    const jwt = (scopes: string[], subject?: string) => new JWT({ email: key.client_email, key: key.private_key, scopes, subject, transporter });

    sb.gmail.seed(BEN, 8);
    const ben = gmailApi(jwt([SCOPE.gmailModify, SCOPE.gmailLabels], BEN), sb);
    const profile = await ben.users.getProfile({ userId: 'me' });
    assert.equal(profile.data.emailAddress, BEN);
    assert.equal(profile.data.threadsTotal, 8);
    assert.match(profile.data.historyId ?? '', /^\d+$/);
    const threads = await ben.users.threads.list({ userId: BEN, maxResults: 3 });
    assert.equal(threads.status, 200);
    assert.equal((threads.headers as unknown as Headers).get('content-type'), 'application/json; charset=UTF-8');
    const tid = threads.data.threads![0]!.id!;
    const del = await gaxiosError(ben.users.threads.delete({ userId: 'me', id: tid }));
    assert.equal(del.status, 403);
    assert.equal(reasonOf(del), 'insufficientPermissions');
    assert.equal(sb.stats.tokenRequests, 1);

    // gmail.metadata: no q, no format=full
    const meta = gmailApi(jwt([SCOPE.gmailMetadata], BEN), sb);
    const noQ = await gaxiosError(meta.users.threads.list({ userId: 'me', q: 'is:unread' }));
    assert.equal(noQ.status, 403);
    assert.equal(noQ.response?.data.error.message, "Metadata scope does not support 'q' parameter");
    assert.equal((await gaxiosError(meta.users.threads.get({ userId: 'me', id: tid }))).status, 403);
    const m = await meta.users.threads.get({ userId: 'me', id: tid, format: 'metadata', metadataHeaders: ['Subject'] });
    assert.deepEqual(m.data.messages![0]!.payload!.headers!.map((h) => h.name), ['Subject']);

    // the service account as itself has no mailbox
    const self = gmailApi(jwt([SCOPE.gmail]), sb);
    const pre = await gaxiosError(self.users.getProfile({ userId: 'me' }));
    assert.equal(pre.status, 400);
    assert.deepEqual(pre.response?.data.error, {
      errors: [{ domain: 'global', reason: 'failedPrecondition', message: 'Precondition check failed.' }],
      code: 400,
      message: 'Precondition check failed.',
      status: 'FAILED_PRECONDITION',
    });
  });
});

test('per-user isolation: another user id is "Delegation denied", other mailboxes are invisible, history and quotas are per mailbox', async () => {
  await withSandbox({}, async (sb) => {
    const anaThreads = sb.gmail.seed(ANA, 5);
    sb.gmail.seed(BEN, 3);
    const ana = gmailFor(sb, ANA);
    const ben = gmailFor(sb, BEN);
    const denied = await gaxiosError(ben.users.threads.list({ userId: ANA }));
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.response?.data.error, {
      errors: [{ domain: 'global', reason: 'forbidden', message: `Delegation denied for ${BEN}` }],
      code: 403,
      message: `Delegation denied for ${BEN}`,
      status: 'PERMISSION_DENIED',
    });
    assert.equal((await ben.users.getProfile({ userId: 'BEN@acme.test' })).data.emailAddress, BEN, 'own address (any case) works');
    const nf = await gaxiosError(ben.users.threads.get({ userId: 'me', id: anaThreads[0]!.id }));
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.response?.data, {
      error: { errors: [{ domain: 'global', reason: 'notFound', message: 'Requested entity was not found.' }], code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' },
    });
    const benBefore = (await ben.users.getProfile({ userId: 'me' })).data.historyId;
    await ana.users.threads.modify({ userId: 'me', id: anaThreads[0]!.id, requestBody: { addLabelIds: ['STARRED'] } });
    sb.gmail.deliver(ANA, { from: 'Janet Price <janet.price@globex.com>', subject: 'Hello Ana' });
    assert.equal((await ben.users.getProfile({ userId: 'me' })).data.historyId, benBefore);
    assert.deepEqual((await ben.users.history.list({ userId: 'me', startHistoryId: benBefore! })).data, { historyId: benBefore });
    assert.equal((await ben.users.labels.list({ userId: 'me' })).data.labels!.filter((l) => l.type === 'user').length, 6, 'seeded user labels per mailbox');
    assert.equal((await gaxiosError(ana.users.messages.get({ userId: 'me', id: 'not-an-id!' }))).status, 400);
  });
});

// ---- labels ------------------------------------------------------------------------------------

test('labels: list, create with colour, get with counts, patch/update, delete; system labels refused; palette and duplicate names', async () => {
  await withSandbox({}, async (sb) => {
    const g = gmailFor(sb, ANA);
    const list = await g.users.labels.list({ userId: 'me' });
    const system = list.data.labels!;
    for (const id of ['INBOX', 'SENT', 'DRAFT', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS', 'CHAT']) {
      const l = system.find((x) => x.id === id);
      assert.ok(l && l.type === 'system' && l.name === id, id);
    }
    assert.equal(system.length, 14);
    assert.equal(system.find((l) => l.id === 'TRASH')!.labelListVisibility, 'labelHide');

    const created = await g.users.labels.create({
      userId: 'me',
      requestBody: { name: 'Customers/Globex', color: { textColor: '#ffffff', backgroundColor: '#16a766' } },
    });
    assert.deepEqual(created.data, {
      id: 'Label_1',
      name: 'Customers/Globex',
      messageListVisibility: 'show',
      labelListVisibility: 'labelShow',
      type: 'user',
      color: { textColor: '#ffffff', backgroundColor: '#16a766' },
    });
    const dup = await gaxiosError(g.users.labels.create({ userId: 'me', requestBody: { name: 'customers/globex' } }));
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.response?.data.error, {
      errors: [{ domain: 'global', reason: 'aborted', message: 'Label name exists or conflicts' }],
      code: 409,
      message: 'Label name exists or conflicts',
      status: 'ABORTED',
    });
    for (const color of [{ textColor: '#123456', backgroundColor: '#16a766' }, { textColor: '#FFFFFF', backgroundColor: '#16a766' }]) {
      const bad = await gaxiosError(g.users.labels.create({ userId: 'me', requestBody: { name: 'Bad colour', color } }));
      assert.equal(bad.status, 400);
      assert.equal(reasonOf(bad), 'invalidArgument');
      assert.equal(bad.response?.data.error.message, `Label color ${color.textColor} is not on the allowed color palette`);
    }
    const reserved = await gaxiosError(g.users.labels.create({ userId: 'me', requestBody: { name: 'Inbox' } }));
    assert.equal(reserved.status, 400);
    assert.equal(reasonOf(reserved), 'invalidArgument');
    const badVisibility = await gaxiosError(g.users.labels.create({ userId: 'me', requestBody: { name: 'X', labelListVisibility: 'sometimes' } }));
    assert.equal(badVisibility.status, 400);

    // system labels cannot be renamed or deleted
    for (const p of [
      g.users.labels.patch({ userId: 'me', id: 'INBOX', requestBody: { name: 'My inbox' } }),
      g.users.labels.update({ userId: 'me', id: 'STARRED', requestBody: { name: 'Stars' } }),
      g.users.labels.delete({ userId: 'me', id: 'IMPORTANT' }),
    ]) {
      const e = await gaxiosError(p);
      assert.equal(e.status, 400);
      assert.equal(reasonOf(e), 'invalidArgument');
      assert.equal(e.response?.data.error.status, 'INVALID_ARGUMENT');
    }

    // counts on labels.get
    const t = sb.gmail.deliver(ANA, { from: 'Hank Scorpio <hank.scorpio@globex.com>', subject: 'Renewal', addLabelIds: ['Label_1'] });
    sb.gmail.deliver(ANA, { from: ANA, to: 'hank.scorpio@globex.com', threadId: t.threadId, text: 'Thanks Hank!' });
    const counted = await g.users.labels.get({ userId: 'me', id: 'Label_1' });
    assert.deepEqual([counted.data.messagesTotal, counted.data.messagesUnread, counted.data.threadsTotal, counted.data.threadsUnread], [1, 1, 1, 1]);
    const inbox = await g.users.labels.get({ userId: 'me', id: 'INBOX' });
    assert.equal(inbox.data.threadsTotal, 1);
    assert.equal((await g.users.labels.get({ userId: 'me', id: 'SENT' })).data.messagesTotal, 1);

    // rename (patch), then update replaces: the colour goes when absent
    const renamed = await g.users.labels.patch({ userId: 'me', id: 'Label_1', requestBody: { name: 'Globex', labelListVisibility: 'labelShowIfUnread' } });
    assert.equal(renamed.data.name, 'Globex');
    assert.equal(renamed.data.color?.backgroundColor, '#16a766');
    const updated = await g.users.labels.update({ userId: 'me', id: 'Label_1', requestBody: { id: 'Label_1', name: 'Globex Corp' } });
    assert.equal(updated.data.labelListVisibility, 'labelShow');
    assert.equal(updated.data.color, undefined);
    assert.equal((await gaxiosError(g.users.labels.patch({ userId: 'me', id: 'Label_1', requestBody: { color: { textColor: '#000000', backgroundColor: '#abcdef' } } }))).status, 400);

    // deleting a user label takes it off its messages (a labelsRemoved record)
    const before = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    assert.equal((await g.users.labels.delete({ userId: 'me', id: 'Label_1' })).status, 204);
    assert.equal((await gaxiosError(g.users.labels.get({ userId: 'me', id: 'Label_1' }))).status, 404);
    const h = await g.users.history.list({ userId: 'me', startHistoryId: before });
    assert.deepEqual(h.data.history?.map((r) => r.labelsRemoved?.[0]?.labelIds), [['Label_1']]);
    assert.ok(!sb.gmail.message(ANA, t.id)!.labelIds.includes('Label_1'));
    assert.equal((await g.users.labels.create({ userId: 'me', requestBody: { name: 'Globex Corp' } })).data.id, 'Label_2', 'ids are not reused');
  });
});

// ---- threads.list and search ---------------------------------------------------------------------

test('threads.list: paging (newest first, no duplicates, resultSizeEstimate), q operators, labelIds, includeSpamTrash', async () => {
  await withSandbox({}, async (sb) => {
    sb.gmail.seed(ANA, 150);
    const g = gmailFor(sb, ANA);
    const expected = sb.gmail.threads(ANA).map((t) => t.id);
    const all = await listAllThreads(g, { maxResults: 40 });
    assert.equal(all.threads.length, expected.length);
    assert.deepEqual(all.threads.map((t) => t.id), expected, 'newest first, as the admin view orders them');
    assert.equal(new Set(all.threads.map((t) => t.id)).size, all.threads.length);
    assert.ok(all.estimates.every((n) => n === expected.length));
    assert.ok(all.threads.every((t) => t.snippet !== undefined && /^\d+$/.test(t.historyId ?? '')));
    assert.equal(Object.keys(all.threads[0]!).sort().join(), 'historyId,id,snippet');
    const withSpamTrash = await listAllThreads(g, { maxResults: 500, includeSpamTrash: true });
    assert.ok(withSpamTrash.threads.length > expected.length, 'seeded spam and trash show with includeSpamTrash');
    assert.equal((await g.users.threads.list({ userId: 'me' })).data.threads!.length, 100, 'default maxResults 100');
    const badToken = await gaxiosError(g.users.threads.list({ userId: 'me', pageToken: 'garbage' }));
    assert.equal(badToken.status, 400);

    // known messages for the operators
    const day = 86_400_000;
    const now = Date.now();
    const old = sb.gmail.deliver(ANA, { from: 'Katrin Vogel <katrin.vogel@umbrella-corp.de>', cc: 'elena.rossi@acme.test', subject: 'Zebra audit report', text: 'The zebra audit is attached.', date: now - 200 * day, unread: false });
    const fresh = sb.gmail.deliver(ANA, { from: 'Kenji Sato <kenji.sato@hooli.co.jp>', subject: 'Zebra renewal', text: 'Renewal terms inside.', date: now - 2 * 3600_000, starred: true });
    const sent = sb.gmail.deliver(ANA, { from: ANA, to: 'Kenji Sato <kenji.sato@hooli.co.jp>', threadId: fresh.threadId, text: 'Thanks Kenji, reviewing now.' });
    assert.equal(sent.threadId, fresh.threadId);
    assert.equal(header(sent, 'Subject'), 'Re: Zebra renewal');
    assert.equal(header(sent, 'In-Reply-To'), header(fresh, 'Message-ID'));
    const spam = sb.gmail.deliver(ANA, { from: 'winner@zebra-prize.biz', subject: 'Zebra prize', labelIds: ['SPAM'] });

    const ids = async (q: string, extra: gmail_v1.Params$Resource$Users$Threads$List = {}) =>
      ((await g.users.threads.list({ userId: 'me', q, maxResults: 500, ...extra })).data.threads ?? []).map((t) => t.id).sort();
    const sorted = (...xs: string[]) => [...xs].sort();
    assert.deepEqual(await ids('zebra'), sorted(old.threadId, fresh.threadId));
    assert.deepEqual(await ids('subject:zebra from:katrin'), [old.threadId]);
    assert.deepEqual(await ids('subject:"zebra renewal"'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra is:starred'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra is:unread'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra -is:unread'), sorted(old.threadId, fresh.threadId), 'the reply in the fresh thread is read');
    assert.deepEqual(await ids('zebra in:sent'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra from:me'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra to:kenji.sato@hooli.co.jp'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra cc:elena'), [old.threadId]);
    assert.deepEqual(await ids('zebra newer_than:7d'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra older_than:1y'), []);
    const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '/');
    assert.deepEqual(await ids(`zebra before:${ymd(now - 100 * day)}`), [old.threadId]);
    assert.deepEqual(await ids(`zebra after:${ymd(now - 100 * day)}`), [fresh.threadId]);
    assert.deepEqual(await ids('zebra {subject:audit subject:renewal}'), sorted(old.threadId, fresh.threadId));
    assert.deepEqual(await ids('zebra (from:katrin OR from:kenji)'), sorted(old.threadId, fresh.threadId));
    assert.deepEqual(await ids('zebra from:katrin OR from:kenji -audit'), [fresh.threadId]);
    assert.deepEqual(await ids('zebra in:spam'), [spam.threadId]);
    assert.deepEqual(await ids('zebra', { includeSpamTrash: true }), sorted(old.threadId, fresh.threadId, spam.threadId));
    assert.deepEqual(await ids('zebra', { labelIds: ['INBOX', 'UNREAD'] }), [fresh.threadId]);
    assert.deepEqual(await ids('zebra in:inbox'), sorted(old.threadId, fresh.threadId));

    // user labels by name (lower case, "/" and blanks as "-") and category:
    const customers = sb.gmail.labels(ANA).find((l) => l.name === 'Customers')!;
    const labelled = sb.gmail.threads(ANA, { labelIds: [customers.id] }).map((t) => t.id).sort();
    assert.ok(labelled.length > 0);
    assert.deepEqual(await ids('label:customers'), labelled);
    assert.deepEqual(await ids(`label:${customers.id}`), labelled);
    assert.deepEqual((await ids('label:customers-globex')).length, sb.gmail.threads(ANA, { q: 'label:Customers/Globex' }).length);
    assert.ok((await ids('category:promotions')).length > 0);
    assert.deepEqual(await ids('label:no-such-label'), []);
    const messages = await g.users.messages.list({ userId: 'me', q: 'zebra' });
    assert.deepEqual(messages.data.messages?.map((m) => m.id), [sent.id, fresh.id, old.id]);
    assert.deepEqual((await g.users.messages.list({ userId: 'me', q: 'nothing-matches-this' })).data, { resultSizeEstimate: 0 });
  });
});

// ---- threads.get / messages.get formats ----------------------------------------------------------

test('threads.get and messages.get: full, metadata (metadataHeaders), minimal, raw; bad formats', async () => {
  await withSandbox({}, async (sb) => {
    const first = sb.gmail.deliver(ANA, {
      from: 'Lucius Fox <lucius.fox@wayne.co.uk>',
      to: [ANA],
      cc: ['greta.larsen@acme.test'],
      subject: 'Applied Sciences & pricing',
      text: 'Hi Ana,\n\nCould you send the "enterprise" quote?\n\nBest,\nLucius',
      important: true,
    });
    sb.gmail.deliver(ANA, { from: ANA, to: 'lucius.fox@wayne.co.uk', threadId: first.threadId, html: '<div>Sure, <b>attached</b>.</div>' });
    const g = gmailFor(sb, ANA);

    const full = await g.users.threads.get({ userId: 'me', id: first.threadId });
    assert.equal(full.data.messages!.length, 2);
    const m0 = full.data.messages![0]!;
    assert.deepEqual(m0.labelIds, ['UNREAD', 'IMPORTANT', 'CATEGORY_PERSONAL', 'INBOX']);
    assert.equal(m0.snippet, 'Hi Ana, Could you send the &quot;enterprise&quot; quote? Best, Lucius');
    assert.match(m0.internalDate!, /^\d{13}$/);
    assert.ok(m0.sizeEstimate! > 300);
    assert.equal(m0.payload!.mimeType, 'multipart/alternative');
    assert.equal(header(m0, 'From'), 'Lucius Fox <lucius.fox@wayne.co.uk>');
    assert.equal(header(m0, 'To'), ANA);
    assert.equal(header(m0, 'Cc'), 'greta.larsen@acme.test');
    assert.equal(header(m0, 'Subject'), 'Applied Sciences & pricing');
    assert.match(header(m0, 'Date')!, /^\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
    assert.match(header(m0, 'Message-ID')!, /^<.+@wayne\.co\.uk>$/);
    const [plain, html] = m0.payload!.parts!;
    assert.deepEqual([plain!.partId, plain!.mimeType, html!.partId, html!.mimeType], ['0', 'text/plain', '1', 'text/html']);
    assert.equal(decode(plain!.body!.data), 'Hi Ana,\r\n\r\nCould you send the "enterprise" quote?\r\n\r\nBest,\r\nLucius');
    assert.equal(plain!.body!.size, Buffer.byteLength(decode(plain!.body!.data)));
    assert.match(decode(html!.body!.data), /^<div dir="ltr">/);
    const reply = full.data.messages![1]!;
    assert.deepEqual(reply.labelIds, ['SENT']);
    assert.equal(header(reply, 'From'), 'Ana <ana@acme.test>');
    assert.equal(decode(reply.payload!.parts![0]!.body!.data), 'Sure, attached.');
    assert.equal(full.data.snippet, reply.snippet);
    assert.equal(full.data.historyId, reply.historyId);

    const meta = await g.users.threads.get({ userId: 'me', id: first.threadId, format: 'metadata', metadataHeaders: ['from', 'Subject'] });
    assert.deepEqual(meta.data.messages![0]!.payload, {
      mimeType: 'multipart/alternative',
      headers: [
        { name: 'Subject', value: 'Applied Sciences & pricing' },
        { name: 'From', value: 'Lucius Fox <lucius.fox@wayne.co.uk>' },
      ],
    });
    const minimal = await g.users.threads.get({ userId: 'me', id: first.threadId, format: 'minimal' });
    assert.deepEqual(Object.keys(minimal.data.messages![0]!).sort(), ['historyId', 'id', 'internalDate', 'labelIds', 'sizeEstimate', 'snippet', 'threadId']);

    const rawMsg = await g.users.messages.get({ userId: 'me', id: first.id, format: 'raw' });
    const rfc = decode(rawMsg.data.raw);
    assert.match(rfc, /^Delivered-To: ana@acme\.test\r\n/);
    assert.match(rfc, /\r\nSubject: Applied Sciences & pricing\r\n/);
    assert.equal(Buffer.byteLength(rfc), rawMsg.data.sizeEstimate);
    assert.equal(rawMsg.data.payload, undefined);

    const bad = await gaxiosError(g.users.threads.get({ userId: 'me', id: first.threadId, format: 'raw' }));
    assert.equal(bad.status, 400);
    assert.equal(bad.response?.data.error.status, 'INVALID_ARGUMENT');
    assert.equal((await gaxiosError(g.users.messages.get({ userId: 'me', id: 'ffffffffffffffff' }))).status, 404);
    const send = await gaxiosError(g.users.messages.send({ userId: 'me', requestBody: { raw: 'eA' } }));
    assert.equal(send.status, 501);
    assert.equal(send.response?.data.error.status, 'UNIMPLEMENTED');
  });
});

// ---- modify, trash, history ----------------------------------------------------------------------

test('threads.modify / trash / untrash / delete and messages.modify: history records of the right types, ascending; paging; filters; no-change call', async () => {
  await withSandbox({}, async (sb) => {
    const g = gmailFor(sb, ANA);
    const a = sb.gmail.deliver(ANA, { from: 'Janet Price <janet.price@globex.com>', subject: 'Order form' });
    sb.gmail.deliver(ANA, { from: ANA, to: 'janet.price@globex.com', threadId: a.threadId, text: 'Attached.' });
    const a3 = sb.gmail.deliver(ANA, { from: 'janet.price@globex.com', threadId: a.threadId, text: 'Signed!' });
    const b = sb.gmail.deliver(ANA, { from: 'noreply@hubspot.com', subject: 'Weekly summary', category: 'updates' });
    const start = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    const quiet = await g.users.history.list({ userId: 'me', startHistoryId: start });
    assert.deepEqual(quiet.data, { historyId: start }, 'no change: only historyId');

    const modified = await g.users.threads.modify({ userId: 'me', id: a.threadId, requestBody: { addLabelIds: ['STARRED'], removeLabelIds: ['UNREAD'] } });
    assert.equal(modified.data.messages!.length, 3);
    assert.ok(modified.data.messages!.every((m) => m.labelIds!.includes('STARRED') && !m.labelIds!.includes('UNREAD')));
    const trashed = await g.users.threads.trash({ userId: 'me', id: a.threadId });
    assert.ok(trashed.data.messages!.every((m) => m.labelIds!.includes('TRASH') && !m.labelIds!.includes('INBOX')));
    assert.equal((await g.users.threads.list({ userId: 'me', q: 'order' })).data.threads, undefined, 'trash is left out of lists');
    const untrashed = await g.users.threads.untrash({ userId: 'me', id: a.threadId });
    assert.ok(untrashed.data.messages!.every((m) => !m.labelIds!.includes('TRASH')));
    const mm = await g.users.messages.modify({ userId: 'me', id: b.id, requestBody: { addLabelIds: ['IMPORTANT'] } });
    assert.deepEqual(mm.data.labelIds, ['UNREAD', 'CATEGORY_UPDATES', 'INBOX', 'IMPORTANT']);
    await g.users.messages.trash({ userId: 'me', id: b.id });
    const delivered = sb.gmail.deliver(ANA, { from: 'marcus.bell@globex.com', subject: 'New one' });
    await g.users.messages.delete({ userId: 'me', id: a3.id });
    await g.users.threads.delete({ userId: 'me', id: delivered.threadId });

    const full = await historyAll(g, { startHistoryId: start });
    const ids = full.records.map((r) => Number(r.id));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'ascending ids');
    assert.ok(ids[0]! > Number(start));
    assert.equal(full.historyId, (await g.users.getProfile({ userId: 'me' })).data.historyId);
    const summary = full.records.map((r) => {
      const type = typeOf(r);
      const entry = (r[type as 'labelsAdded'] as Array<{ message: { id: string; threadId: string }; labelIds?: string[] }>)[0]!;
      assert.deepEqual(r.messages, [{ id: entry.message.id, threadId: entry.message.threadId }]);
      return `${type} ${entry.message.id === b.id ? 'b' : entry.message.id === delivered.id ? 'new' : 'a'} ${(entry.labelIds ?? []).join('+')}`;
    });
    assert.deepEqual(summary, [
      'labelsAdded a STARRED', 'labelsRemoved a UNREAD', 'labelsAdded a STARRED', 'labelsAdded a STARRED', 'labelsRemoved a UNREAD',
      'labelsAdded a TRASH', 'labelsRemoved a INBOX', 'labelsAdded a TRASH', 'labelsAdded a TRASH', 'labelsRemoved a INBOX',
      'labelsRemoved a TRASH', 'labelsRemoved a TRASH', 'labelsRemoved a TRASH',
      'labelsAdded b IMPORTANT',
      'labelsAdded b TRASH', 'labelsRemoved b INBOX',
      'messagesAdded new ', 'messagesDeleted a ', 'messagesDeleted new ',
    ]);
    const added = full.records.find((r) => r.messagesAdded)!.messagesAdded![0]!.message!;
    assert.deepEqual(added, { id: delivered.id, threadId: delivered.threadId, labelIds: ['UNREAD', 'CATEGORY_PERSONAL', 'INBOX'] });

    // paging gives the same records; the filters narrow them
    const paged = await historyAll(g, { startHistoryId: start, maxResults: 4 });
    assert.equal(paged.pages, 5);
    assert.deepEqual(paged.records, full.records);
    const onlyAdds = await historyAll(g, { startHistoryId: start, historyTypes: ['messageAdded', 'messageDeleted'] });
    assert.deepEqual(onlyAdds.records.map(typeOf), ['messagesAdded', 'messagesDeleted', 'messagesDeleted']);
    const trashOnly = await historyAll(g, { startHistoryId: start, labelId: 'TRASH', historyTypes: ['labelAdded'] });
    assert.equal(trashOnly.records.length, 4);
    const last = full.records[full.records.length - 1]!.id!;
    assert.deepEqual((await g.users.history.list({ userId: 'me', startHistoryId: last })).data, { historyId: last });

    // bad requests
    assert.equal(reasonOf(await gaxiosError(g.users.threads.modify({ userId: 'me', id: a.threadId, requestBody: {} }))), 'invalidArgument');
    assert.equal((await gaxiosError(g.users.threads.modify({ userId: 'me', id: a.threadId, requestBody: { addLabelIds: ['Label_99'] } }))).status, 400);
    assert.equal((await gaxiosError(g.users.messages.modify({ userId: 'me', id: b.id, requestBody: { addLabelIds: ['SENT'] } }))).status, 400);
    assert.equal((await gaxiosError(g.users.history.list({ userId: 'me', startHistoryId: 'abc' }))).status, 400);
    assert.equal((await gaxiosError(g.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['everything'] }))).status, 400);

    // batchModify: unknown (well-formed) ids are skipped
    const c = sb.gmail.deliver(ANA, { from: 'x@globex.com', subject: 'c' });
    const batch = await g.users.messages.batchModify({ userId: 'me', requestBody: { ids: [c.id, b.id, 'ffffffffffffffff'], addLabelIds: ['STARRED'] } });
    assert.equal(batch.status, 204);
    assert.ok(sb.gmail.message(ANA, c.id)!.labelIds.includes('STARRED') && sb.gmail.message(ANA, b.id)!.labelIds.includes('STARRED'));
  });
});

test('history retention: an expired or too-old startHistoryId is a 404 GaxiosError; expireHistory and the retention option; seeding starts history', async () => {
  await withSandbox({ gmail: { historyRetentionMs: 300 } }, async (sb) => {
    const g = gmailFor(sb, ANA);
    const before = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    sb.gmail.seed(ANA, 10);
    const afterSeed = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    assert.ok(Number(afterSeed) > Number(before));
    const expected = {
      error: { code: 404, message: 'Requested entity was not found.', errors: [{ message: 'Requested entity was not found.', domain: 'global', reason: 'notFound' }], status: 'NOT_FOUND' },
    };
    const e = await gaxiosError(g.users.history.list({ userId: 'me', startHistoryId: before }));
    assert.equal(e.status, 404, 'history before the seed is not retained');
    assert.deepEqual(e.response?.data, expected);
    assert.deepEqual((await g.users.history.list({ userId: 'me', startHistoryId: afterSeed })).data, { historyId: afterSeed });

    sb.gmail.deliver(ANA, { from: 'hank.scorpio@globex.com', subject: 'ping' });
    assert.equal((await g.users.history.list({ userId: 'me', startHistoryId: afterSeed })).data.history?.length, 1);
    await new Promise((r) => setTimeout(r, 350));
    const old = await gaxiosError(g.users.history.list({ userId: 'me', startHistoryId: afterSeed }));
    assert.equal(old.status, 404, 'the record is older than the retention');
    const now = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    assert.deepEqual((await g.users.history.list({ userId: 'me', startHistoryId: now })).data, { historyId: now });
    assert.equal((await gaxiosError(g.users.history.list({ userId: 'me', startHistoryId: String(Number(now) + 1000) }))).status, 404, 'a future id');
  });
  await withSandbox({}, async (sb) => {
    const g = gmailFor(sb, ANA);
    sb.gmail.deliver(ANA, { from: 'hank.scorpio@globex.com', subject: 'one' });
    const h = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    sb.gmail.deliver(ANA, { from: 'hank.scorpio@globex.com', subject: 'two' });
    assert.equal(sb.gmail.history(ANA).length, 2);
    assert.equal((await raw(sb, 'POST', '_sandbox/google/gmail/expire-history', { body: { user: ANA } })).status, 204);
    assert.equal(sb.gmail.history(ANA).length, 0);
    assert.equal((await gaxiosError(g.users.history.list({ userId: 'me', startHistoryId: h }))).status, 404);
    const current = (await g.users.getProfile({ userId: 'me' })).data.historyId!;
    assert.deepEqual((await g.users.history.list({ userId: 'me', startHistoryId: current })).data, { historyId: current });
  });
});

// ---- watch and Pub/Sub push ----------------------------------------------------------------------

test('users.watch: an admin-delivered message is pushed as Pub/Sub does (base64 {emailAddress, historyId}, OIDC token, ?token); redelivered on 500; users.stop ends it', async () => {
  const rx = await receiver([500]);
  try {
    await withSandbox({ gmail: { push: { topic: TOPIC, endpoint: rx.url, token: 's3cret', oidc: { audience: 'https://aurora.example/api/webhooks/gmail' } } } }, async (sb) => {
      const g = gmailFor(sb, ANA);
      const badTopic = await gaxiosError(g.users.watch({ userId: 'me', requestBody: { topicName: 'projects/other/topics/gmail' } }));
      assert.equal(badTopic.status, 400);
      assert.equal(badTopic.response?.data.error.message, 'Invalid topicName does not match projects/aurora-sandbox/topics/*');

      const watch = await g.users.watch({ userId: 'me', requestBody: { topicName: TOPIC, labelIds: ['INBOX'], labelFilterBehavior: 'include' } });
      const lifetime = Number(watch.data.expiration) - Date.now();
      assert.ok(lifetime > 6.9 * 86_400_000 && lifetime <= 7 * 86_400_000, 'expires in 7 days');
      assert.equal(watch.data.historyId, (await g.users.getProfile({ userId: 'me' })).data.historyId);
      assert.deepEqual(sb.gmail.watches().map((w) => [w.user, w.topicName, w.labelIds, w.labelFilterBehavior]), [[ANA, TOPIC, ['INBOX'], 'include']]);
      await sb.gmail.pubsub.flush();
      assert.equal(rx.deliveries.length, 0, 'no message on watch');

      const m = sb.gmail.deliver(ANA, { from: 'Hank Scorpio <hank.scorpio@globex.com>', subject: 'New PO' });
      sb.gmail.modifyMessage(ANA, m.id, { addLabelIds: ['IMPORTANT'] }); // within the coalescing window: one notification
      await sb.gmail.pubsub.flush();
      assert.equal(rx.deliveries.length, 2, 'the first delivery answered 500, the redelivery 204');
      const [first, again] = rx.deliveries as [Delivery, Delivery];
      assert.deepEqual(again.body, first.body, 'a redelivery is the same message');
      assert.equal(first.body.subscription, 'projects/aurora-sandbox/subscriptions/gmail-push');
      assert.match(first.body.message.messageId, /^\d{16}$/);
      assert.equal(first.body.message.message_id, first.body.message.messageId);
      assert.ok(Math.abs(Date.parse(first.body.message.publishTime) - Date.now()) < 10_000);
      const profile = (await g.users.getProfile({ userId: 'me' })).data;
      assert.deepEqual(pushData(first), { emailAddress: ANA, historyId: Number(profile.historyId) });
      assert.equal(first.url, '/pubsub/gmail?token=s3cret');
      assert.equal(first.headers['content-type'], 'application/json');
      assert.deepEqual(sb.gmail.pubsub.stats, { published: 1, delivered: 1, failed: 0, retried: 1, pending: 0 });

      // the bearer token is a Google-signed OIDC token: google-auth-library verifies it against the sandbox's certs
      const bearer = /^Bearer (.+)$/.exec(String(first.headers.authorization))![1]!;
      const verifier = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: sb.gmail.pubsub.certsUrl } });
      const ticket = await verifier.verifyIdToken({ idToken: bearer, audience: 'https://aurora.example/api/webhooks/gmail' });
      const claims = ticket.getPayload()!;
      assert.equal(claims.iss, 'https://accounts.google.com');
      assert.equal(claims.email, 'gmail-push@aurora-sandbox.iam.gserviceaccount.com');
      assert.equal(claims.email_verified, true);
      await assert.rejects(verifier.verifyIdToken({ idToken: bearer, audience: 'https://elsewhere.example/' }));
      const jwks = (await raw(sb, 'GET', 'oauth2/v3/certs')).body as { keys: Array<{ kid: string; kty: string }> };
      assert.equal(jwks.keys[0]!.kid, JSON.parse(Buffer.from(bearer.split('.')[0]!, 'base64url').toString()).kid);

      // the engine's path: history from the watch's historyId names the new message
      const h = await g.users.history.list({ userId: 'me', startHistoryId: watch.data.historyId!, historyTypes: ['messageAdded'] });
      assert.deepEqual(h.data.history?.map((r) => r.messagesAdded![0]!.message!.id), [m.id]);

      // the label filter: a change to a message outside INBOX is not pushed
      const archived = sb.gmail.deliver(ANA, { from: 'noreply@zoom.us', subject: 'Receipt', labelIds: ['CATEGORY_UPDATES'] });
      await sb.gmail.pubsub.flush();
      assert.equal(rx.deliveries.length, 2);
      sb.gmail.archive(ANA, m.threadId);
      await sb.gmail.pubsub.flush();
      assert.equal(rx.deliveries.length, 3, 'removing INBOX touches the INBOX label');
      assert.ok(sb.gmail.thread(ANA, archived.threadId));

      assert.equal((await g.users.stop({ userId: 'me' })).status, 204);
      sb.gmail.deliver(ANA, { from: 'hank.scorpio@globex.com', subject: 'after stop' });
      await new Promise((r) => setTimeout(r, 120));
      await sb.gmail.pubsub.flush();
      assert.equal(rx.deliveries.length, 3, 'nothing after users.stop');
      assert.deepEqual(sb.gmail.watches(), []);
    });
  } finally {
    await rx.close();
  }

  // a receiver that keeps failing: given up after maxAttempts; other users' watches are theirs
  const down = await receiver([503, 503, 503]);
  try {
    await withSandbox({ gmail: { pushRetry: { maxAttempts: 3, minBackoffMs: 10 } } }, async (sb) => {
      sb.gmail.pubsub.configure({ endpoint: down.url });
      await gmailFor(sb, BEN).users.watch({ userId: 'me', requestBody: { topicName: TOPIC } });
      sb.gmail.deliver(ANA, { from: 'hank.scorpio@globex.com', subject: 'for ana' });
      await sb.gmail.pubsub.flush();
      assert.equal(down.deliveries.length, 0, 'ana has no watch');
      sb.gmail.deliver(BEN, { from: 'hank.scorpio@globex.com', subject: 'for ben' });
      await sb.gmail.pubsub.flush();
      assert.equal(down.deliveries.length, 3);
      assert.equal(pushData(down.deliveries[0]!).emailAddress, BEN);
      assert.equal(down.deliveries[0]!.headers.authorization, undefined, 'no OIDC token unless configured');
      assert.deepEqual(sb.gmail.pubsub.stats, { published: 1, delivered: 0, failed: 1, retried: 2, pending: 0 });
    });
  } finally {
    await down.close();
  }
});

// ---- quotas --------------------------------------------------------------------------------------

test('quota units: threads.list costs 10, a burst exhausts a small per-user budget (403 userRateLimitExceeded; 429 modes), per user, apart from Calendar', async () => {
  await withSandbox({ quotas: { perUserPerMinute: 1000 }, gmail: { quotas: { perUserPerMinute: 45 } } }, async (sb) => {
    const ana = gmailFor(sb, ANA);
    for (let i = 0; i < 4; i++) await ana.users.threads.list({ userId: 'me' });
    await ana.users.history.list({ userId: 'me', startHistoryId: (await ana.users.getProfile({ userId: 'me' })).data.historyId! }); // 1 + 2 → 43
    const e = await gaxiosError(ana.users.threads.list({ userId: 'me' }));
    assert.equal(e.status, 403);
    assert.deepEqual(e.response?.data, {
      error: { errors: [{ domain: 'usageLimits', reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded' }], code: 403, message: 'User Rate Limit Exceeded', status: 'PERMISSION_DENIED' },
    });
    await ana.users.getProfile({ userId: 'me' }); // 1 unit still fits → 44
    assert.equal((await gaxiosError(ana.users.history.list({ userId: 'me', startHistoryId: '1' }))).status, 403, '2 units do not');
    assert.equal(sb.stats.quotaUnits.gmail![ANA], 44, 'units admitted (refused requests cost nothing)');
    await gmailFor(sb, BEN).users.threads.list({ userId: 'me' });
    const cal = google.calendar({ version: 'v3', auth: (() => { const a = new OAuth2Client(); a.setCredentials({ access_token: sb.auth.tokenFor(ANA) }); return a as never; })(), rootUrl: sb.url });
    assert.equal((await cal.calendarList.list()).status, 200, "Calendar's quota is separate");
    sb.resetQuotas();
    await ana.users.threads.list({ userId: 'me' });
  });
  await withSandbox({ gmail: { quotas: { perUserPerMinute: 10, mode: '429' } } }, async (sb) => {
    const ana = gmailFor(sb, ANA);
    await ana.users.threads.list({ userId: 'me' });
    const e = await gaxiosError(ana.users.threads.list({ userId: 'me' }, { retry: false }));
    assert.equal(e.status, 429);
    assert.equal(reasonOf(e), 'rateLimitExceeded');
    assert.equal(e.response?.data.error.status, 'RESOURCE_EXHAUSTED');
  });
  await withSandbox({ gmail: { quotas: { perUserPerMinute: 100, perProjectPerMinute: 150, mode: 'detailed' } } }, async (sb) => {
    const ana = gmailFor(sb, ANA);
    await ana.users.watch({ userId: 'me', requestBody: { topicName: TOPIC } }); // 100 units
    const user = await gaxiosError(ana.users.getProfile({ userId: 'me' }, { retry: false }));
    assert.equal(user.status, 429);
    const m = /^User-rate limit exceeded\. {2}Retry after (\S+)$/.exec(user.response?.data.error.message ?? '');
    assert.ok(m, user.response?.data.error.message);
    assert.ok(Date.parse(m[1]!) > Date.now() + 55_000);
    const ben = gmailFor(sb, BEN);
    await ben.users.threads.list({ userId: 'me' });
    await ben.users.threads.list({ userId: 'me' });
    await ben.users.threads.list({ userId: 'me' });
    await ben.users.threads.list({ userId: 'me' });
    await ben.users.threads.list({ userId: 'me' });
    const project = await gaxiosError(ben.users.threads.list({ userId: 'me' }, { retry: false }));
    assert.equal(project.status, 403);
    assert.match(project.response?.data.error.message ?? '', /^Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail\.googleapis\.com' for consumer 'project_number:\d+'\.$/);
  });
});

// ---- seeding and admin -----------------------------------------------------------------------------

test('seed: deterministic by randomSeed, a realistic mix whose people overlap the calendar seeding; no push, no quota', async () => {
  const runs: string[][] = [];
  for (let i = 0; i < 2; i++) {
    await withSandbox({ randomSeed: 11 }, async (sb) => {
      sb.gmail.pubsub.configure({ endpoint: 'http://127.0.0.1:9/never' });
      const threads = sb.gmail.seed(ANA, 300);
      runs.push(threads.map((t) => `${t.id} ${t.messages.length} ${header(t.messages[0]!, 'Subject')} ${t.messages.map((m) => m.labelIds.join('+')).join('|')}`));
      assert.equal(threads.length, 300);
      const msgs = threads.flatMap((t) => t.messages);
      const lengths = new Set(threads.map((t) => t.messages.length));
      for (let n = 1; n <= 6; n++) assert.ok(lengths.has(n), `threads of ${n}`);
      const labels = new Set(msgs.flatMap((m) => m.labelIds));
      for (const l of ['INBOX', 'SENT', 'UNREAD', 'STARRED', 'IMPORTANT', 'SPAM', 'TRASH', 'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS']) {
        assert.ok(labels.has(l), l);
      }
      const userLabels = sb.gmail.labels(ANA).filter((l) => l.type === 'user');
      assert.ok(userLabels.some((l) => l.color) && userLabels.every((l) => (l.messagesTotal ?? 0) > 0), 'coloured user labels in use');
      assert.ok(threads.some((t) => t.messages.every((m) => !m.labelIds.includes('INBOX')) && !t.messages.some((m) => m.labelIds.includes('TRASH'))), 'archived threads');
      for (const t of threads) {
        assert.ok(t.messages.every((m, k) => k === 0 || Number(m.internalDate) >= Number(t.messages[k - 1]!.internalDate)));
        assert.ok(Number(t.messages[t.messages.length - 1]!.internalDate) <= Date.now());
        for (const m of t.messages.slice(1)) assert.match(header(m, 'Subject')!, /^Re: /);
      }
      const replies = msgs.filter((m) => header(m, 'In-Reply-To'));
      assert.ok(replies.length > 50 && replies.every((m) => decode(m.payload!.parts![0]!.body!.data).includes(' wrote:\r\n> ')));
      const ages = msgs.map((m) => Date.now() - Number(m.internalDate));
      assert.ok(Math.max(...ages) > 90 * 86_400_000 && Math.min(...ages) < 7 * 86_400_000, 'dates over the past months');

      // participants overlap the calendar's attendees
      const people = new Set(msgs.flatMap((m) => ['From', 'To', 'Cc'].flatMap((h) => (header(m, h) ?? '').match(/[\w.+-]+@[\w.-]+/g) ?? [])));
      assert.ok([...people].some((e) => e.endsWith('@globex.com')) && [...people].some((e) => e.endsWith('@acme.test') && e !== ANA));
      const attendees = new Set(sb.calendar.seed(ANA, 'primary', 150).flatMap((e) => (e.attendees ?? []).map((a) => a.email)));
      assert.ok([...people].filter((e) => attendees.has(e) && e !== ANA).length >= 10);

      assert.equal(sb.stats.requests, 0);
      assert.equal(sb.gmail.pubsub.stats.published, 0);
      assert.deepEqual(sb.gmail.history(ANA), []);
    });
  }
  assert.deepEqual(runs[0], runs[1]);
});

test('admin HTTP API: seed, deliver, act as the user, labels, history, expire, Pub/Sub subscriptions', async () => {
  await withSandbox({}, async (sb) => {
    const G = '_sandbox/google/gmail';
    const seeded = await raw(sb, 'POST', `${G}/${BEN}/seed`, { body: { threads: 12, pastDays: 30 } });
    assert.equal(seeded.status, 201);
    assert.equal((seeded.body!.threadIds as string[]).length, 12);
    const msg = await raw(sb, 'POST', `${G}/${BEN}/messages`, { body: { from: 'Chloe Tremblay <chloe.tremblay@soylent.ca>', subject: 'Quote', text: 'Can you send it?', addLabelIds: ['Customers'] } });
    assert.equal(msg.status, 201);
    const threadId = msg.body!.threadId as string;
    const reply = await raw(sb, 'POST', `${G}/${BEN}/messages`, { body: { from: BEN, to: 'chloe.tremblay@soylent.ca', threadId, text: 'Here it is.' } });
    assert.equal(reply.body!.threadId, threadId);
    for (const action of ['read', 'star', 'archive']) assert.equal((await raw(sb, 'POST', `${G}/${BEN}/threads/${threadId}/${action}`)).status, 200);
    const t = (await raw(sb, 'GET', `${G}/${BEN}/threads/${threadId}`)).body as unknown as { messages: Array<{ labelIds: string[] }> };
    assert.deepEqual(t.messages.map((m) => m.labelIds), [['CATEGORY_PERSONAL', sb.gmail.labels(BEN).find((l) => l.name === 'Customers')!.id], ['SENT', 'STARRED']]);
    const label = await raw(sb, 'POST', `${G}/${BEN}/labels`, { body: { name: 'Soylent', color: { textColor: '#000000', backgroundColor: '#fad165' } } });
    assert.equal(label.status, 201);
    assert.equal((await raw(sb, 'POST', `${G}/${BEN}/threads/${threadId}/modify`, { body: { addLabelIds: ['Soylent'] } })).status, 200);
    assert.equal((await raw(sb, 'PATCH', `${G}/${BEN}/labels/${label.body!.id as string}`, { body: { name: 'Soylent Corp' } })).body!.name, 'Soylent Corp');
    assert.equal((await raw(sb, 'POST', `${G}/${BEN}/labels`, { body: { name: 'soylent corp' } })).status, 409);
    const history = (await raw(sb, 'GET', `${G}/${BEN}/history`)).body!.history as Array<Record<string, unknown>>;
    assert.ok(history.length >= 6);
    const listed = (await raw(sb, 'GET', `${G}/${BEN}/threads?q=label:soylent-corp`)).body!.threads as Array<{ id: string }>;
    assert.deepEqual(listed.map((x) => x.id), [threadId]);
    assert.equal((await raw(sb, 'DELETE', `${G}/${BEN}/threads/${threadId}`)).status, 204);
    assert.equal((await raw(sb, 'GET', `${G}/${BEN}/threads/${threadId}`)).status, 404);
    assert.equal((await raw(sb, 'POST', `${G}/expire-history`)).status, 204);
    assert.deepEqual((await raw(sb, 'GET', `${G}/${BEN}/history`)).body, { history: [] });
    const profile = (await raw(sb, 'GET', `${G}/${BEN}/profile`)).body!;
    assert.equal(profile.threadsTotal, 12);
    const sub = await raw(sb, 'PUT', `${G}/pubsub/subscriptions`, { body: { subscription: 'projects/aurora-sandbox/subscriptions/aurora', topic: TOPIC, endpoint: 'https://aurora.example/push', oidc: true } });
    assert.deepEqual(sub.body, {
      subscription: 'projects/aurora-sandbox/subscriptions/aurora',
      topic: TOPIC,
      pushEndpoint: 'https://aurora.example/push',
      oidcToken: { serviceAccountEmail: 'gmail-push@aurora-sandbox.iam.gserviceaccount.com', audience: 'https://aurora.example/push' },
    });
    assert.equal((await raw(sb, 'GET', `${G}/pubsub`)).body!.certsUrl, `${sb.url}oauth2/v1/certs`);
    assert.equal((await raw(sb, 'DELETE', `${G}/pubsub/subscriptions?subscription=projects/aurora-sandbox/subscriptions/aurora`)).status, 204);
    assert.equal((await raw(sb, 'PUT', `${G}/pubsub/subscriptions`, { body: { endpoint: 'not a url' } })).status, 400);
    assert.equal((await raw(sb, 'POST', `${G}/nobody@acme.test/seed`, { body: { threads: 1 } })).status, 400);
    assert.equal(sb.stats.requests, 0, 'admin calls are not API requests');
  });
});
