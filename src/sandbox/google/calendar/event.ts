/**
 * The Event resource: validation and normalisation of request bodies (insert, update, the merged
 * document of a patch), patch merging, and rendering back to Google's JSON.
 *
 * Google behaviour worth knowing, reproduced here:
 *   - patch: objects merge, arrays replace, `null` clears; turning an all-day event into a timed one
 *     (or back) needs the other key set to null, else start has both `date` and `dateTime` → 400;
 *   - timed recurring events need `timeZone` on start and end (the RRULE expands in it);
 *   - `conferenceData` is ignored unless `conferenceDataVersion=1`, `attachments` unless
 *     `supportsAttachments=true`;
 *   - default values are omitted from responses (transparency opaque, visibility default,
 *     guestsCanInviteOthers true, …), and so are empty repeated fields;
 *   - `sequence` rises when start, end or recurrence change; a client may raise it, never lower it;
 *   - on an invitation (the calendar is not the organizer) only the attendee's own properties may
 *     change unless guestsCanModify: 403 forbiddenForNonOrganizer.
 */
import { GoogleError, invalid, required } from '../errors';
import { dateStartMs, formatDateTime, iso, isTimeZone, parseDate, parseDateTime, toInstant } from './time';
import type {
  ConferenceData,
  EventAttachment,
  EventAttendee,
  EventDateTime,
  EventReminders,
  EventStatus,
  ResponseStatus,
  SandboxEvent,
} from './types';

/** An event time as stored: a date, or an instant (the zone, if any, is kept for rendering). */
export type StoredTime = { date: string; timeZone?: string } | { dateTime: number; timeZone?: string };

export interface StoredPerson {
  email: string;
  displayName?: string;
}

export type StoredAttendee = Omit<EventAttendee, 'self' | 'organizer'>;

/** The writable, normalised state of an event. */
export interface EventData {
  status: EventStatus;
  summary?: string;
  description?: string;
  location?: string;
  colorId?: string;
  start: StoredTime;
  end: StoredTime;
  endTimeUnspecified?: true;
  recurrence?: string[];
  transparency?: 'transparent';
  visibility?: 'public' | 'private' | 'confidential';
  attendees?: StoredAttendee[];
  guestsCanInviteOthers?: false;
  guestsCanModify?: true;
  guestsCanSeeOtherGuests?: false;
  anyoneCanAddSelf?: true;
  conferenceData?: ConferenceData;
  reminders: EventReminders;
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  source?: { url: string; title?: string };
  attachments?: EventAttachment[];
}

export interface StoredEvent {
  id: string;
  /** insertion order in its calendar: the default list order, stable across modifications */
  ordinal: number;
  /** change sequence number of the last modification (drives sync tokens) */
  seq: number;
  created: number;
  updated: number;
  sequence: number;
  iCalUID: string;
  creator: StoredPerson;
  organizer: StoredPerson;
  /** set on a modified or cancelled instance of a recurring event (an exception) */
  recurringEventId?: string;
  originalStartTime?: StoredTime;
  data: EventData;
}

/** The calendar an event is rendered for. */
export interface CalendarView {
  id: string;
  owner: string;
  timeZone: string;
}

export interface WriteOptions {
  conferenceDataVersion: number;
  supportsAttachments: boolean;
  /** the current state (update/patch): what ignored fields keep */
  previous?: EventData;
  /** a fresh Meet code (`abc-defg-hij`) for conferenceData.createRequest */
  meetCode(): string;
}

const STATUSES: readonly EventStatus[] = ['confirmed', 'tentative', 'cancelled'];
const RESPONSES: readonly ResponseStatus[] = ['needsAction', 'declined', 'tentative', 'accepted'];
const EMAIL_RE = /^[^@\s]+@[^@\s]+$/;
const RECURRENCE_LINE = /^(RRULE|EXRULE):|^(RDATE|EXDATE)[:;]/i;
const FREQUENCIES = new Set(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);
const MAX_REMINDER_MINUTES = 40320;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---- patch -------------------------------------------------------------------------------------

/** Google's patch semantics: objects merge recursively, arrays and scalars replace, null deletes. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObject(v)) out[k] = mergePatch(out[k], v);
    else out[k] = v;
  }
  return out;
}

/** The writable part of a stored event as API JSON: the base a patch merges into. */
export function writableDocument(ev: StoredEvent, cal: CalendarView): Json {
  const d = ev.data;
  const doc: Json = { status: d.status, start: renderTime(d.start, cal.timeZone), end: renderTime(d.end, cal.timeZone) };
  const copy = <K extends keyof EventData>(k: K) => {
    if (d[k] !== undefined) doc[k] = structuredClone(d[k]);
  };
  (
    [
      'summary', 'description', 'location', 'colorId', 'endTimeUnspecified', 'recurrence', 'transparency', 'visibility',
      'attendees', 'guestsCanInviteOthers', 'guestsCanModify', 'guestsCanSeeOtherGuests', 'anyoneCanAddSelf',
      'conferenceData', 'reminders', 'extendedProperties', 'source', 'attachments',
    ] as const
  ).forEach(copy);
  return doc;
}

// ---- validation --------------------------------------------------------------------------------

function str(doc: Json, field: string): string | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid value for: ${field}`);
  return v;
}

function bool(doc: Json, field: string): boolean | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`Invalid value for: ${field}`);
  return v;
}

function parseTime(raw: unknown, which: 'start' | 'end', recurring: boolean): StoredTime {
  if (raw === undefined || raw === null) throw required(`Missing ${which} time.`);
  if (!isObject(raw)) throw invalid(`Invalid ${which} time.`);
  const { date, dateTime, timeZone } = raw;
  if (timeZone !== undefined && timeZone !== null && !isTimeZone(timeZone)) throw invalid(`Invalid time zone definition for ${which} time.`);
  const tz = typeof timeZone === 'string' ? timeZone : undefined;
  const hasDate = date !== undefined && date !== null;
  const hasDateTime = dateTime !== undefined && dateTime !== null;
  if (hasDate && hasDateTime) throw invalid(`Invalid ${which} time.`);
  if (!hasDate && !hasDateTime) throw required(`Missing ${which} time.`);
  if (hasDate) {
    if (typeof date !== 'string' || !parseDate(date)) throw invalid(`Invalid ${which} time.`);
    return tz ? { date, timeZone: tz } : { date };
  }
  const parsed = typeof dateTime === 'string' ? parseDateTime(dateTime) : undefined;
  if (!parsed) throw invalid(`Invalid ${which} time.`);
  if ((recurring && !tz) || (parsed.offsetMs === undefined && !tz)) throw invalid(`Missing time zone definition for ${which} time.`);
  // whole seconds, as Google keeps them (a patch round-trip must not look like a time change)
  const ms = Math.floor(toInstant(parsed, tz)! / 1000) * 1000;
  return tz ? { dateTime: ms, timeZone: tz } : { dateTime: ms };
}

function parseRecurrence(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid('Invalid recurrence rule.');
  for (const line of v) {
    if (typeof line !== 'string' || !RECURRENCE_LINE.test(line)) throw invalid('Invalid recurrence rule.');
    if (/^RRULE:/i.test(line)) {
      const freq = /(?:^RRULE:|;)FREQ=([A-Z]+)/i.exec(line)?.[1]?.toUpperCase();
      if (!freq || !FREQUENCIES.has(freq)) throw invalid('Invalid recurrence rule.');
    }
  }
  return v.length ? [...(v as string[])] : undefined;
}

function parseAttendees(v: unknown): StoredAttendee[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid('Invalid value for: attendees');
  const seen = new Set<string>();
  const out: StoredAttendee[] = [];
  for (const a of v) {
    if (!isObject(a) || typeof a.email !== 'string' || !EMAIL_RE.test(a.email.trim())) throw invalid('Invalid attendee email.');
    const email = a.email.trim();
    if (seen.has(email.toLowerCase())) continue; // Google drops duplicate attendees
    seen.add(email.toLowerCase());
    const rs = a.responseStatus ?? 'needsAction';
    if (!RESPONSES.includes(rs as ResponseStatus)) throw invalid('Invalid attendee response status.');
    const att: StoredAttendee = { email, responseStatus: rs as ResponseStatus };
    if (typeof a.displayName === 'string' && a.displayName !== '') att.displayName = a.displayName;
    if (a.resource === true) att.resource = true;
    if (a.optional === true) att.optional = true;
    if (typeof a.comment === 'string' && a.comment !== '') att.comment = a.comment;
    if (Number.isInteger(a.additionalGuests) && (a.additionalGuests as number) > 0) att.additionalGuests = a.additionalGuests as number;
    // `organizer` and `self` are read-only: computed when rendering
    out.push(att);
  }
  return out.length ? out : undefined;
}

function parseReminders(v: unknown): EventReminders {
  if (v === undefined || v === null) return { useDefault: true };
  if (!isObject(v)) throw invalid('Invalid value for: reminders');
  const overrides = v.overrides ?? [];
  if (!Array.isArray(overrides)) throw invalid('Invalid value for: reminders.overrides');
  const useDefault = v.useDefault === undefined || v.useDefault === null ? overrides.length === 0 : v.useDefault;
  if (typeof useDefault !== 'boolean') throw invalid('Invalid value for: reminders.useDefault');
  if (useDefault && overrides.length > 0) {
    throw GoogleError.of(400, 'cannotUseDefaultRemindersAndSpecifyOverride', 'Cannot specify both default reminders and overrides at the same time.', {
      domain: 'calendar',
    });
  }
  if (overrides.length > 5) throw GoogleError.of(400, 'tooManyReminders', 'Too many reminders specified.', { domain: 'calendar' });
  const list = overrides.map((o: unknown): { method: 'email' | 'popup'; minutes: number } => {
    if (!isObject(o) || (o.method !== 'email' && o.method !== 'popup')) throw invalid('Invalid reminder method.');
    if (!Number.isInteger(o.minutes) || (o.minutes as number) < 0 || (o.minutes as number) > MAX_REMINDER_MINUTES) {
      throw invalid('Invalid reminder minutes value.');
    }
    return { method: o.method as 'email' | 'popup', minutes: o.minutes as number };
  });
  return list.length ? { useDefault, overrides: list } : { useDefault };
}

function parseProperties(v: unknown, which: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalid(`Invalid value for: extendedProperties.${which}`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    if (typeof x === 'object') throw invalid(`Invalid value for: extendedProperties.${which}.${k}`);
    out[k] = String(x);
  }
  return Object.keys(out).length ? out : undefined;
}

function parseConference(v: unknown, opts: WriteOptions): ConferenceData | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalid('Invalid conference data.');
  const prev = opts.previous?.conferenceData;
  const create = v.createRequest;
  if (isObject(create)) {
    if (typeof create.requestId !== 'string' || create.requestId === '') throw invalid('Invalid conference create request id.');
    // re-sending the same createRequest (e.g. a patch carrying the whole document) keeps the conference
    if (prev?.createRequest?.requestId === create.requestId) return structuredClone(prev);
    const type = isObject(create.conferenceSolutionKey) ? create.conferenceSolutionKey.type : undefined;
    if (type !== 'hangoutsMeet') throw invalid('Invalid conference type value.');
    const code = opts.meetCode();
    return {
      createRequest: { requestId: create.requestId, conferenceSolutionKey: { type }, status: { statusCode: 'success' } },
      entryPoints: [{ entryPointType: 'video', uri: `https://meet.google.com/${code}`, label: `meet.google.com/${code}` }],
      conferenceSolution: {
        key: { type: 'hangoutsMeet' },
        name: 'Google Meet',
        iconUri: 'https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png',
      },
      conferenceId: code,
    };
  }
  // a copy of existing conference data (e.g. from another event)
  const entryPoints = v.entryPoints;
  if (!Array.isArray(entryPoints) || entryPoints.some((e) => !isObject(e) || typeof e.entryPointType !== 'string' || typeof e.uri !== 'string')) {
    throw invalid('Invalid conference data.');
  }
  const solution = v.conferenceSolution;
  if (!isObject(solution) || !isObject(solution.key) || typeof solution.key.type !== 'string') throw invalid('Invalid conference data.');
  return structuredClone(v) as ConferenceData;
}

function parseAttachments(v: unknown): EventAttachment[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 25) throw invalid('Invalid value for: attachments');
  const out = v.map((a: unknown) => {
    if (!isObject(a) || typeof a.fileUrl !== 'string' || a.fileUrl === '') throw invalid('Invalid attachment file URL.');
    const att: EventAttachment = { fileUrl: a.fileUrl };
    for (const k of ['title', 'mimeType', 'iconLink', 'fileId'] as const) if (typeof a[k] === 'string') att[k] = a[k];
    return att;
  });
  return out.length ? out : undefined;
}

/** Validates an Event body (insert, update, or a patch merged into the current document). */
export function parseEventBody(raw: unknown, opts: WriteOptions): EventData {
  if (!isObject(raw)) throw invalid('Invalid value for: the request body must be an Event resource');
  const doc = raw;
  if (doc.eventType !== undefined && doc.eventType !== null && doc.eventType !== 'default') {
    throw invalid(`Unsupported eventType '${String(doc.eventType)}': the sandbox only stores 'default' events.`);
  }
  const status = doc.status ?? 'confirmed';
  if (!STATUSES.includes(status as EventStatus)) throw invalid('Invalid value for: status');
  const recurrence = parseRecurrence(doc.recurrence);
  const start = parseTime(doc.start, 'start', recurrence !== undefined);
  const end = parseTime(doc.end, 'end', recurrence !== undefined);
  if ('date' in start !== 'date' in end) throw invalid('Start and end times must either both be date or both be dateTime.');
  const empty = 'date' in start ? start.date >= (end as { date: string }).date : (end as { dateTime: number }).dateTime < start.dateTime;
  if (empty) {
    // (Google names the parameter timeMax here too, as for events.list)
    throw GoogleError.of(400, 'timeRangeEmpty', 'The specified time range is empty.', { domain: 'calendar', location: 'timeMax', locationType: 'parameter' });
  }

  const data: EventData = { status: status as EventStatus, start, end, reminders: parseReminders(doc.reminders) };
  for (const f of ['summary', 'description', 'location'] as const) {
    const v = str(doc, f);
    if (v !== undefined && v !== '') data[f] = v;
  }
  const colorId = str(doc, 'colorId');
  if (colorId !== undefined) {
    if (!/^([1-9]|1[01])$/.test(colorId)) throw invalid('Invalid color id.');
    data.colorId = colorId;
  }
  if (bool(doc, 'endTimeUnspecified')) data.endTimeUnspecified = true;
  if (recurrence) data.recurrence = recurrence;
  const transparency = str(doc, 'transparency');
  if (transparency !== undefined && transparency !== 'opaque' && transparency !== 'transparent') throw invalid('Invalid value for: transparency');
  if (transparency === 'transparent') data.transparency = 'transparent';
  const visibility = str(doc, 'visibility');
  if (visibility !== undefined && !['default', 'public', 'private', 'confidential'].includes(visibility)) throw invalid('Invalid value for: visibility');
  if (visibility && visibility !== 'default') data.visibility = visibility as EventData['visibility'];
  const attendees = parseAttendees(doc.attendees);
  if (attendees) data.attendees = attendees;
  if (bool(doc, 'guestsCanInviteOthers') === false) data.guestsCanInviteOthers = false;
  if (bool(doc, 'guestsCanModify') === true) data.guestsCanModify = true;
  if (bool(doc, 'guestsCanSeeOtherGuests') === false) data.guestsCanSeeOtherGuests = false;
  if (bool(doc, 'anyoneCanAddSelf') === true) data.anyoneCanAddSelf = true;

  const conference = opts.conferenceDataVersion >= 1 ? parseConference(doc.conferenceData, opts) : opts.previous?.conferenceData;
  if (conference) data.conferenceData = conference;
  const attachments = opts.supportsAttachments ? parseAttachments(doc.attachments) : opts.previous?.attachments;
  if (attachments) data.attachments = attachments;

  if (doc.extendedProperties !== undefined && doc.extendedProperties !== null) {
    if (!isObject(doc.extendedProperties)) throw invalid('Invalid value for: extendedProperties');
    const priv = parseProperties(doc.extendedProperties.private, 'private');
    const shared = parseProperties(doc.extendedProperties.shared, 'shared');
    if (priv || shared) data.extendedProperties = { ...(priv ? { private: priv } : {}), ...(shared ? { shared } : {}) };
  }
  if (doc.source !== undefined && doc.source !== null) {
    const s = doc.source;
    if (!isObject(s) || typeof s.url !== 'string' || !/^https?:\/\//.test(s.url)) throw invalid('Invalid value for: source.url');
    data.source = typeof s.title === 'string' ? { url: s.url, title: s.title } : { url: s.url };
  }
  return data;
}

/** The client's `sequence`, if any: never below the current one. */
export function requestedSequence(raw: unknown, current: number): number | undefined {
  if (!isObject(raw) || raw.sequence === undefined || raw.sequence === null) return undefined;
  const n = raw.sequence;
  if (!Number.isInteger(n) || (n as number) < 0) throw invalid('Invalid value for: sequence');
  if ((n as number) < current) {
    throw invalid('Invalid sequence value. The specified sequence number is below the current sequence number of the resource.');
  }
  return n as number;
}

/** start, end and recurrence: a change of any of them raises `sequence`. */
export function timingKey(d: EventData): string {
  return JSON.stringify([d.start, d.end, d.recurrence ?? null]);
}

/**
 * The properties shared by every copy of an event (what only the organizer may change): everything
 * but reminders, colorId, transparency, private extended properties and the attendee's own answer.
 */
function sharedKey(d: EventData, self: string): string {
  const attendees = (d.attendees ?? []).map((a) => (a.email.toLowerCase() === self ? { email: a.email } : a));
  return JSON.stringify([
    d.summary, d.description, d.location, d.start, d.end, d.recurrence, d.visibility, d.guestsCanInviteOthers, d.guestsCanModify,
    d.guestsCanSeeOtherGuests, d.anyoneCanAddSelf, d.conferenceData, d.attachments, d.source, d.extendedProperties?.shared, attendees,
  ]);
}

/** 403 when a non-organizer copy changes shared properties (Google: unless guestsCanModify). */
export function checkOrganizerOnly(ev: StoredEvent, next: EventData, cal: CalendarView): void {
  if (sameEmail(ev.organizer.email, cal.id) || ev.data.guestsCanModify) return;
  if (sharedKey(ev.data, cal.id.toLowerCase()) !== sharedKey(next, cal.id.toLowerCase())) {
    throw GoogleError.of(403, 'forbiddenForNonOrganizer', 'Shared properties can only be changed by the organizer of the event.', { domain: 'calendar' });
  }
}

const sameEmail = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

// ---- rendering ---------------------------------------------------------------------------------

export function etagOf(ev: StoredEvent): string {
  return `"${ev.updated * 1000}"`;
}

export function renderTime(t: StoredTime, tz: string): EventDateTime {
  const out: EventDateTime = 'date' in t ? { date: t.date } : { dateTime: formatDateTime(t.dateTime, tz) };
  if (t.timeZone !== undefined) out.timeZone = t.timeZone;
  return out;
}

function htmlLink(eventId: string, calendarId: string): string {
  return `https://www.google.com/calendar/event?eid=${Buffer.from(`${eventId} ${calendarId}`).toString('base64url')}`;
}

/** The full resource, as the calendar's owner gets it (times in `tz`, default the calendar's). */
export function renderEvent(ev: StoredEvent, cal: CalendarView, tz = cal.timeZone): SandboxEvent {
  const d = ev.data;
  const person = (p: StoredPerson, selfEmail: string) => ({ ...p, ...(sameEmail(p.email, selfEmail) ? { self: true } : {}) });
  // built in Google's field order; absent optional fields are left out
  const out: Record<string, unknown> = {
    kind: 'calendar#event',
    etag: etagOf(ev),
    id: ev.id,
    status: d.status,
    htmlLink: htmlLink(ev.id, cal.id),
    created: iso(ev.created),
    updated: iso(ev.updated),
    summary: d.summary,
    description: d.description,
    location: d.location,
    colorId: d.colorId,
    creator: person(ev.creator, cal.owner),
    organizer: person(ev.organizer, cal.id),
    start: renderTime(d.start, tz),
    end: renderTime(d.end, tz),
    endTimeUnspecified: d.endTimeUnspecified,
    recurrence: d.recurrence && [...d.recurrence],
    recurringEventId: ev.recurringEventId,
    originalStartTime: ev.originalStartTime && renderTime(ev.originalStartTime, tz),
    transparency: d.transparency,
    visibility: d.visibility,
    iCalUID: ev.iCalUID,
    sequence: ev.sequence,
    attendees: d.attendees?.map((a) => {
      const r = { email: a.email } as EventAttendee;
      if (a.displayName !== undefined) r.displayName = a.displayName;
      if (sameEmail(a.email, ev.organizer.email)) r.organizer = true;
      if (sameEmail(a.email, cal.id)) r.self = true;
      if (a.resource) r.resource = true;
      if (a.optional) r.optional = true;
      r.responseStatus = a.responseStatus;
      if (a.comment !== undefined) r.comment = a.comment;
      if (a.additionalGuests !== undefined) r.additionalGuests = a.additionalGuests;
      return r;
    }),
    guestsCanInviteOthers: d.guestsCanInviteOthers,
    guestsCanModify: d.guestsCanModify,
    guestsCanSeeOtherGuests: d.guestsCanSeeOtherGuests,
    anyoneCanAddSelf: d.anyoneCanAddSelf,
    hangoutLink:
      d.conferenceData?.conferenceSolution?.key.type === 'hangoutsMeet'
        ? d.conferenceData.entryPoints?.find((e) => e.entryPointType === 'video')?.uri
        : undefined,
    conferenceData: d.conferenceData && structuredClone(d.conferenceData),
    reminders: structuredClone(d.reminders),
    extendedProperties: d.extendedProperties && structuredClone(d.extendedProperties),
    source: d.source && { ...d.source },
    attachments: d.attachments?.map((a) => ({ ...a })),
    eventType: 'default',
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as SandboxEvent;
}

/** How a cancelled event appears in lists (incremental or showDeleted). */
export function renderCancelled(ev: StoredEvent, tz: string): Partial<SandboxEvent> {
  const out: Partial<SandboxEvent> = { kind: 'calendar#event', etag: etagOf(ev), id: ev.id, status: 'cancelled' };
  if (ev.recurringEventId !== undefined) out.recurringEventId = ev.recurringEventId;
  if (ev.originalStartTime !== undefined) out.originalStartTime = renderTime(ev.originalStartTime, tz);
  return out;
}

// ---- queries -----------------------------------------------------------------------------------

export function timeMs(t: StoredTime, calendarTz: string): number {
  return 'date' in t ? dateStartMs(t.date, t.timeZone ?? calendarTz) : t.dateTime;
}

const DAY_MS = 86_400_000;
const PERIOD_MS: Record<string, number> = { DAILY: DAY_MS, WEEKLY: 7 * DAY_MS, MONTHLY: 31 * DAY_MS, YEARLY: 366 * DAY_MS };

/**
 * An upper bound of when a recurring series ends (Infinity when open-ended). The sandbox does not
 * expand instances, so timeMin/timeMax keep a master when its series may overlap the window.
 */
function seriesEndMs(recurrence: string[], start: number, duration: number): number {
  if (recurrence.some((l) => /^RDATE/i.test(l))) return Infinity;
  let end = start + duration;
  for (const line of recurrence) {
    if (!/^RRULE:/i.test(line)) continue;
    const p: Record<string, string> = {};
    for (const kv of line.slice(6).split(';')) {
      const [k, v] = kv.split('=');
      if (k && v) p[k.toUpperCase()] = v.toUpperCase();
    }
    if (p.UNTIL) {
      const m = /^(\d{4})(\d{2})(\d{2})/.exec(p.UNTIL);
      if (!m) return Infinity;
      end = Math.max(end, Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) + DAY_MS + duration);
    } else if (p.COUNT) {
      const interval = Number(p.INTERVAL ?? 1) || 1;
      // DAILY;BYDAY=MO,…,FR skips days: stretch by 7 / (days per week)
      const days = p.BYDAY ? p.BYDAY.split(',').length : 7;
      const stretch = p.FREQ === 'DAILY' ? 7 / Math.max(1, Math.min(7, days)) : 1;
      end = Math.max(end, start + Number(p.COUNT) * interval * (PERIOD_MS[p.FREQ ?? ''] ?? Infinity) * stretch + duration);
    } else {
      return Infinity;
    }
  }
  return end;
}

/** [start, end) of the event (of its whole series for a recurring master), in ms. */
export function eventSpan(ev: StoredEvent, calendarTz: string): [number, number] {
  const start = timeMs(ev.data.start, calendarTz);
  const end = timeMs(ev.data.end, calendarTz);
  return [start, ev.data.recurrence ? seriesEndMs(ev.data.recurrence, start, end - start) : end];
}

/** `q`: every term must occur in the summary, description, location, organizer or an attendee. */
export function matchesText(ev: StoredEvent, q: string): boolean {
  const d = ev.data;
  const hay = [
    d.summary, d.description, d.location, ev.organizer.email, ev.organizer.displayName,
    ...(d.attendees ?? []).flatMap((a) => [a.email, a.displayName]),
  ]
    .filter((x): x is string => typeof x === 'string')
    .join('\n')
    .toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((term) => hay.includes(term));
}

/** `privateExtendedProperty=key=value` constraints (all must hold). */
export function matchesProperties(ev: StoredEvent, which: 'private' | 'shared', constraints: string[]): boolean {
  const props = ev.data.extendedProperties?.[which] ?? {};
  return constraints.every((c) => {
    const i = c.indexOf('=');
    return i > 0 && props[c.slice(0, i)] === c.slice(i + 1);
  });
}
