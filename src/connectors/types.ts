/**
 * The one connector interface every external system implements. The generic engine (activities,
 * store, workflows, API) works only against this and never names a system or an entity type:
 * adding a system is one folder under connectors/ plus one line in connectors/registry.ts.
 *
 * A connector is a definition (data: entity types, migrations, webhooks, how to find its
 * connections in the configuration) plus, per process, a client built from its credentials.
 */
import type Redis from 'ioredis';
import type { Config } from '../config';
import type { Canonical, EntitySpec } from '../core/model';
import type { RequestBudget } from '../core/ratelimit';

export { ErrorType } from '../core/errors';

/** A record as read from the external system, already mapped to the canonical form. */
export interface ExternalRecord {
  externalId: string;
  fields: Canonical;
  /** the external last-modified time, ISO-8601 */
  updatedAt: string;
  /** the Aurora id the engine wrote at creation (idempotency key), when present */
  auroraId: string | null;
  archived: boolean;
  /** when it was archived, for archived records */
  archivedAt?: string;
  /** the external system's own version marker (etag, sequence…), kept in the registry for conditional writes */
  etag?: string;
  /**
   * fields this read left out (a property-only webhook's associations): they keep the values of the
   * last sync (the registry's snapshot), not null
   */
  kept?: string[];
}

/** A record the change feed reports as deleted (Calendar `cancelled`, Drive `removed`, Gmail `messagesDeleted`). */
export interface ExternalDeletion {
  externalId: string;
  /** when it was deleted, if the system says (else: now) */
  deletedAt?: string;
}

/** Opaque, JSON-serialisable position in the external system's change feed. */
export type ChangeCursor = Record<string, unknown>;

export interface ChangePage {
  records: ExternalRecord[];
  /** deletions reported inline by the change feed */
  deletions?: ExternalDeletion[];
  /** the cursor after this page has been applied; persisted and heartbeated */
  cursor: ChangeCursor;
}

/**
 * Thrown by `listChanges` when the stored cursor can no longer be used (Calendar 410
 * fullSyncRequired, Gmail history 404, Drive invalid page token): the engine then runs a full
 * listing for that connection and entity type and reconciles it with the registry.
 */
export class CursorExpiredError extends Error {
  readonly cursorExpired = true;
  constructor(message: string) {
    super(message);
    this.name = 'CursorExpiredError';
  }
}
export const isCursorExpired = (err: unknown): err is CursorExpiredError =>
  typeof err === 'object' && err !== null && (err as { cursorExpired?: unknown }).cursorExpired === true;

export interface WriteCreate {
  localId: string;
  /** canonical values; association fields hold the external system's ids */
  fields: Canonical;
  /** the last synced state (external ids), if any: lets the connector write only what changed */
  previous?: Canonical | null;
}
export interface WriteUpdate {
  localId: string;
  externalId: string;
  fields: Canonical;
  previous?: Canonical | null;
  /**
   * the fields that changed since the last sync: only these are sent, so a change made on the
   * other side to another field in the meantime is not overwritten (default: all)
   */
  changed?: string[];
  /** the external version marker last synced (for If-Match); absent: unconditional */
  etag?: string | null;
}
export interface WriteDelete {
  localId: string;
  externalId: string;
  etag?: string | null;
}

export type WriteOutcome =
  | { localId: string; ok: true; externalId: string; fields: Canonical; updatedAt: string; created?: boolean; etag?: string }
  | {
      localId: string;
      ok: false;
      error: string;
      /** the external record no longer exists */
      notFound?: boolean;
      /**
       * a conditional write found the external record changed since the last sync (HTTP 412):
       * its current state, so the engine can decide by the conflict policy
       */
      changedExternally?: ExternalRecord;
    };

/** A push channel (Calendar/Drive `watch`) as the engine keeps it in Postgres. */
export interface PushChannel {
  channelId: string;
  resourceId: string;
  /** what it watches, in the connector's terms (e.g. a calendar id) */
  resource: string;
  expiresAt: string;
}
export interface OpenChannelRequest {
  resource: string;
  channelId: string;
  /** the verification token Google echoes in X-Goog-Channel-Token */
  token: string;
  /** the HTTPS address notifications are posted to */
  address: string;
}

/** One connection's client: everything that talks to the external system. */
export interface Connector {
  readonly system: string;
  readonly connection: string;
  /** max records per write call */
  readonly batchSize: number;
  /** One-time preparation (e.g. create the custom idempotency property). Safe to call repeatedly. */
  prepare?(entityType: string): Promise<void>;
  /**
   * Changes since `cursor` (null = a full listing of everything that exists), page by page, oldest
   * first; the last page's cursor continues incrementally. `resume` is true when the cursor comes
   * from an interrupted run's heartbeat (exact position). Throws CursorExpiredError when the
   * cursor can no longer be used.
   */
  listChanges(entityType: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage>;
  /**
   * The records with these ids that exist (deleted ones are left out). `opts.propertiesOnly`: of
   * them, ids whose associations the caller knows unchanged since the last sync; a connector may
   * leave their association fields unread and name them in the record's `kept`.
   */
  readByIds(entityType: string, externalIds: string[], opts?: { propertiesOnly?: ReadonlySet<string> }): Promise<ExternalRecord[]>;
  /** Of these ids, the ones deleted/archived in the external system. */
  readArchived?(entityType: string, externalIds: string[]): Promise<ExternalRecord[]>;
  /** Idempotent creation: a create retried after a timeout must not duplicate. */
  create(entityType: string, creates: WriteCreate[]): Promise<WriteOutcome[]>;
  update(entityType: string, updates: WriteUpdate[]): Promise<WriteOutcome[]>;
  delete(entityType: string, deletes: WriteDelete[]): Promise<WriteOutcome[]>;
  /** Push channels: what resources of this entity type can be watched (e.g. the calendars). */
  watchableResources?(entityType: string): Promise<string[]>;
  openChannel?(entityType: string, req: OpenChannelRequest): Promise<PushChannel>;
  stopChannel?(entityType: string, channel: PushChannel): Promise<void>;
}

/** An HTTP request to a webhook endpoint, as the API received it (raw body: signatures cover the bytes). */
export interface WebhookRequest {
  method: string;
  /** the full public URL the sender used (PUBLIC_BASE_URL + path and query) */
  publicUrl: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body as text: the exact bytes strictly decoded as UTF-8, or null when they are not valid
   * UTF-8 (a verified delivery with such a body is answered 400; signatures are checked over `bytes`).
   */
  rawBody: string | null;
  /** the exact bytes received, which signatures cover (absent: rawBody's UTF-8 bytes) */
  bytes?: Buffer;
}

/** A stored push channel, as a webhook verifier sees it. */
export interface StoredChannel extends PushChannel {
  system: string;
  connection: string;
  entityType: string;
  /** sha256 hex of the channel's token */
  tokenHash: string;
  stopped: boolean;
}

export interface WebhookContext {
  /** of these event ids, the ones not seen before (recorded now): a replayed delivery is a no-op */
  fresh(eventIds: string[]): Promise<Set<string>>;
  /** a push channel the engine opened, by id (null: not one of ours) */
  channel(channelId: string): Promise<StoredChannel | null>;
}

/** What a verified notification asks of the sync workflows. */
export type WebhookWork =
  /** fetch exactly these records now (`propertyOnly`: of them, those named for property changes only) */
  | { connection: string; entityType: string; ids: string[]; propertyOnly?: string[] }
  /** run an incremental pull (and push) of this entity type now */
  | { connection: string; entityType: string; incremental: true };

export interface WebhookVerdict {
  /** HTTP status to answer with */
  status: number;
  /** metric outcome label: accepted, duplicate (seen before: a retry or a replay), bad_signature, stale, malformed, unknown_type, unknown_channel, not_configured, ignored */
  outcome: string;
  body: Record<string, unknown>;
  work?: WebhookWork[];
}

export interface WebhookHandler {
  /** the endpoint is POST /api/webhooks/<path> */
  path: string;
  handle(req: WebhookRequest, ctx: WebhookContext, cfg: Config): Promise<WebhookVerdict>;
  /**
   * How long a delivery of this system could be replayed (its channels' lifetime, its sender's
   * retention): the event ids `fresh()` records are kept at least this long.
   */
  rememberSeconds?(cfg: Config): number;
}

export interface ConnectorContext {
  cfg: Config;
  /** a request budget shared by every worker (Redis) with a per-process fallback */
  budget(key: string, limit: number, windowMs: number): RequestBudget;
  /** called once per API request (metrics) */
  onRequest(): void;
  /** called once per refusal for rate or quota (429, Google's rate-limit 403s, Fireflies' too_many_requests) */
  onRateLimited?(): void;
  /**
   * Reports a budget that `budget()` did not make (e.g. Fireflies' daily counter) to the metrics:
   * `remaining` is read on each scrape.
   */
  reportBudget?(name: string, window: string, limit: number, remaining: () => Promise<number>): void;
  /** the shared Redis, for connector state every worker must see (e.g. a daily request counter); absent without one */
  redis?: Redis;
}

/** Reads a file of the secrets folder (trimmed; undefined when missing or empty). */
export interface SecretReader {
  dir: string;
  read(name: string): string | undefined;
}

/** A system, as data: registered once in connectors/registry.ts. */
export interface ConnectorDefinition {
  /** external_system in the registry: hubspot, google_workspace, fireflies */
  system: string;
  /** a name for people (logs, status) */
  title: string;
  /**
   * This system's settings from the environment and the secrets folder (its own zod schema);
   * throws ConfigError naming the bad variable. The result is `cfg.systems[system]`.
   */
  parseConfig(env: Record<string, string>, secrets: SecretReader): unknown;
  /** entity types in dependency order (records pointed at come first) */
  entities: readonly EntitySpec[];
  /** folder of this connector's SQL migrations (applied after the core ones, in file order) */
  migrationsDir?: string;
  /**
   * The connections this installation has (HubSpot: the portal; Google: each user), or a reason
   * why the system is not configured. Reads only the configuration: no clients, no I/O.
   */
  connections(cfg: Config): { connections: string[] } | { notConfigured: string };
  /** builds the client of one connection (once per process) */
  create(cfg: Config, connection: string, ctx: ConnectorContext): Connector;
  webhooks?: WebhookHandler;
  /**
   * false: no scheduled reconciliation (a full listing would spend a budget the sync needs and
   * could not confirm a deletion anyway); default: a `reconcile:` schedule per connection
   */
  reconcile?: false;
}
