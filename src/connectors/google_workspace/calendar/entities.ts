/** Google Calendar's entity type as Aurora stores it (table calendar_events, one row per event and mailbox). */
import type { EntitySpec } from '../../../core/model';

export const CALENDAR_EVENT_TYPE = 'calendar_event';

export const CALENDAR_EVENT: EntitySpec = {
  type: CALENDAR_EVENT_TYPE,
  plural: 'calendar_events',
  table: 'calendar_events',
  fields: {
    calendar_id: 'text',
    summary: 'text',
    description: 'text',
    location: 'text',
    /** timed events: start/end instants (UTC); all-day events: start/end dates (end exclusive, as Google has it) */
    start_at: 'timestamp',
    end_at: 'timestamp',
    start_date: 'date',
    end_date: 'date',
    start_time_zone: 'text',
    end_time_zone: 'text',
    /** confirmed | tentative (a cancelled event arrives as a deletion) */
    status: 'text',
    organizer_email: 'email',
    /** [{email, displayName?, responseStatus, optional?, organizer?}] sorted by email */
    attendees: 'json',
    /** {useDefault, overrides?: [{method, minutes}]} */
    reminders: 'json',
    /** RRULE / EXRULE / RDATE / EXDATE lines, in Google's order */
    recurrence: 'json',
    conference_link: 'text',
    html_link: 'text',
    ical_uid: 'text',
    recurring_event_id: 'text',
    /** opaque | transparent */
    transparency: 'text',
    /** default | public | private | confidential */
    visibility: 'text',
  },
  direction: 'two-way',
  connectionColumn: 'mailbox',
  description: "Google Calendar events of each user's owned and writable calendars (attendees linked to contacts by email)",
};

/**
 * Fields Google computes or does not let a client change with insert/patch: read from Google, never
 * sent (the organizer changes only by moving the event to another calendar; calendar_id by a move).
 */
export const CALENDAR_READ_ONLY_FIELDS: readonly string[] = ['organizer_email', 'conference_link', 'html_link', 'ical_uid', 'recurring_event_id'];

/** Fields an insert/patch body carries (calendar_id is the target of the request, not a body field). */
export const CALENDAR_BODY_FIELDS: readonly string[] = Object.keys(CALENDAR_EVENT.fields).filter(
  (f) => f !== 'calendar_id' && !CALENDAR_READ_ONLY_FIELDS.includes(f),
);
