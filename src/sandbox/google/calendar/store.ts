/**
 * Calendars and their events, with the change feed behind sync tokens.
 *
 * Every modification stamps the event with the next value of one monotonically increasing change
 * sequence. A sync token remembers the sequence value it was issued at; an incremental list returns
 * the events stamped after it, cancelled ones included. Paging is a snapshot: the first page fixes
 * the sequence value the listing covers and later pages skip events modified since (keyset paging
 * on a key that does not change while the event is unmodified), so whatever changes during paging
 * shows up in the next incremental sync instead. Events are never removed: a deleted event stays as
 * `status: cancelled` for the change feed (and for events.get, which still answers it).
 */
import { GoogleError, invalid, notFound } from '../errors';
import { hashString, type Prng } from '../prng';
import {
  checkOrganizerOnly,
  eventSpan,
  matchesProperties,
  matchesText,
  mergePatch,
  parseEventBody,
  requestedSequence,
  timeMs,
  timingKey,
  writableDocument,
  type CalendarView,
  type EventData,
  type StoredEvent,
  type StoredPerson,
  type StoredTime,
} from './event';
import { isTimeZone } from './time';
import type { CalendarInfo, NewCalendar } from './types';

export interface CalendarRec extends CalendarView {
  summary: string;
  description?: string;
  primary: boolean;
  events: Map<string, StoredEvent>;
  nextOrdinal: number;
  /** time of the last change of one of its events (ms) */
  lastChange: number;
  /** sync tokens with a serial below this answer 410 (expireSyncTokens) */
  minTokenSerial: number;
}

export interface ListQuery {
  syncToken?: string;
  pageToken?: string;
  maxResults: number;
  showDeleted: boolean;
  timeMin?: number;
  timeMax?: number;
  updatedMin?: number;
  q?: string;
  orderBy?: 'startTime' | 'updated';
  iCalUID?: string;
  privateExtendedProperty: string[];
  sharedExtendedProperty: string[];
  eventTypes: string[];
  /** every parameter but pageToken and maxResults: a page token only continues the same query */
  binding: string;
}

export interface ListPage {
  items: StoredEvent[];
  nextPageToken?: string;
  nextSyncToken?: string;
}

/** How a write was made: what the request allows and who acts. */
export interface WriteContext {
  actor: string;
  conferenceDataVersion: number;
  supportsAttachments: boolean;
  /** API writes: 403 when a non-organizer changes shared properties; the UI helpers skip it */
  organizerRules: boolean;
}

/** An event as the seed generator describes it (the body is validated like an API insert). */
export interface SeedEvent {
  id: string;
  body: Record<string, unknown>;
  created: number;
  updated: number;
  sequence: number;
  creator: StoredPerson;
  organizer: StoredPerson;
  recurringEventId?: string;
  originalStartTime?: StoredTime;
}

interface SyncTokenPayload {
  k: 's';
  /** calendar id */
  c: string;
  /** change sequence value covered */
  q: number;
  /** issue serial */
  n: number;
  /** issued at (ms) */
  t: number;
}

interface PageTokenPayload {
  k: 'p';
  c: string;
  /** hash of the query binding */
  b: number;
  /** snapshot: the change sequence value the listing covers */
  s: number;
  /** sort key of the last item returned */
  a: [number, number];
}

/** Google's generated event ids: base32hex (a-v, 0-9), 26 characters. */
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';
const CLIENT_ID_RE = /^[a-v0-9]{5,1024}$/;

const fullSyncRequired = (): GoogleError =>
  GoogleError.of(410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.', { domain: 'calendar' });

const duplicate = (): GoogleError => GoogleError.of(409, 'duplicate', 'The requested identifier already exists.');

const deleted = (): GoogleError => GoogleError.of(410, 'deleted', 'Resource has been deleted');

function encodeToken(p: SyncTokenPayload | PageTokenPayload): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

function decodeToken<K extends 's' | 'p'>(s: string, kind: K): (K extends 's' ? SyncTokenPayload : PageTokenPayload) | undefined {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { k?: unknown; c?: unknown };
    return v && v.k === kind && typeof v.c === 'string' ? (v as K extends 's' ? SyncTokenPayload : PageTokenPayload) : undefined;
  } catch {
    return undefined;
  }
}

const compareKeys = (a: [number, number], b: [number, number]): number => a[0] - b[0] || a[1] - b[1];

export class CalendarStore {
  private readonly calendars = new Map<string, CalendarRec>();
  private readonly owned = new Map<string, string[]>();
  private seq = 0;
  private tokenSerial = 0;
  /** called after every change but seeding (push notifications) */
  onChange: (calendarId: string) => void = () => undefined;

  constructor(
    private readonly prng: Prng,
    private readonly syncTokenTtlMs: number | undefined,
  ) {}

  // ---- calendars -------------------------------------------------------------------------------

  /** Every account has a primary calendar whose id is its email. */
  ensureAccount(email: string): void {
    if (this.owned.has(email)) return;
    this.owned.set(email, []);
    this.create(email, { id: email, summary: email, timeZone: 'UTC' }, true);
  }

  addCalendar(owner: string, spec: NewCalendar): CalendarRec {
    if (!this.owned.has(owner)) throw new Error(`unknown user: ${owner}`);
    if (typeof spec.summary !== 'string' || spec.summary === '') throw invalid('Missing title.');
    if (spec.timeZone !== undefined && !isTimeZone(spec.timeZone)) throw invalid('Invalid time zone definition.');
    if (spec.primary) {
      if (spec.id !== undefined && spec.id !== owner) throw invalid(`The primary calendar's id is the user's email (${owner}).`);
      const cal = this.calendars.get(owner)!;
      cal.summary = spec.summary;
      if (spec.description !== undefined) cal.description = spec.description;
      if (spec.timeZone !== undefined) cal.timeZone = spec.timeZone;
      return cal;
    }
    const id = spec.id ?? `c_${this.prng.chars(40, '0123456789abcdef')}@group.calendar.google.com`;
    if (this.calendars.has(id)) throw duplicate();
    return this.create(owner, { ...spec, id }, false);
  }

  private create(owner: string, spec: NewCalendar & { id: string }, primary: boolean): CalendarRec {
    const cal: CalendarRec = {
      id: spec.id,
      owner,
      summary: spec.summary,
      timeZone: spec.timeZone ?? 'UTC',
      primary,
      events: new Map(),
      nextOrdinal: 1,
      lastChange: Date.now(),
      minTokenSerial: 0,
    };
    if (spec.description !== undefined) cal.description = spec.description;
    this.calendars.set(cal.id, cal);
    this.owned.get(owner)!.push(cal.id);
    return cal;
  }

  allCalendars(): CalendarRec[] {
    return [...this.calendars.values()];
  }

  calendarsOf(owner: string): CalendarRec[] {
    return (this.owned.get(owner) ?? []).map((id) => this.calendars.get(id)!);
  }

  /** The calendar as `user` names it (`primary` = theirs); someone else's or unknown: 404 notFound. */
  resolve(user: string, calendarId: string): CalendarRec {
    const id = calendarId === 'primary' ? user : calendarId;
    const cal = this.calendars.get(id) ?? this.calendars.get(id.toLowerCase());
    if (!cal || cal.owner !== user) throw notFound();
    return cal;
  }

  static info(cal: CalendarRec): CalendarInfo {
    const out: CalendarInfo = { id: cal.id, summary: cal.summary, timeZone: cal.timeZone, primary: cal.primary, owner: cal.owner };
    if (cal.description !== undefined) out.description = cal.description;
    return out;
  }

  /** Sync tokens issued so far for these calendars answer 410 from now on. */
  expireSyncTokens(cals: CalendarRec[]): void {
    for (const cal of cals) cal.minTokenSerial = this.tokenSerial + 1;
  }

  // ---- events ----------------------------------------------------------------------------------

  mustEvent(cal: CalendarRec, id: string): StoredEvent {
    const ev = cal.events.get(id);
    if (!ev) throw notFound();
    return ev;
  }

  private organizerOf(cal: CalendarRec): StoredPerson {
    return cal.primary ? { email: cal.owner } : { email: cal.id, displayName: cal.summary };
  }

  private newId(cal: CalendarRec): string {
    for (;;) {
      const id = this.prng.chars(26, BASE32HEX);
      if (!cal.events.has(id)) return id;
    }
  }

  private meetCode = (): string => {
    const l = 'abcdefghijklmnopqrstuvwxyz';
    return `${this.prng.chars(3, l)}-${this.prng.chars(4, l)}-${this.prng.chars(3, l)}`;
  };

  /** A modification: new `updated` (strictly increasing per event, so the etag always changes) and sequence stamp. */
  private touch(cal: CalendarRec, ev: StoredEvent, now = Date.now()): void {
    ev.updated = Math.max(now, ev.updated + 1);
    ev.seq = ++this.seq;
    cal.lastChange = Math.max(cal.lastChange, ev.updated);
  }

  insert(cal: CalendarRec, body: unknown, w: WriteContext): StoredEvent {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('Invalid value for: the request body must be an Event resource');
    const raw = body as Record<string, unknown>;
    let id: string;
    if (raw.id !== undefined && raw.id !== null) {
      if (typeof raw.id !== 'string' || !CLIENT_ID_RE.test(raw.id)) throw invalid('Invalid resource id value.');
      if (cal.events.has(raw.id)) throw duplicate(); // a cancelled event keeps its id
      id = raw.id;
    } else {
      id = this.newId(cal);
    }
    const data = parseEventBody(raw, { conferenceDataVersion: w.conferenceDataVersion, supportsAttachments: w.supportsAttachments, meetCode: this.meetCode });
    const now = Date.now();
    const ev: StoredEvent = {
      id,
      ordinal: cal.nextOrdinal++,
      seq: 0,
      created: now,
      updated: 0,
      sequence: requestedSequence(raw, 0) ?? 0,
      iCalUID: typeof raw.iCalUID === 'string' && raw.iCalUID !== '' ? raw.iCalUID : `${id}@google.com`,
      creator: { email: w.actor },
      organizer: this.organizerOf(cal),
      data,
    };
    this.touch(cal, ev, now);
    cal.events.set(id, ev);
    this.onChange(cal.id);
    return ev;
  }

  /** PATCH: the body merges into the current document. */
  patch(cal: CalendarRec, ev: StoredEvent, patch: unknown, w: WriteContext): StoredEvent {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw invalid('Invalid value for: the request body must be an Event resource');
    const merged = mergePatch(writableDocument(ev, cal), patch);
    return this.apply(cal, ev, parseEventBody(merged, this.writeOptions(w, ev)), requestedSequence(patch, ev.sequence), w);
  }

  /** PUT: the body replaces every writable field (absent ones are cleared). */
  update(cal: CalendarRec, ev: StoredEvent, body: unknown, w: WriteContext): StoredEvent {
    return this.apply(cal, ev, parseEventBody(body, this.writeOptions(w, ev)), requestedSequence(body, ev.sequence), w);
  }

  private writeOptions(w: WriteContext, ev: StoredEvent) {
    return { conferenceDataVersion: w.conferenceDataVersion, supportsAttachments: w.supportsAttachments, previous: ev.data, meetCode: this.meetCode };
  }

  private apply(cal: CalendarRec, ev: StoredEvent, next: EventData, sequence: number | undefined, w: WriteContext): StoredEvent {
    if (w.organizerRules) checkOrganizerOnly(ev, next, cal);
    const bump = timingKey(ev.data) !== timingKey(next) ? 1 : 0;
    ev.sequence = Math.max(sequence ?? 0, ev.sequence + bump);
    ev.data = next;
    this.touch(cal, ev);
    this.onChange(cal.id);
    return ev;
  }

  /** DELETE: the event becomes cancelled (and stays, for the change feed). */
  cancel(cal: CalendarRec, ev: StoredEvent): void {
    if (ev.data.status === 'cancelled') throw deleted();
    ev.data = { ...ev.data, status: 'cancelled' };
    this.touch(cal, ev);
    this.onChange(cal.id);
  }

  /** events.move: the destination gets the event (same id), the source keeps a cancelled copy. */
  move(from: CalendarRec, to: CalendarRec, ev: StoredEvent): StoredEvent {
    if (ev.data.status === 'cancelled') throw deleted();
    if (from === to) return ev;
    const existing = to.events.get(ev.id);
    if (existing && existing.data.status !== 'cancelled') throw duplicate();
    const moved: StoredEvent = {
      ...structuredClone(ev),
      ordinal: existing?.ordinal ?? to.nextOrdinal++,
      updated: Math.max(ev.updated, existing?.updated ?? 0),
      organizer: ev.organizer.email.toLowerCase() === from.id.toLowerCase() ? this.organizerOf(to) : ev.organizer,
    };
    this.touch(to, moved);
    to.events.set(moved.id, moved);
    ev.data = { ...ev.data, status: 'cancelled' };
    this.touch(from, ev);
    this.onChange(to.id);
    this.onChange(from.id);
    return moved;
  }

  /** Seeding: validated like an insert, but keeps the given timestamps and notifies nobody. */
  seedEvent(cal: CalendarRec, s: SeedEvent): StoredEvent {
    if (cal.events.has(s.id)) throw duplicate();
    const data = parseEventBody(s.body, { conferenceDataVersion: 1, supportsAttachments: true, meetCode: this.meetCode });
    const ev: StoredEvent = {
      id: s.id,
      ordinal: cal.nextOrdinal++,
      seq: ++this.seq,
      created: s.created,
      updated: s.updated,
      sequence: s.sequence,
      iCalUID: `${s.recurringEventId ?? s.id}@google.com`,
      creator: s.creator,
      organizer: s.organizer,
      data,
    };
    if (s.recurringEventId !== undefined) ev.recurringEventId = s.recurringEventId;
    if (s.originalStartTime !== undefined) ev.originalStartTime = s.originalStartTime;
    cal.events.set(ev.id, ev);
    cal.lastChange = Math.max(cal.lastChange, ev.updated);
    return ev;
  }

  /** A fresh event id for the seed generator. */
  seedId(cal: CalendarRec): string {
    return this.newId(cal);
  }

  // ---- listing ---------------------------------------------------------------------------------

  list(cal: CalendarRec, q: ListQuery): ListPage {
    let since: number | undefined;
    if (q.syncToken !== undefined) {
      // Google answers 410 for any unusable token, garbage included
      const t = decodeToken(q.syncToken, 's');
      const tooOld = this.syncTokenTtlMs !== undefined && t !== undefined && Date.now() - t.t > this.syncTokenTtlMs;
      if (!t || t.c !== cal.id || t.n < cal.minTokenSerial || t.q > this.seq || tooOld) throw fullSyncRequired();
      since = t.q;
    }
    const binding = hashString(`${cal.id}\n${q.binding}`);
    let snapshot = this.seq;
    let after: [number, number] | undefined;
    if (q.pageToken !== undefined) {
      const p = decodeToken(q.pageToken, 'p');
      if (!p || p.c !== cal.id || p.b !== binding || !Array.isArray(p.a)) throw invalid('Invalid page token value.', { location: 'pageToken', locationType: 'parameter' });
      snapshot = p.s;
      after = p.a;
    }
    const key = this.sortKey(cal, q, since !== undefined);
    const rows: Array<[[number, number], StoredEvent]> = [];
    for (const ev of cal.events.values()) {
      if (ev.seq > snapshot) continue; // changed after the listing began: next incremental sync
      if (since !== undefined ? ev.seq <= since : !this.matches(ev, cal, q)) continue;
      const k = key(ev);
      if (after && compareKeys(k, after) <= 0) continue;
      rows.push([k, ev]);
    }
    rows.sort((a, b) => compareKeys(a[0], b[0]));
    const page: ListPage = { items: rows.slice(0, q.maxResults).map((r) => r[1]) };
    if (rows.length > q.maxResults) {
      page.nextPageToken = encodeToken({ k: 'p', c: cal.id, b: binding, s: snapshot, a: rows[q.maxResults - 1]![0] });
    } else if (since !== undefined && since === snapshot) {
      page.nextSyncToken = q.syncToken; // nothing changed: Google hands back the same token
    } else if (since !== undefined || this.syncable(q)) {
      page.nextSyncToken = encodeToken({ k: 's', c: cal.id, q: snapshot, n: ++this.tokenSerial, t: Date.now() });
    }
    return page;
  }

  /** Queries whose result a sync token can continue (the restrictions a syncToken may not be combined with are absent). */
  private syncable(q: ListQuery): boolean {
    return (
      q.q === undefined &&
      q.orderBy === undefined &&
      q.iCalUID === undefined &&
      q.updatedMin === undefined &&
      q.privateExtendedProperty.length === 0 &&
      q.sharedExtendedProperty.length === 0
    );
  }

  private sortKey(cal: CalendarRec, q: ListQuery, incremental: boolean): (ev: StoredEvent) => [number, number] {
    if (incremental) return (ev) => [ev.seq, 0];
    if (q.orderBy === 'startTime') return (ev) => [timeMs(ev.data.start, cal.timeZone), ev.ordinal];
    if (q.orderBy === 'updated') return (ev) => [ev.updated, ev.ordinal];
    return (ev) => [ev.ordinal, 0];
  }

  private matches(ev: StoredEvent, cal: CalendarRec, q: ListQuery): boolean {
    // deleted events: with showDeleted, and (Google) always when deleted since updatedMin
    if (ev.data.status === 'cancelled' && !q.showDeleted && !(q.updatedMin !== undefined && ev.updated >= q.updatedMin)) return false;
    if (q.eventTypes.length > 0 && !q.eventTypes.includes('default')) return false;
    if (q.iCalUID !== undefined && ev.iCalUID !== q.iCalUID) return false;
    if (q.updatedMin !== undefined && ev.updated < q.updatedMin) return false;
    if (q.timeMin !== undefined || q.timeMax !== undefined) {
      const [start, end] = eventSpan(ev, cal.timeZone);
      if (q.timeMin !== undefined && end <= q.timeMin) return false;
      if (q.timeMax !== undefined && start >= q.timeMax) return false;
    }
    if (q.q !== undefined && !matchesText(ev, q.q)) return false;
    if (!matchesProperties(ev, 'private', q.privateExtendedProperty)) return false;
    if (!matchesProperties(ev, 'shared', q.sharedExtendedProperty)) return false;
    return true;
  }
}
