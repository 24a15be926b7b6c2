/** Public types of the HubSpot CRM v3 sandbox emulator. */

export type ObjectType = 'contacts' | 'companies' | 'deals';
export const OBJECT_TYPES: readonly ObjectType[] = ['contacts', 'companies', 'deals'];

export interface RateLimitOptions {
  /** requests per rolling 10 s window (HubSpot Free/Starter: 100) */
  perTenSeconds?: number;
  /** search requests per rolling second (HubSpot: 5) */
  searchPerSecond?: number;
  /** requests per day (HubSpot Free/Starter: 250,000), resets at midnight UTC */
  daily?: number;
}

export interface SandboxOptions {
  /** 0 = random (default 0) */
  port?: number;
  /** default '127.0.0.1' */
  host?: string;
  /** default true: 100 / 10 s rolling, 5 search/s, 250,000/day. `false` still sends the headers but never rejects. */
  rateLimits?: boolean | RateLimitOptions;
  /** added to every /crm response, default 0 */
  latencyMs?: number;
  /** eventual consistency of /search: a change becomes visible to search this long after it happened; default 0 */
  searchLagMs?: number;
  /** if set, only this Bearer token is accepted; otherwise any non-empty Bearer token */
  accessToken?: string;
  /** Fastify request logging, default false */
  logger?: boolean;
  /**
   * Reject enumeration values (dealstage, lifecyclestage, pipeline) that are not among the default
   * portal options, as real HubSpot does (400 INVALID_OPTION). Default false, because real portals
   * customise their pipelines.
   */
  strictEnumerations?: boolean;
  /** seed of the deterministic generator used by `seed` (default 42) */
  randomSeed?: number;
  /** send signed webhook batches for CRM changes, as a HubSpot app subscription does (default off) */
  webhooks?: WebhookOptions;
}

/** Outgoing webhooks (see webhooks.ts). */
export interface WebhookOptions {
  /** where the event batches are POSTed */
  targetUrl: string;
  /** the app's client secret: key of the v3 HMAC and prefix of the v1 digest */
  clientSecret: string;
  /** default 1234567 */
  appId?: number;
  /** default 62515 */
  portalId?: number;
  /** events are collected this long before a batch is sent (default 100) */
  batchWindowMs?: number;
  /** at most this many events per request (default 100) */
  maxBatch?: number;
  /** total delivery attempts per batch, first one included (default 10) */
  maxAttempts?: number;
  /** retry n (0-based) waits retryBaseMs * 2^n, ±20% (default 1000); a 429's Retry-After wins */
  retryBaseMs?: number;
  /** the URI signed in X-HubSpot-Signature-v3, i.e. what the receiver sees as its public URL (default targetUrl) */
  signatureUri?: string;
}

/** Webhook counters: events except `attempts` (HTTP requests, retries included). */
export interface WebhookStats {
  /** events recorded (queued for delivery) */
  sent: number;
  /** events whose batch got a 2xx */
  delivered: number;
  /** events dropped: out of attempts, or discarded by configure(null) / close() */
  failed: number;
  /** POST requests made */
  attempts: number;
  /** events neither delivered nor failed yet (in the window, in flight or waiting for a retry) */
  pending: number;
}

export interface FaultOptions {
  /** probability 0..1 that an API request answers 500/502/503 (HubSpot-shaped error body) */
  error5xxRate?: number;
  /** the next N API requests answer 429 TEN_SECONDLY_ROLLING regardless of budget */
  rateLimitBurst?: number;
  /**
   * The next `count` (default 1) API requests whose `"<METHOD> <path>"` (e.g.
   * `"POST /crm/v3/objects/contacts/batch/upsert"`) matches `route` (RegExp, or substring when a
   * string) answer `status`. `afterHandling: true` performs the operation first, then answers the
   * error (simulates a timeout after the write landed).
   */
  failNext?: { route: RegExp | string; status: number; count?: number; afterHandling?: boolean };
}

export interface SandboxRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface SandboxStats {
  requests: number;
  searchRequests: number;
  rateLimited: number;
  faulted: number;
  byRoute: Record<string, number>;
}

export interface HubSpotSandbox {
  /** e.g. http://127.0.0.1:40123 (no trailing slash): pass as basePath to @hubspot/api-client */
  url: string;
  port: number;
  close(): Promise<void>;
  seed(type: ObjectType, count: number, opts?: { modifiedAt?: Date }): SandboxRecord[];
  userCreate(type: ObjectType, properties: Record<string, string>): SandboxRecord;
  userUpdate(type: ObjectType, id: string, properties: Record<string, string | null>): SandboxRecord;
  userArchive(type: ObjectType, id: string): void;
  userAssociate(fromType: ObjectType, fromId: string, toType: ObjectType, toId: string): void;
  get(type: ObjectType, id: string, opts?: { includeArchived?: boolean }): SandboxRecord | undefined;
  list(type: ObjectType, opts?: { includeArchived?: boolean }): SandboxRecord[];
  associations(fromType: ObjectType, fromId: string, toType: ObjectType): string[];
  faults: { set(f: FaultOptions): void; clear(): void };
  stats(): SandboxStats;
  resetStats(): void;
  webhooks: {
    /** new options (replacing the old ones), or null: off */
    configure(opts: WebhookOptions | null): void;
    /** sends what is queued now and resolves when everything recorded so far is delivered or failed */
    flush(): Promise<void>;
    stats(): WebhookStats;
  };
}
