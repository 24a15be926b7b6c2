/**
 * Pure mappers between Calendar v3 Event resources and Aurora's canonical calendar_event records,
 * and the event ids the engine derives from Aurora ids. No I/O.
 *
 * Canonical form (both sides compare equal after Google answers):
 * - timed events: `start_at`/`end_at` as UTC instants plus `start_time_zone`/`end_time_zone` (the
 *   IANA zone Google keeps, null when the event has none); all-day events: `start_date`/`end_date`
 *   (the end date is exclusive, as in Google);
 * - `attendees`: [{email (lower-cased), displayName?, responseStatus, optional?: true, organizer?: true}]
 *   sorted by email; `reminders`: {useDefault, overrides?} with overrides sorted; `recurrence`:
 *   the RRULE/EXRULE/RDATE/EXDATE lines in Google's (= the sender's) order; empty lists are null;
 * - Google's defaults are null, as a local row that never set them has it: transparency 'opaque'
 *   and visibility 'default' (which Google omits), reminders {useDefault: true} without overrides;
 *   status is always given ('confirmed' when Google leaves it out).
 */
import type { calendar_v3 } from 'googleapis/build/src/apis/calendar';
import { canonicalize, normalizeValue, type Canonical } from '../../../core/model';
import type { ExternalRecord } from '../../types';
import { CALENDAR_BODY_FIELDS, CALENDAR_EVENT } from './entities';

export type GoogleEvent = calendar_v3.Schema$Event;
type EventDateTime = calendar_v3.Schema$EventDateTime;

/** A local value Google cannot take (reported as that record's write error). */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

export interface CanonicalAttendee {
  email: string;
  displayName?: string;
  responseStatus: string;
  optional?: true;
  organizer?: true;
}

export interface CanonicalReminders {
  useDefault: boolean;
  overrides?: { method: string; minutes: number }[];
}

const nonEmpty = (s: unknown): string | undefined => (typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined);

export function canonicalAttendees(list: readonly unknown[] | null | undefined): CanonicalAttendee[] | null {
  const byEmail = new Map<string, CanonicalAttendee>();
  for (const raw of list ?? []) {
    const a = (typeof raw === 'string' ? { email: raw } : raw) as calendar_v3.Schema$EventAttendee | null;
    const email = nonEmpty(a?.email)?.toLowerCase();
    if (!a || !email || byEmail.has(email)) continue;
    const out: CanonicalAttendee = { email, responseStatus: nonEmpty(a.responseStatus) ?? 'needsAction' };
    const name = nonEmpty(a.displayName);
    if (name) out.displayName = name;
    if (a.optional === true) out.optional = true;
    if (a.organizer === true) out.organizer = true;
    byEmail.set(email, out);
  }
  const sorted = [...byEmail.values()].sort((x, y) => (x.email < y.email ? -1 : x.email > y.email ? 1 : 0));
  return sorted.length ? sorted : null;
}

export function canonicalReminders(r: calendar_v3.Schema$Event['reminders'] | CanonicalReminders | null | undefined): CanonicalReminders | null {
  if (!r || typeof r !== 'object') return null;
  const out: CanonicalReminders = { useDefault: r.useDefault === true };
  const overrides = (r.overrides ?? [])
    .filter((o): o is { method: string; minutes: number } => typeof o?.method === 'string' && Number.isFinite(Number(o.minutes)))
    .map((o) => ({ method: o.method, minutes: Number(o.minutes) }))
    .sort((a, b) => a.minutes - b.minutes || (a.method < b.method ? -1 : a.method > b.method ? 1 : 0));
  if (overrides.length) out.overrides = overrides;
  // The calendar's default reminders: what a record that never set any has.
  return out.useDefault && !out.overrides ? null : out;
}

export function canonicalRecurrence(lines: readonly unknown[] | null | undefined): string[] | null {
  // Order kept: Google stores the lines as sent, so a local list round-trips as it is.
  const out = (lines ?? []).map(nonEmpty).filter((l): l is string => l !== undefined);
  return out.length ? out : null;
}

/** The video link people join with: Meet's hangoutLink, else the conference's video entry point. */
function conferenceLink(e: GoogleEvent): string | null {
  return nonEmpty(e.hangoutLink) ?? nonEmpty(e.conferenceData?.entryPoints?.find((p) => p.entryPointType === 'video')?.uri) ?? null;
}

/** A Google event (as events.list/get/insert/patch answer) in the canonical form of its calendar. */
export function toCanonical(e: GoogleEvent, calendarId: string | null): Canonical {
  const allDayStart = Boolean(e.start?.date);
  const allDayEnd = Boolean(e.end?.date);
  return canonicalize(CALENDAR_EVENT, {
    calendar_id: calendarId,
    summary: e.summary,
    description: e.description,
    location: e.location,
    start_at: allDayStart ? null : e.start?.dateTime,
    end_at: allDayEnd ? null : e.end?.dateTime,
    start_date: allDayStart ? e.start?.date : null,
    end_date: allDayEnd ? e.end?.date : null,
    start_time_zone: e.start?.timeZone,
    end_time_zone: e.end?.timeZone,
    status: e.status ?? 'confirmed',
    organizer_email: e.organizer?.email,
    attendees: canonicalAttendees(e.attendees),
    reminders: canonicalReminders(e.reminders),
    recurrence: canonicalRecurrence(e.recurrence),
    conference_link: conferenceLink(e),
    html_link: e.htmlLink,
    ical_uid: e.iCalUID,
    recurring_event_id: e.recurringEventId,
    transparency: e.transparency === 'opaque' ? null : e.transparency,
    visibility: e.visibility === 'default' ? null : e.visibility,
  });
}

export function toExternalRecord(e: GoogleEvent, calendarId: string): ExternalRecord {
  const rec: ExternalRecord = {
    externalId: e.id!,
    fields: toCanonical(e, calendarId),
    updatedAt: normalizeValue('timestamp', e.updated) ?? new Date().toISOString(),
    auroraId: e.id ? auroraIdOf(e.id) : null,
    archived: e.status === 'cancelled',
  };
  if (rec.archived) rec.archivedAt = rec.updatedAt;
  if (e.etag) rec.etag = e.etag;
  return rec;
}

function parseJson(field: string, value: string | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidEventError(`${field} is not valid JSON`);
  }
}

function attendeesOut(value: string | null | undefined): calendar_v3.Schema$EventAttendee[] | null {
  const parsed = parseJson('attendees', value);
  if (parsed === null) return null;
  if (!Array.isArray(parsed)) throw new InvalidEventError('attendees must be a JSON list of {email, displayName?, responseStatus?, optional?}');
  const list = canonicalAttendees(parsed);
  if (parsed.length && !list) throw new InvalidEventError('attendees: every attendee needs an email');
  // `organizer` is read-only in Google: not sent.
  return (list ?? []).map(({ organizer: _organizer, ...a }) => a);
}

function remindersOut(value: string | null | undefined): calendar_v3.Schema$Event['reminders'] {
  const parsed = parseJson('reminders', value);
  if (parsed === null) return { useDefault: true, overrides: null as never };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidEventError('reminders must be a JSON object {useDefault, overrides?}');
  const r = canonicalReminders(parsed as CanonicalReminders) ?? { useDefault: true };
  // Objects merge in a patch: an override list that is not wanted any more must be cleared explicitly.
  return { useDefault: r.useDefault, overrides: (r.overrides ?? null) as never };
}

function recurrenceOut(value: string | null | undefined): string[] | null {
  const parsed = parseJson('recurrence', value);
  if (parsed === null) return null;
  if (!Array.isArray(parsed) || parsed.some((l) => typeof l !== 'string')) throw new InvalidEventError('recurrence must be a JSON list of RRULE/EXDATE lines');
  return canonicalRecurrence(parsed);
}

export interface ToGoogleOptions {
  /** the time zone a recurring timed event without one is expanded in (the calendar's; default UTC) */
  defaultTimeZone?: string;
}

/**
 * The Event body for insert (all fields) or patch (`changed`: only those). Null values clear the
 * field in a patch (see `forInsert` for inserts). Read-only fields and calendar_id are never sent.
 * Switching between all-day and timed sends the other key as null; recurring timed events always
 * carry a time zone on start and end.
 */
export function toGoogleEvent(fields: Canonical, changed?: readonly string[], opts: ToGoogleOptions = {}): GoogleEvent {
  const want = (f: string) => (changed ? changed.includes(f) : CALENDAR_BODY_FIELDS.includes(f));
  const v = (f: string): string | null => fields[f] ?? null;
  const body: GoogleEvent = {};
  for (const f of ['summary', 'description', 'location'] as const) if (want(f)) body[f] = v(f);
  if (want('status')) body.status = v('status') === 'tentative' ? 'tentative' : 'confirmed';
  if (want('transparency')) body.transparency = v('transparency');
  if (want('visibility')) body.visibility = v('visibility');
  // (the generated types do not admit null for lists, but Google's patch clears a field sent as null)
  if (want('attendees')) body.attendees = attendeesOut(v('attendees')) as never;
  if (want('reminders')) body.reminders = remindersOut(v('reminders'));
  const recurrence = recurrenceOut(v('recurrence'));
  if (want('recurrence')) body.recurrence = recurrence;

  const edge = (side: 'start' | 'end'): EventDateTime | null => {
    const at = v(`${side}_at`);
    const date = v(`${side}_date`);
    const tz = v(`${side}_time_zone`);
    let allDay: boolean;
    if (at && date) {
      // Both set: the one that changed wins (a local switch that forgot to clear the other).
      const atChanged = changed?.includes(`${side}_at`) ?? false;
      const dateChanged = changed?.includes(`${side}_date`) ?? false;
      if (atChanged === dateChanged) throw new InvalidEventError(`both ${side}_at and ${side}_date are set: clear one (timed or all-day)`);
      allDay = dateChanged;
    } else if (date) allDay = true;
    else if (at) allDay = false;
    else return null;
    if (allDay) return { date, dateTime: null, timeZone: tz };
    return { dateTime: at, date: null, timeZone: tz ?? (recurrence ? (opts.defaultTimeZone ?? 'UTC') : null) };
  };
  const edgeChanged = (side: string) => want(`${side}_at`) || want(`${side}_date`) || want(`${side}_time_zone`);
  const start = edge('start');
  const end = edge('end');
  // Google refuses a recurring timed event whose start or end lacks a time zone.
  const recurringTimed = recurrence !== null && (Boolean(start?.dateTime) || Boolean(end?.dateTime));
  const timingTouched = edgeChanged('start') || edgeChanged('end') || want('recurrence');
  if (start && (edgeChanged('start') || (recurringTimed && timingTouched))) body.start = start;
  if (end && (edgeChanged('end') || (recurringTimed && timingTouched))) body.end = end;
  return body;
}

/** An insert body: what a patch would clear is simply left out. */
export function forInsert(body: GoogleEvent): GoogleEvent {
  const strip = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(o)
        .filter(([, x]) => x !== null && x !== undefined)
        .map(([k, x]) => [k, x && typeof x === 'object' && !Array.isArray(x) ? strip(x as Record<string, unknown>) : x]),
    );
  return strip(body as Record<string, unknown>) as GoogleEvent;
}

// ---- event ids derived from Aurora ids ---------------------------------------------------------
//
// Calendar accepts client-chosen ids of 5-1024 characters from base32hex (a-v, 0-9). A UUID (the
// default Aurora id) becomes 'aurora0' + base32hex of its 16 bytes (33 characters); any other id
// 'aurora1' + base32hex of its UTF-8 bytes. Both are reversible; Google's own ids (random base32hex,
// or `<id>_<start>` for instances) never decode, so they map back to null.

const B32HEX = '0123456789abcdefghijklmnopqrstuv';
const UUID_PREFIX = 'aurora0';
const TEXT_PREFIX = 'aurora1';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_EVENT_ID = 1024;

export function base32hex(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32HEX[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32HEX[(acc << (5 - bits)) & 31];
  return out;
}

/** The bytes of a canonical (unpadded, minimal) base32hex text; null for anything else. */
export function fromBase32hex(text: string): Uint8Array | null {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const i = B32HEX.indexOf(ch);
    if (i < 0) return null;
    acc = ((acc << 5) | i) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const bytes = Uint8Array.from(out);
  return base32hex(bytes) === text ? bytes : null;
}

export function eventIdFor(auroraId: string): string {
  let id: string;
  if (UUID_RE.test(auroraId)) {
    id = UUID_PREFIX + base32hex(Uint8Array.from(auroraId.replace(/-/g, '').match(/../g)!.map((h) => parseInt(h, 16))));
  } else {
    id = TEXT_PREFIX + base32hex(new TextEncoder().encode(auroraId));
  }
  if (auroraId === '' || id.length > MAX_EVENT_ID) throw new InvalidEventError(`the Aurora id is empty or too long to derive a Calendar event id (${auroraId.length} characters)`);
  return id;
}

/** The Aurora id an event id was derived from, or null for an id Google (or someone else) chose. */
export function auroraIdOf(eventId: string): string | null {
  if (eventId.startsWith(UUID_PREFIX)) {
    const bytes = fromBase32hex(eventId.slice(UUID_PREFIX.length));
    if (!bytes || bytes.length !== 16) return null;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  if (eventId.startsWith(TEXT_PREFIX)) {
    const bytes = fromBase32hex(eventId.slice(TEXT_PREFIX.length));
    if (!bytes || bytes.length === 0) return null;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      // 'aurora1' + a UUID's text would be a second id for the same Aurora id: not one we make.
      return UUID_RE.test(text) ? null : text;
    } catch {
      return null;
    }
  }
  return null;
}
