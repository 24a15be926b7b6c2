/**
 * Google Calendar two-way for one user: the change feed over events.list (a syncToken per
 * calendar, 410 → CursorExpiredError), idempotent creates with event ids derived from Aurora ids,
 * conditional patches (If-Match → 412 → changedExternally), deletes, and push channels.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { calendar_v3 } from 'googleapis/build/src/apis/calendar';
import { ErrorType } from '../../../core/errors';
import { canonicalize, normalizeValue, type Canonical } from '../../../core/model';
import {
  CursorExpiredError,
  type ChangeCursor,
  type ChangePage,
  type ExternalDeletion,
  type ExternalRecord,
  type OpenChannelRequest,
  type PushChannel,
  type WriteCreate,
  type WriteDelete,
  type WriteOutcome,
  type WriteUpdate,
} from '../../types';
import { GoogleApiError, isGoogleApiError } from '../errors';
import type { GoogleProduct, GoogleSession } from '../session';
import { CalendarClient } from './client';
import { CALENDAR_BODY_FIELDS, CALENDAR_EVENT, CALENDAR_EVENT_TYPE, CALENDAR_READ_ONLY_FIELDS } from './entities';
import { auroraIdOf, eventIdFor, forInsert, InvalidEventError, toCanonical, toExternalRecord, toGoogleEvent, type GoogleEvent } from './mapping';

/**
 * Position in the Calendar change feed of one user. `tokens`: the nextSyncToken of each calendar's
 * last complete listing. `at`: where the run is — with `pageToken`, the next page of that calendar
 * (`full`: a listing without syncToken, from `timeMin`); without, that calendar is done and the run
 * goes on with the calendars after it (ids in ascending order). Only a resumed run reads `at`.
 */
export interface CalendarCursor extends ChangeCursor {
  v: 1;
  tokens: Record<string, string>;
  at?: { calendarId: string; pageToken?: string; full?: boolean; timeMin?: string };
}

interface CalendarEntry {
  id: string;
  primary: boolean;
  timeZone?: string;
}

const CALENDAR_LIST_TTL_MS = 5 * 60_000;
/**
 * How old the calendar list an incremental run of the change feed (and its push channels) goes by
 * may be. Google has no feed of events across calendars, so a fresh list costs a calendarList call
 * on top of one events.list per calendar: re-read once an hour, not every cycle. A calendar newly
 * shared with the user is synced within the hour (at once by a full listing: the first sync, an
 * expired token, a reconciliation, or a worker start); a removed one answers 404 and drops out.
 */
const CALENDAR_LIST_FEED_TTL_MS = 60 * 60_000;
const MAX_LOCATIONS = 200_000;

export function parseCalendarCursor(cursor: ChangeCursor | null): CalendarCursor | null {
  if (!cursor) return null;
  const c = cursor as Partial<CalendarCursor>;
  const tokens: Record<string, string> = {};
  if (c.tokens && typeof c.tokens === 'object') {
    for (const [k, v] of Object.entries(c.tokens)) if (typeof v === 'string' && v) tokens[k] = v;
  }
  const at = c.at && typeof c.at === 'object' && typeof c.at.calendarId === 'string' ? c.at : undefined;
  return { v: 1, tokens, ...(at ? { at } : {}) };
}

const pick = (fields: Canonical, names: readonly string[]): Canonical =>
  Object.fromEntries(names.filter((n) => n in fields).map((n) => [n, fields[n] ?? null]));

export class CalendarProduct implements GoogleProduct {
  readonly entityTypes = [CALENDAR_EVENT_TYPE] as const;
  private readonly client: CalendarClient;
  private calendarList?: { at: number; list: CalendarEntry[] };
  /** event id → the calendar it was last seen in (spares events.get probes for reads and deletes) */
  private readonly where = new Map<string, string>();

  constructor(private readonly session: GoogleSession) {
    this.client = new CalendarClient(session);
  }

  private get sendUpdates() {
    return this.session.cfg.calendar.sendUpdates;
  }

  private remember(eventId: string, calendarId: string): void {
    if (this.where.size >= MAX_LOCATIONS) this.where.clear();
    this.where.set(eventId, calendarId);
  }

  // ---- calendars ---------------------------------------------------------------------------------

  /** The calendars synced: owned or writable ones of the user's list, narrowed by GOOGLE_CALENDAR_IDS; ascending ids. */
  async calendars(maxAgeMs = CALENDAR_LIST_TTL_MS): Promise<CalendarEntry[]> {
    if (this.calendarList && Date.now() - this.calendarList.at < maxAgeMs) return this.calendarList.list;
    const entries = (await this.client.listCalendars()).filter((c) => c.id && (c.accessRole === 'owner' || c.accessRole === 'writer') && !c.deleted);
    const allow = this.session.cfg.calendar.calendarIds;
    const list = entries
      .filter((c) => !allow || allow.includes(c.id!) || (c.primary === true && allow.includes('primary')))
      .map((c): CalendarEntry => ({ id: c.id!, primary: c.primary === true, timeZone: c.timeZone ?? undefined }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.calendarList = { at: Date.now(), list };
    return list;
  }

  private async primaryId(): Promise<string> {
    const all = await this.calendars();
    return all.find((c) => c.primary)?.id ?? this.session.user;
  }

  /** A calendar id as the feed reports it ('primary' and null: the user's primary calendar). */
  private async resolveCalendar(id: string | null | undefined): Promise<string> {
    return !id || id === 'primary' ? this.primaryId() : id;
  }

  private async timeZoneOf(calendarId: string): Promise<string | undefined> {
    return (await this.calendars()).find((c) => c.id === calendarId)?.timeZone;
  }

  // ---- change feed -------------------------------------------------------------------------------

  async *listChanges(_type: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    const prev = parseCalendarCursor(cursor);
    const calendars = await this.calendars(prev ? CALENDAR_LIST_FEED_TTL_MS : 0);
    const ids = calendars.map((c) => c.id);
    // A full listing starts from no tokens; calendars no longer listed drop out of the cursor.
    const tokens: Record<string, string> = {};
    if (prev) for (const id of ids) if (prev.tokens[id]) tokens[id] = prev.tokens[id]!;

    let start = 0;
    let resumeAt: CalendarCursor['at'] | undefined;
    if (resume && prev?.at) {
      const at = prev.at;
      if (at.pageToken && ids.includes(at.calendarId)) {
        resumeAt = at;
        start = ids.indexOf(at.calendarId);
      } else {
        start = ids.findIndex((id) => id > at.calendarId);
        if (start < 0) start = ids.length;
      }
    }

    let yielded = false;
    for (const calendarId of ids.slice(start)) {
      const mine = resumeAt?.calendarId === calendarId ? resumeAt : undefined;
      resumeAt = undefined;
      const full = mine ? mine.full === true : !tokens[calendarId];
      const pastDays = this.session.cfg.calendar.pastDays;
      const timeMin = full ? (mine?.timeMin ?? (pastDays !== undefined ? new Date(Date.now() - pastDays * 86_400_000).toISOString() : undefined)) : undefined;
      let pageToken = mine?.pageToken;
      let restarted = false;
      for (;;) {
        let page: calendar_v3.Schema$Events;
        try {
          page = await this.client.listEvents(
            { calendarId, pageToken, syncToken: full ? undefined : tokens[calendarId], timeMin },
            (e) => e.status === 404 || e.status === 410 || (Boolean(pageToken) && e.status === 400),
          );
        } catch (e) {
          if (!isGoogleApiError(e)) throw e;
          if (e.status === 410 && !full) {
            throw new CursorExpiredError(`Calendar sync token of ${calendarId} (${this.session.user}) is no longer valid: ${e.describe()}`);
          }
          if (e.status === 404) {
            // Removed between calendarList.list and now: its records stop appearing.
            delete tokens[calendarId];
            break;
          }
          if (pageToken && !restarted) {
            // A page token (e.g. heartbeated by an interrupted run) that is no longer valid: read
            // this calendar again from its first page.
            pageToken = undefined;
            restarted = true;
            continue;
          }
          throw ApplicationFailure.create({
            type: ErrorType.Upstream,
            message: `Google Calendar could not list ${calendarId} for ${this.session.user}: ${e.describe()}`,
          });
        }
        const records: ExternalRecord[] = [];
        const deletions: ExternalDeletion[] = [];
        for (const item of page.items ?? []) {
          if (!item.id) continue;
          if (item.status === 'cancelled') {
            // With a syncToken deleted events come inline, possibly as only {id, status}.
            const deletedAt = normalizeValue('timestamp', item.updated) ?? undefined;
            deletions.push(deletedAt ? { externalId: item.id, deletedAt } : { externalId: item.id });
            if (this.where.get(item.id) === calendarId) this.where.delete(item.id);
          } else {
            records.push(toExternalRecord(item, calendarId));
            this.remember(item.id, calendarId);
          }
        }
        const next = page.nextPageToken ?? undefined;
        let at: CalendarCursor['at'];
        if (next) {
          at = { calendarId, pageToken: next, full };
          if (timeMin) at.timeMin = timeMin;
        } else {
          if (page.nextSyncToken) tokens[calendarId] = page.nextSyncToken;
          else delete tokens[calendarId];
          at = { calendarId };
        }
        const out: CalendarCursor = { v: 1, tokens: { ...tokens }, at };
        yielded = true;
        yield deletions.length ? { records, deletions, cursor: out } : { records, cursor: out };
        if (!next) break;
        pageToken = next;
      }
    }
    // No calendar (or none left to read): still a cursor, so the run counts as complete.
    if (!yielded) yield { records: [], cursor: { v: 1, tokens: { ...tokens } } satisfies CalendarCursor };
  }

  // ---- reads -------------------------------------------------------------------------------------

  /**
   * The event with this id and the calendar it is in: the calendar hinted or last seen first, then
   * the primary, then the others. A live copy wins over a cancelled one (a moved event leaves a
   * cancelled copy behind). Null when no synced calendar has it.
   */
  private async findEvent(eventId: string, hint?: string | null): Promise<{ calendarId: string; event: GoogleEvent } | null> {
    const cals = await this.calendars();
    const order = [hint, this.where.get(eventId), ...cals.filter((c) => c.primary).map((c) => c.id), ...cals.map((c) => c.id)];
    let cancelled: { calendarId: string; event: GoogleEvent } | null = null;
    for (const calendarId of [...new Set(order.filter((c): c is string => Boolean(c)))]) {
      let event: GoogleEvent;
      try {
        event = await this.client.getEvent(calendarId, eventId, (e) => e.status === 404 || e.status === 410 || e.status === 400);
      } catch (e) {
        if (isGoogleApiError(e)) continue;
        throw e;
      }
      if (event.status !== 'cancelled') {
        this.remember(eventId, calendarId);
        return { calendarId, event };
      }
      cancelled ??= { calendarId, event };
    }
    return cancelled;
  }

  async readByIds(_type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const out: ExternalRecord[] = [];
    for (const id of externalIds) {
      const found = await this.findEvent(id);
      if (found && found.event.status !== 'cancelled') out.push(toExternalRecord(found.event, found.calendarId));
    }
    return out;
  }

  /** Of these ids, the events cancelled in Google or gone from every synced calendar. */
  async readArchived(_type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const out: ExternalRecord[] = [];
    for (const id of externalIds) {
      const found = await this.findEvent(id);
      if (found?.event.status === 'cancelled') out.push(toExternalRecord(found.event, found.calendarId));
      else if (!found) {
        const now = new Date().toISOString();
        out.push({ externalId: id, fields: canonicalize(CALENDAR_EVENT, {}), updatedAt: now, auroraId: auroraIdOf(id), archived: true, archivedAt: now });
      }
    }
    return out;
  }

  // ---- writes ------------------------------------------------------------------------------------

  /** Runs one write per record; a 4xx or an unmappable value fails that record only. */
  private async each<I extends { localId: string }>(items: I[], write: (item: I) => Promise<WriteOutcome>): Promise<WriteOutcome[]> {
    const out: WriteOutcome[] = [];
    for (const item of items) {
      try {
        out.push(await write(item));
      } catch (e) {
        if (isGoogleApiError(e)) out.push({ localId: item.localId, ok: false, error: `Google Calendar: ${e.describe()}`, notFound: e.status === 404 || e.status === 410 });
        else if (e instanceof InvalidEventError) out.push({ localId: item.localId, ok: false, error: e.message });
        else throw e;
      }
    }
    return out;
  }

  private written(localId: string, event: GoogleEvent, calendarId: string, extra: { created?: boolean; fields?: Canonical } = {}): WriteOutcome {
    const rec = toExternalRecord(event, calendarId);
    const outcome: WriteOutcome = { localId, ok: true, externalId: rec.externalId, fields: extra.fields ?? rec.fields, updatedAt: rec.updatedAt };
    if (extra.created !== undefined) outcome.created = extra.created;
    if (rec.etag) outcome.etag = rec.etag;
    return outcome;
  }

  async create(_type: string, creates: WriteCreate[]): Promise<WriteOutcome[]> {
    return this.each(creates, async (c) => {
      const calendarId = await this.resolveCalendar(c.fields.calendar_id);
      const eventId = eventIdFor(c.localId);
      const body = toGoogleEvent(c.fields, undefined, { defaultTimeZone: await this.timeZoneOf(calendarId) });
      const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
      let event: GoogleEvent;
      let created = true;
      try {
        event = await this.client.insertEvent(calendarId, { ...forInsert(body), id: eventId }, this.sendUpdates, clientError);
      } catch (e) {
        if (!isGoogleApiError(e) || e.status !== 409) throw e;
        // The id is ours, derived from the Aurora id: a retried create that reached Google before.
        created = false;
        const existing = await this.client.getEvent(calendarId, eventId, (x) => x.status === 404).catch((x: unknown) => {
          if (isGoogleApiError(x)) throw new GoogleApiError(409, e.reason, `event id ${eventId} (of Aurora id ${c.localId}) already exists outside ${calendarId}`);
          throw x;
        });
        if (existing.status === 'cancelled') {
          // Deleted since: bring it back, as this create describes it.
          event = await this.client.patchEvent(calendarId, eventId, { ...body, status: body.status ?? 'confirmed' }, this.sendUpdates, existing.etag ?? undefined, clientError);
        } else {
          event = existing;
        }
      }
      this.remember(eventId, calendarId);
      return this.written(c.localId, event, calendarId, { created });
    });
  }

  async update(_type: string, updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    return this.each(updates, async (u) => {
      const eventId = u.externalId;
      const changed = u.changed;
      const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
      let calendarId = u.previous?.calendar_id ?? this.where.get(eventId) ?? null;
      if (!calendarId) {
        const found = await this.findEvent(eventId, u.fields.calendar_id);
        if (!found) return { localId: u.localId, ok: false, error: `Google Calendar: event ${eventId} is in none of ${this.session.user}'s calendars`, notFound: true };
        calendarId = found.calendarId;
      }
      let etag = u.etag ?? undefined;
      const target = u.fields.calendar_id ? await this.resolveCalendar(u.fields.calendar_id) : calendarId;
      let moved: GoogleEvent | undefined;
      if (target !== calendarId && (!changed || changed.includes('calendar_id'))) {
        if (etag) {
          const current = await this.client.getEvent(calendarId, eventId, clientError);
          if (current.etag !== etag) return this.changedMeanwhile(u, calendarId, current);
        }
        moved = await this.client.moveEvent(calendarId, eventId, target, this.sendUpdates, clientError);
        calendarId = target;
        this.remember(eventId, calendarId);
        etag = moved.etag ?? undefined;
      }
      const sent = changed ? changed.filter((f) => f !== 'calendar_id') : undefined;
      const body = toGoogleEvent(u.fields, sent, { defaultTimeZone: await this.timeZoneOf(calendarId) });
      let event: GoogleEvent;
      if (Object.keys(body).length === 0) {
        event = moved ?? (await this.client.getEvent(calendarId, eventId, clientError));
      } else {
        try {
          event = await this.client.patchEvent(calendarId, eventId, body, this.sendUpdates, etag, clientError);
        } catch (e) {
          if (!isGoogleApiError(e) || e.status !== 412) throw e;
          return this.changedMeanwhile(u, calendarId, await this.client.getEvent(calendarId, eventId, clientError));
        }
      }
      if (event.status === 'cancelled') return { localId: u.localId, ok: false, error: `Google Calendar: event ${eventId} was deleted in Google`, notFound: true };
      this.remember(eventId, calendarId);
      // Conditional (etag matched): Google's answer is the last synced state plus this change. Else
      // only what was sent is known to be ours; other fields keep the local values, so a change Google
      // has and we have not pulled yet still shows as one.
      const canonical = toCanonical(event, calendarId);
      const fields = etag || !changed ? canonical : { ...u.fields, ...pick(canonical, [...changed, ...CALENDAR_READ_ONLY_FIELDS, 'calendar_id']) };
      return this.written(u.localId, event, calendarId, { fields });
    });
  }

  /**
   * A conditional write found the event changed since the last sync. When Google's state is exactly
   * the last synced one plus this very change (an earlier attempt of this write got through), it is
   * a success; otherwise the engine decides by the conflict policy.
   */
  private changedMeanwhile(u: WriteUpdate, calendarId: string, current: GoogleEvent): WriteOutcome {
    if (current.status === 'cancelled') return { localId: u.localId, ok: false, error: `Google Calendar: event ${u.externalId} was deleted in Google`, notFound: true };
    const now = toCanonical(current, calendarId);
    if (u.previous) {
      const fields = [...CALENDAR_BODY_FIELDS, 'calendar_id'];
      const ours = fields.every((f) => (now[f] ?? null) === ((!u.changed || u.changed.includes(f) ? u.fields[f] : u.previous![f]) ?? null));
      if (ours) return this.written(u.localId, current, calendarId);
    }
    return {
      localId: u.localId,
      ok: false,
      error: `Google Calendar: event ${u.externalId} changed in Google since the last sync (412 precondition failed)`,
      changedExternally: toExternalRecord(current, calendarId),
    };
  }

  async delete(_type: string, deletes: WriteDelete[]): Promise<WriteOutcome[]> {
    return this.each(deletes, async (d) => {
      const gone: WriteOutcome = { localId: d.localId, ok: true, externalId: d.externalId, fields: {}, updatedAt: new Date().toISOString() };
      let calendarId = this.where.get(d.externalId);
      if (!calendarId) {
        const found = await this.findEvent(d.externalId);
        if (!found || found.event.status === 'cancelled') return gone;
        calendarId = found.calendarId;
      }
      try {
        await this.client.deleteEvent(calendarId, d.externalId, this.sendUpdates, d.etag ?? undefined, (e) => [404, 410, 412].includes(e.status));
      } catch (e) {
        if (!isGoogleApiError(e)) throw e;
        if (e.status === 412) {
          const current = await this.client.getEvent(calendarId, d.externalId, (x) => x.status === 404 || x.status === 410);
          if (current.status === 'cancelled') return gone;
          return {
            localId: d.localId,
            ok: false,
            error: `Google Calendar: event ${d.externalId} changed in Google since the last sync (412 precondition failed)`,
            changedExternally: toExternalRecord(current, calendarId),
          };
        }
        // 404 / 410 deleted: already gone
      }
      this.where.delete(d.externalId);
      return gone;
    });
  }

  // ---- push channels -----------------------------------------------------------------------------

  async watchableResources(): Promise<string[]> {
    return (await this.calendars(CALENDAR_LIST_FEED_TTL_MS)).map((c) => c.id);
  }

  async openChannel(_type: string, req: OpenChannelRequest): Promise<PushChannel> {
    const ttl = this.session.cfg.channelTtlSeconds;
    const res = await this.client.watchEvents(req.resource, {
      id: req.channelId,
      type: 'web_hook',
      address: req.address,
      token: req.token,
      params: { ttl: String(ttl) },
    });
    const expiration = Number(res.expiration);
    return {
      channelId: res.id ?? req.channelId,
      resourceId: res.resourceId!,
      resource: req.resource,
      expiresAt: new Date(Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now() + ttl * 1000).toISOString(),
    };
  }

  async stopChannel(_type: string, channel: PushChannel): Promise<void> {
    try {
      await this.client.stopChannel(channel.channelId, channel.resourceId, (e) => e.status === 404);
    } catch (e) {
      if (!isGoogleApiError(e)) throw e; // 404: expired or stopped already
    }
  }
}

