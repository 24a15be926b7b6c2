/** Gmail's pure mappers: addresses, thread state and priority, the label changes of a local edit, push envelopes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { markersOf, parseAddressList, plainTextBody, priorityOf, threadChange, toEmailFields, toLabelBody, type GmailThread } from '../src/connectors/google_workspace/gmail/mapping';
import { parsePush } from '../src/connectors/google_workspace/gmail/webhooks';
import { parseGmailConfig } from '../src/connectors/google_workspace/gmail/config';
import { ConfigError } from '../src/core/env';

const msg = (id: string, labelIds: string[], headers: Record<string, string>, internalDate: number) => ({
  id,
  threadId: 't1',
  labelIds,
  snippet: `snippet ${id}`,
  internalDate: String(internalDate),
  payload: { mimeType: 'text/plain', headers: Object.entries(headers).map(([name, value]) => ({ name, value })) },
});

describe('Gmail mapping', () => {
  test('address lists: names, quotes with commas, groups, comments, case and duplicates', () => {
    assert.deepEqual(parseAddressList('"Doe, Jane" <Jane@Example.com>, bob@x.org (Bob), team: c@x.org, d@x.org;, jane@example.com'), [
      { email: 'jane@example.com', name: 'Doe, Jane' },
      { email: 'bob@x.org' },
      { email: 'c@x.org' },
      { email: 'd@x.org' },
    ]);
    assert.deepEqual(parseAddressList('undisclosed-recipients:;'), []);
    assert.deepEqual(parseAddressList('not an address'), []);
    assert.deepEqual(parseAddressList(undefined), []);
  });

  test('a thread: the union of its messages\' labels, trashed only when every message is, participants by role', () => {
    const t: GmailThread = {
      id: 't1',
      messages: [
        msg('m2', ['INBOX', 'STARRED', 'Label_1', 'TRASH'], { From: 'me@acme.test', To: 'Carol <carol@c.example>', Subject: 'Re: Offer' }, 2000),
        msg('m1', ['INBOX', 'UNREAD', 'CATEGORY_PERSONAL'], { From: 'Carol <carol@c.example>', To: 'me@acme.test', Cc: 'dan@c.example', Subject: 'Offer' }, 1000),
      ],
    };
    const f = toEmailFields(t, false);
    assert.equal(f.subject, 'Offer', 'the first message\'s subject');
    assert.equal(f.snippet, 'snippet m2', 'the last message\'s snippet');
    assert.equal(f.message_count, '2');
    assert.equal(f.first_message_at, new Date(1000).toISOString());
    assert.equal(f.last_message_at, new Date(2000).toISOString());
    assert.equal(f.labels, 'CATEGORY_PERSONAL,Label_1', 'state labels are fields of their own');
    assert.equal(f.unread, 'true');
    assert.equal(f.priority, 'starred');
    assert.equal(f.archived, 'false');
    assert.equal(f.trashed, 'false', 'one message in the trash does not trash the thread');
    assert.deepEqual(JSON.parse(f.participants!), [
      { email: 'carol@c.example', name: 'Carol', roles: ['from', 'to'] },
      { email: 'dan@c.example', roles: ['cc'] },
      { email: 'me@acme.test', roles: ['from', 'to'] },
    ]);
    assert.deepEqual(JSON.parse(f.messages!).map((m: { id: string }) => m.id), ['m1', 'm2'], 'oldest first');
  });

  test('bodies: the first text/plain part of a multipart message, decoded; none without one; only when asked', () => {
    const b64 = (t: string) => Buffer.from(t).toString('base64url');
    const m = {
      id: 'm1',
      payload: {
        mimeType: 'multipart/mixed',
        headers: [],
        parts: [
          { mimeType: 'multipart/alternative', headers: [], parts: [{ mimeType: 'text/plain', body: { size: 5, data: b64('Hällo') } }, { mimeType: 'text/html', body: { size: 9, data: b64('<b>x</b>') } }] },
          { mimeType: 'text/plain', filename: 'notes.txt', body: { size: 3, data: b64('att') } },
        ],
      },
    };
    assert.equal(plainTextBody(m), 'Hällo');
    assert.equal(plainTextBody({ id: 'm2', payload: { mimeType: 'text/html', body: { size: 1, data: b64('<p>') } } }), undefined);
    const t = { id: 't', messages: [{ ...m, threadId: 't', labelIds: ['INBOX'], internalDate: '1000' }] };
    assert.equal(JSON.parse(toEmailFields(t, true).messages!)[0].body, 'Hällo');
    assert.equal(JSON.parse(toEmailFields(t, false).messages!)[0].body, undefined);
  });

  test('priority both ways over IMPORTANT and STARRED', () => {
    const cases: [string[], string][] = [[[], 'normal'], [['IMPORTANT'], 'important'], [['STARRED'], 'starred'], [['IMPORTANT', 'STARRED'], 'urgent']];
    for (const [labels, p] of cases) {
      assert.equal(priorityOf(new Set(labels)), p);
      const m = markersOf(p);
      assert.deepEqual(labels.sort(), (['IMPORTANT', 'STARRED'] as const).filter((k) => m[k]));
    }
    assert.throws(() => markersOf('asap'), /priority "asap" is not one of normal, important, starred, urgent/);
  });

  test('a local edit sends only what changed since the last sync', () => {
    const prev = { labels: 'Label_1,Label_2', unread: 'true', priority: 'important', archived: 'false', trashed: 'false' };
    const now = { labels: 'Label_2,Label_3', unread: 'false', priority: 'urgent', archived: 'true', trashed: 'false' };
    assert.deepEqual(threadChange(now, prev), { add: ['Label_3', 'STARRED'], remove: ['INBOX', 'Label_1', 'UNREAD'] });
    assert.deepEqual(threadChange(now, prev, ['unread']), { add: [], remove: ['UNREAD'] }, 'only the changed fields');
    assert.deepEqual(threadChange({ ...prev, trashed: 'true' }, prev), { add: [], remove: [], trash: true });
    assert.throws(() => threadChange({ ...prev, labels: 'Label_1,Label_2,UNREAD' }, prev), /set with the thread's own fields/);
  });

  test('label bodies: a colour needs both parts; a patch of the colour to none sends null', () => {
    assert.deepEqual(toLabelBody({ name: 'Deals', text_color: '#ffffff', background_color: '#fb4c2f', label_list_visibility: null, message_list_visibility: null }), {
      name: 'Deals',
      color: { textColor: '#ffffff', backgroundColor: '#fb4c2f' },
    });
    assert.throws(() => toLabelBody({ name: 'X', text_color: '#ffffff', background_color: null }), /both text_color and background_color/);
    assert.throws(() => toLabelBody({ name: ' ' }), /needs a name/);
    assert.deepEqual(toLabelBody({ name: 'X', text_color: null, background_color: null }, ['text_color', 'background_color']), { color: null });
  });

  test('Pub/Sub push envelopes: what is accepted and why the rest is refused', () => {
    const data = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
    const ok = parsePush(JSON.stringify({ message: { data: data({ emailAddress: 'Ana@Acme.test', historyId: 42 }), messageId: '123' }, subscription: 'projects/p/subscriptions/s' }));
    assert.deepEqual(ok, { messageId: '123', emailAddress: 'ana@acme.test', historyId: '42' });
    const snake = parsePush(JSON.stringify({ message: { data: data({ emailAddress: 'a@b.c', historyId: '7' }), message_id: 'x' } }));
    assert.equal(typeof snake, 'object', 'message_id (snake case) too; historyId as a string too');
    assert.match(parsePush('{') as string, /not JSON/);
    assert.match(parsePush('{"message": []}') as string, /expected a Pub\/Sub push/);
    assert.match(parsePush(JSON.stringify({ message: { data: '!!', messageId: '1' } })) as string, /not base64/);
    assert.match(parsePush(JSON.stringify({ message: { data: data({ historyId: 1 }), messageId: '1' } })) as string, /no emailAddress/);
    assert.match(parsePush(JSON.stringify({ message: { data: data({ emailAddress: 'a@b.c', historyId: "1'; DROP" }), messageId: '1' } })) as string, /no historyId/);
    assert.match(parsePush(JSON.stringify({ message: { data: data({ emailAddress: 'a@b.c', historyId: 1 }), messageId: '../../etc' } })) as string, /messageId/);
  });

  test('settings: OIDC needs audience and service account together; the URL token is long enough', () => {
    const secrets = { dir: '/nonexistent', read: () => undefined };
    assert.throws(() => parseGmailConfig({ GMAIL_PUSH_AUDIENCE: 'https://a.example/' }, secrets), ConfigError);
    assert.throws(() => parseGmailConfig({ GMAIL_PUSH_TOKEN: 'short' }, secrets), /at least 16/);
    assert.throws(() => parseGmailConfig({ GMAIL_PUBSUB_TOPIC: 'gmail' }, secrets), /GMAIL_PUBSUB_TOPIC/);
    const c = parseGmailConfig({ GOOGLE_API_ROOT_URL: 'http://127.0.0.1:4020', GMAIL_PUSH_AUDIENCE: 'a', GMAIL_PUSH_SERVICE_ACCOUNT: 'SA@p.iam.gserviceaccount.com' }, secrets);
    assert.equal(c.push.oidc?.certsUrl, 'http://127.0.0.1:4020/oauth2/v1/certs');
    assert.equal(c.push.oidc?.serviceAccount, 'sa@p.iam.gserviceaccount.com');
    assert.equal(c.syncBodies, false);
    assert.equal(c.unitsPerUserPerMinute, 15_000);
  });
});
