/**
 * Fireflies' Transcript (GraphQL) → Aurora's canonical transcript and action items (pure; one
 * way only: Fireflies is never written to).
 */
import { canonicalize, type Canonical } from '../../core/model';
import type { ExternalRecord } from '../types';
import { identifyActionItems, normaliseItemText, parseActionItems } from './action-items';
import { ACTION_ITEM, TRANSCRIPT } from './entities';

/** The fields of `Transcript` the engine reads (the GraphQL selection in client.ts). */
export interface FfTranscript {
  id: string;
  title?: string | null;
  date?: number | null;
  dateString?: string | null;
  duration?: number | null;
  privacy?: string | null;
  host_email?: string | null;
  organizer_email?: string | null;
  participants?: Array<string | null> | null;
  meeting_attendees?: Array<{ displayName?: string | null; email?: string | null; name?: string | null } | null> | null;
  speakers?: Array<{ id?: number | string | null; name?: string | null } | null> | null;
  sentences?: Array<{ index?: number | null; speaker_name?: string | null; speaker_id?: string | number | null; text?: string | null; start_time?: number | null; end_time?: number | null } | null> | null;
  summary?: {
    action_items?: string | string[] | null;
    keywords?: string | string[] | null;
    outline?: string | string[] | null;
    overview?: string | null;
    short_summary?: string | null;
    topics_discussed?: string[] | null;
  } | null;
  transcript_url?: string | null;
  meeting_link?: string | null;
  calendar_id?: string | null;
  meeting_info?: { summary_status?: string | null } | null;
}

const present = <T>(xs: ReadonlyArray<T | null | undefined> | null | undefined): T[] => (xs ?? []).filter((x): x is T => x !== null && x !== undefined);
const lower = (s: string | null | undefined): string | null => (s && s.trim() ? s.trim().toLowerCase() : null);

/** A list, whether Fireflies sent a list or a comma/newline-separated string. */
function listOf(v: string | string[] | null | undefined, sep: RegExp): string[] | null {
  if (v === null || v === undefined) return null;
  const items = (Array.isArray(v) ? v : v.split(sep)).map((x) => String(x).trim()).filter(Boolean);
  return items;
}

export const summaryReady = (t: FfTranscript): boolean => Boolean(t.summary) && t.meeting_info?.summary_status !== 'processing';

export function attendeesOf(t: FfTranscript): Array<{ email: string; name: string | null; displayName: string | null }> {
  const byEmail = new Map<string, { email: string; name: string | null; displayName: string | null }>();
  for (const a of present(t.meeting_attendees)) {
    const email = lower(a.email);
    if (email && !byEmail.has(email)) byEmail.set(email, { email, name: a.name?.trim() || null, displayName: a.displayName?.trim() || null });
  }
  return [...byEmail.values()].sort((a, b) => a.email.localeCompare(b.email));
}

export function toTranscriptCanonical(t: FfTranscript): Canonical {
  const s = summaryReady(t) ? t.summary! : null;
  const rawItems = s?.action_items;
  return canonicalize(TRANSCRIPT, {
    title: t.title,
    meeting_date: t.date ?? t.dateString,
    duration_minutes: t.duration,
    host_email: t.host_email,
    organizer_email: t.organizer_email,
    participants: [...new Set(present(t.participants).map((p) => p.trim().toLowerCase()).filter(Boolean))].sort(),
    attendees: attendeesOf(t),
    speakers: present(t.speakers).map((sp) => ({ id: sp.id ?? null, name: sp.name ?? null })),
    sentences: present(t.sentences).map((x) => ({
      index: x.index ?? null, speaker_name: x.speaker_name ?? null, speaker_id: x.speaker_id === null || x.speaker_id === undefined ? null : String(x.speaker_id),
      text: x.text ?? null, start_time: x.start_time ?? null, end_time: x.end_time ?? null,
    })),
    summary_status: s ? 'processed' : 'processing',
    overview: s?.overview,
    short_summary: s?.short_summary,
    keywords: s ? listOf(s.keywords, /[,\n]/) : null,
    outline: Array.isArray(s?.outline) ? s.outline.join('\n') : s?.outline,
    topics: s?.topics_discussed ?? null,
    action_items_raw: Array.isArray(rawItems) ? rawItems.join('\n') : rawItems,
    transcript_url: t.transcript_url,
    meeting_link: t.meeting_link,
    calendar_id: t.calendar_id,
    privacy: t.privacy,
  });
}

/**
 * The attendee an assignee name stands for: the attendee whose name or display name is exactly
 * it, else the only one whose first name (or email's local part) is it. Null when unsure.
 */
export function assigneeEmail(assignee: string | null, attendees: ReturnType<typeof attendeesOf>): string | null {
  if (!assignee) return null;
  const want = normaliseItemText(assignee);
  const exact = attendees.filter((a) => [a.name, a.displayName].some((n) => n && normaliseItemText(n) === want));
  if (exact.length === 1) return exact[0]!.email;
  if (exact.length > 1) return null;
  const first = want.split(' ')[0]!;
  const loose = attendees.filter(
    (a) => [a.name, a.displayName].some((n) => n && normaliseItemText(n).split(' ')[0] === first) || a.email.split('@')[0]!.split(/[._-]/)[0] === first,
  );
  return loose.length === 1 ? loose[0]!.email : null;
}

/** The action items of a transcript as records (none while its summary is processing). */
export function toActionItemRecords(t: FfTranscript, updatedAt: string): ExternalRecord[] {
  if (!summaryReady(t)) return [];
  const attendees = attendeesOf(t);
  return identifyActionItems(t.id, parseActionItems(t.summary!.action_items)).map((item) => ({
    externalId: item.id,
    fields: canonicalize(ACTION_ITEM, {
      transcript_id: t.id,
      text: item.text,
      raw_text: item.raw,
      assignee: item.assignee,
      assignee_email: assigneeEmail(item.assignee, attendees),
      meeting_offset_seconds: item.offsetSeconds,
      position: item.position,
    }),
    updatedAt,
    auroraId: null,
    archived: false,
  }));
}

export function toTranscriptRecord(t: FfTranscript, updatedAt: string): ExternalRecord {
  return { externalId: t.id, fields: toTranscriptCanonical(t), updatedAt, auroraId: null, archived: false };
}
