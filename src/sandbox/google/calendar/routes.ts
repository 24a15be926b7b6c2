/**
 * Calendar v3 over HTTP (paths at the origin root, as googleapis builds them from `rootUrl`):
 *
 *   GET    /calendar/v3/users/me/calendarList[/:calendarId]
 *   GET    /calendar/v3/calendars/:calendarId
 *   GET    /calendar/v3/calendars/:calendarId/events           list (full, paged, incremental)
 *   POST   /calendar/v3/calendars/:calendarId/events           insert
 *   POST   /calendar/v3/calendars/:calendarId/events/watch     push channel
 *   GET|PUT|PATCH|DELETE /calendar/v3/calendars/:calendarId/events/:eventId
 *   POST   /calendar/v3/calendars/:calendarId/events/:eventId/move?destination=
 *   POST   /calendar/v3/channels/stop
 *
 * `calendarId=primary` is the token user's primary calendar; another user's calendar is a 404.
 */
import { createHash } from 'node:crypto';
import { SCOPE } from '../auth';
import { badRequest, GoogleError, invalid } from '../errors';
import { qBool, qInt, qList, qString, type ApiContext, type Core, type Query } from '../server';
import { etagOf, renderCancelled, renderEvent, type StoredEvent } from './event';
import type { CalendarRec, CalendarStore, ListQuery, WriteContext } from './store';
import { iso, isTimeZone, parseTimestamp } from './time';

const READ = [
  SCOPE.calendar, SCOPE.calendarReadonly, SCOPE.calendarEvents, SCOPE.calendarEventsReadonly, SCOPE.calendarEventsOwned, SCOPE.calendarEventsOwnedReadonly,
];
const WRITE = [SCOPE.calendar, SCOPE.calendarEvents, SCOPE.calendarEventsOwned];
const CALENDAR_LIST = [SCOPE.calendar, SCOPE.calendarReadonly, SCOPE.calendarList, SCOPE.calendarListReadonly];
const CALENDARS = [SCOPE.calendar, SCOPE.calendarReadonly, SCOPE.calendars, SCOPE.calendarsReadonly];
const ANY_CALENDAR = [...new Set([...READ, ...CALENDAR_LIST, ...CALENDARS])];

const V3 = '/calendar/v3';
const EVENTS = `${V3}/calendars/:calendarId/events`;
/** Google's default reminders of a new primary calendar. */
const PRIMARY_DEFAULT_REMINDERS = [{ method: 'popup', minutes: 10 }];
const MAX_RESULTS = 2500;
/** Parameters a syncToken cannot be combined with. */
const SYNC_RESTRICTIONS = ['iCalUID', 'orderBy', 'privateExtendedProperty', 'q', 'sharedExtendedProperty', 'timeMin', 'timeMax', 'updatedMin'];
/** Parameters that do not change what a list returns (left out of a page token's binding). */
const UNBOUND_PARAMS = new Set(['pageToken', 'maxResults', 'alt', 'prettyPrint', 'fields', 'quotaUser', 'key', 'timeZone']);

export function resourceIdFor(calendarId: string): string {
  return createHash('sha256').update(`calendar-events:${calendarId}`).digest('base64url').slice(0, 27);
}

function defaultReminders(cal: CalendarRec) {
  return cal.primary ? PRIMARY_DEFAULT_REMINDERS : [];
}

function calendarListEntry(cal: CalendarRec) {
  const entry: Record<string, unknown> = {
    kind: 'calendar#calendarListEntry',
    etag: `"${cal.lastChange * 1000}"`,
    id: cal.id,
    summary: cal.summary,
  };
  if (cal.description !== undefined) entry.description = cal.description;
  Object.assign(entry, {
    timeZone: cal.timeZone,
    colorId: cal.primary ? '14' : '9',
    backgroundColor: cal.primary ? '#9fe1e7' : '#7bd148',
    foregroundColor: '#000000',
    selected: true,
    accessRole: 'owner',
    defaultReminders: defaultReminders(cal),
  });
  if (cal.primary) {
    entry.notificationSettings = {
      notifications: ['eventCreation', 'eventChange', 'eventCancellation', 'eventResponse'].map((type) => ({ type, method: 'email' })),
    };
    entry.primary = true;
  }
  entry.conferenceProperties = { allowedConferenceSolutionTypes: ['hangoutsMeet'] };
  return entry;
}

function ifMatch(ctx: ApiContext, ev: StoredEvent): void {
  const h = ctx.header('if-match');
  if (h === undefined) return;
  const tags = h.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes('*') || tags.includes(etagOf(ev))) return;
  throw new GoogleError(412, 'Precondition Failed', [
    { domain: 'global', reason: 'conditionNotMet', message: 'Precondition Failed', locationType: 'header', location: 'If-Match' },
  ]);
}

/** `sendUpdates` (or the deprecated `sendNotifications`), validated; undefined when absent. */
function sendUpdatesOf(q: Query): string | undefined {
  const v = qString(q, 'sendUpdates');
  if (v !== undefined) {
    if (!['all', 'externalOnly', 'none'].includes(v)) throw invalid(`Invalid value '${v}' for sendUpdates.`, { location: 'sendUpdates', locationType: 'parameter' });
    return v;
  }
  const legacy = qBool(q, 'sendNotifications');
  return legacy === undefined ? undefined : legacy ? 'all' : 'none';
}

function timestampParam(q: Query, name: string): number | undefined {
  const v = qString(q, name);
  if (v === undefined) return undefined;
  const ms = parseTimestamp(v);
  if (ms === undefined) throw GoogleError.of(400, 'badRequest', 'Bad Request', { location: name, locationType: 'parameter' });
  return ms;
}

function listQuery(q: Query): ListQuery {
  const syncToken = qString(q, 'syncToken');
  if (syncToken !== undefined && (SYNC_RESTRICTIONS.some((k) => q[k] !== undefined) || qBool(q, 'showDeleted') === false)) {
    throw GoogleError.of(400, 'syncTokenWithRequestRestrictions', 'Sync token cannot be used with other request restrictions.', {
      location: 'syncToken',
      locationType: 'parameter',
    });
  }
  const timeMin = timestampParam(q, 'timeMin');
  const timeMax = timestampParam(q, 'timeMax');
  if (timeMin !== undefined && timeMax !== undefined && timeMax <= timeMin) {
    throw GoogleError.of(400, 'timeRangeEmpty', 'The specified time range is empty.', { domain: 'calendar', location: 'timeMax', locationType: 'parameter' });
  }
  const orderBy = qString(q, 'orderBy');
  if (orderBy !== undefined && orderBy !== 'startTime' && orderBy !== 'updated') {
    throw invalid(`Invalid value '${orderBy}' for orderBy.`, { location: 'orderBy', locationType: 'parameter' });
  }
  // startTime ordering needs expanded instances (the sandbox keeps masters: see calendar/index.ts)
  if (orderBy === 'startTime' && qBool(q, 'singleEvents') !== true) {
    throw invalid('The requested ordering is not available for the particular query.', { location: 'orderBy', locationType: 'parameter' });
  }
  const binding = Object.keys(q)
    .filter((k) => !UNBOUND_PARAMS.has(k))
    .sort()
    .map((k) => `${k}=${qList(q, k).join('\u0000')}`)
    .join('&');
  const text = qString(q, 'q');
  const query: ListQuery = {
    maxResults: Math.min(MAX_RESULTS, qInt(q, 'maxResults', 1, Number.MAX_SAFE_INTEGER) ?? 250),
    showDeleted: qBool(q, 'showDeleted') ?? false,
    privateExtendedProperty: qList(q, 'privateExtendedProperty'),
    sharedExtendedProperty: qList(q, 'sharedExtendedProperty'),
    eventTypes: qList(q, 'eventTypes'),
    binding,
  };
  qBool(q, 'singleEvents'); // validated only: instances are not expanded, masters are returned either way
  if (syncToken !== undefined) query.syncToken = syncToken;
  const pageToken = qString(q, 'pageToken');
  if (pageToken !== undefined) query.pageToken = pageToken;
  if (timeMin !== undefined) query.timeMin = timeMin;
  if (timeMax !== undefined) query.timeMax = timeMax;
  const updatedMin = timestampParam(q, 'updatedMin');
  if (updatedMin !== undefined) query.updatedMin = updatedMin;
  if (text !== undefined && text.trim() !== '') query.q = text;
  if (orderBy !== undefined) query.orderBy = orderBy;
  const iCalUID = qString(q, 'iCalUID');
  if (iCalUID !== undefined) query.iCalUID = iCalUID;
  return query;
}

function responseTimeZone(q: Query, cal: CalendarRec): string {
  const tz = qString(q, 'timeZone');
  if (tz === undefined) return cal.timeZone;
  if (!isTimeZone(tz)) throw invalid('Invalid time zone definition.', { location: 'timeZone', locationType: 'parameter' });
  return tz;
}

export function registerCalendarRoutes(core: Core, store: CalendarStore): void {
  const calendarOf = (ctx: ApiContext, param = 'calendarId'): CalendarRec => store.resolve(ctx.principal.email, ctx.params[param]!);
  const write = (ctx: ApiContext): WriteContext => {
    core.stats.sendUpdates(sendUpdatesOf(ctx.query));
    return {
      actor: ctx.principal.email,
      conferenceDataVersion: qInt(ctx.query, 'conferenceDataVersion', 0, 1) ?? 0,
      supportsAttachments: qBool(ctx.query, 'supportsAttachments') ?? false,
      organizerRules: true,
    };
  };
  const eventResult = (ev: StoredEvent, cal: CalendarRec, tz = cal.timeZone) => ({
    status: 200,
    body: renderEvent(ev, cal, tz),
    headers: { ETag: etagOf(ev) },
  });

  core.route('GET', `${V3}/users/me/calendarList`, CALENDAR_LIST, (ctx) => {
    const all = store.calendarsOf(ctx.principal.email);
    const max = Math.min(250, qInt(ctx.query, 'maxResults', 1, Number.MAX_SAFE_INTEGER) ?? 100);
    const token = qString(ctx.query, 'pageToken');
    let start = 0;
    if (token !== undefined) {
      start = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o/, ''));
      if (!Number.isInteger(start) || start < 0) throw invalid('Invalid page token value.', { location: 'pageToken', locationType: 'parameter' });
    }
    const items = all.slice(start, start + max).map(calendarListEntry);
    const body: Record<string, unknown> = {
      kind: 'calendar#calendarList',
      etag: `"${Math.max(0, ...all.map((c) => c.lastChange)) * 1000}"`,
    };
    if (start + max < all.length) body.nextPageToken = Buffer.from(`o${start + max}`).toString('base64url');
    body.items = items;
    return { status: 200, body };
  });

  core.route('GET', `${V3}/users/me/calendarList/:calendarId`, CALENDAR_LIST, (ctx) => ({ status: 200, body: calendarListEntry(calendarOf(ctx)) }));

  core.route('GET', `${V3}/calendars/:calendarId`, CALENDARS, (ctx) => {
    const cal = calendarOf(ctx);
    const body: Record<string, unknown> = { kind: 'calendar#calendar', etag: `"${cal.lastChange * 1000}"`, id: cal.id, summary: cal.summary };
    if (cal.description !== undefined) body.description = cal.description;
    body.timeZone = cal.timeZone;
    body.conferenceProperties = { allowedConferenceSolutionTypes: ['hangoutsMeet'] };
    return { status: 200, body };
  });

  core.route('GET', EVENTS, READ, (ctx) => {
    const cal = calendarOf(ctx);
    const q = listQuery(ctx.query);
    const tz = responseTimeZone(ctx.query, cal);
    const page = store.list(cal, q);
    const body: Record<string, unknown> = {
      kind: 'calendar#events',
      etag: `"${cal.lastChange * 1000}"`,
      summary: cal.summary,
    };
    if (cal.description !== undefined) body.description = cal.description;
    Object.assign(body, { updated: iso(cal.lastChange), timeZone: tz, accessRole: 'owner', defaultReminders: defaultReminders(cal) });
    if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
    if (page.nextSyncToken !== undefined) body.nextSyncToken = page.nextSyncToken;
    body.items = page.items.map((ev) => (ev.data.status === 'cancelled' ? renderCancelled(ev, tz) : renderEvent(ev, cal, tz)));
    return { status: 200, body };
  });

  core.route('POST', EVENTS, WRITE, (ctx) => {
    const cal = calendarOf(ctx);
    const w = write(ctx);
    return eventResult(store.insert(cal, ctx.json(), w), cal);
  });

  core.route('POST', `${EVENTS}/watch`, READ, (ctx) => {
    const cal = calendarOf(ctx);
    const channel = core.channels.open(ctx.principal.email, ctx.json(), {
      key: `calendar:${cal.id}`,
      resourceId: resourceIdFor(cal.id),
      resourceUri: `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(ctx.params.calendarId!)}/events?alt=json`,
    });
    return { status: 200, body: channel };
  });

  core.route('GET', `${EVENTS}/:eventId`, READ, (ctx) => {
    const cal = calendarOf(ctx);
    const ev = store.mustEvent(cal, ctx.params.eventId!);
    const inm = ctx.header('if-none-match');
    if (inm !== undefined && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etagOf(ev))) {
      return { status: 304, headers: { ETag: etagOf(ev) } };
    }
    return eventResult(ev, cal, responseTimeZone(ctx.query, cal));
  });

  core.route('PATCH', `${EVENTS}/:eventId`, WRITE, (ctx) => {
    const cal = calendarOf(ctx);
    const ev = store.mustEvent(cal, ctx.params.eventId!);
    ifMatch(ctx, ev);
    const w = write(ctx);
    return eventResult(store.patch(cal, ev, ctx.json() ?? {}, w), cal);
  });

  core.route('PUT', `${EVENTS}/:eventId`, WRITE, (ctx) => {
    const cal = calendarOf(ctx);
    const ev = store.mustEvent(cal, ctx.params.eventId!);
    ifMatch(ctx, ev);
    const w = write(ctx);
    return eventResult(store.update(cal, ev, ctx.json(), w), cal);
  });

  core.route('DELETE', `${EVENTS}/:eventId`, WRITE, (ctx) => {
    const cal = calendarOf(ctx);
    const ev = store.mustEvent(cal, ctx.params.eventId!);
    ifMatch(ctx, ev);
    write(ctx);
    store.cancel(cal, ev);
    return { status: 204 };
  });

  core.route('POST', `${EVENTS}/:eventId/move`, WRITE, (ctx) => {
    const from = calendarOf(ctx);
    const ev = store.mustEvent(from, ctx.params.eventId!);
    const destination = qString(ctx.query, 'destination');
    if (destination === undefined || destination === '') throw badRequest();
    const to = store.resolve(ctx.principal.email, destination);
    write(ctx);
    return eventResult(store.move(from, to, ev), to);
  });

  core.route('POST', `${V3}/channels/stop`, ANY_CALENDAR, (ctx) => {
    core.channels.stop(ctx.json());
    return { status: 204 };
  });
}

