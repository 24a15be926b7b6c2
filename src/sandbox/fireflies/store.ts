/**
 * The sandbox's state: the team's users, the API keys, and the transcripts (built from explicit
 * fields or generated), their summaries' life cycle (processing → processed → re-summarised) and
 * the events that life cycle emits for the webhooks.
 */
import { createPrng, type Prng } from '../google/prng';
import { FirefliesError } from './errors';
import {
  CUSTOMER_KINDS,
  INTERNAL_KINDS,
  actionItemsText,
  calendarEventId,
  generateSentences,
  generateSummary,
  meetLink,
  parseActionItemsText,
  resummarizeActionItems,
  slug,
  titleFor,
  ulid,
  zoomLink,
  type GeneratedSentence,
  type GeneratedSummary,
  type MeetingContext,
  type MeetingKind,
  type Speaker,
  type TimestampMode,
} from './generate';
import { CUSTOMERS, DEFAULT_USERS, colleagues, knownPeople, nameFromEmail, type Person } from './people';
import type {
  AIFilters,
  ActionItemGroup,
  AddOptions,
  ApiKeyOptions,
  AttendeeInput,
  Plan,
  SandboxTranscript,
  SeedOptions,
  SentenceInput,
  SummarizeOptions,
  SummaryFormat,
  SummaryInput,
  TranscriptInput,
  TranscriptLinks,
} from './types';
import { PLANS } from './types';

export interface UserRecord {
  user_id: string;
  email: string;
  name: string;
  is_admin: boolean;
}

export interface KeyRecord {
  key: string;
  plan: Plan;
  email: string;
  admin: boolean;
  /** per-key overrides of the plan's window */
  limit?: number;
  windowMs?: number;
}

export interface StoredSentence {
  index: number;
  speaker_id: number;
  speaker_name: string;
  text: string;
  raw_text: string;
  start_time: number;
  end_time: number;
  ai_filters: AIFilters;
}

export interface StoredSummary extends Omit<GeneratedSummary, 'action_items'> {
  action_items: ActionItemGroup[];
  /** when the caller gave the text verbatim, it is returned verbatim */
  action_items_raw?: string;
}

export interface StoredTranscript extends TranscriptLinks {
  id: string;
  seq: number;
  title: string;
  date: number;
  duration: number;
  privacy: string;
  host_email: string;
  organizer_email: string;
  user_email: string;
  participants: string[];
  attendees: Array<{ displayName: string | null; email: string; name: string | null; phoneNumber: string | null }>;
  speakers: Array<{ id: number; name: string }>;
  sentences: StoredSentence[];
  summary: StoredSummary | null;
  summaryFormat: SummaryFormat;
  summaryVersion: number;
  ctx: MeetingContext;
  /** the sentences as generated (phases, tasks), for later summaries */
  gen: GeneratedSentence[];
}

export type StoreEvent = { kind: 'transcribed' | 'summarized'; transcript: StoredTranscript };

const DAY_MS = 86_400_000;
const PRIVACY = ['teammates_and_participants', 'teammates_and_participants', 'teammates_and_participants', 'participants', 'teammates', 'link', 'owner'];

export class Store {
  readonly users = new Map<string, UserRecord>();
  readonly keys = new Map<string, KeyRecord>();
  readonly transcripts = new Map<string, StoredTranscript>();
  onEvent: (e: StoreEvent) => void = () => undefined;
  private seq = 0;
  private seedCalls = 0;
  private addCalls = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly people: Map<string, Person>;

  constructor(
    readonly domain: string,
    private readonly randomSeed: number,
  ) {
    this.people = knownPeople(domain);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---- users and keys ------------------------------------------------------------------------

  ensureUser(email: string, name?: string, admin = false): UserRecord {
    const e = email.trim().toLowerCase();
    let u = this.users.get(e);
    if (!u) {
      u = { user_id: ulid(createPrng(this.randomSeed, `user:${e}`), 1_672_531_200_000), email: e, name: name ?? this.people.get(e)?.name ?? nameFromEmail(e), is_admin: admin };
      this.users.set(e, u);
    } else {
      if (name) u.name = name;
      if (admin) u.is_admin = true;
    }
    return u;
  }

  userById(id: string): UserRecord | undefined {
    for (const u of this.users.values()) if (u.user_id === id) return u;
    return undefined;
  }

  addKey(key: string, o: ApiKeyOptions): KeyRecord {
    if (typeof key !== 'string' || key.trim() === '') throw new Error('an API key must be a non-empty string');
    if (!PLANS.includes(o.plan)) throw new Error(`plan must be one of ${PLANS.join(', ')}`);
    if (typeof o.email !== 'string' || !o.email.includes('@')) throw new Error('email must be an email address');
    checkWindow(o.limit, o.windowMs);
    const rec: KeyRecord = { key, plan: o.plan, email: o.email.trim().toLowerCase(), admin: o.admin ?? true, limit: o.limit, windowMs: o.windowMs };
    this.keys.set(key, rec);
    this.ensureUser(rec.email, o.name, rec.admin);
    return rec;
  }

  updateKey(key: string, o: Partial<Omit<ApiKeyOptions, 'email' | 'name'>>): KeyRecord {
    const rec = this.keys.get(key);
    if (!rec) throw new Error(`unknown API key ${key}`);
    if (o.plan !== undefined) {
      if (!PLANS.includes(o.plan)) throw new Error(`plan must be one of ${PLANS.join(', ')}`);
      rec.plan = o.plan;
    }
    checkWindow(o.limit, o.windowMs);
    if ('limit' in o) rec.limit = o.limit;
    if ('windowMs' in o) rec.windowMs = o.windowMs;
    if (o.admin !== undefined) rec.admin = o.admin;
    return rec;
  }

  // ---- transcripts ---------------------------------------------------------------------------

  /** newest first (date, then insertion) */
  sorted(): StoredTranscript[] {
    return [...this.transcripts.values()].sort((a, b) => b.date - a.date || b.seq - a.seq);
  }

  mustGet(id: string): StoredTranscript {
    const t = this.transcripts.get(id);
    if (!t) throw new FirefliesError('object_not_found', `Transcript not found: ${id}`, 404, { objectType: 'Transcript' });
    return t;
  }

  add(input: TranscriptInput = {}, o: AddOptions = {}): StoredTranscript {
    const r = createPrng(this.randomSeed, `add:${++this.addCalls}`);
    const t = this.build(input, r, Date.now());
    this.insert(t, o);
    return t;
  }

  remove(id: string): boolean {
    return this.transcripts.delete(id);
  }

  summarize(id: string, o: SummarizeOptions = {}): StoredTranscript {
    const t = this.mustGet(id);
    const r = createPrng(this.randomSeed, `summarize:${id}:${t.summaryVersion + 1}`);
    if (o.summaryFormat) t.summaryFormat = checkFormat(o.summaryFormat);
    const before = t.summary;
    const base = generateSummary(r, t.ctx, t.gen, pickMode(r));
    let summary: StoredSummary = { ...base };
    if (before) {
      // a re-summarisation keeps the prose mostly, and changes the action items
      summary = { ...before, action_items_raw: undefined };
      summary.action_items = o.changeActionItems === false ? before.action_items : resummarizeActionItems(r, t.ctx, before.action_items);
      summary.notes = before.notes.replace(/### Action items[\s\S]*$/, `### Action items\n${actionItemsText(summary.action_items)}`);
    }
    if (o.summary) summary = applySummaryInput(summary, o.summary);
    t.summary = summary;
    t.summaryVersion++;
    if (o.notify !== false) this.onEvent({ kind: 'summarized', transcript: t });
    return t;
  }

  seed(n: number, o: SeedOptions = {}): StoredTranscript[] {
    if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new Error('seed count must be an integer 0..100000');
    const call = ++this.seedCalls;
    const r = createPrng(o.randomSeed ?? this.randomSeed, o.randomSeed === undefined ? `seed:${call}` : 'seed');
    const now = o.now ?? Date.now();
    const pastDays = Math.max(1, o.pastDays ?? 120);
    const pendingShare = Math.min(1, Math.max(0, o.pendingShare ?? 0.1));
    const organizers = (o.organizers?.length ? o.organizers : this.defaultOrganizers()).map((e) => e.toLowerCase());
    const events = o.calendarEvents ?? [];
    const listCount = Math.min(n, o.listFormatCount ?? (n >= 3 ? 1 : 0));
    const listAt = new Set<number>();
    while (listAt.size < listCount) listAt.add(r.int(0, n - 1));
    const out: StoredTranscript[] = [];
    for (let i = 0; i < n; i++) {
      const ev = events[i];
      const input: TranscriptInput = ev ? this.fromCalendarEvent(r, ev, organizers) : this.randomMeeting(r, now, pastDays, organizers, o.people ?? []);
      if (input.summary === undefined && r.chance(pendingShare)) input.summary = null;
      if (listAt.has(i)) input.summaryFormat = 'list';
      const t = this.build(input, r, now);
      this.insert(t, { notify: o.notify });
      out.push(t);
    }
    return out;
  }

  // ---- internals -----------------------------------------------------------------------------

  private insert(t: StoredTranscript, o: AddOptions): void {
    if (this.transcripts.has(t.id)) throw new Error(`a transcript with id ${t.id} exists`);
    this.transcripts.set(t.id, t);
    this.ensureUser(t.user_email, undefined);
    if (o.notify) {
      this.onEvent({ kind: 'transcribed', transcript: t });
      if (t.summary) this.onEvent({ kind: 'summarized', transcript: t });
    }
    if (!t.summary && o.summarizeAfterMs !== undefined && o.summarizeAfterMs >= 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.transcripts.get(t.id) === t && !t.summary) this.summarize(t.id);
      }, o.summarizeAfterMs);
      timer.unref();
      this.timers.add(timer);
    }
  }

  private defaultOrganizers(): string[] {
    const owners = [...new Set([...this.keys.values()].map((k) => k.email))].filter((e) => e.endsWith(`@${this.domain}`));
    return owners.length > 0 ? owners : DEFAULT_USERS.map((u) => `${u}@${this.domain}`);
  }

  private isInternal(email: string): boolean {
    return email.toLowerCase().endsWith(`@${this.domain}`);
  }

  private nameOf(email: string): string {
    return this.users.get(email.toLowerCase())?.name ?? this.people.get(email.toLowerCase())?.name ?? nameFromEmail(email);
  }

  private randomMeeting(r: Prng, now: number, pastDays: number, organizers: string[], extraPeople: AttendeeInput[]): TranscriptInput {
    const customer = r.chance(0.7);
    const kind: MeetingKind = customer ? r.pick(CUSTOMER_KINDS) : r.pick(INTERNAL_KINDS);
    const organizer = r.pick(organizers);
    const company = r.pick(CUSTOMERS);
    const mates = colleagues(this.domain).filter((p) => p.email !== organizer);
    const others = [...organizers.filter((e) => e !== organizer).map((email) => ({ email, name: this.nameOf(email) })), ...mates];
    const attendees: AttendeeInput[] = [{ email: organizer, name: this.nameOf(organizer) }];
    if (customer) {
      for (const p of pickSome(r, others, 0, 3)) attendees.push(p);
      for (const p of pickSome(r, company.people, 1, 3)) attendees.push(p);
      if (extraPeople.length > 0 && r.chance(0.35)) attendees.push(r.pick(extraPeople));
    } else {
      for (const p of pickSome(r, others, 1, 6)) attendees.push(p);
    }
    // Fireflies often has no display name for an attendee (the calendar invite had none)
    const uniq = dedupe(attendees)
      .slice(0, 8)
      .map((a) => ({ ...a, displayName: r.chance(0.85) ? (a.name ?? null) : null }));
    // a business day in the past, 08:00–17:30 UTC
    let day = Math.floor(now / DAY_MS) - r.int(0, pastDays - 1);
    const wd = new Date(day * DAY_MS).getUTCDay();
    if (wd === 0) day -= 2;
    if (wd === 6) day -= 1;
    let date = day * DAY_MS + (r.int(8, 17) * 60 + r.pick([0, 0, 15, 30, 30, 45])) * 60_000;
    // calendar slots; a short sync yields a short transcript (40+ sentences), long ones cap at 300
    const slot = r.pick([4, 10, 15, 25, 30, 30, 45, 45, 60, 60, 90]);
    if (date + slot * 60_000 > now - 5 * 60_000) date = now - (slot + r.int(10, 120)) * 60_000;
    const zoom = customer && r.chance(0.35);
    const withCalendar = r.chance(zoom ? 0.5 : 0.75);
    const title = titleFor(kind, company.name, r);
    return {
      title,
      date,
      organizer_email: organizer,
      attendees: uniq,
      meeting_link: r.chance(0.93) ? (zoom ? zoomLink(r) : meetLink(r)) : null,
      calendar_id: withCalendar ? calendarEventId(r) : null,
      calendar_type: withCalendar ? 'google' : null,
      privacy: r.pick(PRIVACY),
      ...({ kind, slot, company: customer ? company.name : r.pick(CUSTOMERS).name } as object),
    } as TranscriptInput;
  }

  private fromCalendarEvent(r: Prng, ev: NonNullable<SeedOptions['calendarEvents']>[number], organizers: string[]): TranscriptInput {
    const start = typeof ev.start === 'number' ? ev.start : Date.parse(ev.start);
    if (Number.isNaN(start)) throw new Error(`calendar event ${ev.id}: bad start`);
    const end = ev.end === undefined ? start + 30 * 60_000 : typeof ev.end === 'number' ? ev.end : Date.parse(ev.end);
    const organizer = (ev.organizer ?? r.pick(organizers)).toLowerCase();
    const attendees = dedupe([organizer, ...(ev.attendees ?? [])].map((email) => ({ email, name: this.nameOf(email) })));
    return {
      title: ev.summary ?? 'Meeting',
      date: start,
      duration: Math.max(5, Math.round((end - start) / 60_000)),
      organizer_email: organizer,
      attendees,
      meeting_link: ev.meetLink ?? meetLink(r),
      calendar_id: ev.id,
      calendar_type: 'google',
    };
  }


  /** A transcript from explicit fields, the rest generated (deterministic for `r`). */
  private build(input: TranscriptInput, r: Prng, now: number): StoredTranscript {
    const hint = input as TranscriptInput & { kind?: MeetingKind; company?: string; slot?: number };
    if (input.summaryFormat !== undefined) checkFormat(input.summaryFormat);
    const date = parseDate(input.date, now - 3600_000);
    const organizer = (input.organizer_email ?? input.attendees?.[0]?.email ?? r.pick(this.defaultOrganizers())).toLowerCase();
    const attendeesIn: AttendeeInput[] = input.attendees ?? [
      { email: organizer },
      ...pickSome(r, r.pick(CUSTOMERS).people, 1, 3),
    ];
    const attendees = dedupe([{ email: organizer }, ...attendeesIn]).map((a) => {
      const name = a.name ?? this.nameOf(a.email);
      return { displayName: a.displayName !== undefined ? a.displayName : name, email: a.email.toLowerCase(), name, phoneNumber: a.phoneNumber ?? null };
    });
    const external = attendees.find((a) => !this.isInternal(a.email));
    const company = hint.company ?? (external ? companyOf(external.email) : r.pick(CUSTOMERS).name);
    const customer = attendees.some((a) => !this.isInternal(a.email));
    const kind: MeetingKind = hint.kind ?? (customer ? r.pick(CUSTOMER_KINDS) : r.pick(INTERNAL_KINDS));

    // speakers
    let speakers: Speaker[];
    let sentences: StoredSentence[];
    let generated: GeneratedSentence[] | undefined;
    let duration: number;
    if (Array.isArray(input.sentences)) {
      const names: string[] = [];
      for (const s of input.sentences) if (!names.includes(s.speaker_name)) names.push(s.speaker_name);
      for (const n of input.speakers ?? []) if (!names.includes(n)) names.push(n);
      speakers = names.map((name) => {
        const a = attendees.find((x) => x.name === name || x.displayName === name);
        return { name, email: a?.email, internal: a ? this.isInternal(a.email) : false };
      });
      sentences = input.sentences.map((s: SentenceInput, index) => {
        if (typeof s.text !== 'string' || typeof s.start_time !== 'number' || typeof s.end_time !== 'number' || typeof s.speaker_name !== 'string') {
          throw new Error(`sentences[${index}] needs text, start_time, end_time and speaker_name`);
        }
        return {
          index,
          speaker_id: s.speaker_id ?? names.indexOf(s.speaker_name),
          speaker_name: s.speaker_name,
          text: s.text,
          raw_text: s.raw_text ?? s.text,
          start_time: s.start_time,
          end_time: s.end_time,
          ai_filters: { task: null, pricing: null, metric: null, question: s.text.trim().endsWith('?') ? s.text : null, date_and_time: null, text_cleanup: null, sentiment: 'neutral', ...s.ai_filters },
        };
      });
      const last = sentences[sentences.length - 1];
      duration = input.duration ?? (last ? Math.max(1, Math.round((last.end_time / 60) * 100) / 100) : 30);
    } else {
      // without an explicit duration the meeting lasts as long as its (continuous) speech
      const slot = input.duration ?? hint.slot ?? r.pick([15, 25, 30, 30, 45, 60]);
      if (input.speakers?.length) {
        speakers = input.speakers.map((name) => {
          const a = attendees.find((x) => x.name === name || x.displayName === name);
          return { name, email: a?.email, internal: a ? this.isInternal(a.email) : false };
        });
      } else {
        const pool = attendees.map((a) => ({ name: a.name ?? a.displayName ?? nameFromEmail(a.email), email: a.email, internal: this.isInternal(a.email) }));
        speakers = pool.filter((p, i) => i === 0 || r.chance(p.internal ? 0.75 : 0.85));
        if (speakers.length < 2 && pool.length >= 2) speakers = pool.slice(0, 2);
        if (speakers.length < 2) speakers.push({ name: 'Speaker 2', internal: false });
        // Fireflies sometimes cannot name a voice (dial-in, a guest off the invite)
        if (r.chance(0.05)) speakers.push({ name: `Speaker ${speakers.length + 1}`, internal: false });
      }
      const count = typeof input.sentences === 'number' ? clamp(Math.floor(input.sentences), 1, 5000) : clamp(Math.round((slot * 60) / 4.8), 40, 300);
      generated = generateSentences(r, { kind, company, speakers, duration: slot }, count, input.duration !== undefined);
      sentences = generated.map((s, index) => ({
        index,
        speaker_id: s.speaker,
        speaker_name: speakers[s.speaker]!.name,
        text: s.text,
        raw_text: s.raw_text,
        start_time: s.start_time,
        end_time: s.end_time,
        ai_filters: s.ai_filters,
      }));
      duration = input.duration ?? Math.round((((generated[generated.length - 1]?.end_time ?? 60) + r.int(3, 25)) / 60) * 100) / 100;
    }
    const ctx: MeetingContext = { kind, company, speakers, duration };
    const genSentences = generated ?? asGenerated(sentences);

    let summary: StoredSummary | null = null;
    if (input.summary !== null) {
      summary = { ...generateSummary(r, ctx, genSentences, pickMode(r)) };
      if (input.summary) summary = applySummaryInput(summary, input.summary);
    }

    const at = date + Math.round(duration * 60_000);
    const id = input.id ?? ulid(r, at + r.int(60_000, 600_000));
    const title = input.title ?? titleFor(kind, company, r);
    const participants = input.participants ?? [...new Set([organizer, ...attendees.map((a) => a.email)])];
    const userEmail = (input.user_email ?? (this.isInternal(organizer) ? organizer : this.defaultOrganizers()[0]!)).toLowerCase();
    const calendarId = input.calendar_id === undefined ? null : input.calendar_id;
    return {
      id,
      seq: ++this.seq,
      title,
      date,
      duration: Math.round(duration * 100) / 100,
      privacy: input.privacy ?? 'teammates_and_participants',
      host_email: (input.host_email ?? organizer).toLowerCase(),
      organizer_email: organizer,
      user_email: userEmail,
      participants,
      attendees,
      speakers: speakers.map((s, i) => ({ id: i, name: s.name })),
      sentences,
      summary,
      summaryFormat: input.summaryFormat ?? 'text',
      summaryVersion: summary ? 1 : 0,
      ctx,
      gen: genSentences,
      transcript_url: input.transcript_url ?? `https://app.fireflies.ai/view/${slug(title)}::${id}`,
      audio_url: input.audio_url === undefined ? `https://rtmp-server-ff.s3.amazonaws.com/${id}/audio.mp3` : input.audio_url,
      video_url: input.video_url === undefined ? null : input.video_url,
      meeting_link: input.meeting_link === undefined ? meetLink(r) : input.meeting_link,
      calendar_id: calendarId,
      cal_id: input.cal_id === undefined ? (calendarId ? `${calendarId}@google.com` : null) : input.cal_id,
      calendar_type: input.calendar_type === undefined ? (calendarId ? 'google' : null) : input.calendar_type,
      channel_ids: input.channel_ids ?? [],
      client_reference_id: input.client_reference_id ?? null,
    };
  }

  toSandbox(t: StoredTranscript): SandboxTranscript {
    return structuredClone({
      id: t.id,
      title: t.title,
      date: t.date,
      dateString: new Date(t.date).toISOString(),
      duration: t.duration,
      privacy: t.privacy,
      host_email: t.host_email,
      organizer_email: t.organizer_email,
      user_email: t.user_email,
      participants: t.participants,
      meeting_attendees: t.attendees,
      speakers: t.speakers,
      sentences: t.sentences.map((s) => ({ ...s, speaker_id: String(s.speaker_id) })),
      summary: t.summary
        ? (() => {
            const { action_items_raw, ...rest } = t.summary;
            return { ...rest, action_items_text: action_items_raw ?? actionItemsText(t.summary.action_items) };
          })()
        : null,
      summaryFormat: t.summaryFormat,
      summary_status: t.summary ? 'processed' : 'processing',
      summaryVersion: t.summaryVersion,
      transcript_url: t.transcript_url,
      audio_url: t.audio_url,
      video_url: t.video_url,
      meeting_link: t.meeting_link,
      calendar_id: t.calendar_id,
      cal_id: t.cal_id,
      calendar_type: t.calendar_type,
      channel_ids: t.channel_ids,
      client_reference_id: t.client_reference_id,
    });
  }
}

function applySummaryInput(s: StoredSummary, input: SummaryInput): StoredSummary {
  const out: StoredSummary = { ...s };
  for (const [k, v] of Object.entries(input) as Array<[keyof SummaryInput, unknown]>) {
    if (v === undefined) continue;
    if (k === 'action_items') {
      if (typeof v === 'string') {
        out.action_items = parseActionItemsText(v);
        out.action_items_raw = v;
      } else if (Array.isArray(v)) {
        out.action_items = structuredClone(v as ActionItemGroup[]);
        out.action_items_raw = undefined;
      }
      continue;
    }
    (out as unknown as Record<string, unknown>)[k] = structuredClone(v);
  }
  return out;
}

/** Stored sentences as the summary generator reads them (phases unknown: one "discussion" chapter). */
function asGenerated(sentences: StoredSentence[]): GeneratedSentence[] {
  return sentences.map((s) => ({ speaker: s.speaker_id, text: s.text, raw_text: s.raw_text, start_time: s.start_time, end_time: s.end_time, ai_filters: s.ai_filters, phase: 'discussion' }));
}

function pickMode(r: Prng): TimestampMode {
  const x = r.next();
  return x < 0.5 ? 'all' : x < 0.8 ? 'some' : 'none';
}

function checkFormat(f: SummaryFormat): SummaryFormat {
  if (f !== 'text' && f !== 'list') throw new Error("summaryFormat must be 'text' or 'list'");
  return f;
}

function checkWindow(limit: number | undefined, windowMs: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new Error('limit must be an integer >= 0');
  if (windowMs !== undefined && (!Number.isFinite(windowMs) || windowMs < 1)) throw new Error('windowMs must be a number >= 1');
}

function parseDate(v: number | string | undefined, def: number): number {
  if (v === undefined) return def;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new Error(`bad date: ${String(v)}`);
  return ms;
}

function companyOf(email: string): string {
  const domain = email.split('@')[1] ?? '';
  const known = CUSTOMERS.find((c) => c.domain === domain);
  if (known) return known.name;
  const label = domain.split('.')[0] ?? domain;
  return label ? label[0]!.toUpperCase() + label.slice(1) : 'Customer';
}

function dedupe<T extends { email: string }>(people: T[]): T[] {
  const seen = new Set<string>();
  return people.filter((p) => {
    const e = p.email.toLowerCase();
    if (seen.has(e)) return false;
    seen.add(e);
    return true;
  });
}

function pickSome<T>(r: Prng, items: readonly T[], min: number, max: number): T[] {
  const pool = [...items];
  const n = Math.min(pool.length, r.int(min, max));
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(pool.splice(r.int(0, pool.length - 1), 1)[0]!);
  return out;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
