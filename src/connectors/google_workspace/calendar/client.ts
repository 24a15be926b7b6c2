/**
 * The Calendar v3 calls the connector makes, over the real googleapis client, each through the
 * session's GoogleRequester (budget, backoff, error classification). Thin: no sync logic here.
 */
import { calendar, type calendar_v3 } from 'googleapis/build/src/apis/calendar';
import type { GoogleApiError } from '../errors';
import type { GoogleSession } from '../session';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const SERVICE = 'Google Calendar';
/** Google's maximum page size for events.list */
export const EVENTS_PAGE_SIZE = 2500;

export type SendUpdates = 'none' | 'all' | 'externalOnly';
type Handles = (e: GoogleApiError) => boolean;
const never: Handles = () => false;

export interface ListEventsParams {
  calendarId: string;
  pageToken?: string;
  syncToken?: string;
  timeMin?: string;
}

export class CalendarClient {
  private readonly api: calendar_v3.Calendar;

  constructor(private readonly session: GoogleSession) {
    this.api = calendar({ version: 'v3', ...session.apiOptions });
    session.requester('calendar', session.cfg.quotaPerUserPerMinute); // its budget exists from the start (status, metrics)
  }

  private call<T>(what: string, fn: () => Promise<{ data: T }>, handles: Handles = never): Promise<T> {
    return this.session.requester('calendar', this.session.cfg.quotaPerUserPerMinute).call(SERVICE, what, fn, handles);
  }

  /** Every entry of the user's calendar list the user can write to (all pages). */
  async listCalendars(): Promise<calendar_v3.Schema$CalendarListEntry[]> {
    const out: calendar_v3.Schema$CalendarListEntry[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call('calendarList.list', () =>
        this.api.calendarList.list({ minAccessRole: 'writer', showHidden: true, maxResults: 250, pageToken }),
      );
      out.push(...(page.items ?? []));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /**
   * One page of events. A full listing (no syncToken) leaves deleted events out and may start at
   * timeMin; an incremental one sends the syncToken and nothing Google forbids with it (timeMin,
   * updatedMin, q, orderBy, iCalUID..., showDeleted=false), the other parameters as in the full
   * listing (singleEvents=false: recurring masters and their modified instances, not expansions).
   */
  listEvents(p: ListEventsParams, handles: Handles = never): Promise<calendar_v3.Schema$Events> {
    const params: calendar_v3.Params$Resource$Events$List = { calendarId: p.calendarId, maxResults: EVENTS_PAGE_SIZE, singleEvents: false, pageToken: p.pageToken };
    // With a syncToken deleted events always come, and showDeleted=false is refused.
    if (p.syncToken) params.syncToken = p.syncToken;
    else {
      params.showDeleted = false;
      if (p.timeMin) params.timeMin = p.timeMin;
    }
    return this.call(`events.list of ${p.calendarId}`, () => this.api.events.list(params), handles);
  }

  getEvent(calendarId: string, eventId: string, handles: Handles = never): Promise<calendar_v3.Schema$Event> {
    return this.call(`events.get of ${eventId} in ${calendarId}`, () => this.api.events.get({ calendarId, eventId }), handles);
  }

  insertEvent(calendarId: string, requestBody: calendar_v3.Schema$Event, sendUpdates: SendUpdates, handles: Handles = never): Promise<calendar_v3.Schema$Event> {
    return this.call(`events.insert into ${calendarId}`, () => this.api.events.insert({ calendarId, requestBody, sendUpdates }), handles);
  }

  /** A patch, conditional on the etag when given (412 when the event changed since). */
  patchEvent(
    calendarId: string,
    eventId: string,
    requestBody: calendar_v3.Schema$Event,
    sendUpdates: SendUpdates,
    etag: string | undefined,
    handles: Handles = never,
  ): Promise<calendar_v3.Schema$Event> {
    return this.call(
      `events.patch of ${eventId} in ${calendarId}`,
      () => this.api.events.patch({ calendarId, eventId, requestBody, sendUpdates }, etag ? { headers: { 'If-Match': etag } } : {}),
      handles,
    );
  }

  moveEvent(calendarId: string, eventId: string, destination: string, sendUpdates: SendUpdates, handles: Handles = never): Promise<calendar_v3.Schema$Event> {
    return this.call(`events.move of ${eventId} from ${calendarId} to ${destination}`, () => this.api.events.move({ calendarId, eventId, destination, sendUpdates }), handles);
  }

  async deleteEvent(calendarId: string, eventId: string, sendUpdates: SendUpdates, etag: string | undefined, handles: Handles = never): Promise<void> {
    await this.call(
      `events.delete of ${eventId} in ${calendarId}`,
      () => this.api.events.delete({ calendarId, eventId, sendUpdates }, etag ? { headers: { 'If-Match': etag } } : {}),
      handles,
    );
  }

  watchEvents(calendarId: string, channel: calendar_v3.Schema$Channel): Promise<calendar_v3.Schema$Channel> {
    return this.call(`events.watch of ${calendarId}`, () => this.api.events.watch({ calendarId, requestBody: channel }));
  }

  async stopChannel(id: string, resourceId: string, handles: Handles = never): Promise<void> {
    await this.call(`channels.stop of ${id}`, () => this.api.channels.stop({ requestBody: { id, resourceId } }), handles);
  }
}
