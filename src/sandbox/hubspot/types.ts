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
}
