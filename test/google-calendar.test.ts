/**
 * Google Calendar two-way through the whole stack: the real Temporal dev server, Postgres, Redis,
 * the real googleapis client and google-auth-library (a service account with domain-wide
 * delegation), and the Google sandbox.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { activitySettings, createActivities } from '../src/activities';
import { CALENDAR_EVENT } from '../src/connectors/google_workspace/calendar/entities';
import { toCanonical } from '../src/connectors/google_workspace/calendar/mapping';
import { canonicalize } from '../src/core/model';
import { confirmHeldDeletions } from '../src/store/state';
import { syncStatus } from '../src/store/status';
import { CONNECTORS } from '../src/connectors/registry';
import { statusQuery, syncWorkflowId } from '../src/workflows/definitions';
import { count, harnessPerTest, listeningApi, subscribe, waitFor, type Harness } from './helpers';

const ANA = 'ana@acme.test';
const BEN = 'ben@acme.test';
const SYSTEM = 'google_workspace';
const setup = harnessPerTest();
const target = (connection: string) => ({ system: SYSTEM, connection });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function localEvents(h: Harness, mailbox: string): Promise<any[]> {
  const { rows } = await h.db.query(
    `SELECT e.*, r.external_id, r.sync_status, r.local_version, r.external_version FROM calendar_events e
     LEFT JOIN sync_registry r ON r.local_id = e.id AND r.external_system = $1 AND r.entity_type = 'calendar_event'
     WHERE e.mailbox = $2 ORDER BY e.id`,
    [SYSTEM, mailbox],
  );
  return rows;
}

/** Every live sandbox event of a user's calendars equals its Aurora row, field by field. */
async function assertInSync(h: Harness, user: string): Promise<number> {
  const locals = new Map((await localEvents(h, user)).filter((e) => !e.deleted_at).map((e) => [e.external_id, e]));
  let n = 0;
  for (const cal of h.google!.calendar.calendars(user)) {
    for (const ev of h.google!.calendar.list(user, cal.id)) {
      const local = locals.get(ev.id);
      assert.ok(local, `${user} ${cal.id} event ${ev.id} is in Aurora`);
      assert.deepEqual(canonicalize(CALENDAR_EVENT, local), toCanonical(ev, cal.id), `event ${ev.id} equal on both sides`);
      n++;
    }
  }
  assert.equal(locals.size, n, `no extra live events in Aurora for ${user}`);
  return n;
}

describe('Google Calendar two-way', () => {
  test('backfill of two users and three calendars, then incremental both ways, then quiet', async () => {
    const h = await setup({ google: { users: [ANA, BEN] } });
    const g = h.google!;
    const team = g.calendar.addCalendar(ANA, { summary: 'Team', timeZone: 'Europe/Berlin' });
    g.calendar.seed(ANA, ANA, 900);
    g.calendar.seed(ANA, team.id, 600);
    g.calendar.seed(BEN, BEN, 800);
    for (const user of [ANA, BEN]) {
      const summary = await h.cycleOf(target(user));
      assert.equal(summary.entities.calendar_event?.lastError, null, `no error for ${user}`);
    }
    assert.ok((await assertInSync(h, ANA)) > 1300, 'most of the 1,500 seeded events are live');
    await assertInSync(h, BEN);
    assert.equal(await count(h.db, "SELECT count(*) n FROM sync_registry WHERE external_system = $1 AND sync_status <> 'synced'", [SYSTEM]), 0);
    assert.deepEqual(
      (await h.db.query('SELECT DISTINCT connection FROM sync_registry WHERE external_system = $1 ORDER BY 1', [SYSTEM])).rows.map((r) => r.connection),
      [ANA, BEN],
      'one connection per user',
    );

    // Google users edit and cancel; Aurora edits, creates and deletes.
    // Aurora edits events Ana organizes (Google refuses an attendee's rename of an invitation: 403 forbiddenForNonOrganizer).
    const anaEvents = g.calendar.list(ANA, ANA).filter((e) => e.organizer.email === ANA);
    const [edited, cancelled] = [anaEvents[0]!, anaEvents[1]!];
    g.calendar.userPatch(ANA, ANA, edited.id, { summary: 'Edited in Google', location: 'Room 4' });
    g.calendar.userCancel(ANA, ANA, cancelled.id);
    const locals = new Map((await localEvents(h, ANA)).map((e) => [e.external_id, e]));
    const localEdit = locals.get(anaEvents[2]!.id)!;
    const localDelete = locals.get(anaEvents[3]!.id)!;
    await h.db.query("UPDATE calendar_events SET summary = 'Edited in Aurora' WHERE id = $1", [localEdit.id]);
    await h.db.query('UPDATE calendar_events SET deleted_at = now() WHERE id = $1', [localDelete.id]);
    const created = (
      await h.db.query(
        `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, start_time_zone, end_time_zone, status, attendees)
         VALUES ($1, $2, 'Planned in Aurora', '2027-01-05T15:00:00Z', '2027-01-05T16:00:00Z', 'America/New_York', 'America/New_York', 'confirmed',
                 '[{"email":"bob@customer.example","responseStatus":"needsAction"}]') RETURNING id`,
        [ANA, team.id],
      )
    ).rows[0].id;
    const sub = await subscribe();
    let summary;
    try {
      summary = await h.cycleOf(target(ANA));
      await new Promise((r) => setTimeout(r, 300));
      const mine = sub.events.filter((e) => e.channel === 'aurora:sync:calendar_event').map((e) => e.event);
      assert.ok(mine.some((e) => e.action === 'updated' && e.source === SYSTEM && e.direction === 'pull'));
      assert.ok(mine.some((e) => e.action === 'deleted' && e.direction === 'pull'));
      assert.ok(mine.some((e) => e.action === 'created' && e.direction === 'push' && e.entity_id === created));
    } finally {
      await sub.close();
    }
    assert.equal(summary.entities.calendar_event?.lastError, null);
    const after = new Map((await localEvents(h, ANA)).map((e) => [e.external_id, e]));
    assert.equal(after.get(edited.id).summary, 'Edited in Google');
    assert.ok(after.get(cancelled.id).deleted_at, 'cancelled in Google → soft-deleted in Aurora');
    assert.equal(g.calendar.get(ANA, ANA, anaEvents[2]!.id)!.summary, 'Edited in Aurora');
    assert.equal(g.calendar.get(ANA, ANA, anaEvents[3]!.id)!.status, 'cancelled', 'deleted in Aurora → cancelled in Google');
    const createdExt = (await h.db.query('SELECT external_id FROM sync_registry WHERE local_id = $1', [created])).rows[0].external_id;
    const inGoogle = g.calendar.get(ANA, team.id, createdExt)!;
    assert.equal(inGoogle.summary, 'Planned in Aurora');
    assert.equal(inGoogle.start.timeZone, 'America/New_York');
    assert.ok((g.stats.sendUpdates.none ?? 0) > 0 && !g.stats.sendUpdates.all, 'a sync never emails attendees');
    await assertInSync(h, ANA);

    // Quiet: one list per calendar, no writes, no events, no version change.
    const versions = (await h.db.query('SELECT id, version FROM calendar_events ORDER BY id')).rows;
    const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
    const calendarRequests = () => Object.entries(g.stats.byRoute).filter(([route]) => route.includes(' /calendar/')).reduce((n, [, c]) => n + c, 0);
    const before = calendarRequests();
    const regUpdated = (await h.db.query('SELECT max(updated_at) m FROM sync_registry')).rows[0].m;
    await h.cycleOf(target(ANA));
    assert.deepEqual((await h.db.query('SELECT id, version FROM calendar_events ORDER BY id')).rows, versions);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox, 'nothing published');
    assert.deepEqual((await h.db.query('SELECT max(updated_at) m FROM sync_registry')).rows[0].m, regUpdated, 'no registry writes');
    assert.ok(calendarRequests() - before <= 3, `a quiet cycle costs the calendar list and one list per calendar (${calendarRequests() - before})`);
  });

  test('recurring, all-day and cross-time-zone events made in Aurora survive the round trip unchanged', async () => {
    const h = await setup({ google: { users: [ANA] } });
    await h.cycleOf(target(ANA));
    const rows = [
      { summary: 'Weekly sync', start_at: '2027-02-01T09:00:00Z', end_at: '2027-02-01T09:30:00Z', tz: 'Europe/Berlin', recurrence: '["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10"]' },
      { summary: 'Tokyo call', start_at: '2027-02-02T23:30:00Z', end_at: '2027-02-03T00:15:00Z', tz: 'Asia/Tokyo', recurrence: null },
      { summary: 'Offsite', start_date: '2027-03-10', end_date: '2027-03-13', recurrence: null },
    ];
    const ids: string[] = [];
    for (const r of rows) {
      const { rows: out } = await h.db.query(
        `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, start_date, end_date, start_time_zone, end_time_zone, status, recurrence, reminders)
         VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $7, 'confirmed', $8, '{"useDefault":false,"overrides":[{"method":"popup","minutes":10}]}') RETURNING id`,
        [ANA, r.summary, r.start_at ?? null, r.end_at ?? null, r.start_date ?? null, r.end_date ?? null, r.tz ?? null, r.recurrence],
      );
      ids.push(out[0].id);
    }
    const beforeRows = (await h.db.query('SELECT * FROM calendar_events WHERE id = ANY($1) ORDER BY id', [ids])).rows;
    await h.cycleOf(target(ANA)); // creates them in Google; takes what Google computed (organizer, link, iCalUID)
    const pushedRows = (await h.db.query('SELECT * FROM calendar_events WHERE id = ANY($1) ORDER BY id', [ids])).rows;
    await h.cycleOf(target(ANA)); // reads Google's stored version back: nothing changes
    const afterRows = (await h.db.query('SELECT * FROM calendar_events WHERE id = ANY($1) ORDER BY id', [ids])).rows;
    for (let i = 0; i < ids.length; i++) {
      const b = canonicalize(CALENDAR_EVENT, beforeRows[i]);
      const a = canonicalize(CALENDAR_EVENT, afterRows[i]);
      for (const f of ['summary', 'start_at', 'end_at', 'start_date', 'end_date', 'start_time_zone', 'end_time_zone', 'recurrence', 'reminders', 'status']) {
        assert.equal(a[f], b[f], `${beforeRows[i].summary}: ${f} unchanged by the round trip`);
      }
      assert.equal(afterRows[i].version, pushedRows[i].version, `${beforeRows[i].summary}: no version inflation`);
      assert.equal(afterRows[i].organizer_email, ANA, 'the organizer Google set is in Aurora too');
    }
    await assertInSync(h, ANA);
    const weekly = (await h.db.query('SELECT external_id FROM sync_registry WHERE local_id = $1', [ids[0]])).rows[0].external_id;
    assert.deepEqual(h.google!.calendar.get(ANA, ANA, weekly)!.recurrence, ['RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10']);
  });

  test('an expired sync token (410) runs a full resync that finds deletions; the mass-delete guard holds a mass deletion until confirmed', async () => {
    const h = await setup({ google: { users: [ANA] }, env: { MASS_DELETE_MIN_RECORDS: '3' } });
    const g = h.google!;
    g.calendar.seed(ANA, ANA, 60);
    await h.cycleOf(target(ANA));
    const live = () => count(h.db, 'SELECT count(*) n FROM calendar_events WHERE deleted_at IS NULL');
    const start = await live();
    // Deleted while the engine's sync token expired: only a full listing can find them.
    const victims = g.calendar.list(ANA, ANA).slice(0, 5);
    for (const v of victims) g.calendar.userCancel(ANA, ANA, v.id);
    g.calendar.expireSyncTokens(ANA);
    const s1 = await h.cycleOf(target(ANA));
    assert.equal(s1.entities.calendar_event?.lastError, null);
    assert.equal(s1.entities.calendar_event?.lastPull?.fullResync, 1);
    assert.equal(await live(), start - 5, 'the five deletions were found');
    for (const v of victims) {
      const { rows } = await h.db.query('SELECT r.deleted, e.deleted_at FROM sync_registry r JOIN calendar_events e ON e.id = r.local_id WHERE r.external_id = $1', [v.id]);
      assert.equal(rows[0].deleted, true);
      assert.ok(rows[0].deleted_at);
    }
    await assertInSync(h, ANA);

    // Now half the calendar vanishes at once: held back, nothing deleted, the type says why.
    const half = g.calendar.list(ANA, ANA).slice(0, Math.ceil(start / 2));
    for (const v of half) g.calendar.userCancel(ANA, ANA, v.id);
    g.calendar.expireSyncTokens(ANA);
    const s2 = await h.cycleOf(target(ANA));
    assert.equal(s2.entities.calendar_event?.lastPull?.heldDeletions, half.length);
    assert.equal(await live(), start - 5, 'nothing deleted');
    const status = (await syncStatus(h.db, CONNECTORS))[SYSTEM]!.calendar_events!;
    assert.equal(status.status, 'error');
    assert.match(status.last_error ?? '', /mass-delete guard.*deletions confirm google_workspace calendar_events --connection ana@acme.test/);
    assert.equal(status.held_deletions, half.length);
    // A quiet cycle does not clear the reason.
    await h.cycleOf(target(ANA));
    assert.equal((await syncStatus(h.db, CONNECTORS))[SYSTEM]!.calendar_events!.status, 'error');

    assert.equal(await confirmHeldDeletions(h.db, { system: SYSTEM, connection: ANA, entityType: 'calendar_event' }), true);
    await h.cycleOf(target(ANA));
    assert.equal(await live(), start - 5 - half.length, 'confirmed deletions applied');
    const after = (await syncStatus(h.db, CONNECTORS))[SYSTEM]!.calendar_events!;
    assert.notEqual(after.status, 'error');
    assert.equal(after.held_deletions, undefined);
    await assertInSync(h, ANA);
  });

  test('a concurrent edit (412 on If-Match) is decided by the policy; a retried insert makes no duplicate', async () => {
    const h = await setup({ google: { users: [ANA] } });
    const g = h.google!;
    const [a, b] = g.calendar.seed(ANA, ANA, 20).filter((e) => e.status !== 'cancelled' && e.organizer.email === ANA);
    await h.cycleOf(target(ANA));
    const idOf = async (ext: string) => (await h.db.query('SELECT local_id FROM sync_registry WHERE external_id = $1', [ext])).rows[0].local_id;
    const acts = createActivities({ ...h.deps, settings: activitySettings(h.cfg) });
    // a: Google edits first, Aurora later → Aurora wins (last write); b: Aurora first, Google later → Google wins.
    g.calendar.userPatch(ANA, ANA, a!.id, { summary: 'Google A' });
    await new Promise((r) => setTimeout(r, 20));
    await h.db.query("UPDATE calendar_events SET summary = 'Aurora A' WHERE id = $1", [await idOf(a!.id)]);
    await h.db.query("UPDATE calendar_events SET summary = 'Aurora B' WHERE id = $1", [await idOf(b!.id)]);
    await new Promise((r) => setTimeout(r, 20));
    g.calendar.userPatch(ANA, ANA, b!.id, { summary: 'Google B' });
    // Push without a pull first: the etags Aurora holds are stale, so Google answers 412.
    const pushed = await acts.pushEntity({ system: SYSTEM, connection: ANA, entityType: 'calendar_event' });
    assert.equal(pushed.conflicts, 2, 'both writes were refused with 412 and decided by policy');
    assert.equal(pushed.errors, 0);
    assert.equal(g.calendar.get(ANA, ANA, a!.id)!.summary, 'Aurora A');
    assert.equal((await h.db.query('SELECT summary FROM calendar_events WHERE id = $1', [await idOf(b!.id)])).rows[0].summary, 'Google B');
    assert.equal(g.calendar.get(ANA, ANA, b!.id)!.summary, 'Google B');
    const res = (await h.db.query('SELECT last_resolution FROM sync_registry WHERE external_id = $1', [b!.id])).rows[0].last_resolution;
    assert.equal(res.winner, 'external');
    assert.equal(res.local.values.summary, 'Aurora B', 'the loser is kept on record');

    // An insert whose answer was lost: the event exists in Google, the registry never heard.
    const localId = (await h.db.query(
      `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, status) VALUES ($1, $1, 'Lost answer', '2027-04-01T10:00:00Z', '2027-04-01T11:00:00Z', 'confirmed') RETURNING id`,
      [ANA],
    )).rows[0].id;
    const connector = h.deps.connectors.get(SYSTEM, ANA);
    const fields = canonicalize(CALENDAR_EVENT, (await h.db.query('SELECT * FROM calendar_events WHERE id = $1', [localId])).rows[0]);
    const [first] = await connector.create('calendar_event', [{ localId, fields }]);
    assert.ok(first?.ok);
    await h.cycleOf(target(ANA));
    const matching = g.calendar.list(ANA, ANA).filter((e) => e.summary === 'Lost answer');
    assert.equal(matching.length, 1, 'the retried insert found its event (409 duplicate) and made no second one');
    assert.equal((await h.db.query('SELECT external_id, sync_status FROM sync_registry WHERE local_id = $1', [localId])).rows[0].external_id, matching[0]!.id);
    await assertInSync(h, ANA);
  });

  test('quota 403/429 storms and 5xx still end fully synced', async () => {
    const h = await setup({ google: { users: [ANA], sandbox: { quotas: { perUserPerMinute: 40, mode: 'mixed' } } } });
    const g = h.google!;
    g.calendar.seed(ANA, ANA, 3000);
    g.faults.set({ burst: { status: 429, count: 3 } });
    const s = await h.cycleOf(target(ANA));
    assert.equal(s.entities.calendar_event?.lastError, null);
    g.faults.set({ burst: { status: 403, count: 3 }, errorRate: 0.2 });
    for (const e of g.calendar.list(ANA, ANA).slice(0, 30)) g.calendar.userPatch(ANA, ANA, e.id, { description: 'storm edit' });
    const s2 = await h.cycleOf(target(ANA));
    g.faults.clear();
    assert.equal(s2.entities.calendar_event?.lastError, null);
    assert.ok(g.stats.rateLimited + g.stats.faulted > 0, 'the storm happened');
    await assertInSync(h, ANA);
  });
});

describe('Google push notifications', () => {
  const withApi = (h: Harness) => listeningApi(h, ['hubspot', SYSTEM]);

  test('a change in Google arrives through its push channel, verified, without waiting for a cycle; forged and unknown channels change nothing', async () => {
    const h = await setup({ google: { users: [ANA] }, env: { PUSH_CHANNELS: 'true' }, worker: false });
    const { app, url } = await withApi(h);
    try {
      await h.startWorker();
      const g = h.google!;
      const [ev] = g.calendar.seed(ANA, ANA, 5).filter((e) => e.status !== 'cancelled');
      await h.cycleOf(target(ANA)); // opens the channel
      // (other Google products open their own channels: only Calendar's are looked at here)
      const { rows: channels } = await h.db.query("SELECT * FROM sync_channels WHERE stopped_at IS NULL AND entity_type = 'calendar_event'");
      assert.equal(channels.length, 1, 'one channel per calendar');
      const calendarChannels = () => g.channels.active().filter((c) => c.resourceUri.includes('/calendar/'));
      assert.equal(channels[0].connection, ANA);
      assert.equal(calendarChannels().length, 1);
      assert.equal(calendarChannels()[0]!.address, `${url}/api/webhooks/google`);
      assert.ok(!JSON.stringify(channels).includes(calendarChannels()[0]!.token!), 'the channel token is stored hashed');
      const handle = h.client.workflow.getHandle(syncWorkflowId(SYSTEM, h.cfg.temporal.workflowIdPrefix, ANA));

      const t0 = Date.now();
      g.calendar.userPatch(ANA, ANA, ev!.id, { summary: 'Pushed by Google' });
      await waitFor('row updated through the channel', async () =>
        (await count(h.db, "SELECT count(*) n FROM calendar_events WHERE summary = 'Pushed by Google'")) === 1 || undefined, 10_000, 20);
      const latency = Date.now() - t0;
      console.log(`push notification → row committed: ${latency} ms`);
      assert.ok(g.channels.stats.sent >= 2, 'sync message, then the change');

      // The notification ran one incremental cycle of that connection; wait until it is done.
      const cycles = await waitFor('triggered cycle done', async () => {
        const st = await handle.query(statusQuery);
        return st.state === 'idle' && st.cycles >= 2 ? st.cycles : undefined;
      }, 10_000);
      // Forged token and unknown channel: refused, nothing signalled.
      const ch = calendarChannels()[0]!;
      const headers = { 'x-goog-channel-id': ch.id, 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': 'exists', 'x-goog-message-number': '99', 'x-goog-channel-token': 'forged' };
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/google', headers })).statusCode, 401);
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: { ...headers, 'x-goog-channel-id': 'not-ours', 'x-goog-channel-token': ch.token! } })).statusCode, 404);
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: { 'x-goog-channel-token': ch.token! } })).statusCode, 400);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await handle.query(statusQuery)).cycles, cycles, 'nothing was triggered');
    } finally {
      await app.close();
    }
  });
});
