/** Public types of the Fireflies.ai sandbox emulator. */

/** Fireflies plans; they decide the default rate limit of a key. */
export type Plan = 'free' | 'pro' | 'business' | 'enterprise';
export const PLANS: readonly Plan[] = ['free', 'pro', 'business', 'enterprise'];

/** How `summary.action_items` and `summary.keywords` come out: Fireflies' documented String, or the official SDK's string[]. */
export type SummaryFormat = 'text' | 'list';

export interface RateWindow {
  /** requests per window */
  limit: number;
  /** window length; 86,400,000 (a day) is aligned to midnight UTC, anything else starts at a key's first request */
  windowMs: number;
}

export interface RateLimitOptions {
  /**
   * How a refused request looks: 'graphql' (default) HTTP 200 with `errors[0].extensions.code =
   * 'too_many_requests'` and `metadata.retryAfter` (epoch ms); 'http429' the same body on HTTP 429 with Retry-After.
   */
  refusal?: 'graphql' | 'http429';
  /** per-plan windows; defaults free/pro 50 per day, business/enterprise 60 per minute */
  plans?: Partial<Record<Plan, RateWindow>>;
}

export interface ApiKeyOptions {
  plan: Plan;
  /** the key owner's email (a Fireflies user, created when unknown) */
  email: string;
  /** the owner's name (default: derived from the email) */
  name?: string;
  /** overrides the plan's window for this key */
  limit?: number;
  windowMs?: number;
  /** default true: every key here is a team admin's (sees the whole team's transcripts) */
  admin?: boolean;
}

export interface ApiKeyInfo {
  key: string;
  plan: Plan;
  email: string;
  userId: string;
  limit: number;
  windowMs: number;
  /** requests counted in the current window */
  used: number;
  /** epoch ms the current window ends (null before the first request) */
  resetsAt: number | null;
}

export type WebhookVersion = 'v1' | 'v2';

export interface WebhookOptions {
  /** where the events are POSTed */
  url: string;
  /** 16–32 characters (Fireflies' rule); without it the signature header is omitted */
  secret?: string;
  /** 'v2' (default): `{event, timestamp, meeting_id, client_reference_id?}` + `X-Hub-Signature: sha256=<hex>`; 'v1': `{meetingId, eventType, clientReferenceId?}` + bare-hex `x-hub-signature` */
  version?: WebhookVersion;
  /** attempts per event, the first included (default 4) */
  maxAttempts?: number;
  /** first retry delay; doubles each time, ±20 % jitter (default 1000) */
  retryBaseMs?: number;
  /** a delivery not answered within this counts as failed (default 10,000, Fireflies' limit) */
  timeoutMs?: number;
}

export interface WebhookStats {
  /** events queued for delivery */
  sent: number;
  /** events answered 2xx */
  delivered: number;
  /** events that ran out of attempts (or were dropped by close / reconfigure to off) */
  failed: number;
  /** HTTP attempts made, retries included */
  attempts: number;
  /** events not delivered or failed yet */
  pending: number;
}

export interface WebhookDelivery {
  event: string;
  meetingId: string;
  /** the exact body sent */
  body: string;
  attempts: number;
  /** last HTTP status (0 = connection error / timeout) */
  lastStatus: number | null;
  state: 'pending' | 'delivered' | 'failed';
}

export interface FaultOptions {
  /** added before every API response (ms) */
  latencyMs?: number;
  /** probability (0..1) of answering a request with a 500/502/503 */
  error5xxRate?: number;
  /** the next N requests are refused as rate limited (in the configured refusal form), quota or not */
  rateLimitBurst?: number;
  /** Retry-After of a burst refusal, seconds (default 1) */
  burstRetryAfterSeconds?: number;
  /** the next `count` (default 1) requests answer `status` (500, 502, 503 or 504) */
  failNext?: { status: number; count?: number } | null;
}

export interface KeyStats {
  requests: number;
  rateLimited: number;
}

export interface FirefliesSandboxStats {
  /** POST /graphql requests with a known key (rate-limited ones included) */
  requests: number;
  /** requests with a missing or unknown key */
  unauthorized: number;
  rateLimited: number;
  /** requests answered with an injected 5xx */
  faulted: number;
  byKey: Record<string, KeyStats>;
  /** executed root fields: `transcripts`, `transcript`, `user`, `users`, `__schema`, ... */
  byField: Record<string, number>;
}

export interface AttendeeInput {
  email: string;
  /** default: from the people pools, else derived from the email */
  name?: string;
  displayName?: string | null;
  phoneNumber?: string | null;
}

export interface SentenceInput {
  text: string;
  raw_text?: string;
  /** seconds from the start of the meeting */
  start_time: number;
  end_time: number;
  speaker_name: string;
  /** default: the speaker's index in `speakers` */
  speaker_id?: number;
  ai_filters?: Partial<AIFilters>;
}

export interface AIFilters {
  task: string | null;
  pricing: string | null;
  metric: string | null;
  question: string | null;
  date_and_time: string | null;
  text_cleanup: string | null;
  sentiment: 'positive' | 'neutral' | 'negative' | null;
}

/** One action item: its text, and the moment in the meeting it was said (seconds), when known. */
export interface ActionItem {
  text: string;
  /** seconds from the start of the meeting; rendered `(mm:ss)`; absent → no timestamp */
  at?: number;
}

/** Action items grouped under the person they were assigned to (`**Name**` in Fireflies' text). */
export interface ActionItemGroup {
  assignee: string;
  items: ActionItem[];
}

export interface SummaryInput {
  /** structured, or the raw text exactly as Fireflies would return it */
  action_items?: ActionItemGroup[] | string;
  keywords?: string[];
  outline?: string[];
  overview?: string;
  shorthand_bullet?: string;
  notes?: string;
  gist?: string;
  bullet_gist?: string;
  short_summary?: string;
  short_overview?: string;
  meeting_type?: string;
  topics_discussed?: string[];
  transcript_chapters?: string[];
}

/**
 * A transcript to add. Everything is optional: what is missing is generated realistically
 * (deterministic per sandbox seed). `summary: null` = still processing (Fireflies returns
 * `summary: null`, `meeting_info.summary_status: 'processing'`) until `summarize(id)`.
 */
export interface TranscriptInput {
  id?: string;
  title?: string;
  /** meeting start, epoch ms or ISO (default: an hour ago) */
  date?: number | string;
  /** minutes (default: from the sentences, else 30) */
  duration?: number;
  organizer_email?: string;
  host_email?: string;
  /** the Fireflies user Fred recorded for (default: the organizer when a Fireflies user, else the first key owner) */
  user_email?: string;
  attendees?: AttendeeInput[];
  /** default: organizer + attendees' emails */
  participants?: string[];
  /** default: the people who speak in `sentences` */
  speakers?: string[];
  /** explicit sentences; or a number of sentences to generate (40–300 realistic) */
  sentences?: SentenceInput[] | number;
  /** undefined = generate a ready summary; null = still processing */
  summary?: SummaryInput | null;
  summaryFormat?: SummaryFormat;
  privacy?: string;
  meeting_link?: string | null;
  /** the Google Calendar event id */
  calendar_id?: string | null;
  cal_id?: string | null;
  calendar_type?: string | null;
  transcript_url?: string;
  audio_url?: string | null;
  video_url?: string | null;
  channel_ids?: string[];
  /** uploadAudio's client_reference_id, echoed in webhooks */
  client_reference_id?: string;
}

export interface AddOptions {
  /** send `meeting.transcribed` (v2) / `Transcription completed` (v1) now, and `meeting.summarized` when a summary is ready (default false) */
  notify?: boolean;
  /** summarize automatically this long after adding (only when `summary: null`) */
  summarizeAfterMs?: number;
}

export interface SummarizeOptions {
  /** explicit summary fields (merged over a generated one) */
  summary?: SummaryInput;
  summaryFormat?: SummaryFormat;
  /**
   * When the transcript already has a summary and no `summary.action_items` is given: regenerate
   * the action items the way a re-summarisation does (some kept, some reworded, some gone, some new).
   * Default true.
   */
  changeActionItems?: boolean;
  /** send `meeting.summarized` (v2); default true */
  notify?: boolean;
}

export interface SeedOptions {
  /** deterministic stream (default: the sandbox's randomSeed and this call's number) */
  randomSeed?: number;
  /** meetings spread over the past N days (default 120) */
  pastDays?: number;
  /** reference "now" (default Date.now()) */
  now?: number;
  /** share of transcripts whose summary is still processing (default 0.1) */
  pendingShare?: number;
  /** how many get the list form of action_items/keywords (default 1 when n >= 3) */
  listFormatCount?: number;
  /** send the webhooks of every transcript (and of every ready summary) */
  notify?: boolean;
  /** the Acme users who organize meetings (default: the key owners, else ana@ and ben@ the sandbox domain) */
  organizers?: string[];
  /** extra people (e.g. HubSpot / Aurora contacts) to invite to customer meetings now and then */
  people?: AttendeeInput[];
  /** Google Calendar events to turn into transcripts first (their id becomes `calendar_id`) */
  calendarEvents?: Array<{ id: string; summary?: string; start: number | string; end?: number | string; attendees?: string[]; organizer?: string; meetLink?: string }>;
}

/** Links and references a transcript carries, as stored and as the sandbox shows them. */
export interface TranscriptLinks {
  transcript_url: string;
  audio_url: string | null;
  video_url: string | null;
  meeting_link: string | null;
  calendar_id: string | null;
  cal_id: string | null;
  calendar_type: string | null;
  channel_ids: string[];
  client_reference_id: string | null;
}

export interface SandboxTranscript extends TranscriptLinks {
  id: string;
  title: string;
  date: number;
  dateString: string;
  duration: number;
  privacy: string;
  host_email: string;
  organizer_email: string;
  user_email: string;
  participants: string[];
  meeting_attendees: Array<{ displayName: string | null; email: string; name: string | null; phoneNumber: string | null }>;
  speakers: Array<{ id: number; name: string }>;
  sentences: Array<{ index: number; speaker_name: string; speaker_id: string; text: string; raw_text: string; start_time: number; end_time: number; ai_filters: AIFilters }>;
  /** structured summary (null while processing) */
  summary: (Omit<Required<SummaryInput>, 'action_items'> & { action_items: ActionItemGroup[]; action_items_text: string }) | null;
  summaryFormat: SummaryFormat;
  summary_status: 'processing' | 'processed';
  /** how many times it was summarized */
  summaryVersion: number;
}

export interface FirefliesSandboxOptions {
  /** 0 = random (default) */
  port?: number;
  /** default '127.0.0.1' */
  host?: string;
  /** Fastify request logging (default false) */
  logger?: boolean;
  /** seed of the deterministic generators (default 42) */
  randomSeed?: number;
  /** the company's Workspace domain (default 'acme.test', as the Google sandbox) */
  domain?: string;
  /** API keys registered at start */
  keys?: Array<{ key: string } & ApiKeyOptions>;
  /** default on (free/pro 50 per day, business/enterprise 60 per minute, refusal 'graphql'); false = never refuse (headers still sent) */
  rateLimits?: boolean | RateLimitOptions;
  /**
   * HTTP status of an auth_failed answer. Default 200: Fireflies documents every error inside the
   * GraphQL body with the HTTP-like status in `extensions.status` (401 here), and the official SDK
   * handles both a 200 with `errors` and an HTTP 4xx; 401 tests a client against the other form.
   */
  authFailureStatus?: 200 | 401;
  webhooks?: WebhookOptions;
}

export interface FirefliesSandbox {
  /** origin, no trailing slash; the GraphQL endpoint is `url + '/graphql'` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  keys: {
    add(key: string, o: ApiKeyOptions): ApiKeyInfo;
    update(key: string, o: Partial<Omit<ApiKeyOptions, 'email' | 'name'>>): ApiKeyInfo;
    remove(key: string): boolean;
    list(): ApiKeyInfo[];
  };
  transcripts: {
    seed(n: number, o?: SeedOptions): SandboxTranscript[];
    add(t?: TranscriptInput, o?: AddOptions): SandboxTranscript;
    summarize(id: string, o?: SummarizeOptions): SandboxTranscript;
    remove(id: string): boolean;
    get(id: string): SandboxTranscript | undefined;
    /** newest first */
    list(): SandboxTranscript[];
  };
  webhooks: {
    configure(o: WebhookOptions | null): void;
    readonly stats: WebhookStats;
    /** recent deliveries, oldest first (at most 200) */
    deliveries(): WebhookDelivery[];
    /** resolves once every queued event is delivered or failed */
    flush(): Promise<void>;
  };
  faults: {
    set(f: FaultOptions): void;
    clear(): void;
  };
  readonly stats: FirefliesSandboxStats;
  resetStats(): void;
  /** empties every key's rate-limit window (the daily counter too) */
  resetRateLimits(): void;
  /** the team's users (key owners, organizers) */
  users(): Array<{ user_id: string; email: string; name: string }>;
}
