/**
 * Gmail two-way through the whole stack: the real Temporal dev server, Postgres, Redis, the real
 * googleapis client and google-auth-library (a service account with domain-wide delegation), and
 * the Google sandbox's Gmail v1 (history with expiring start ids, unit quotas, Pub/Sub push with
 * OIDC tokens).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EMAIL, EMAIL_LABEL } from '../src/connectors/google_workspace/gmail/entities';
import { toEmailFields, toLabelFields } from '../src/connectors/google_workspace/gmail/mapping';
import { canonicalize } from '../src/core/model';
import { statusQuery, syncWorkflowId } from '../src/workflows/definitions';
import type { GmailThread } from '../src/sandbox/google';
import { count, harnessPerTest, listeningApi, subscribe, waitFor, type Harness } from './helpers';

const ANA = 'ana@acme.test';
const BEN = 'ben@acme.test';
const SYSTEM = 'google_workspace';
const TOPIC = 'projects/aurora-sandbox/topics/gmail';
const setup = harnessPerTest();
const target = (connection: string) => ({ system: SYSTEM, connection });
/** quotas high enough that a test is not a minute long; the storm test lowers them */
const FAST = { GMAIL_QUOTA_UNITS_PER_USER_PER_MINUTE: '2000000', GMAIL_QUOTA_UNITS_PER_PROJECT_PER_MINUTE: '10000000' };
const fastSandbox = { gmail: { quotas: { perUserPerMinute: 2_000_000, perProjectPerMinute: 10_000_000 } } };

/** Aurora label id → Gmail label id, per mailbox. */
async function labelIds(h: Harness): Promise<Map<string, string>> {
  const { rows } = await h.db.query("SELECT local_id, external_id FROM sync_registry WHERE external_system = $1 AND entity_type = 'email_label' AND NOT deleted", [SYSTEM]);
  return new Map(rows.map((r) => [r.local_id, r.external_id]));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function localThreads(h: Harness, mailbox: string): Promise<Map<string, any>> {
  const { rows } = await h.db.query(
    `SELECT t.*, r.external_id, r.sync_status,
            (SELECT string_agg(l.label_id, ',') FROM email_thread_labels l WHERE l.thread_id = t.id) AS label_locals
       FROM email_threads t
       JOIN sync_registry r ON r.local_id = t.id AND r.external_system = $1 AND r.entity_type = 'email'
      WHERE t.mailbox = $2`,
    [SYSTEM, mailbox],
  );
  return new Map(rows.map((r) => [r.external_id, r]));
}

/** Every sandbox thread (spam and trash included) equals its Aurora row field by field; labels too. */
async function assertInSync(h: Harness, user: string): Promise<number> {
  const g = h.google!;
  const ids = await labelIds(h);
  const locals = await localThreads(h, user);
  const live = [...locals.values()].filter((t) => !t.deleted_at);
  const threads: GmailThread[] = g.gmail.threads(user, { includeSpamTrash: true });
  for (const t of threads) {
    const local = locals.get(t.id);
    assert.ok(local && !local.deleted_at, `${user} thread ${t.id} is live in Aurora`);
    const labels = (local.label_locals ?? '').split(',').filter(Boolean).map((id: string) => ids.get(id));
    assert.deepEqual(canonicalize(EMAIL, { ...local, labels }), toEmailFields(t as never, false), `thread ${t.id} equal on both sides`);
  }
  assert.equal(live.length, threads.length, `no extra live threads in Aurora for ${user}`);
  const { rows: labelRows } = await h.db.query(
    `SELECT l.*, r.external_id FROM email_labels l JOIN sync_registry r ON r.local_id = l.id AND r.entity_type = 'email_label'
      WHERE l.mailbox = $1 AND l.deleted_at IS NULL`,
    [user],
  );
  const gLabels = g.gmail.labels(user);
  assert.equal(labelRows.length, gLabels.length, `${user}: every label, no more`);
  for (const l of gLabels) {
    const row = labelRows.find((r) => r.external_id === l.id);
    assert.ok(row, `label ${l.name} in Aurora`);
    assert.deepEqual(canonicalize(EMAIL_LABEL, row), toLabelFields(l as never), `label ${l.name} equal on both sides`);
  }
  return threads.length;
}

async function threadRow(h: Harness, externalId: string) {
  return (await h.db.query("SELECT t.* FROM email_threads t JOIN sync_registry r ON r.local_id = t.id AND r.entity_type = 'email' WHERE r.external_id = $1", [externalId])).rows[0];
}

async function labelLocalId(h: Harness, user: string, name: string): Promise<string> {
  return (await h.db.query('SELECT id FROM email_labels WHERE mailbox = $1 AND name = $2 AND deleted_at IS NULL', [user, name])).rows[0].id;
}

describe('Gmail two-way', () => {
  test('backfill of two mailboxes, participants linked to contacts, history-based incremental both ways, then quiet', async () => {
    const h = await setup({ google: { users: [ANA, BEN], sandbox: fastSandbox }, env: FAST });
    const g = h.google!;
    const anaThreads = g.gmail.seed(ANA, 1500);
    g.gmail.seed(BEN, 900);
    // A contact Aurora knows, who writes to Ana.
    const contact = (await h.db.query("INSERT INTO contacts (email, first_name) VALUES ('carol@customer.example', 'Carol') RETURNING id")).rows[0].id;
    const fromCarol = g.gmail.deliver(ANA, { from: 'Carol Customer <Carol@Customer.example>', to: ANA, subject: 'Renewal', text: 'Shall we talk on Monday?' });
    for (const user of [ANA, BEN]) {
      const s = await h.cycleOf(target(user));
      assert.equal(s.entities.email?.lastError, null, `no error for ${user}`);
      assert.equal(s.entities.email_label?.lastError, null);
    }
    assert.equal(await assertInSync(h, ANA), 1501);
    assert.equal(await assertInSync(h, BEN), 900);
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE external_system = $1 AND sync_status <> 'synced'", [SYSTEM]), 0);
    const carolThread = await threadRow(h, fromCarol.threadId);
    const linked = await h.db.query('SELECT contact_id, roles FROM email_thread_participants WHERE thread_id = $1 AND email = $2', [carolThread.id, 'carol@customer.example']);
    assert.equal(linked.rows[0].contact_id, contact, 'the sender is linked to the Aurora contact');
    assert.deepEqual(linked.rows[0].roles, ['from']);
    assert.ok((await count(h.db, 'SELECT count(*) n FROM email_messages WHERE thread_id = $1', [carolThread.id])) === 1);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM email_messages WHERE body_text IS NOT NULL'), 0, 'no bodies unless GMAIL_SYNC_BODIES=true');
    // A contact added later is linked too.
    const ben = g.gmail.threads(ANA)[5]!;
    const someone = toEmailFields(ben as never, false);
    const firstOther = (JSON.parse(someone.participants!) as { email: string }[]).find((p) => p.email !== ANA)!.email;
    const later = (await h.db.query('INSERT INTO contacts (email) VALUES ($1) RETURNING id', [firstOther])).rows[0].id;
    assert.ok((await count(h.db, 'SELECT count(*) n FROM email_thread_participants WHERE contact_id = $1', [later])) >= 1);

    // Gmail side: new mail, a reply, labels, star, archive, trash, a deleted thread, a renamed label.
    const userLabel = g.gmail.labels(ANA).find((l) => l.type === 'user')!;
    const [t1, t2, t3, t4, t5, t6, t7, t8] = anaThreads.filter((t) => !t.messages.some((m) => m.labelIds.includes('TRASH') || m.labelIds.includes('SPAM')));
    const fresh = g.gmail.deliver(ANA, { from: 'dave@vendor.example', to: ANA, subject: 'New quote' });
    g.gmail.deliver(ANA, { from: 'erin@vendor.example', to: ANA, threadId: t1!.id, text: 'A reply' });
    g.gmail.modifyThread(ANA, t2!.id, { addLabelIds: [userLabel.id] });
    g.gmail.star(ANA, t3!.id);
    g.gmail.archive(ANA, t4!.id);
    g.gmail.deleteThread(ANA, t5!.id);
    g.gmail.updateLabel(ANA, userLabel.id, { name: 'Renamed in Gmail' });
    // Aurora side: a label on a thread, priority, read state, archive, trash; a new label.
    const other = g.gmail.labels(ANA).filter((l) => l.type === 'user')[1]!;
    const r6 = await threadRow(h, t6!.id);
    const r7 = await threadRow(h, t7!.id);
    const r8 = await threadRow(h, t8!.id);
    await h.db.query('INSERT INTO email_thread_labels (thread_id, label_id) VALUES ($1, $2)', [r6.id, await labelLocalId(h, ANA, other.name)]);
    await h.db.query("UPDATE email_threads SET priority = 'urgent', unread = false WHERE id = $1", [r7.id]);
    await h.db.query('UPDATE email_threads SET archived = true WHERE id = $1', [r8.id]);
    await h.db.query('UPDATE email_threads SET trashed = true WHERE id = $1', [r6.id]);
    const newLabel = (await h.db.query("INSERT INTO email_labels (mailbox, name, text_color, background_color) VALUES ($1, 'Made in Aurora', '#ffffff', '#fb4c2f') RETURNING id", [ANA])).rows[0].id;

    const sub = await subscribe();
    try {
      const s = await h.cycleOf(target(ANA));
      assert.equal(s.entities.email?.lastError, null);
      assert.equal(s.entities.email_label?.lastError, null);
      await new Promise((r) => setTimeout(r, 300));
      const mine = sub.events.filter((e) => e.channel === 'aurora:sync:email').map((e) => e.event);
      assert.ok(mine.some((e) => e.action === 'created' && e.source === SYSTEM && e.direction === 'pull'), 'new mail announced');
      assert.ok(mine.some((e) => e.action === 'deleted' && e.direction === 'pull'), 'deleted thread announced');
      assert.ok(mine.some((e) => e.action === 'updated' && e.direction === 'push' && e.entity_id === r7.id), 'pushed change announced');
      assert.ok(sub.events.some((e) => e.channel === 'aurora:sync:email_label' && e.event.entity_id === newLabel && e.event.action === 'created'));
    } finally {
      await sub.close();
    }
    assert.ok(await threadRow(h, fresh.threadId), 'new thread pulled');
    assert.equal(Number((await threadRow(h, t1!.id)).message_count), t1!.messages.length + 1, 'the reply is in');
    assert.equal((await threadRow(h, t5!.id)).deleted_at !== null, true, 'deleted in Gmail → tombstoned');
    assert.equal((await threadRow(h, t4!.id)).archived, true);
    assert.equal((await threadRow(h, t3!.id)).priority.endsWith('starred') || (await threadRow(h, t3!.id)).priority === 'urgent', true);
    const g7 = g.gmail.thread(ANA, t7!.id)!;
    assert.ok(g7.messages.every((m) => m.labelIds.includes('STARRED') && m.labelIds.includes('IMPORTANT') && !m.labelIds.includes('UNREAD')), 'urgent = starred + important, read');
    assert.ok(g.gmail.thread(ANA, t8!.id)!.messages.every((m) => !m.labelIds.includes('INBOX')), 'archived from Aurora');
    assert.ok(g.gmail.thread(ANA, t6!.id)!.messages.every((m) => m.labelIds.includes('TRASH')), 'trashed from Aurora');
    assert.ok(g.gmail.thread(ANA, t6!.id)!.messages.every((m) => m.labelIds.includes(other.id)), 'label added from Aurora');
    const made = g.gmail.labels(ANA).filter((l) => l.name === 'Made in Aurora');
    assert.equal(made.length, 1, 'label created in Gmail');
    assert.deepEqual(made[0]!.color, { textColor: '#ffffff', backgroundColor: '#fb4c2f' });
    assert.equal((await h.db.query('SELECT name FROM email_labels WHERE id = $1', [await labelLocalId(h, ANA, 'Renamed in Gmail')])).rows.length, 1);
    // The pushed threads' rows carry Gmail's answer (their messages' labels): the next cycle reads
    // our writes back through the history and finds nothing changed, no echo of them as Gmail's own.
    const m7 = (await threadRow(h, t7!.id)).messages as { labels: string[] }[];
    assert.ok(m7.every((m) => m.labels.includes('STARRED') && m.labels.includes('IMPORTANT') && !m.labels.includes('UNREAD')), 'the row has the messages as Gmail has them');
    const pushedVersions = (await h.db.query('SELECT t.id, t.version, r.local_version, r.external_version FROM email_threads t JOIN sync_registry r ON r.local_id = t.id WHERE t.id = ANY($1) ORDER BY t.id', [[r6.id, r7.id, r8.id]])).rows;
    const settle = await h.cycleOf(target(ANA));
    assert.equal(settle.entities.email?.lastPull?.updated ?? 0, 0, 'our own writes do not come back as changes');
    assert.deepEqual((await h.db.query('SELECT t.id, t.version, r.local_version, r.external_version FROM email_threads t JOIN sync_registry r ON r.local_id = t.id WHERE t.id = ANY($1) ORDER BY t.id', [[r6.id, r7.id, r8.id]])).rows, pushedVersions);
    await assertInSync(h, ANA);

    // Quiet: a labels.list and a history.list, no writes, no events, no version change.
    const versions = (await h.db.query('SELECT id, version FROM email_threads UNION ALL SELECT id, version FROM email_labels ORDER BY id')).rows;
    const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
    const gmailRequests = () => Object.entries(g.stats.byRoute).filter(([route]) => route.includes(' /gmail/')).reduce((n, [, c]) => n + c, 0);
    const before = gmailRequests();
    const quiet = await subscribe();
    try {
      const s = await h.cycleOf(target(ANA));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(quiet.events.filter((e) => e.channel.startsWith('aurora:sync:email')).length, 0, 'no events');
      assert.equal(s.entities.email?.lastPull?.updated ?? 0, 0);
    } finally {
      await quiet.close();
    }
    assert.deepEqual((await h.db.query('SELECT id, version FROM email_threads UNION ALL SELECT id, version FROM email_labels ORDER BY id')).rows, versions);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox);
    assert.equal(gmailRequests() - before, 2, 'a quiet cycle costs one labels.list and one history.list');
  });

  test('label sets edited on both sides merge; priority round-trips; a retried label create makes no second label', async () => {
    const h = await setup({ google: { users: [ANA], sandbox: fastSandbox }, env: FAST });
    const g = h.google!;
    const threads = g.gmail.seed(ANA, 30).filter((t) => !t.messages.some((m) => m.labelIds.includes('TRASH') || m.labelIds.includes('SPAM')));
    const a = g.gmail.createLabel(ANA, { name: 'Alpha' });
    const b = g.gmail.createLabel(ANA, { name: 'Bravo' });
    const c = g.gmail.createLabel(ANA, { name: 'Charlie' });
    const t = threads[0]!;
    g.gmail.modifyThread(ANA, t.id, { addLabelIds: [c.id] });
    await h.cycleOf(target(ANA));
    const row = await threadRow(h, t.id);
    // Gmail adds Alpha; Aurora adds Bravo and removes Charlie.
    g.gmail.modifyThread(ANA, t.id, { addLabelIds: [a.id] });
    await h.db.query('INSERT INTO email_thread_labels (thread_id, label_id) VALUES ($1, $2)', [row.id, await labelLocalId(h, ANA, 'Bravo')]);
    await h.db.query('DELETE FROM email_thread_labels WHERE thread_id = $1 AND label_id = $2', [row.id, await labelLocalId(h, ANA, 'Charlie')]);
    await h.cycleOf(target(ANA));
    const inGmail = new Set(g.gmail.thread(ANA, t.id)!.messages.flatMap((m) => m.labelIds));
    assert.ok(inGmail.has(a.id) && inGmail.has(b.id) && !inGmail.has(c.id), 'both sides\' label changes kept');
    const reg = (await h.db.query('SELECT last_resolution FROM sync_registry WHERE local_id = $1', [row.id])).rows[0];
    assert.match(reg.last_resolution?.policy ?? '', /sets merged: labels/);
    await h.cycleOf(target(ANA));
    await assertInSync(h, ANA);

    // Priority both ways.
    const p = threads[1]!;
    const pr = await threadRow(h, p.id);
    g.gmail.modifyThread(ANA, p.id, { removeLabelIds: ['IMPORTANT', 'STARRED'] });
    await h.cycleOf(target(ANA));
    assert.equal((await threadRow(h, p.id)).priority, 'normal');
    await h.db.query("UPDATE email_threads SET priority = 'starred' WHERE id = $1", [pr.id]);
    await h.cycleOf(target(ANA));
    const labels = new Set(g.gmail.thread(ANA, p.id)!.messages.flatMap((m) => m.labelIds));
    assert.ok(labels.has('STARRED') && !labels.has('IMPORTANT'), 'starred = STARRED without IMPORTANT');
    g.gmail.modifyThread(ANA, p.id, { addLabelIds: ['IMPORTANT'] });
    await h.cycleOf(target(ANA));
    assert.equal((await threadRow(h, p.id)).priority, 'urgent');
    // An invalid priority: a clear error for that record, nothing sent.
    await h.db.query("UPDATE email_threads SET priority = 'asap' WHERE id = $1", [pr.id]);
    const s = await h.cycleOf(target(ANA));
    const st = (await h.db.query('SELECT sync_status, error_message FROM sync_registry WHERE local_id = $1', [pr.id])).rows[0];
    assert.equal(st.sync_status, 'error');
    assert.match(st.error_message, /priority "asap" is not one of normal, important, starred, urgent/);
    assert.ok(s.entities.email?.lastPush?.errors === 1);
    await h.db.query("UPDATE email_threads SET priority = 'urgent' WHERE id = $1", [pr.id]);
    await h.cycleOf(target(ANA));

    // A create that reached Gmail before (its answer lost): the label with that name is adopted.
    g.gmail.createLabel(ANA, { name: 'Retried' });
    const local = (await h.db.query("INSERT INTO email_labels (mailbox, name) VALUES ($1, 'Retried') RETURNING id", [ANA])).rows[0].id;
    await h.cycleOf(target(ANA));
    assert.equal(g.gmail.labels(ANA).filter((l) => l.name === 'Retried').length, 1, 'no second label');
    assert.equal(await count(h.db, "SELECT count(*) n FROM email_labels WHERE mailbox = $1 AND name = 'Retried' AND deleted_at IS NULL", [ANA]), 1, 'one row');
    assert.equal((await h.db.query('SELECT sync_status FROM sync_registry WHERE local_id = $1', [local])).rows[0].sync_status, 'synced');
    // Within one push, a retried create (its first answer lost) gets 409 and adopts the label it made.
    const connector = h.deps.connectors.get(SYSTEM, ANA);
    const lost = { localId: 'lost-answer', fields: canonicalize(EMAIL_LABEL, { name: 'Lost answer', label_type: 'user' }) };
    const [first] = await connector.create('email_label', [lost]);
    const [again] = await connector.create('email_label', [lost]);
    assert.ok(first?.ok && again?.ok && again.created === false && again.externalId === first.externalId, 'the retry found its label');
    assert.equal(g.gmail.labels(ANA).filter((l) => l.name === 'Lost answer').length, 1);
    // System labels are read-only: a local rename is refused, Gmail unchanged.
    await h.db.query("UPDATE email_labels SET name = 'My Inbox' WHERE mailbox = $1 AND name = 'INBOX'", [ANA]);
    await h.cycleOf(target(ANA));
    assert.ok(g.gmail.labels(ANA).some((l) => l.id === 'INBOX' && l.name === 'INBOX'));
    assert.match((await h.db.query("SELECT r.error_message FROM sync_registry r WHERE r.external_id = 'INBOX' AND r.connection = $1", [ANA])).rows[0].error_message, /system label/);
    // A user label deleted in Aurora is deleted in Gmail; one deleted in Gmail is tombstoned.
    await h.db.query("UPDATE email_labels SET deleted_at = now() WHERE mailbox = $1 AND name = 'Alpha'", [ANA]);
    g.gmail.deleteLabel(ANA, b.id);
    await h.cycleOf(target(ANA));
    assert.ok(!g.gmail.labels(ANA).some((l) => l.name === 'Alpha'));
    assert.ok((await h.db.query("SELECT deleted_at FROM email_labels WHERE mailbox = $1 AND name = 'Bravo'", [ANA])).rows[0].deleted_at);
  });

  test('an expired history id runs a full resync that finds deleted threads', async () => {
    const h = await setup({ google: { users: [ANA], sandbox: fastSandbox }, env: { ...FAST, MASS_DELETE_MIN_RECORDS: '3' } });
    const g = h.google!;
    const seeded = g.gmail.seed(ANA, 80);
    await h.cycleOf(target(ANA));
    const victims = seeded.slice(0, 4);
    for (const v of victims) g.gmail.deleteThread(ANA, v.id);
    g.gmail.expireHistory(ANA);
    const s = await h.cycleOf(target(ANA));
    assert.equal(s.entities.email?.lastError, null);
    assert.equal(s.entities.email?.lastPull?.fullResync, 1);
    for (const v of victims) assert.ok((await threadRow(h, v.id)).deleted_at, `thread ${v.id} tombstoned`);
    await assertInSync(h, ANA);
    // Afterwards the history feed goes on from the new historyId.
    g.gmail.deliver(ANA, { from: 'x@y.example', to: ANA, subject: 'After the resync' });
    const s2 = await h.cycleOf(target(ANA));
    assert.equal(s2.entities.email?.lastPull?.fullResync, undefined);
    assert.equal(s2.entities.email?.lastPull?.created, 1);
  });

  test('quota refusals (403 userRateLimitExceeded / 429) and 5xx still end fully synced', async () => {
    const h = await setup({ google: { users: [ANA], sandbox: { gmail: { quotas: { perUserPerMinute: 4000, mode: 'mixed' } } } } });
    const g = h.google!;
    g.gmail.seed(ANA, 120);
    g.faults.set({ burst: { status: 429, count: 3 } });
    const s = await h.cycleOf(target(ANA));
    assert.equal(s.entities.email?.lastError, null);
    g.faults.set({ burst: { status: 403, count: 3 }, errorRate: 0.15 });
    for (const t of g.gmail.threads(ANA).slice(0, 20)) g.gmail.star(ANA, t.id);
    const s2 = await h.cycleOf(target(ANA));
    g.faults.clear();
    assert.equal(s2.entities.email?.lastError, null);
    assert.ok(g.stats.rateLimited + g.stats.faulted > 0, 'the storm happened');
    await assertInSync(h, ANA);
  });
});

describe('Gmail push (Pub/Sub)', () => {
  const withApi = (h: Harness) => listeningApi(h, ['hubspot', SYSTEM]);

  test('a delivery, verified by its OIDC token and URL token, brings a change in without waiting for a cycle; forged ones change nothing', async () => {
    const audience = 'https://aurora.example/api/webhooks/google';
    const sa = 'gmail-push@aurora-sandbox.iam.gserviceaccount.com';
    const token = 'push-token-0123456789abcdef';
    const h = await setup({
      google: { users: [ANA], sandbox: fastSandbox },
      env: { ...FAST, PUSH_CHANNELS: 'true', GMAIL_PUBSUB_TOPIC: TOPIC, GMAIL_PUSH_AUDIENCE: audience, GMAIL_PUSH_SERVICE_ACCOUNT: sa, GMAIL_PUSH_TOKEN: token },
      worker: false,
    });
    const g = h.google!;
    const { app, url } = await withApi(h);
    try {
      await h.startWorker();
      g.gmail.pubsub.configure({ topic: TOPIC, endpoint: `${url}/api/webhooks/google`, token, oidc: { serviceAccountEmail: sa, audience } });
      const [t] = g.gmail.seed(ANA, 10).filter((x) => !x.messages.some((m) => m.labelIds.includes('TRASH') || m.labelIds.includes('SPAM')));
      await h.cycleOf(target(ANA)); // the watch is made
      assert.equal(g.gmail.watches().length, 1, 'one watch for the mailbox');
      assert.equal(g.gmail.watches()[0]!.topicName, TOPIC);
      const handle = h.client.workflow.getHandle(syncWorkflowId(SYSTEM, h.cfg.temporal.workflowIdPrefix, ANA));
      const t0 = Date.now();
      g.gmail.star(ANA, t!.id);
      await waitFor('row updated through the push', async () => {
        const r = await threadRow(h, t!.id);
        return r && (r.priority === 'starred' || r.priority === 'urgent') ? true : undefined;
      }, 10_000, 20);
      const latency = Date.now() - t0;
      console.log(`Gmail push → row committed: ${latency} ms`);
      assert.ok(g.gmail.pubsub.stats.delivered >= 1);
      const cycles = await waitFor('triggered cycle done', async () => {
        const st = await handle.query(statusQuery);
        return st.state === 'idle' && st.cycles >= 2 ? st.cycles : undefined;
      }, 10_000);

      const data = Buffer.from(JSON.stringify({ emailAddress: ANA, historyId: 999999 })).toString('base64');
      const body = JSON.stringify({ message: { data, messageId: 'forged-1', publishTime: new Date().toISOString() }, subscription: 'projects/aurora-sandbox/subscriptions/gmail-push' });
      const post = (path: string, headers: Record<string, string> = {}) =>
        app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', ...headers }, payload: body });
      // no URL token; wrong URL token; right URL token but no / a forged OIDC token
      assert.equal((await post('/api/webhooks/google')).statusCode, 401);
      assert.equal((await post('/api/webhooks/google?token=wrong-token-0123456789')).statusCode, 401);
      assert.equal((await post(`/api/webhooks/google?token=${token}`)).statusCode, 401);
      const forgedJwt = ['eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9', Buffer.from(JSON.stringify({ iss: 'https://accounts.google.com', aud: audience, email: sa, email_verified: true, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url'), 'c2ln'].join('.');
      assert.equal((await post(`/api/webhooks/google?token=${token}`, { authorization: `Bearer ${forgedJwt}` })).statusCode, 401);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await handle.query(statusQuery)).cycles, cycles, 'nothing was triggered');
    } finally {
      await app.close();
    }
  });
});
