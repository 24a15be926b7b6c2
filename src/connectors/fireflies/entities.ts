/** Fireflies' entity types as Aurora stores them: both pull-only (Fireflies → Aurora). */
import type { EntitySpec } from '../../core/model';

export const TRANSCRIPT: EntitySpec = {
  type: 'transcript',
  plural: 'transcripts',
  table: 'transcripts',
  fields: {
    title: 'text',
    /** the meeting's start */
    meeting_date: 'timestamp',
    duration_minutes: 'numeric',
    host_email: 'email',
    organizer_email: 'email',
    /** participants' emails, sorted */
    participants: 'json',
    /** [{email, name, displayName}] sorted by email (linked to contacts: view transcript_attendees) */
    attendees: 'json',
    /** [{id, name}] */
    speakers: 'json',
    /** [{index, speaker_name, speaker_id, text, start_time, end_time}] (also one row each in transcript_sentences) */
    sentences: 'json',
    /** processing | processed */
    summary_status: 'text',
    overview: 'text',
    short_summary: 'text',
    /** [string] */
    keywords: 'json',
    outline: 'text',
    /** [string] */
    topics: 'json',
    /** Fireflies' action items exactly as returned (text, or a list joined by newlines) */
    action_items_raw: 'text',
    transcript_url: 'text',
    meeting_link: 'text',
    /** the Google Calendar event id Fireflies recorded (view transcript_calendar_events) */
    calendar_id: 'text',
    privacy: 'text',
  },
  direction: 'pull-only',
  description: 'Fireflies meeting transcripts: attendees, speakers, sentences and summary (attendees linked to contacts by email)',
};

export const ACTION_ITEM: EntitySpec = {
  type: 'action_item',
  plural: 'action_items',
  table: 'action_items',
  fields: {
    transcript_id: 'ref',
    text: 'text',
    /** the line as Fireflies wrote it */
    raw_text: 'text',
    /** the name the item is grouped under (`**Name**`), when there is one */
    assignee: 'text',
    /** the attendee with that name, when one matches (view action_item_contacts) */
    assignee_email: 'email',
    /** seconds into the meeting, when Fireflies gave `(mm:ss)` */
    meeting_offset_seconds: 'numeric',
    /** position in the summary, from 0 */
    position: 'numeric',
  },
  refs: { transcript_id: 'transcript' },
  direction: 'pull-only',
  description: 'Action items Fireflies extracted from each transcript, one row each (stable ids; tombstoned when a re-summary drops them)',
};

export const FIREFLIES_ENTITIES: readonly EntitySpec[] = [TRANSCRIPT, ACTION_ITEM];
