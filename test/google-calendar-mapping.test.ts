/**
 * The pure Calendar mappers: Google event ↔ canonical record, the bodies sent for insert and patch,
 * and the event ids derived from Aurora ids. "Google answers" are simulated by applying a body with
 * Calendar's patch semantics (objects merge, arrays replace, null clears) and formatting instants
 * in the event's time zone, as Google does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalize, type Canonical } from '../src/core/model';
import { CALENDAR_EVENT, CALENDAR_READ_ONLY_FIELDS } from '../src/connectors/google_workspace/calendar/entities';
import {
  auroraIdOf,
  base32hex,
  eventIdFor,
  forInsert,
  fromBase32hex,
  InvalidEventError,
  toCanonical,
  toGoogleEvent,
  type GoogleEvent,
} from '../src/connectors/google_workspace/calendar/mapping';

const CAL = 'ada@acme.test';

/** An instant as Google writes it in a zone: local wall time plus the zone's offset. */
function inZone(iso: string, timeZone: string): string {
  const d = new Date(iso);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset' })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName!.replace('GMT', '');
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) {
      out[k] = merge(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

/** Google's answer to a patch (or, from {}, an insert): merged, with instants in the event's zone. */
function googleApplies(event: GoogleEvent, body: GoogleEvent): GoogleEvent {
  const e = merge(event as Record<string, unknown>, body as Record<string, unknown>) as GoogleEvent;
  // Google marks the organizer's attendee entry itself (the flag is read-only).
  for (const a of e.attendees ?? []) if (e.organizer?.email && a.email === e.organizer.email) a.organizer = true;
  for (const side of ['start', 'end'] as const) {
    const edge = e[side];
    if (edge?.dateTime) edge.dateTime = inZone(edge.dateTime, edge.timeZone ?? 'UTC');
  }
  return e;
}

function roundTrip(event: GoogleEvent): { first: Canonical; second: Canonical; body: GoogleEvent } {
  const first = toCanonical(event, CAL);
  const body = toGoogleEvent(first);
  const second = toCanonical(googleApplies({ id: event.id, htmlLink: event.htmlLink, iCalUID: event.iCalUID, organizer: event.organizer }, forInsert(body)), CAL);
  return { first, second, body };
}

test('timed events in several zones: UTC instants plus the zone, equal after Google answers', () => {
  const cases: [string, string, string, string][] = [
    ['2024-03-10T09:00:00-04:00', 'America/New_York', '2024-03-10T10:30:00-04:00', 'America/New_York'], // the DST switch day
    ['2024-06-01T09:30:00+05:30', 'Asia/Kolkata', '2024-06-01T10:00:00+05:30', 'Asia/Kolkata'],
    ['2024-01-15T08:00:00+13:45', 'Pacific/Chatham', '2024-01-15T09:00:00+13:45', 'Pacific/Chatham'],
    ['2024-05-05T12:00:00Z', 'UTC', '2024-05-05T13:00:00Z', 'UTC'],
    // a flight: leaves Berlin, lands in Los Angeles
    ['2024-09-01T10:00:00+02:00', 'Europe/Berlin', '2024-09-01T13:00:00-07:00', 'America/Los_Angeles'],
  ];
  for (const [start, sz, end, ez] of cases) {
    const event: GoogleEvent = { id: 'e1', status: 'confirmed', summary: 'Sync', start: { dateTime: start, timeZone: sz }, end: { dateTime: end, timeZone: ez } };
    const { first, second, body } = roundTrip(event);
    assert.equal(first.start_at, new Date(start).toISOString());
    assert.equal(first.end_at, new Date(end).toISOString());
    assert.equal(first.start_time_zone, sz);
    assert.equal(first.end_time_zone, ez);
    assert.equal(first.start_date, null);
    assert.deepEqual(body.start, { dateTime: first.start_at, date: null, timeZone: sz });
    assert.deepEqual(second, first, `${sz} → ${ez}`);
  }
  // No zone on a single event: none is invented.
  const plain = roundTrip({ id: 'e2', start: { dateTime: '2024-02-02T10:00:00+01:00' }, end: { dateTime: '2024-02-02T11:00:00+01:00' } });
  assert.equal(plain.first.start_time_zone, null);
  assert.deepEqual(plain.body.start, { dateTime: '2024-02-02T09:00:00.000Z', date: null, timeZone: null });
  assert.deepEqual(plain.second, plain.first);
});

test('all-day and multi-day events keep their dates (end exclusive)', () => {
  for (const [s, e] of [['2024-07-04', '2024-07-05'], ['2024-12-30', '2025-01-02'], ['2024-02-28', '2024-03-01']]) {
    const { first, second, body } = roundTrip({ id: 'd1', summary: 'Offsite', start: { date: s }, end: { date: e } });
    assert.equal(first.start_date, s);
    assert.equal(first.end_date, e);
    assert.equal(first.start_at, null);
    assert.equal(first.end_at, null);
    assert.deepEqual(body.start, { date: s, dateTime: null, timeZone: null });
    assert.deepEqual(forInsert(body).start, { date: s }, 'an insert carries no nulls');
    assert.deepEqual(second, first);
  }
});

test('recurring events: RRULE/EXDATE lines kept as they are; timed ones always carry a time zone', () => {
  const event: GoogleEvent = {
    id: 'r1',
    summary: 'Standup',
    recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20241231T235959Z', 'EXDATE;TZID=Europe/Paris:20240603T093000'],
    start: { dateTime: '2024-05-06T09:30:00+02:00', timeZone: 'Europe/Paris' },
    end: { dateTime: '2024-05-06T09:45:00+02:00', timeZone: 'Europe/Paris' },
  };
  const { first, second } = roundTrip(event);
  assert.deepEqual(JSON.parse(first.recurrence!), event.recurrence);
  assert.deepEqual(second, first);
  assert.equal(toCanonical({ ...event, recurrence: [' ', ...event.recurrence!.map((l) => ` ${l} `)] }, CAL).recurrence, first.recurrence, 'blank lines and padding dropped');

  // Changing only the recurrence of a timed event still sends start and end with their zone.
  const patch = toGoogleEvent({ ...first, recurrence: JSON.stringify(['RRULE:FREQ=DAILY;COUNT=5']) }, ['recurrence']);
  assert.deepEqual(Object.keys(patch).sort(), ['end', 'recurrence', 'start']);
  assert.equal(patch.start!.timeZone, 'Europe/Paris');
  // ... and a recurring timed event without a zone gets the calendar's.
  const noZone = toGoogleEvent({ ...first, start_time_zone: null, end_time_zone: null }, ['start_at'], { defaultTimeZone: 'Asia/Tokyo' });
  assert.equal(noZone.start!.timeZone, 'Asia/Tokyo');
  assert.equal(noZone.end!.timeZone, 'Asia/Tokyo');
  assert.equal(toGoogleEvent({ ...first, start_time_zone: null }, ['start_at']).start!.timeZone, 'UTC', 'default UTC');
  // Recurring all-day: dates, no zone needed.
  const allDay = roundTrip({ id: 'r2', recurrence: ['RRULE:FREQ=YEARLY'], start: { date: '2024-04-01' }, end: { date: '2024-04-02' } });
  assert.deepEqual(allDay.second, allDay.first);
  assert.equal(allDay.body.start!.timeZone, null);
});

test('attendees: lower-cased, deduplicated, sorted by email; organizer flag read, not sent', () => {
  const event: GoogleEvent = {
    id: 'a1',
    organizer: { email: 'ada@acme.test' },
    start: { dateTime: '2024-05-06T09:00:00Z' },
    end: { dateTime: '2024-05-06T10:00:00Z' },
    attendees: [
      { email: 'Zed@Example.com', responseStatus: 'accepted', displayName: 'Zed' },
      { email: 'ada@acme.test', responseStatus: 'accepted', organizer: true, self: true },
      { email: 'bob@example.com', optional: true },
      { email: 'ZED@example.com', responseStatus: 'declined' },
      { email: '' },
    ],
  };
  const c = toCanonical(event, CAL);
  assert.deepEqual(JSON.parse(c.attendees!), [
    { email: 'ada@acme.test', organizer: true, responseStatus: 'accepted' },
    { email: 'bob@example.com', optional: true, responseStatus: 'needsAction' },
    { displayName: 'Zed', email: 'zed@example.com', responseStatus: 'accepted' },
  ]);
  // Order on Google's side does not matter.
  const unique = event.attendees!.filter((a) => a.email !== 'ZED@example.com');
  assert.equal(toCanonical({ ...event, attendees: [...unique].reverse() }, CAL).attendees, c.attendees);
  const sent = toGoogleEvent(c, ['attendees']).attendees!;
  assert.deepEqual(sent.map((a) => a.email), ['ada@acme.test', 'bob@example.com', 'zed@example.com']);
  assert.ok(sent.every((a) => !('organizer' in a)), 'organizer is read-only');
  // Local attendees may be plain emails.
  assert.deepEqual(toGoogleEvent({ attendees: JSON.stringify(['X@Y.com']) }, ['attendees']).attendees, [{ email: 'x@y.com', responseStatus: 'needsAction' }]);
  const { first, second } = roundTrip(event);
  assert.deepEqual(second.attendees, first.attendees);
});

test('reminders: overrides sorted; null (the calendar default) sends useDefault and clears overrides', () => {
  const event: GoogleEvent = {
    id: 'm1',
    start: { date: '2024-05-06' },
    end: { date: '2024-05-07' },
    reminders: { useDefault: false, overrides: [{ method: 'popup', minutes: 30 }, { method: 'email', minutes: 1440 }, { method: 'email', minutes: 30 }] },
  };
  const c = toCanonical(event, CAL);
  assert.deepEqual(JSON.parse(c.reminders!), {
    overrides: [{ method: 'email', minutes: 30 }, { method: 'popup', minutes: 30 }, { method: 'email', minutes: 1440 }],
    useDefault: false,
  });
  const { first, second } = roundTrip(event);
  assert.deepEqual(second, first);
  assert.deepEqual(toGoogleEvent({ ...c, reminders: null }, ['reminders']).reminders, { useDefault: true, overrides: null });
  // Back to defaults through a patch: Google merges objects, so the overrides must be cleared explicitly.
  const after = googleApplies(event, toGoogleEvent({ ...c, reminders: '{"useDefault":true}' }, ['reminders']));
  assert.deepEqual(after.reminders, { useDefault: true });
  assert.equal(toCanonical(after, CAL).reminders, null, 'the default is null, as a local row that never set reminders');
  const restored = googleApplies(after, toGoogleEvent({ ...c, reminders: null }, ['reminders']));
  assert.equal(toCanonical(restored, CAL).reminders, null);
});

test('a patch sends only the changed fields; null clears; read-only fields are never sent', () => {
  const base = toCanonical(
    {
      id: 'p1',
      summary: 'Review',
      description: 'Agenda',
      location: 'Room 1',
      start: { dateTime: '2024-05-06T09:00:00Z' },
      end: { dateTime: '2024-05-06T10:00:00Z' },
      hangoutLink: 'https://meet.google.com/abc-defg-hij',
      htmlLink: 'https://calendar.google.com/event?eid=x',
      iCalUID: 'p1@google.com',
      organizer: { email: CAL },
    },
    CAL,
  );
  assert.equal(base.conference_link, 'https://meet.google.com/abc-defg-hij');
  assert.equal(base.status, 'confirmed', "Google's omitted default spelled out");
  assert.equal(base.transparency, null, "Google's defaults are null");
  assert.equal(base.visibility, null);
  assert.equal(base.reminders, null);
  assert.equal(toCanonical({ id: 'p1', transparency: 'transparent', visibility: 'private', reminders: { useDefault: true } }, CAL).transparency, 'transparent');
  assert.deepEqual(toGoogleEvent({ ...base, summary: 'Review 2' }, ['summary']), { summary: 'Review 2' });
  assert.deepEqual(toGoogleEvent({ ...base, description: null, location: null }, ['description', 'location']), { description: null, location: null });
  const all = toGoogleEvent(base);
  for (const f of ['hangoutLink', 'htmlLink', 'iCalUID', 'organizer', 'conferenceData', 'recurringEventId', 'id']) assert.ok(!(f in all), `${f} not sent`);
  assert.deepEqual(toGoogleEvent(base, [...CALENDAR_READ_ONLY_FIELDS, 'calendar_id']), {}, 'read-only changes send nothing');
  // A timed event that loses its zone sends it as null (cleared).
  assert.deepEqual(toGoogleEvent({ ...base, start_time_zone: null }, ['start_time_zone']).start, { dateTime: base.start_at, date: null, timeZone: null });
  // The video entry point when there is no Meet link.
  const zoom = toCanonical({ id: 'z', conferenceData: { entryPoints: [{ entryPointType: 'phone', uri: 'tel:+1' }, { entryPointType: 'video', uri: 'https://zoom.us/j/1' }] } }, CAL);
  assert.equal(zoom.conference_link, 'https://zoom.us/j/1');
  assert.equal(toGoogleEvent({ ...base, status: 'tentative' }, ['status']).status, 'tentative');
  assert.equal(toGoogleEvent({ ...base, transparency: 'transparent' }, ['transparency']).transparency, 'transparent');
});

test('switching all-day ↔ timed sends the other key as null', () => {
  const timed = toCanonical({ id: 's1', start: { dateTime: '2024-05-06T09:00:00+02:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-05-06T10:00:00+02:00', timeZone: 'Europe/Berlin' } }, CAL);
  const toAllDay: Canonical = { ...timed, start_at: null, end_at: null, start_date: '2024-05-06', end_date: '2024-05-07', start_time_zone: null, end_time_zone: null };
  const changed = ['start_at', 'end_at', 'start_date', 'end_date', 'start_time_zone', 'end_time_zone'];
  const body = toGoogleEvent(toAllDay, changed);
  assert.deepEqual(body, { start: { date: '2024-05-06', dateTime: null, timeZone: null }, end: { date: '2024-05-07', dateTime: null, timeZone: null } });
  const asGoogle = googleApplies({ id: 's1', start: { dateTime: '2024-05-06T09:00:00+02:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-05-06T10:00:00+02:00', timeZone: 'Europe/Berlin' } }, body);
  assert.deepEqual(asGoogle.start, { date: '2024-05-06' });
  assert.deepEqual(toCanonical(asGoogle, CAL), toAllDay);

  const back = toGoogleEvent(timed, changed);
  assert.deepEqual(back.start, { dateTime: '2024-05-06T07:00:00.000Z', date: null, timeZone: 'Europe/Berlin' });
  assert.deepEqual(toCanonical(googleApplies(asGoogle, back), CAL), timed);

  // A local switch that forgot to clear the old key: the changed one wins; unclear → refused.
  assert.deepEqual(toGoogleEvent({ ...timed, start_date: '2024-05-06' }, ['start_date']).start, { date: '2024-05-06', dateTime: null, timeZone: 'Europe/Berlin' });
  assert.throws(() => toGoogleEvent({ ...timed, start_date: '2024-05-06' }), InvalidEventError);
});

test('unusable local values are refused per record', () => {
  assert.throws(() => toGoogleEvent({ attendees: '"ada@acme.test"' }, ['attendees']), InvalidEventError);
  assert.throws(() => toGoogleEvent({ attendees: '[{"displayName":"no email"}]' }, ['attendees']), InvalidEventError);
  assert.throws(() => toGoogleEvent({ recurrence: '{"rule":1}' }, ['recurrence']), InvalidEventError);
  assert.throws(() => toGoogleEvent({ reminders: '[1]' }, ['reminders']), InvalidEventError);
});

test('canonical form agrees with the engine: canonicalize of the local row equals toCanonical', () => {
  const c = toCanonical(
    { id: 'k', summary: ' Padded ', organizer: { email: 'Ada@ACME.test' }, start: { dateTime: '2024-05-06T09:00:00+02:00' }, end: { dateTime: '2024-05-06T10:00:00+02:00' } },
    CAL,
  );
  assert.deepEqual(canonicalize(CALENDAR_EVENT, c), c, 'idempotent under the engine normalisation');
  assert.equal(c.summary, 'Padded');
  assert.equal(c.organizer_email, 'ada@acme.test');
  assert.deepEqual(Object.keys(c).sort(), Object.keys(CALENDAR_EVENT.fields).sort());
});

test('event ids derived from Aurora ids: valid for Calendar, reversible, never confused with Google ids', () => {
  // RFC 4648 base32hex vectors (lower case, unpadded)
  const vectors: [string, string][] = [['', ''], ['f', 'co'], ['fo', 'cpng'], ['foo', 'cpnmu'], ['foob', 'cpnmuog'], ['fooba', 'cpnmuoj1'], ['foobar', 'cpnmuoj1e8']];
  for (const [plain, enc] of vectors) {
    assert.equal(base32hex(new TextEncoder().encode(plain)), enc);
    assert.equal(new TextDecoder().decode(fromBase32hex(enc)!), plain);
  }
  assert.equal(fromBase32hex('cpnmuoj1e9'), null, 'non-zero trailing bits');
  assert.equal(fromBase32hex('w0'), null, 'outside the alphabet');

  const uuid = '3f2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5b';
  const id = eventIdFor(uuid);
  assert.match(id, /^[a-v0-9]{5,1024}$/);
  assert.equal(id.length, 33);
  assert.equal(eventIdFor(uuid), id, 'deterministic');
  assert.equal(auroraIdOf(id), uuid);
  assert.notEqual(eventIdFor('3f2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5c'), id);

  for (const other of ['evt-42', 'Ünïcødé id', '3F2B8C1E-9A4D-4E6F-8B7A-0C1D2E3F4A5B', 'a']) {
    const oid = eventIdFor(other);
    assert.match(oid, /^[a-v0-9]{5,1024}$/, other);
    assert.equal(auroraIdOf(oid), other);
  }
  // Google's own ids and recurring instances: not ours.
  for (const g of ['4m1hq0vtdm5k2f2bpg3b9u2oc8', '4m1hq0vtdm5k2f2bpg3b9u2oc8_20240506T070000Z', 'aurora0abc', 'aurora1', '_abc', eventIdFor(uuid) + '_20240506T070000Z']) {
    assert.equal(auroraIdOf(g), null, g);
  }
  // The text form of a UUID is not a second id for it.
  assert.equal(auroraIdOf('aurora1' + base32hex(new TextEncoder().encode(uuid))), null);
  assert.throws(() => eventIdFor(''), InvalidEventError);
  assert.throws(() => eventIdFor('x'.repeat(700)), InvalidEventError);
});
