/** Calendar v3 resource shapes as the emulator sends them (a subset of Google's Event resource). */

export type EventStatus = 'confirmed' | 'tentative' | 'cancelled';
export type ResponseStatus = 'needsAction' | 'declined' | 'tentative' | 'accepted';

/** `{date}` for all-day events, `{dateTime}` (RFC 3339 with offset) for timed ones. */
export interface EventDateTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

export interface EventPerson {
  email: string;
  displayName?: string;
  self?: boolean;
}

export interface EventAttendee {
  email: string;
  displayName?: string;
  organizer?: boolean;
  self?: boolean;
  resource?: boolean;
  optional?: boolean;
  responseStatus: ResponseStatus;
  comment?: string;
  additionalGuests?: number;
}

export interface ConferenceData {
  createRequest?: { requestId: string; conferenceSolutionKey?: { type: string }; status?: { statusCode: string } };
  entryPoints?: Array<{ entryPointType: string; uri: string; label?: string; pin?: string; regionCode?: string }>;
  conferenceSolution?: { key: { type: string }; name: string; iconUri?: string };
  conferenceId?: string;
  notes?: string;
}

export interface EventReminders {
  useDefault: boolean;
  overrides?: Array<{ method: 'email' | 'popup'; minutes: number }>;
}

export interface EventAttachment {
  fileUrl: string;
  title?: string;
  mimeType?: string;
  iconLink?: string;
  fileId?: string;
}

/** A Calendar v3 Event resource (`calendar#event`). Absent optional fields are omitted, as Google does. */
export interface SandboxEvent {
  kind: 'calendar#event';
  etag: string;
  id: string;
  status: EventStatus;
  htmlLink: string;
  created: string;
  updated: string;
  summary?: string;
  description?: string;
  location?: string;
  colorId?: string;
  creator: EventPerson;
  organizer: EventPerson;
  start: EventDateTime;
  end: EventDateTime;
  endTimeUnspecified?: boolean;
  recurrence?: string[];
  recurringEventId?: string;
  originalStartTime?: EventDateTime;
  transparency?: 'transparent';
  visibility?: 'public' | 'private' | 'confidential';
  iCalUID: string;
  sequence: number;
  attendees?: EventAttendee[];
  guestsCanInviteOthers?: false;
  guestsCanModify?: true;
  guestsCanSeeOtherGuests?: false;
  anyoneCanAddSelf?: true;
  hangoutLink?: string;
  conferenceData?: ConferenceData;
  reminders: EventReminders;
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  source?: { url: string; title?: string };
  attachments?: EventAttachment[];
  eventType: 'default';
}

/**
 * What the write helpers and the API accept: the writable Event fields. In a patch, `null` clears a
 * field (or an object key), objects merge and arrays replace.
 */
export interface EventInput {
  id?: string;
  iCalUID?: string;
  status?: EventStatus | null;
  summary?: string | null;
  description?: string | null;
  location?: string | null;
  colorId?: string | null;
  start?: { date?: string | null; dateTime?: string | null; timeZone?: string | null } | null;
  end?: { date?: string | null; dateTime?: string | null; timeZone?: string | null } | null;
  endTimeUnspecified?: boolean | null;
  recurrence?: string[] | null;
  transparency?: 'opaque' | 'transparent' | null;
  visibility?: 'default' | 'public' | 'private' | 'confidential' | null;
  sequence?: number | null;
  attendees?: Array<Partial<EventAttendee> & { email: string }> | null;
  guestsCanInviteOthers?: boolean | null;
  guestsCanModify?: boolean | null;
  guestsCanSeeOtherGuests?: boolean | null;
  anyoneCanAddSelf?: boolean | null;
  conferenceData?: ConferenceData | null;
  reminders?: { useDefault?: boolean | null; overrides?: EventReminders['overrides'] | null } | null;
  extendedProperties?: { private?: Record<string, string | null> | null; shared?: Record<string, string | null> | null } | null;
  source?: { url: string; title?: string } | null;
  attachments?: EventAttachment[] | null;
  eventType?: 'default';
  [other: string]: unknown;
}

export interface CalendarInfo {
  id: string;
  summary: string;
  description?: string;
  timeZone: string;
  primary: boolean;
  owner: string;
}

export interface NewCalendar {
  /** default: a generated `c_<hex>@group.calendar.google.com` */
  id?: string;
  summary: string;
  description?: string;
  /** IANA zone, default 'UTC' */
  timeZone?: string;
  /** true: update the user's primary calendar (its id is the user's email) */
  primary?: boolean;
}

export interface SeedOptions {
  /** events start up to this many days back (default 365) */
  pastDays?: number;
  /** ... and up to this many days ahead (default 120) */
  futureDays?: number;
}
