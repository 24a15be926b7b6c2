/**
 * Fireflies (pull-only) through the whole stack: the real Temporal dev server, Postgres, Redis,
 * the worker and the API, against the Fireflies sandbox (GraphQL, plan rate limits, signed
 * webhooks). Outcomes are asserted as rows, versions, events and the sandbox's request counts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import Redis from 'ioredis';
import { loadConfig } from '../src/config';
import { accountPrefix } from '../src/connectors/fireflies';
import type { FirefliesConnector } from '../src/connectors/fireflies/connector';
import type { ChangePage } from '../src/connectors/types';
import { startFirefliesSandbox } from '../src/sandbox/fireflies';
import { CONNECTORS } from '../src/connectors/registry';
import { createConnectorPool, createDeps, createRedis } from '../src/deps';
import { syncStatus } from '../src/store/status';
import { startWorker } from '../src/worker';
import { baseEnv, count, harnessPerTest, subscribe, waitFor, workflowBundle, type Harness, listeningApi } from './helpers';

const SYSTEM = 'fireflies';
const FF = { system: SYSTEM };
const SECRET = 'ff-webhook-secret-0123';
const setup = harnessPerTest();

const requests = (h: Harness) => h.fireflies!.stats.requests;
const outboxCount = (h: Harness) => count(h.db, "SELECT count(*) n FROM sync_outbox WHERE channel IN ('aurora:sync:transcript', 'aurora:sync:action_item')");
const status = async (h: Harness) => (await syncStatus(h.db, CONNECTORS))[SYSTEM]!;

/** Every sandbox transcript is in Aurora with its sentences, and its live action items are exactly the sandbox's. */
async function assertInSync(h: Harness): Promise<number> {
  const ff = h.fireflies!;
  let items = 0;
  for (const t of ff.transcripts.list()) {
    const { rows } = await h.db.query(
      `SELECT t.*, (SELECT count(*) FROM transcript_sentences s WHERE s.transcript_id = t.id)::int AS n_sentences
         FROM transcripts t JOIN sync_registry r ON r.local_id = t.id AND r.external_system = 'fireflies' AND r.entity_type = 'transcript'
        WHERE r.external_id = $1`,
      [t.id],
    );
    assert.equal(rows.length, 1, `transcript ${t.id} is in Aurora once`);
    const row = rows[0];
    assert.equal(row.title, t.title);
    assert.equal(row.n_sentences, t.sentences.length, `sentences of ${t.id}`);
    assert.equal(row.summary_status, t.summary ? 'processed' : 'processing');
    const want = (t.summary?.action_items ?? []).flatMap((g) => g.items.map((i) => i.text.replace(/\s+/g, ' ').trim())).sort();
    const { rows: got } = await h.db.query('SELECT text FROM action_items WHERE transcript_id = $1 AND deleted_at IS NULL ORDER BY text', [row.id]);
    assert.deepEqual(got.map((r) => r.text).sort(), want, `action items of ${t.id}`);
    items += want.length;
  }
  assert.equal(await count(h.db, 'SELECT count(*) n FROM transcripts WHERE deleted_at IS NULL'), ff.transcripts.list().length, 'no extra transcripts');
  return items;
}

const withApi = (h: Harness) => listeningApi(h, [SYSTEM]);

describe('Fireflies transcripts and action items (pull-only)', () => {
  test('backfill; a late summary; a re-summary updates and tombstones items; contacts and calendar events linked; quiet cycle; local edits not pushed', async () => {
    const ANA = 'ana@acme.test';
    const h = await setup({ fireflies: {}, google: { users: [ANA] } });
    const ff = h.fireflies!;
    // A synced Google Calendar event that Fireflies recorded.
    h.google!.calendar.seed(ANA, ANA, 12);
    await h.cycleOf({ system: 'google_workspace', connection: ANA });
    const ev = h.google!.calendar.list(ANA, ANA).find((e) => e.status !== 'cancelled' && e.start?.dateTime && Date.parse(e.start.dateTime) < Date.now() - 3_600_000)!;
    // Aurora contacts, some of whom attend the meetings.
    const seeded = ff.transcripts.seed(290, {
      pendingShare: 0,
      calendarEvents: [{ id: ev.id, summary: ev.summary ?? 'Synced meeting', start: ev.start!.dateTime!, attendees: ['dana@northwind.test'], organizer: ANA }],
    });
    const people = [...new Map(seeded.flatMap((t) => t.meeting_attendees).map((a) => [a.email, a])).values()].slice(0, 40);
    for (const p of people) await h.db.query('INSERT INTO contacts (email, first_name) VALUES ($1, $2)', [p.email, p.name]);

    const first = await h.cycleOf(FF);
    assert.equal(first.entities.transcript?.lastError, null);
    assert.equal(first.entities.action_item?.lastError, null);
    const items = await assertInSync(h);
    assert.ok(items > 290, `action items synced (${items})`);
    assert.equal(requests(h), 6, 'backfill of 290 transcripts: 6 list requests of up to 50, details included');
    assert.equal(ff.stats.byField.transcript ?? 0, 0, 'no per-transcript reads');
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE external_system = 'fireflies' AND sync_status <> 'synced'"), 0);

    // Attendees and assignees linked to contacts by email; the transcript linked to the calendar event.
    assert.ok((await count(h.db, 'SELECT count(DISTINCT contact_id) n FROM transcript_attendees WHERE contact_id IS NOT NULL')) >= 30, 'attendees linked');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM transcript_attendees a JOIN contacts c ON c.id = a.contact_id WHERE lower(c.email) <> a.email'), 0);
    const linkedItems = await count(h.db, 'SELECT count(*) n FROM action_item_contacts c JOIN contacts k ON k.id = c.contact_id WHERE lower(k.email) = c.email');
    assert.ok(linkedItems > 0, `action items linked to the contact they concern (${linkedItems})`);
    const { rows: cal } = await h.db.query(
      `SELECT e.summary FROM transcript_calendar_events x JOIN calendar_events e ON e.id = x.calendar_event_id
         JOIN transcripts t ON t.id = x.transcript_id WHERE t.calendar_id = $1`,
      [ev.id],
    );
    assert.equal(cal.length, 1, 'the transcript is linked to the synced calendar event');

    // A quiet cycle: one request (the overlap is read again), nothing written, nothing published.
    const versions = await count(h.db, 'SELECT sum(version) n FROM transcripts');
    const itemVersions = await count(h.db, 'SELECT sum(version) n FROM action_items');
    const events = await outboxCount(h);
    const before = requests(h);
    const quiet = await h.cycleOf(FF);
    assert.equal(requests(h) - before, 1);
    assert.equal(quiet.entities.transcript?.lastPull?.created, 0);
    assert.equal(quiet.entities.transcript?.lastPull?.updated, 0);
    const q = quiet.entities.action_item?.lastPull ?? {};
    assert.equal((q.created ?? 0) + (q.updated ?? 0) + (q.deleted ?? 0), 0, 'action items of the overlap compared, none written');
    assert.equal(await count(h.db, 'SELECT sum(version) n FROM transcripts'), versions);
    assert.equal(await count(h.db, 'SELECT sum(version) n FROM action_items'), itemVersions);
    assert.equal(await outboxCount(h), events, 'nothing published');

    // A meeting whose summary is still processing, then ready.
    const late = ff.transcripts.add({ title: 'Late summary sync', date: Date.now() - 3_600_000, summary: null, attendees: [{ email: people[0]!.email }] });
    await h.cycleOf(FF);
    const lateRow = async () => (await h.db.query("SELECT t.* FROM transcripts t WHERE title = 'Late summary sync'")).rows[0];
    assert.equal((await lateRow()).summary_status, 'processing');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM action_items WHERE transcript_id = $1', [(await lateRow()).id]), 0);
    const v0 = (await lateRow()).version;
    ff.transcripts.summarize(late.id, { notify: false });
    await h.cycleOf(FF);
    const after = await lateRow();
    assert.equal(after.summary_status, 'processed');
    assert.ok(after.overview, 'the summary arrived');
    assert.equal(after.version, v0 + 1, 'one update');
    const lateItems = ff.transcripts.get(late.id)!.summary!.action_items.flatMap((g) => g.items);
    assert.ok(lateItems.length > 0);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM action_items WHERE transcript_id = $1 AND deleted_at IS NULL', [after.id]), lateItems.length, 'its action items created');

    // Re-summarised: kept items keep their rows, dropped ones are tombstoned, new ones created, no duplicates.
    // An item is the same item when its text and its assignee are (its id is made of them).
    const key = (r: { assignee: string | null; text: string }) => `${r.assignee ?? ''}: ${r.text}`;
    const { rows: itemsBefore } = await h.db.query('SELECT id, text, assignee FROM action_items WHERE transcript_id = $1', [after.id]);
    ff.transcripts.summarize(late.id, { notify: false, changeActionItems: true });
    const now = ff.transcripts.get(late.id)!.summary!.action_items.flatMap((g) => g.items.map((i) => key({ assignee: /^unassigned$/i.test(g.assignee) ? null : g.assignee, text: i.text })));
    await h.cycleOf(FF);
    const { rows: itemsAfter } = await h.db.query('SELECT id, text, assignee, deleted_at FROM action_items WHERE transcript_id = $1', [after.id]);
    const live = itemsAfter.filter((r) => !r.deleted_at);
    assert.deepEqual(live.map(key).sort(), [...now].sort(), 'the live items are the new summary\'s');
    const kept = itemsBefore.filter((b) => now.includes(key(b)));
    assert.ok(kept.length > 0, 'the re-summary kept some items');
    for (const k of kept) assert.ok(live.some((r) => r.id === k.id), `kept item "${key(k)}" keeps its row`);
    const dropped = itemsBefore.filter((b) => !now.includes(key(b)));
    assert.ok(dropped.length > 0, 'the re-summary dropped some items');
    for (const d of dropped) assert.ok(itemsAfter.find((r) => r.id === d.id)?.deleted_at, `dropped item "${key(d)}" tombstoned`);
    assert.equal(itemsAfter.length, new Set([...itemsBefore.map(key), ...now]).size, 'no duplicates');
    assert.ok(
      (await count(h.db, "SELECT count(*) n FROM sync_outbox WHERE channel = 'aurora:sync:action_item' AND payload->>'action' = 'deleted'")) >= dropped.length,
      'deletions published',
    );

    // Local edits are never sent to Fireflies; the status says so, and Fireflies' values win on its next change.
    await h.db.query("UPDATE transcripts SET title = 'Edited in Aurora' WHERE id = $1", [after.id]);
    await h.db.query("UPDATE action_items SET text = 'Edited in Aurora' WHERE id = $1", [live[0]!.id]);
    await h.cycleOf(FF);
    const st = await status(h);
    assert.equal(st.transcripts!.direction, 'pull-only');
    assert.equal(st.transcripts!.local_edits_not_pushed, 1);
    assert.equal(st.action_items!.local_edits_not_pushed, 1);
    assert.deepEqual(Object.keys(ff.stats.byField).sort(), ['transcripts'], 'only reads were ever sent');
    await assertInSync(h).catch(() => undefined); // the edited rows differ until Fireflies changes them
  });

  test('the daily budget of 50 is never passed, across cycles and a worker restart; no cycle fails, the status says until when', async () => {
    const h = await setup({ fireflies: {}, env: { FIREFLIES_PAGE_SIZE: '5' } });
    const ff = h.fireflies!;
    ff.transcripts.seed(300, { pendingShare: 0 });
    const first = await h.cycleOf(FF);
    assert.equal(first.entities.transcript?.lastError, null, 'the cycle did not fail');
    assert.equal(requests(h), 50, 'exactly the day\'s 50 requests');
    assert.equal(ff.stats.rateLimited, 0, 'none refused: the budget stopped first');
    assert.equal(await count(h.db, 'SELECT count(*) n FROM transcripts'), 250, '50 pages of 5');
    // Fireflies' daily counter restarts at midnight UTC (its X-RateLimit-Reset says so too, in whole seconds).
    const nextMidnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
    const until = Date.parse((await status(h)).transcripts!.deferred_until!);
    assert.ok(Math.abs(until - nextMidnight) <= 1_000, `the status says until when: ${new Date(until).toISOString()}`);
    const items = await count(h.db, 'SELECT count(*) n FROM action_items');
    assert.ok(items > 0, 'the action items of what was read came too');

    const second = await h.cycleOf(FF);
    assert.equal(second.entities.transcript?.lastError, null);
    assert.equal(requests(h), 50, 'no request past the budget');

    // A restart: a new process (new connectors, new Redis connection) shares the same budget.
    await h.stopWorker();
    const deps = createDeps(h.cfg);
    const worker = await startWorker(h.cfg, { workflowBundle: await workflowBundle(), serveMetrics: false, ensureWorkflows: false, deps, relayIntervalMs: 200 });
    try {
      const third = await h.cycleOf(FF);
      assert.equal(third.entities.transcript?.lastError, null);
      assert.equal(requests(h), 50, 'still none after the restart');
      assert.equal(ff.stats.rateLimited, 0);

      // The next day (the sandbox's counter and ours start again): the listing goes on where it stopped.
      ff.resetRateLimits();
      const redis = new Redis({ host: h.cfg.redis.host, port: h.cfg.redis.port });
      try {
        // the day's counter, and the pause Fireflies' headers asked for (remaining 0 until midnight)
        const keys = await redis.keys(`${accountPrefix(h.env.FIREFLIES_API_KEY!)}:budget:*`);
        assert.equal(keys.length, 2);
        await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
      await h.cycleOf(FF);
      assert.equal(requests(h), 61, '10 more pages of 5 and the last, short one');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM transcripts'), 300, 'all, once each');
      assert.equal((await status(h)).transcripts!.deferred_until, undefined);
      await assertInSync(h);
    } finally {
      await worker.stop();
      await deps.close();
    }
  });

  test('a transcript dated before the overlap that becomes visible late arrives by the sweep (a page of older ones every FIREFLIES_SWEEP_MINUTES), with no webhook; nothing else rewritten', async () => {
    const h = await setup({ fireflies: {}, env: { FIREFLIES_PAGE_SIZE: '5', FIREFLIES_SWEEP_MINUTES: '0.1' } });
    const ff = h.fireflies!;
    const DAY = 86_400_000;
    ff.transcripts.seed(12, { pendingShare: 0, now: Date.now() - 40 * DAY, pastDays: 60 });
    await h.cycleOf(FF);
    assert.equal(requests(h), 3, 'backfill: 3 pages of 5');
    const inAurora = (id: string) => count(h.db, "SELECT count(*) n FROM sync_registry WHERE external_system = 'fireflies' AND entity_type = 'transcript' AND external_id = $1", [id]);
    const dueAt = Date.now() + 6_000;
    // An old meeting's recording uploaded today (its date 30 days back: newer than every other old one).
    const old = ff.transcripts.add({ title: 'Uploaded recording of an old meeting', date: Date.now() - 30 * DAY }, { notify: false });
    const versions = await count(h.db, 'SELECT sum(version) n FROM transcripts');
    const events = await outboxCount(h);
    const transcriptEvents = () => count(h.db, "SELECT count(*) n FROM sync_outbox WHERE channel = 'aurora:sync:transcript'");
    const transcriptEventsBefore = await transcriptEvents();

    // The incremental listing reaches back 6 hours, and the sweep is not due yet.
    await h.cycleOf(FF);
    assert.equal(requests(h), 4, 'one request: the listing of the overlap');
    assert.equal(await inAurora(old.id), 0, 'not seen by the incremental listing');

    // Due: one page of the older transcripts, newest first.
    await new Promise((r) => setTimeout(r, Math.max(0, dueAt - Date.now()) + 300));
    await h.cycleOf(FF);
    assert.equal(requests(h), 6, 'the listing of the overlap and one sweep page');
    assert.equal(await inAurora(old.id), 1, 'the sweep brought it in');
    await assertInSync(h);
    const { rows } = await h.db.query('SELECT sum(version)::int n FROM transcripts t JOIN sync_registry r ON r.local_id = t.id AND r.external_system = \'fireflies\' WHERE r.external_id <> $1', [old.id]);
    assert.equal(rows[0].n, versions, 'the others the sweep read again are unchanged');
    assert.equal(await transcriptEvents(), transcriptEventsBefore + 1, 'one transcript event: its creation');
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_outbox WHERE channel = 'aurora:sync:transcript' AND payload->>'action' = 'created' AND payload->>'external_id' = $1", [old.id]), 1);
    assert.ok((await outboxCount(h)) > events, 'its creation and its action items announced');

    // Not due again until the next interval.
    await h.cycleOf(FF);
    assert.equal(requests(h), 7);
  });

  test('the budget goes to what matters: transcripts webhooks could not fetch first, then new ones, then pending summaries; a spent budget stops the feed where it is', async () => {
    const key = `ff-priority-${Date.now()}`;
    const ff = await startFirefliesSandbox({ keys: [{ key, plan: 'free', email: 'ana@acme.test' }] });
    const cfg = loadConfig({ ...baseEnv(), FIREFLIES_API_KEY: key, FIREFLIES_API_URL: `${ff.url}/graphql`, FIREFLIES_REQUESTS_PER_WINDOW: '3', FIREFLIES_PAGE_SIZE: '5' });
    const redis = createRedis(cfg.redis);
    try {
      await waitFor('redis', async () => redis.status === 'ready' || undefined, 5_000, 20);
      const conn = createConnectorPool(cfg, undefined, redis).get(SYSTEM, 'default') as FirefliesConnector;
      const now = Date.now();
      const pending = ff.transcripts.add({ title: 'pending', date: now - 3 * 86_400_000, summary: null });
      const wanted = ff.transcripts.add({ title: 'wanted', date: now - 10 * 86_400_000 });
      const recent = Array.from({ length: 12 }, (_, i) => ff.transcripts.add({ title: `recent ${i}`, date: now - (i + 1) * 20 * 60_000 }));
      ff.transcripts.summarize(pending.id, { notify: false });
      await redis.sadd(`${accountPrefix(key)}:wanted`, wanted.id); // a webhook fetch the budget refused earlier
      const run = async (cursor: Record<string, unknown>) => {
        const pages: ChangePage[] = [];
        for await (const p of conn.listChanges('transcript', cursor)) pages.push(p);
        return pages;
      };
      const titles = (pages: ChangePage[]) => pages.flatMap((p) => p.records.map((r) => r.fields.title));

      const first = await run({ watermark: now - 3_600_000, pass: null, pending: [{ id: pending.id, date: pending.date, next: 0 }] });
      assert.equal(ff.stats.requests, 3, 'the 3 requests of the window, no more');
      assert.deepEqual(titles(first), ['wanted', ...recent.slice(0, 10).map((t) => t.title)], 'the wanted one, then new transcripts; the pending summary waits');
      const stopped = first.at(-1)!.cursor as Record<string, unknown>;
      assert.ok(typeof stopped.deferredUntil === 'string');
      assert.deepEqual((stopped.pass as { skip: number }).skip, 10, 'the listing stopped where it was');
      assert.equal(await redis.scard(`${accountPrefix(key)}:wanted`), 0);

      // The next window: the listing goes on, then the pending summary.
      await redis.del(...(await redis.keys(`${accountPrefix(key)}:budget:*`)));
      ff.resetRateLimits();
      const second = await run(stopped);
      assert.deepEqual(titles(second), [...recent.slice(10).map((t) => t.title), 'pending']);
      assert.equal(second.flatMap((p) => p.records).find((r) => r.fields.title === 'pending')?.fields.summary_status, 'processed');
      const done = second.at(-1)!.cursor as Record<string, unknown>;
      assert.equal(done.pass, null);
      assert.deepEqual(done.pending, []);
      assert.equal(done.deferredUntil, undefined);
      assert.equal(ff.stats.requests, 5);

      // The sweep, when due, reads older transcripts without restarting a pending summary's backoff
      // (it would be asked for again in 15 min instead of hours), and takes on no summary too old to wait for.
      const slow = ff.transcripts.add({ title: 'slow summary', date: now - 4 * 86_400_000, summary: null });
      ff.transcripts.add({ title: 'never summarised', date: now - 20 * 86_400_000, summary: null });
      for (const t of recent) ff.transcripts.remove(t.id); // the listing of the overlap then costs one request of the 3
      await redis.del(...(await redis.keys(`${accountPrefix(key)}:budget:*`)));
      ff.resetRateLimits();
      const backoff = { id: slow.id, date: slow.date, next: now + 5 * 3_600_000, tries: 4 };
      const third = await run({ ...done, pending: [backoff], sweep: { next: 0, pass: null } });
      const swept = third.at(-1)!.cursor as { pending: unknown[]; sweep: { next: number; pass: unknown } };
      assert.ok(titles(third).includes('slow summary'), `the sweep read it: ${JSON.stringify(titles(third))} ${JSON.stringify(swept)}`);
      assert.deepEqual(swept.pending, [backoff], 'its backoff kept; the 20-day-old one not taken on');
      assert.ok(swept.sweep.next > Date.now() + 5 * 3_600_000, 'the next sweep page an interval later');
      assert.ok(titles(third).includes('never summarised'), 'the sweep read the 20-day-old one too');
    } finally {
      redis.disconnect();
      await ff.close();
    }
  });

  test('both refusal forms (HTTP 200 too_many_requests, HTTP 429 Retry-After) are waited out; a long refusal defers the cycle', async () => {
    for (const refusal of ['graphql', 'http429'] as const) {
      const h = await setup({ fireflies: { plan: 'business', sandbox: { rateLimits: { refusal } } } });
      const ff = h.fireflies!;
      ff.transcripts.seed(120, { pendingShare: 0 });
      ff.faults.set({ rateLimitBurst: 2, burstRetryAfterSeconds: 1 });
      const s = await h.cycleOf(FF);
      assert.equal(s.entities.transcript?.lastError, null, `${refusal}: no failure`);
      assert.equal(ff.stats.rateLimited, 2, `${refusal}: two refusals`);
      assert.equal(requests(h), 5, `${refusal}: three pages, and the two refused requests sent again`);
      await assertInSync(h);

      // Refused for an hour: the cycle does not fail; it defers, and nobody asks again before then.
      ff.faults.set({ rateLimitBurst: 1, burstRetryAfterSeconds: 3600 });
      const deferred = await h.cycleOf(FF);
      assert.equal(deferred.entities.transcript?.lastError, null, `${refusal}: a long refusal is no failure`);
      const until = Date.parse((await status(h)).transcripts!.deferred_until!);
      assert.ok(until > Date.now() + 3_500_000 && until <= Date.now() + 3_600_000, `${refusal}: deferred for the refusal's hour`);
      const n = requests(h);
      await h.cycleOf(FF);
      assert.equal(requests(h), n, `${refusal}: no request while paused`);
      await h.close();
    }
  });

  test('webhooks v1 and v2 bring exactly that transcript and its items in; forged, unsigned, malformed, unknown and replayed deliveries change nothing', async () => {
    const h = await setup({ fireflies: {}, env: { FIREFLIES_WEBHOOK_SECRET: SECRET } });
    const ff = h.fireflies!;
    const { app, url } = await withApi(h);
    const sub = await subscribe(h.env);
    try {
      ff.transcripts.seed(20, { pendingShare: 0 });
      await h.cycleOf(FF);
      const baseline = requests(h);

      for (const version of ['v2', 'v1'] as const) {
        ff.webhooks.configure({ url: `${url}/api/webhooks/fireflies`, secret: SECRET, version, retryBaseMs: 100 });
        const before = requests(h);
        const t0 = Date.now();
        const t = ff.transcripts.add({ title: `Pushed by webhook ${version}`, date: Date.now() - 7_200_000 }, { notify: true });
        await waitFor(`${version}: transcript and its items committed`, async () => {
          const { rows } = await h.db.query('SELECT t.id, (SELECT count(*) FROM action_items i WHERE i.transcript_id = t.id)::int AS items FROM transcripts t WHERE title = $1', [t.title]);
          return rows[0]?.items > 0 || undefined;
        }, 10_000, 20);
        console.log(`fireflies webhook ${version} → transcript and items committed: ${Date.now() - t0} ms`);
        await ff.webhooks.flush();
        await waitFor('events published', async () => sub.events.some((e) => e.channel === 'aurora:sync:action_item' && e.event.action === 'created') || undefined, 10_000, 20);
        const want = t.summary!.action_items.flatMap((g) => g.items).length;
        assert.equal(await count(h.db, 'SELECT count(*) n FROM action_items i JOIN transcripts t ON t.id = i.transcript_id WHERE t.title = $1', [t.title]), want);
        // Let the last delivery's fetch finish (requests stop changing) before counting.
        for (let last = -1; last !== requests(h); ) {
          last = requests(h);
          await new Promise((r) => setTimeout(r, 400));
        }
        // v2 sends transcribed and summarized (the second read finds nothing new); v1 one event.
        assert.ok(requests(h) - before <= (version === 'v2' ? 2 : 1), `${version}: only that transcript was read (${requests(h) - before})`);
      }
      assert.equal(ff.stats.byField.transcripts, 1, 'no listing for webhooks');
      ff.webhooks.configure(null);

      // Deliveries that must change nothing.
      const rows = await count(h.db, 'SELECT count(*) n FROM transcripts');
      const events = await outboxCount(h);
      const before = requests(h);
      const t = ff.transcripts.add({ title: 'Never announced' });
      const body = JSON.stringify({ event: 'meeting.summarized', meeting_id: t.id, timestamp: Date.now() });
      const sign = (b: string) => createHmac('sha256', SECRET).update(b).digest('hex');
      const post = (b: string, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/api/webhooks/fireflies', payload: b, headers: { 'content-type': 'application/json', ...headers } });
      assert.equal((await post(body, { 'x-hub-signature': `sha256=${sign(body + ' ')}` })).statusCode, 401, 'forged');
      assert.equal((await post(body, { 'x-hub-signature': sign(body).replace(/.$/, (c) => (c === '0' ? '1' : '0')) })).statusCode, 401, 'forged v1 form');
      assert.equal((await post(body, {})).statusCode, 401, 'unsigned while a secret is set');
      const bad = '{"event": "meeting.summarized"';
      assert.equal((await post(bad, { 'x-hub-signature': `sha256=${sign(bad)}` })).statusCode, 400, 'malformed');
      const unknown = JSON.stringify({ event: 'meeting.deleted', meeting_id: t.id, timestamp: 1 });
      assert.equal((await post(unknown, { 'x-hub-signature': `sha256=${sign(unknown)}` })).statusCode, 400, 'unknown event');
      const noId = JSON.stringify({ event: 'meeting.summarized', timestamp: 1 });
      assert.equal((await post(noId, { 'x-hub-signature': `sha256=${sign(noId)}` })).statusCode, 400, 'no meeting id');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await count(h.db, 'SELECT count(*) n FROM transcripts'), rows, 'nothing changed');
      assert.equal(await outboxCount(h), events);
      assert.equal(requests(h), before, 'nothing was fetched');

      // A genuine one, then the same delivery again: the replay is a no-op.
      const ok = await post(body, { 'x-hub-signature': `sha256=${sign(body)}` });
      assert.equal(ok.statusCode, 200);
      await waitFor('the genuine one applied', async () => (await count(h.db, "SELECT count(*) n FROM transcripts WHERE title = 'Never announced'")) === 1 || undefined, 10_000, 20);
      const afterOne = requests(h);
      const replay = await post(body, { 'x-hub-signature': `sha256=${sign(body)}` });
      assert.equal(replay.statusCode, 200);
      assert.equal(replay.json().duplicate, true);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(requests(h), afterOne, 'the replay fetched nothing');
      assert.ok(baseline > 0);
    } finally {
      await sub.close();
      await app.close();
    }
  });
});
