/**
 * The Google Workspace connector (Calendar) against the Google sandbox, through the real
 * googleapis + google-auth-library clients: built with googleWorkspace.create() from a config that
 * loadConfig parsed from an environment pointing at the sandbox. Every test starts its own sandbox.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { loadConfig, type Config } from '../src/config';
import { googleWorkspace } from '../src/connectors/google_workspace';
import { CALENDAR_BODY_FIELDS, CALENDAR_EVENT } from '../src/connectors/google_workspace/calendar/entities';
import { auroraIdOf, eventIdFor, toCanonical } from '../src/connectors/google_workspace/calendar/mapping';
import type { CalendarCursor } from '../src/connectors/google_workspace/calendar/product';
import { googleConfig } from '../src/connectors/google_workspace/config';
import type { GoogleWorkspaceConnector } from '../src/connectors/google_workspace/connector';
import { GoogleApiError, GoogleRequester } from '../src/connectors/google_workspace/errors';
import { isCursorExpired, type ChangeCursor, type Connector, type ExternalRecord, type StoredChannel, type WebhookContext } from '../src/connectors/types';
import { ConfigError } from '../src/core/env';
import { ErrorType } from '../src/core/errors';
import { canonicalize, type Canonical } from '../src/core/model';
import { RollingWindowLimiter } from '../src/core/ratelimit';
import { sha256Hex } from '../src/core/secure';
import { startGoogleSandbox, type GoogleSandbox, type GoogleSandboxOptions } from '../src/sandbox/google';

const ADA = 'ada@acme.test';
const BOB = 'bob@acme.test';
const TYPE = 'calendar_event';

interface Setup {
  sb: GoogleSandbox;
  cfg: Config;
  dir: string;
  connector(user: string): GoogleWorkspaceConnector;
  close(): Promise<void>;
}

function configFor(env: Record<string, string>): Config {
  const cfg = loadConfig(env);
  // Until connectors/registry.ts lists google_workspace, loadConfig does not parse its settings.
  cfg.systems.google_workspace ??= googleWorkspace.parseConfig(env, { dir: env.SECRETS_DIR!, read: () => undefined });
  return cfg;
}

async function setup(o: { users?: string[]; credentials?: 'service_account' | 'authorized_user'; env?: Record<string, string>; sandbox?: GoogleSandboxOptions } = {}): Promise<Setup> {
  const users = o.users ?? [ADA, BOB];
  const sb = await startGoogleSandbox({ users: [ADA, BOB], ...o.sandbox });
  const dir = mkdtempSync(join(tmpdir(), 'aurora-google-'));
  const creds = o.credentials === 'authorized_user' ? { type: 'authorized_user', ...sb.auth.oauthClient(users[0]!) } : sb.auth.serviceAccount();
  writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify(creds));
  const env = { SECRETS_DIR: dir, GOOGLE_USERS: users.join(','), GOOGLE_API_ROOT_URL: sb.url, GOOGLE_TOKEN_URL: sb.tokenUrl, ...o.env };
  const cfg = configFor(env);
  const ctx = { cfg, budget: (_k: string, l: number, w: number) => new RollingWindowLimiter(l, w), onRequest() {} };
  const made = new Map<string, GoogleWorkspaceConnector>();
  return {
    sb,
    cfg,
    dir,
    connector(user) {
      if (!made.has(user)) made.set(user, googleWorkspace.create(cfg, user, ctx) as GoogleWorkspaceConnector);
      return made.get(user)!;
    },
    async close() {
      await sb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function withSetup(o: Parameters<typeof setup>[0], fn: (s: Setup) => Promise<void>): Promise<void> {
  const s = await setup(o);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

interface Drained {
  records: ExternalRecord[];
  deletions: string[];
  cursors: ChangeCursor[];
  cursor: CalendarCursor;
}

async function drain(c: Connector, cursor: ChangeCursor | null, resume = false, maxPages = Infinity): Promise<Drained> {
  const out: Drained = { records: [], deletions: [], cursors: [], cursor: { v: 1, tokens: {} } };
  for await (const page of c.listChanges(TYPE, cursor, resume)) {
    out.records.push(...page.records);
    out.deletions.push(...(page.deletions ?? []).map((d) => d.externalId));
    out.cursors.push(page.cursor);
    out.cursor = page.cursor as CalendarCursor;
    if (out.cursors.length >= maxPages) break;
  }
  return out;
}

const ids = (records: ExternalRecord[]) => records.map((r) => r.externalId).sort();
const pick = (f: Canonical, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, f[n] ?? null]));

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

/** A timed event in Berlin with attendees, as the engine would hand it (canonical: attendees sorted by email). */
function meeting(over: Canonical = {}): Canonical {
  return canonicalize(CALENDAR_EVENT, {
    calendar_id: null,
    summary: 'Quarterly review',
    description: 'Numbers first',
    location: 'Room 4',
    start_at: '2026-12-14T09:00:00.000Z',
    end_at: '2026-12-14T10:30:00.000Z',
    start_date: null,
    end_date: null,
    start_time_zone: 'Europe/Berlin',
    end_time_zone: 'Europe/Berlin',
    status: 'confirmed',
    attendees: JSON.stringify([
      { email: 'bob@acme.test', displayName: 'Bob', responseStatus: 'accepted', optional: true },
      { email: 'carol@example.com', responseStatus: 'needsAction' },
    ]),
    reminders: JSON.stringify({ useDefault: false, overrides: [{ method: 'popup', minutes: 15 }] }),
    recurrence: null,
    transparency: null,
    visibility: null,
    ...over,
  });
}

test('full listing of two users × calendars, then incremental with edits and inline deletions', async () => {
  await withSetup({}, async ({ sb, connector }) => {
    const team = sb.calendar.addCalendar(ADA, { summary: 'Team', timeZone: 'Europe/Berlin' });
    sb.calendar.seed(ADA, ADA, 40);
    sb.calendar.seed(ADA, team.id, 15);
    sb.calendar.seed(BOB, BOB, 25);
    const live = (user: string, cal: string) => sb.calendar.list(user, cal).map((e) => e.id);

    const ada = await drain(connector(ADA), null);
    assert.deepEqual(ids(ada.records), [...live(ADA, ADA), ...live(ADA, team.id)].sort());
    assert.deepEqual(ada.deletions, []);
    assert.deepEqual(Object.keys(ada.cursor.tokens).sort(), [ADA, team.id].sort(), 'a sync token per calendar');
    for (const r of ada.records) {
      const cal = live(ADA, ADA).includes(r.externalId) ? ADA : team.id;
      assert.equal(r.fields.calendar_id, cal);
      assert.deepEqual(r.fields, toCanonical(sb.calendar.get(ADA, cal, r.externalId)!, cal));
      assert.match(r.etag!, /^"\d+"$/);
      assert.equal(r.auroraId, null, 'seeded events have Google-chosen ids');
    }
    const bob = await drain(connector(BOB), null);
    assert.deepEqual(ids(bob.records), live(BOB, BOB).sort());
    assert.ok(ids(bob.records).every((id) => !ids(ada.records).includes(id) || true));

    // Nothing changed: an incremental run reads nothing.
    const quiet = await drain(connector(ADA), ada.cursor);
    assert.equal(quiet.records.length + quiet.deletions.length, 0);

    // Edits in Google's UI: a patch, a cancel (inline deletion), an insert, a move between calendars.
    const [first, second, third] = live(ADA, ADA);
    sb.calendar.userPatch(ADA, ADA, first!, { summary: 'Renamed in Google' });
    sb.calendar.userCancel(ADA, team.id, live(ADA, team.id)[0]!);
    const cancelled = sb.calendar.list(ADA, team.id, { includeCancelled: true }).find((e) => e.status === 'cancelled')!.id;
    const added = sb.calendar.userInsert(ADA, ADA, { summary: 'Added in Google', start: { dateTime: '2026-12-20T15:00:00+01:00' }, end: { dateTime: '2026-12-20T16:00:00+01:00' } });
    sb.calendar.userMove(ADA, ADA, team.id, second!);
    const inc = await drain(connector(ADA), quiet.cursor);
    assert.deepEqual(ids(inc.records), [first!, added.id, second!].sort());
    assert.equal(inc.records.find((r) => r.externalId === first)!.fields.summary, 'Renamed in Google');
    assert.equal(inc.records.find((r) => r.externalId === second)!.fields.calendar_id, team.id, 'a moved event shows up in its new calendar');
    // The move leaves a cancelled copy in the source calendar: reported as a deletion of the same id.
    assert.deepEqual(inc.deletions.sort(), [cancelled, second!].sort());
    assert.ok(!inc.records.some((r) => r.externalId === third));
    assert.notDeepEqual(inc.cursor.tokens, quiet.cursor.tokens, 'tokens move on');

    // Bob's feed is his own.
    assert.equal((await drain(connector(BOB), bob.cursor)).records.length, 0);
  });
});

test('a heartbeated mid-calendar cursor resumes exactly; the allow-list and timeMin narrow the listing', async () => {
  await withSetup({}, async ({ sb, connector }) => {
    sb.calendar.seed(BOB, BOB, 6000); // some seeded events are cancelled: still three pages of at most 2500
    const liveCount = sb.calendar.list(BOB, BOB).length;
    assert.ok(liveCount > 5000);
    const second = sb.calendar.addCalendar(BOB, { id: 'zz-second@group.calendar.google.com', summary: 'Second' });
    sb.calendar.seed(BOB, second.id, 3);
    const c = connector(BOB);
    const firstPage = await drain(c, null, false, 1);
    assert.ok(firstPage.records.length > 0 && firstPage.records.length <= 2500, `a page holds at most maxResults (${firstPage.records.length})`);
    const at = firstPage.cursor.at!;
    assert.equal(at.calendarId, BOB);
    assert.ok(at.pageToken && at.full, 'mid-way: the calendar, its next page, a full listing');
    // The activity died here; its retry resumes from the heartbeated cursor.
    const rest = await drain(c, JSON.parse(JSON.stringify(firstPage.cursor)), true);
    assert.equal(rest.records.length, liveCount - firstPage.records.length + 3);
    const all = new Set([...ids(firstPage.records), ...ids(rest.records)]);
    assert.equal(all.size, liveCount + 3, 'no event read twice or missed');
    assert.deepEqual(Object.keys(rest.cursor.tokens).sort(), [BOB, second.id].sort());
    // A cursor heartbeated after a calendar's last page resumes with the calendars after it.
    const afterFirst = rest.cursors.find((x) => (x as CalendarCursor).at?.calendarId === BOB && !(x as CalendarCursor).at?.pageToken)!;
    const tail = await drain(c, afterFirst, true);
    assert.deepEqual(ids(tail.records), sb.calendar.list(BOB, second.id).map((e) => e.id).sort());
  });
  await withSetup({ env: { GOOGLE_CALENDAR_IDS: 'primary', GOOGLE_CALENDAR_PAST_DAYS: '30' } }, async ({ sb, connector }) => {
    const other = sb.calendar.addCalendar(ADA, { summary: 'Not synced' });
    sb.calendar.seed(ADA, other.id, 5);
    sb.calendar.seed(ADA, ADA, 60, { pastDays: 365, futureDays: 30 });
    const listed = await drain(connector(ADA), null);
    assert.deepEqual(Object.keys(listed.cursor.tokens), [ADA], 'only the allow-listed calendar');
    const cutoff = Date.now() - 30 * 86_400_000;
    assert.ok(listed.records.length > 0 && listed.records.length < 60, `timeMin leaves old events out (${listed.records.length})`);
    for (const r of listed.records) {
      const end = Date.parse(r.fields.end_at ?? `${r.fields.end_date}T00:00:00Z`);
      assert.ok(end >= cutoff - 86_400_000 || r.fields.recurrence, `${r.externalId} ends after the window start`);
    }
  });
});

test('an expired sync token is CursorExpiredError; the full listing then starts over', async () => {
  await withSetup({}, async ({ sb, connector }) => {
    sb.calendar.seed(ADA, ADA, 5);
    const full = await drain(connector(ADA), null);
    sb.calendar.expireSyncTokens(ADA);
    await assert.rejects(drain(connector(ADA), full.cursor), (e: unknown) => isCursorExpired(e) && /no longer valid/.test((e as Error).message));
    const again = await drain(connector(ADA), null);
    assert.deepEqual(ids(again.records), ids(full.records));
    assert.equal((await drain(connector(ADA), again.cursor)).records.length, 0);
  });
});

test('creates are idempotent (derived event ids); recurring, all-day and cross-zone events round-trip unchanged', async () => {
  await withSetup({}, async ({ sb, connector }) => {
    const team = sb.calendar.addCalendar(ADA, { summary: 'Team', timeZone: 'America/New_York' });
    const c = connector(ADA);
    const timed = { localId: randomUUID(), fields: meeting() };
    const recurring = {
      localId: randomUUID(),
      fields: meeting({
        calendar_id: team.id,
        summary: 'Standup',
        start_at: '2026-12-07T14:30:00.000Z',
        end_at: '2026-12-07T14:45:00.000Z',
        start_time_zone: 'America/New_York',
        end_time_zone: 'America/New_York',
        recurrence: JSON.stringify(['RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=30', 'EXDATE;TZID=America/New_York:20261209T093000']), // order kept
        attendees: null,
        reminders: null,
      }),
    };
    const allDay = {
      localId: 'offsite-2026',
      fields: meeting({ summary: 'Offsite', start_at: null, end_at: null, start_date: '2026-12-30', end_date: '2027-01-02', start_time_zone: null, end_time_zone: null, transparency: 'transparent', visibility: 'private' }),
    };
    const flight = {
      localId: randomUUID(),
      fields: meeting({ summary: 'Flight BER → SFO', start_at: '2026-12-18T09:00:00.000Z', end_at: '2026-12-18T21:00:00.000Z', start_time_zone: 'Europe/Berlin', end_time_zone: 'America/Los_Angeles' }),
    };
    const creates = [timed, recurring, allDay, flight];
    const out = await c.create(TYPE, creates);
    for (const [i, o] of out.entries()) {
      assert.ok(o.ok, JSON.stringify(o));
      assert.equal(o.created, true);
      assert.equal(o.externalId, eventIdFor(creates[i]!.localId));
      assert.equal(auroraIdOf(o.externalId), creates[i]!.localId);
      assert.deepEqual(pick(o.fields, CALENDAR_BODY_FIELDS), pick(creates[i]!.fields, CALENDAR_BODY_FIELDS), `${creates[i]!.fields.summary} as Google stored it`);
      assert.ok(o.etag && o.updatedAt);
    }
    assert.equal(out[0]!.ok && out[0]!.fields.calendar_id, ADA, 'no calendar_id: the primary, by its real id');
    assert.equal(out[1]!.ok && out[1]!.fields.calendar_id, team.id);
    assert.equal(out[0]!.ok && out[0]!.fields.organizer_email, ADA);

    // Retried after a timeout: the same events, not new ones.
    const again = await c.create(TYPE, creates);
    for (const [i, o] of again.entries()) {
      assert.ok(o.ok);
      assert.equal(o.created, false);
      assert.equal(o.externalId, out[i]!.ok && out[i]!.externalId);
    }
    assert.equal(sb.calendar.list(ADA, ADA).length, 3);
    assert.equal(sb.calendar.list(ADA, team.id).length, 1);

    // The change feed reports them with their Aurora ids and the same canonical values.
    const listed = await drain(connector(ADA), null);
    for (const cr of creates) {
      const r = listed.records.find((x) => x.externalId === eventIdFor(cr.localId))!;
      assert.equal(r.auroraId, cr.localId);
      assert.deepEqual(pick(r.fields, CALENDAR_BODY_FIELDS), pick(cr.fields, CALENDAR_BODY_FIELDS));
    }

    // Deleted in Google, then the create is retried: the event comes back as described.
    sb.calendar.userCancel(ADA, ADA, eventIdFor(timed.localId));
    const [revived] = await c.create(TYPE, [timed]);
    assert.ok(revived!.ok && revived!.created === false);
    assert.equal(sb.calendar.get(ADA, ADA, eventIdFor(timed.localId))!.status, 'confirmed');
    assert.deepEqual(Object.keys(sb.stats.sendUpdates), ['none'], 'every write says sendUpdates=none: attendees are never emailed by default');

    // A bad record fails alone.
    const mixed = await c.create(TYPE, [
      { localId: randomUUID(), fields: meeting({ start_at: '2026-12-14T11:00:00.000Z', end_at: '2026-12-14T10:00:00.000Z' }) },
      { localId: randomUUID(), fields: meeting({ attendees: '"not a list"' }) },
      { localId: randomUUID(), fields: meeting({ summary: 'Fine' }) },
    ]);
    assert.equal(mixed[0]!.ok, false);
    assert.match(!mixed[0]!.ok ? mixed[0]!.error : '', /HTTP 400/);
    assert.equal(mixed[1]!.ok, false);
    assert.ok(mixed[2]!.ok);
  });
});

test('updates send only the changed fields, If-Match the synced etag; 412 gives changedExternally', async () => {
  await withSetup({}, async ({ sb, connector }) => {
    const c = connector(ADA);
    const localId = randomUUID();
    const [made] = await c.create(TYPE, [{ localId, fields: meeting() }]);
    assert.ok(made!.ok);
    const id = made!.externalId;
    const synced = made!.fields;

    // Someone edits the event in Google; our update is conditional on the etag we synced.
    sb.calendar.userPatch(ADA, ADA, id, { summary: 'Edited in Google' });
    const stale = await c.update(TYPE, [{ localId, externalId: id, fields: { ...synced, location: 'Room 7' }, previous: synced, changed: ['location'], etag: made!.etag }]);
    assert.equal(stale[0]!.ok, false);
    const ext = !stale[0]!.ok ? stale[0]!.changedExternally : undefined;
    assert.ok(ext, 'the current Google state comes back');
    assert.equal(ext!.fields.summary, 'Edited in Google');
    assert.equal(ext!.fields.location, 'Room 4', 'nothing was written');
    assert.notEqual(ext!.etag, made!.etag);
    assert.equal(sb.calendar.get(ADA, ADA, id)!.location, 'Room 4');

    // With the fresh etag it goes through; only `location` was sent, so Google's summary stays.
    const fresh = await c.update(TYPE, [{ localId, externalId: id, fields: { ...ext!.fields, location: 'Room 7' }, previous: ext!.fields, changed: ['location'], etag: ext!.etag }]);
    assert.ok(fresh[0]!.ok, JSON.stringify(fresh[0]));
    assert.equal(fresh[0]!.fields.location, 'Room 7');
    assert.equal(fresh[0]!.fields.summary, 'Edited in Google');
    // The same write retried (its answer was lost): 412, but Google has exactly this change: ok.
    const retried = await c.update(TYPE, [{ localId, externalId: id, fields: { ...ext!.fields, location: 'Room 7' }, previous: ext!.fields, changed: ['location'], etag: ext!.etag }]);
    assert.ok(retried[0]!.ok, 'recognised as our own write');

    // Unconditional (no etag): only the changed field is sent; a Google edit to another field survives
    // and the outcome keeps the local value for it, so the next pull still sees Google's change.
    sb.calendar.userPatch(ADA, ADA, id, { description: 'Agenda from Google' });
    const blind = await c.update(TYPE, [{ localId, externalId: id, fields: { ...fresh[0]!.fields, summary: 'From Aurora' }, changed: ['summary'] }]);
    assert.ok(blind[0]!.ok);
    assert.equal(sb.calendar.get(ADA, ADA, id)!.description, 'Agenda from Google');
    assert.equal(blind[0]!.fields.description, 'Numbers first');
    assert.equal(blind[0]!.fields.summary, 'From Aurora');

    // All-day ↔ timed switch through a patch, and back.
    const now1 = blind[0]!.ok ? blind[0]!.fields : {};
    const toAllDay = { ...now1, start_at: null, end_at: null, start_date: '2026-12-14', end_date: '2026-12-15', start_time_zone: null, end_time_zone: null };
    const switched = await c.update(TYPE, [{ localId, externalId: id, fields: toAllDay, previous: now1, changed: ['start_at', 'end_at', 'start_date', 'end_date', 'start_time_zone', 'end_time_zone'], etag: blind[0]!.ok ? blind[0]!.etag : null }]);
    assert.ok(switched[0]!.ok, JSON.stringify(switched[0]));
    assert.deepEqual(sb.calendar.get(ADA, ADA, id)!.start, { date: '2026-12-14' });
    assert.equal(switched[0]!.fields.start_at, null);
    const timing = ['start_at', 'end_at', 'start_date', 'end_date', 'start_time_zone', 'end_time_zone'];
    const back = await c.update(TYPE, [{ localId, externalId: id, fields: now1, previous: switched[0]!.ok ? switched[0]!.fields : null, changed: timing, etag: switched[0]!.ok ? switched[0]!.etag : null }]);
    assert.ok(back[0]!.ok);
    assert.deepEqual(pick(back[0]!.fields, timing), pick(now1, timing));
    assert.equal(back[0]!.fields.description, 'Agenda from Google', "conditional: Google's whole state (its description edit included)");

    // A change of calendar_id moves the event.
    const team = sb.calendar.addCalendar(ADA, { summary: 'Team' });
    const moved = await c.update(TYPE, [{ localId, externalId: id, fields: { ...now1, calendar_id: team.id }, previous: back[0]!.ok ? back[0]!.fields : null, changed: ['calendar_id'], etag: back[0]!.ok ? back[0]!.etag : null }]);
    assert.ok(moved[0]!.ok, JSON.stringify(moved[0]));
    assert.equal(moved[0]!.fields.calendar_id, team.id);
    assert.equal(sb.calendar.get(ADA, team.id, id)!.status, 'confirmed');
    assert.equal(sb.calendar.get(ADA, ADA, id)!.status, 'cancelled');

    // Deleted in Google meanwhile: notFound.
    sb.calendar.userCancel(ADA, team.id, id);
    const gone = await c.update(TYPE, [{ localId, externalId: id, fields: { ...now1, calendar_id: team.id, summary: 'x' }, previous: moved[0]!.ok ? moved[0]!.fields : null, changed: ['summary'], etag: moved[0]!.ok ? moved[0]!.etag : null }]);
    assert.equal(gone[0]!.ok, false);
    assert.equal(!gone[0]!.ok && gone[0]!.notFound, true);
  });
});

test('delete twice is fine; reads leave deleted events out; readArchived reports them', async () => {
  await withSetup({}, async ({ sb, connector, cfg }) => {
    const c = connector(ADA);
    const [a, b] = await c.create(TYPE, [{ localId: randomUUID(), fields: meeting() }, { localId: randomUUID(), fields: meeting({ summary: 'Keep' }) }]);
    assert.ok(a!.ok && b!.ok);
    const first = await c.delete(TYPE, [{ localId: a!.localId, externalId: a!.externalId, etag: a!.etag }]);
    assert.ok(first[0]!.ok);
    assert.equal(sb.calendar.get(ADA, ADA, a!.externalId)!.status, 'cancelled');
    const second = await c.delete(TYPE, [{ localId: a!.localId, externalId: a!.externalId }]);
    assert.ok(second[0]!.ok, 'already gone is done');
    // A fresh process (nothing cached) finds the event by probing the calendars.
    const cold = googleWorkspace.create(cfg, ADA, { cfg, budget: (_k, l, w) => new RollingWindowLimiter(l, w), onRequest() {} });
    assert.ok((await cold.delete(TYPE, [{ localId: a!.localId, externalId: a!.externalId }]))[0]!.ok);
    assert.ok((await cold.delete(TYPE, [{ localId: 'x', externalId: 'nosuchevent00' }]))[0]!.ok);

    const read = await cold.readByIds(TYPE, [a!.externalId, b!.externalId, 'nosuchevent00']);
    assert.deepEqual(ids(read), [b!.externalId]);
    assert.equal(read[0]!.fields.summary, 'Keep');
    const archived = await cold.readArchived!(TYPE, [a!.externalId, b!.externalId, 'nosuchevent00']);
    assert.deepEqual(ids(archived), [a!.externalId, 'nosuchevent00'].sort());
    assert.ok(archived.every((r) => r.archived));

    // A delete conditional on a stale etag: Google's newer state comes back instead.
    sb.calendar.userPatch(ADA, ADA, b!.externalId, { summary: 'Edited meanwhile' });
    const stale = await c.delete(TYPE, [{ localId: b!.localId, externalId: b!.externalId, etag: b!.etag }]);
    assert.equal(stale[0]!.ok, false);
    assert.equal(!stale[0]!.ok && stale[0]!.changedExternally?.fields.summary, 'Edited meanwhile');
    assert.equal(sb.calendar.get(ADA, ADA, b!.externalId)!.status, 'confirmed');
  });
});

test('403/429 quota refusals and 5xx back off and complete; out of attempts is a retryable RATE_LIMITED', async () => {
  await withSetup({}, async ({ sb, connector }) => {
    sb.calendar.seed(ADA, ADA, 10);
    const c = connector(ADA);
    sb.faults.set({ burst: { status: 403, count: 2, reason: 'userRateLimitExceeded' } });
    const t0 = Date.now();
    const listed = await drain(c, null);
    assert.equal(listed.records.length, 10);
    assert.ok(Date.now() - t0 >= 3_000, 'waited 1 s + 2 s (plus jitter)');
    sb.faults.set({ burst: { status: 429, count: 1 } });
    assert.ok((await c.create(TYPE, [{ localId: randomUUID(), fields: meeting() }]))[0]!.ok);
    sb.faults.set({ burst: { status: 503, count: 1 } });
    assert.equal((await drain(c, listed.cursor)).records.length, 1);
    assert.ok(c.calls.rateLimited >= 3);
    assert.equal(sb.stats.rateLimited, 3);
    assert.equal(sb.stats.faulted, 4, 'each injected fault answered once: gaxios did not retry on its own');
  });

  // The backoff itself, with a fake clock: truncated exponential, then the failure types.
  const waits: number[] = [];
  const gaxiosError = (status: number, reason?: string, data?: unknown) =>
    Object.assign(new Error(`HTTP ${status}`), { config: { data: new URLSearchParams({ refresh_token: '1//secret-refresh' }) }, response: { status, data: data ?? { error: { code: status, message: `m${status}`, errors: [{ reason }] } } } });
  const requester = (maxAttempts = 6) =>
    new GoogleRequester({ user: ADA, budget: { acquire: async () => () => undefined, pauseUntil: () => undefined }, authAdvice: 'check delegation', maxAttempts, sleep: async (ms) => void waits.push(ms) });
  const rate = await failure(requester().call('Google Calendar', 'events.list', () => Promise.reject(gaxiosError(403, 'rateLimitExceeded'))));
  assert.equal(rate.type, ErrorType.RateLimited);
  assert.equal(rate.nonRetryable, false);
  assert.equal(waits.length, 5);
  waits.forEach((w, n) => assert.ok(w >= 1000 * 2 ** n && w <= Math.min(1000 * 2 ** n + 1000, 32_000), `wait ${n}: ${w}`));
  waits.length = 0;
  const longer = await failure(requester(8).call('Google Calendar', 'x', () => Promise.reject(gaxiosError(500))));
  assert.equal(longer.type, ErrorType.Upstream);
  assert.ok(waits.at(-1)! <= 32_000 && waits.at(-2)! >= 32_000 - 1, 'truncated at 32 s');
  waits.length = 0;
  const auth = await failure(requester().call('Google Calendar', 'x', () => Promise.reject(gaxiosError(401, 'authError'))));
  assert.equal(auth.type, ErrorType.Auth);
  assert.equal(auth.nonRetryable, true);
  assert.equal(waits.length, 0);
  const forbidden = await failure(requester().call('Google Calendar', 'x', () => Promise.reject(gaxiosError(403, 'forbidden'))));
  assert.equal(forbidden.type, ErrorType.Auth);
  const oauth = await failure(requester().call('Google Calendar', 'x', () => Promise.reject(gaxiosError(400, undefined, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }))));
  assert.equal(oauth.type, ErrorType.Auth);
  assert.match(oauth.message, /ada@acme\.test.*token endpoint refused.*invalid_grant.*check delegation/);
  assert.doesNotMatch(oauth.message, /secret-refresh/);
  const bad = await failure(requester().call('Google Calendar', 'x', () => Promise.reject(gaxiosError(400, 'invalid'))));
  assert.equal(bad.type, ErrorType.BadRequest);
  await assert.rejects(
    requester().call('Google Calendar', 'x', () => Promise.reject(gaxiosError(409, 'duplicate')), (e) => e.status === 409),
    (e: unknown) => e instanceof GoogleApiError && e.reason === 'duplicate' && !('config' in e),
  );
});

test('OAuth refresh-token credentials work too; refused credentials are a non-retryable AUTH_FAILED naming what to check', async () => {
  await withSetup({ users: [ADA], credentials: 'authorized_user' }, async ({ sb, connector, dir }) => {
    sb.calendar.seed(ADA, ADA, 3);
    const c = connector(ADA);
    assert.equal((await drain(c, null)).records.length, 3);
    assert.ok((await c.create(TYPE, [{ localId: randomUUID(), fields: meeting() }]))[0]!.ok);
    assert.ok(sb.stats.tokenRequests >= 1, 'the refresh went to GOOGLE_TOKEN_URL');
    sb.auth.revoke(ADA);
    const f = await failure(drain(c, null));
    assert.equal(f.type, ErrorType.Auth);
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /ada@acme\.test/);
    assert.match(f.message, /refresh token/);
    const creds = JSON.parse(readFileSync(join(dir, 'google-credentials.json'), 'utf8')) as { refresh_token: string; client_secret: string };
    assert.ok(!f.message.includes(creds.refresh_token) && !f.message.includes(creds.client_secret));
  });
  await withSetup({ users: [ADA, 'eve@elsewhere.test'] }, async ({ connector }) => {
    const f = await failure(drain(connector('eve@elsewhere.test'), null));
    assert.equal(f.type, ErrorType.Auth);
    assert.match(f.message, /eve@elsewhere\.test.*unauthorized_client.*domain-wide delegation/);
    assert.doesNotMatch(f.message, /PRIVATE KEY/);
  });
});

test('push channels: watch per calendar, notifications verified by the webhook handler, stop', async () => {
  await withSetup({}, async ({ sb, connector, cfg }) => {
    const team = sb.calendar.addCalendar(ADA, { summary: 'Team' });
    const c = connector(ADA);
    assert.deepEqual((await c.watchableResources!(TYPE)).sort(), [ADA, team.id].sort());

    const stored = new Map<string, StoredChannel>();
    const verdicts: { state: string; status: number; work: unknown }[] = [];
    const ctx: WebhookContext = { fresh: async (x) => new Set(x), channel: async (id) => stored.get(id) ?? null };
    const server = createServer((req, res) => {
      const headers = Object.fromEntries(Object.entries(req.headers));
      void googleWorkspace.webhooks!.handle({ method: 'POST', publicUrl: `http://x${req.url}`, headers, rawBody: '' }, ctx, cfg).then((v) => {
        verdicts.push({ state: String(req.headers['x-goog-resource-state']), status: v.status, work: v.work });
        res.writeHead(v.status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/google`;
      const token = randomUUID();
      const req = { resource: ADA, channelId: randomUUID(), token, address };
      // The engine stores the channel before Google's first message can arrive.
      const pending = c.openChannel!(TYPE, req);
      const ch = await pending;
      stored.set(ch.channelId, { ...ch, system: 'google_workspace', connection: ADA, entityType: TYPE, tokenHash: sha256Hex(token), stopped: false });
      assert.equal(ch.channelId, req.channelId);
      assert.equal(ch.resource, ADA);
      assert.ok(ch.resourceId);
      const ttl = Date.parse(ch.expiresAt) - Date.now();
      assert.ok(ttl > 6.9 * 86_400_000 && ttl <= 7 * 86_400_000, 'GOOGLE_CHANNEL_TTL_SECONDS (7 days)');
      await sb.channels.flush();
      sb.calendar.userInsert(ADA, ADA, { summary: 'ping', start: { date: '2026-12-24' }, end: { date: '2026-12-25' } });
      await sb.channels.flush();
      assert.deepEqual(verdicts.map((v) => [v.state, v.status]), [['sync', 200], ['exists', 200]]);
      assert.equal(verdicts[0]!.work, undefined);
      assert.deepEqual(verdicts[1]!.work, [{ connection: ADA, entityType: TYPE, incremental: true }]);
      await c.stopChannel!(TYPE, ch);
      await c.stopChannel!(TYPE, ch); // stopping twice is fine
      assert.equal(sb.channels.active().length, 0);
      assert.equal(googleConfig(cfg).channelTtlSeconds, 604_800);
    } finally {
      server.close();
    }
  });
});

test('webhook handler verdicts', async () => {
  const cfg = configFor({ SECRETS_DIR: '/nonexistent' });
  const channel = (over: Partial<StoredChannel> = {}): StoredChannel => ({
    channelId: 'ch-1',
    resourceId: 'res-1',
    resource: ADA,
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    system: 'google_workspace',
    connection: ADA,
    entityType: TYPE,
    tokenHash: sha256Hex('the-token'),
    stopped: false,
    ...over,
  });
  const channels: Record<string, StoredChannel> = {
    'ch-1': channel(),
    'ch-stopped': channel({ channelId: 'ch-stopped', stopped: true }),
    'ch-hubspot': channel({ channelId: 'ch-hubspot', system: 'hubspot' }),
  };
  const ctx: WebhookContext = { fresh: async (x) => new Set(x), channel: async (id) => channels[id] ?? null };
  const call = (h: Record<string, string | undefined>) =>
    googleWorkspace.webhooks!.handle({ method: 'POST', publicUrl: 'https://aurora.example.com/api/webhooks/google', rawBody: '', headers: h }, ctx, cfg);
  const good = { 'x-goog-channel-id': 'ch-1', 'x-goog-channel-token': 'the-token', 'x-goog-resource-id': 'res-1', 'x-goog-resource-state': 'exists', 'x-goog-message-number': '2' };

  assert.equal(googleWorkspace.webhooks!.path, 'google');
  const ok = await call(good);
  assert.equal(ok.status, 200);
  assert.equal(ok.outcome, 'accepted');
  assert.deepEqual(ok.work, [{ connection: ADA, entityType: TYPE, incremental: true }]);
  const sync = await call({ ...good, 'x-goog-resource-state': 'sync' });
  assert.equal(sync.status, 200);
  assert.equal(sync.outcome, 'accepted');
  assert.equal(sync.work, undefined);
  assert.deepEqual((await call({ ...good, 'x-goog-resource-state': 'not_exists' })).work, ok.work);

  for (const [h, status, outcome] of [
    [{ ...good, 'x-goog-channel-token': 'forged' }, 401, 'bad_signature'],
    [{ ...good, 'x-goog-resource-id': 'res-2' }, 401, 'bad_signature'],
    [{ ...good, 'x-goog-channel-id': 'ch-unknown' }, 404, 'unknown_channel'],
    [{ ...good, 'x-goog-channel-id': 'ch-stopped' }, 404, 'unknown_channel'],
    [{ ...good, 'x-goog-channel-id': 'ch-hubspot' }, 404, 'unknown_channel'],
    [{ ...good, 'x-goog-channel-token': undefined }, 400, 'malformed'],
    [{ ...good, 'x-goog-resource-state': undefined }, 400, 'malformed'],
    [{}, 400, 'malformed'],
  ] as const) {
    const v = await call(h);
    assert.equal(v.status, status, JSON.stringify(h));
    assert.equal(v.outcome, outcome);
    assert.equal(v.work, undefined);
  }
});

test('configuration: credentials file, users, what is not configured; no key material in messages', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurora-google-cfg-'));
  const sb = await startGoogleSandbox({ users: [ADA] });
  try {
    const env = (over: Record<string, string> = {}) => ({ SECRETS_DIR: dir, ...over });
    const none = configFor(env({ GOOGLE_USERS: ADA }));
    const nc = googleWorkspace.connections(none);
    assert.ok('notConfigured' in nc && /google-credentials\.json/.test(nc.notConfigured) && /GOOGLE_USERS/.test(nc.notConfigured));

    const key = sb.auth.serviceAccount();
    writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify(key));
    assert.throws(() => configFor(env()), (e: unknown) => e instanceof ConfigError && /GOOGLE_USERS/.test(e.message));
    const ok = configFor(env({ GOOGLE_USERS: ` ${ADA.toUpperCase()}, ${BOB} `, GOOGLE_API_ROOT_URL: sb.url.replace(/\/$/, '') }));
    assert.deepEqual(googleWorkspace.connections(ok), { connections: [ADA, BOB] });
    const g = googleConfig(ok);
    assert.equal(g.apiRootUrl, sb.url, 'rootUrl ends with /');
    assert.equal(g.calendar.sendUpdates, 'none');
    assert.equal(g.quotaPerUserPerMinute, 600);
    assert.doesNotMatch(JSON.stringify(ok.systems), /PRIVATE KEY/, 'key material does not serialise');

    writeFileSync(join(dir, 'google-credentials.json'), '{not json');
    assert.throws(() => configFor(env({ GOOGLE_USERS: ADA })), (e: unknown) => e instanceof ConfigError && /GOOGLE_CREDENTIALS_PATH/.test(e.message));
    writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify({ ...key, private_key: 'garbage-key-material' }));
    assert.throws(() => configFor(env({ GOOGLE_USERS: ADA })), (e: unknown) => e instanceof ConfigError && /private_key/.test(e.message) && !/garbage-key-material/.test(e.message));
    writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify({ type: 'authorized_user', ...sb.auth.oauthClient(ADA) }));
    assert.throws(() => configFor(env({ GOOGLE_USERS: `${ADA},${BOB}` })), (e: unknown) => e instanceof ConfigError && /exactly/.test(e.message));
    assert.throws(() => configFor(env({ GOOGLE_USERS: ADA, GOOGLE_CALENDAR_SEND_UPDATES: 'everyone' })), (e: unknown) => e instanceof ConfigError && /GOOGLE_CALENDAR_SEND_UPDATES/.test(e.message));
    assert.throws(() => configFor(env({ GOOGLE_USERS: 'not-an-email' })), (e: unknown) => e instanceof ConfigError && /GOOGLE_USERS/.test(e.message));
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify(key));
    assert.deepEqual(googleWorkspace.connections(configFor(env({ GOOGLE_USERS: ADA, GOOGLE_CREDENTIALS_PATH: elsewhere }))), { connections: [ADA] });
    assert.ok('notConfigured' in googleWorkspace.connections(configFor(env({ GOOGLE_USERS: ADA, GOOGLE_CREDENTIALS_PATH: join(dir, 'missing.json') }))));
  } finally {
    await sb.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration: calendar_events is tracked; attendees are linked to contacts by email', async () => {
  const conn = { host: process.env.POSTGRES_HOST ?? '127.0.0.1', port: Number(process.env.POSTGRES_PORT ?? 5432), user: process.env.POSTGRES_USER ?? 'aurora_app', password: process.env.POSTGRES_PASSWORD };
  const name = `aurora_gw_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new Pool({ ...conn, database: process.env.POSTGRES_DB ?? 'aurora_unified', max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const db = new Pool({ ...conn, database: name, max: 1 });
  db.on('error', () => undefined); // the drop below ends its idle connection
  try {
    const core = join(__dirname, '../src/store/migrations');
    for (const f of readdirSync(core).filter((x) => x.endsWith('.sql')).sort()) await db.query(readFileSync(join(core, f), 'utf8'));
    const mine = googleWorkspace.migrationsDir!;
    for (const f of readdirSync(mine).filter((x) => x.endsWith('.sql')).sort()) {
      await db.query(readFileSync(join(mine, f), 'utf8'));
      await db.query(readFileSync(join(mine, f), 'utf8')); // re-runnable
    }
    const cols = (await db.query<{ column_name: string; data_type: string }>(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'calendar_events'`)).rows;
    const type = Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]));
    for (const [field, kind] of Object.entries(googleWorkspace.entities[0]!.fields)) {
      const want = { text: 'text', email: 'text', timestamp: 'timestamp with time zone', date: 'date', json: 'jsonb' }[kind as string];
      assert.equal(type[field], want, field);
    }
    assert.equal(type.mailbox, 'text');

    const [ana] = (await db.query<{ id: string }>(`INSERT INTO contacts (email, first_name) VALUES ('Ana@Example.com', 'Ana') RETURNING id`)).rows;
    const attendees = JSON.stringify([{ email: 'ana@example.com', responseStatus: 'accepted', displayName: 'Ana' }, { email: 'zoe@example.com', responseStatus: 'needsAction' }]);
    const [ev] = (await db.query<{ id: string; version: number }>(`INSERT INTO calendar_events (mailbox, summary, attendees) VALUES ($1, 'Kickoff', $2) RETURNING id, version`, [ADA, attendees])).rows;
    const rows = async () => (await db.query(`SELECT email, response_status, display_name, contact_id FROM calendar_event_attendees WHERE event_id = $1 ORDER BY email`, [ev!.id])).rows;
    assert.deepEqual(await rows(), [
      { email: 'ana@example.com', response_status: 'accepted', display_name: 'Ana', contact_id: ana!.id },
      { email: 'zoe@example.com', response_status: 'needsAction', display_name: null, contact_id: null },
    ]);
    // A contact appears later: linked. Every event with a contact is one indexed lookup.
    const [zoe] = (await db.query<{ id: string }>(`INSERT INTO contacts (email) VALUES ('zoe@example.com') RETURNING id`)).rows;
    assert.equal((await rows())[1]!.contact_id, zoe!.id);
    assert.equal(Number((await db.query(`SELECT count(*) FROM calendar_event_attendees WHERE contact_id = $1`, [zoe!.id])).rows[0].count), 1);
    // The contact is deleted (soft): unlinked. Its email changes: relinked.
    await db.query(`UPDATE contacts SET deleted_at = NOW() WHERE id = $1`, [zoe!.id]);
    assert.equal((await rows())[1]!.contact_id, null);
    await db.query(`UPDATE contacts SET email = 'ana@other.com' WHERE id = $1`, [ana!.id]);
    assert.equal((await rows())[0]!.contact_id, null);
    // The attendee table is derived, not tracked: the event's version moves only with the event.
    const v = async () => (await db.query<{ version: number }>(`SELECT version FROM calendar_events WHERE id = $1`, [ev!.id])).rows[0]!.version;
    assert.equal(await v(), 1);
    await db.query(`UPDATE calendar_events SET attendees = $2 WHERE id = $1`, [ev!.id, JSON.stringify([{ email: 'ZOE@example.com', responseStatus: 'declined' }])]);
    assert.equal(await v(), 2);
    assert.deepEqual((await rows()).map((r) => [r.email, r.response_status]), [['zoe@example.com', 'declined']]);
    await db.query(`UPDATE calendar_events SET deleted_at = NOW() WHERE id = $1`, [ev!.id]);
    assert.deepEqual(await rows(), [], 'a deleted event has no attendees');
  } finally {
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
});
