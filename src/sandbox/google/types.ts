/** Public types of the Google Workspace sandbox emulator (core + the Calendar and Gmail modules). */
import type { CalendarInfo, EventInput, NewCalendar, SandboxEvent, SeedOptions } from './calendar/types';
import type { GmailOptions, GmailSandbox } from './gmail/types';
import type { DriveOptions, DriveSandbox } from './drive/types';

export type * from './calendar/types';
export type * from './gmail/types';
export type * from './drive/types';

export interface QuotaOptions {
  /**
   * per rolling minute per user (the token's user, or `quotaUser`): requests for Calendar (default 600),
   * units for Gmail (default 15,000)
   */
  perUserPerMinute?: number;
  /** per rolling minute for the whole project: Calendar requests (default 10,000), Gmail units (default 1,200,000) */
  perProjectPerMinute?: number;
  /**
   * How a refusal looks: '403' (Calendar's default) `rateLimitExceeded` PERMISSION_DENIED; '429'
   * `rateLimitExceeded` RESOURCE_EXHAUSTED; 'mixed' (Gmail's default) per-user → 403
   * `userRateLimitExceeded`, per-project → 429 `rateLimitExceeded`; 'detailed' the texts of the current
   * front end: per-user → 429 `rateLimitExceeded` "User-rate limit exceeded.  Retry after <ISO time>",
   * per-project → 403 `rateLimitExceeded` "Quota exceeded for quota metric 'Queries' and limit …".
   */
  mode?: '403' | '429' | 'mixed' | 'detailed';
}

export interface GoogleSandboxOptions {
  /** 0 = random (default) */
  port?: number;
  /** default '127.0.0.1' */
  host?: string;
  /** Calendar's: default on (600/user/min, 10,000/project/min, mode '403'); false = never refuse (Gmail's too, unless `gmail.quotas` says otherwise) */
  quotas?: boolean | QuotaOptions;
  /** lifetime of the access tokens issued (default 3600) */
  tokenLifetimeSeconds?: number;
  /** sync tokens older than this answer 410 fullSyncRequired (default: no age limit) */
  syncTokenTtlMs?: number;
  /** true = watch requests with an http:// address get Google's 400 push.webhookUrlNotHttps (default false) */
  requireHttpsWebhooks?: boolean;
  /** the Workspace domain whose users the service account may impersonate (default 'acme.test') */
  domain?: string;
  /** seed of the deterministic generators (default 42) */
  randomSeed?: number;
  /** users created at start (each gets a primary calendar) */
  users?: string[];
  /** Fastify request logging (default false) */
  logger?: boolean;
  /** Gmail: unit quotas, history retention, watch and Pub/Sub push (see gmail/types.ts) */
  gmail?: GmailOptions;
  /** Drive: request quotas (default 12,000/user/min, mode 'mixed'), change-token retention (see drive/types.ts) */
  drive?: DriveOptions;
}

/** A service-account key file, as the Cloud console downloads it. */
export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  /** PKCS#8 PEM of an RSA-2048 key */
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  /** the sandbox's token URL (google-auth-library's JWT client ignores it and posts to Google's URL: see auth.ts) */
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

export interface OAuthClientCredentials {
  client_id: string;
  client_secret: string;
  refresh_token: string;
}

export interface ChannelInfo {
  id: string;
  resourceId: string;
  /** e.g. https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json */
  resourceUri: string;
  address: string;
  token?: string;
  /** epoch ms */
  expiration: number;
  /** the user who opened the channel */
  user: string;
  /** number of the last message sent (1 = the `sync` message); 0 before it went out */
  messageNumber: number;
}

export interface ChannelStats {
  /** notification messages the receiver accepted (200/201/202/204/102) */
  sent: number;
  /** messages given up on: a non-retryable answer, or out of attempts */
  failed: number;
  /** repeated attempts after a 500/502/503/504, a timeout or a connection error */
  retried: number;
  /** messages waiting (coalescing window, in flight or between retries) */
  pending: number;
}

export interface FaultOptions {
  /** added to every API response (default 0) */
  latencyMs?: number;
  /** share 0..1 of API requests answering 500 or 503 with a Google body */
  errorRate?: number;
  /** the next `count` API requests answer `status` (reason defaults to rateLimitExceeded / backendError); null clears */
  burst?: { status: 403 | 429 | 500 | 503; count: number; reason?: string } | null;
}

export interface GoogleSandboxStats {
  /** API requests (not /token, not admin) */
  requests: number;
  /** API requests per authenticated user */
  byUser: Record<string, number>;
  /** refused by the quotas or by a 403/429 fault burst */
  rateLimited: number;
  /** answered by an injected fault (burst or errorRate) */
  faulted: number;
  /** `"<METHOD> <route pattern>"`, e.g. `"GET /calendar/v3/calendars/:calendarId/events"`; includes `POST /token` */
  byRoute: Record<string, number>;
  /** token endpoint requests */
  tokenRequests: number;
  /** Calendar write requests (insert, update, patch, delete, move; refused ones too) by `sendUpdates`: all | externalOnly | none | unset */
  sendUpdates: Record<string, number>;
  /**
   * quota admitted per pool and quota user (`"default"`: Calendar requests; `"gmail"`: Gmail units),
   * counted whether or not quotas are enforced; refused requests are not counted
   */
  quotaUnits: Record<string, Record<string, number>>;
}

export interface GoogleSandbox {
  /** root URL with a trailing slash, e.g. http://127.0.0.1:PORT/ (pass as `rootUrl`) */
  url: string;
  /** url + 'token' */
  tokenUrl: string;
  port: number;
  close(): Promise<void>;
  auth: {
    /** a refresh token for that user, granted to the project's OAuth client (default scopes: Calendar, Gmail, Drive) */
    oauthClient(userEmail: string, opts?: { scopes?: string[] }): OAuthClientCredentials;
    /** the project's service-account key (domain-wide delegation for every user of `domain`) */
    serviceAccount(): ServiceAccountKey;
    /** a valid access token (all scopes) for tests that skip OAuth */
    tokenFor(userEmail: string): string;
    /** every access and refresh token issued so far for that user stops working (401 / invalid_grant) */
    revoke(userEmail: string): void;
  };
  users(): string[];
  addUser(email: string): void;
  calendar: {
    /** a secondary calendar; `primary: true` updates the user's primary calendar (id = the email) instead */
    addCalendar(user: string, cal: NewCalendar): CalendarInfo;
    calendars(user: string): CalendarInfo[];
    /** realistic events, deterministic by randomSeed; no notifications, no quota */
    seed(user: string, calendarId: string, count: number, opts?: SeedOptions): SandboxEvent[];
    /** act as the user in the Calendar UI: like API writes (etag, updated, sequence, change feed, notifications) */
    userInsert(user: string, calendarId: string, event: EventInput): SandboxEvent;
    userPatch(user: string, calendarId: string, eventId: string, patch: EventInput): SandboxEvent;
    userCancel(user: string, calendarId: string, eventId: string): void;
    userMove(user: string, fromCalendarId: string, toCalendarId: string, eventId: string): void;
    /** the stored event (cancelled ones included), as the owner sees it through the API */
    get(user: string, calendarId: string, eventId: string): SandboxEvent | undefined;
    list(user: string, calendarId: string, opts?: { includeCancelled?: boolean }): SandboxEvent[];
    /** every sync token issued so far for that scope (all, a user's calendars, one calendar) answers 410 */
    expireSyncTokens(user?: string, calendarId?: string): void;
  };
  channels: {
    active(): ChannelInfo[];
    readonly stats: ChannelStats;
    /** resolves when no notification is pending (coalescing, in flight or waiting to be retried) */
    flush(): Promise<void>;
  };
  /** Gmail v1: act as a user, seed mailboxes, history, watches and Pub/Sub push (see gmail/types.ts) */
  gmail: GmailSandbox;
  /** Drive v3: seed drives, shared drives, act as a user, expire change page tokens (see drive/types.ts) */
  drive: DriveSandbox;
  faults: { set(f: FaultOptions): void; clear(): void };
  /** a snapshot of the counters */
  readonly stats: GoogleSandboxStats;
  resetStats(): void;
  /** empties the quota windows */
  resetQuotas(): void;
}
