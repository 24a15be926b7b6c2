/**
 * The one connector interface every external system implements. The generic pull/push code in
 * src/activities works only against this; adding a system means one new folder under connectors/.
 */
import type { Canonical, EntityType } from '../core/entities';

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
}

/** Opaque, JSON-serialisable position in the external system's change feed. */
export type ChangeCursor = Record<string, unknown>;

export interface ChangePage {
  records: ExternalRecord[];
  /** the cursor after this page has been applied; persisted and heartbeated */
  cursor: ChangeCursor;
}

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
}
export interface WriteDelete {
  localId: string;
  externalId: string;
}

export type WriteOutcome =
  | { localId: string; ok: true; externalId: string; fields: Canonical; updatedAt: string; created?: boolean }
  | { localId: string; ok: false; error: string; /** the external record no longer exists */ notFound?: boolean };

export interface Connector {
  readonly system: string;
  readonly entityTypes: readonly EntityType[];
  /** One-time preparation (e.g. create the custom idempotency property). Safe to call repeatedly. */
  prepare?(entityType: EntityType): Promise<void>;
  /**
   * Changes since `cursor` (null = everything), page by page, oldest first. `resume` is true when
   * the cursor comes from an interrupted run's heartbeat (exact position, no look-back needed).
   */
  listChanges(entityType: EntityType, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage>;
  /** Records deleted/archived in the external system (ids only matter). */
  listDeleted(entityType: EntityType): AsyncIterable<ExternalRecord[]>;
  readByIds(entityType: EntityType, externalIds: string[]): Promise<ExternalRecord[]>;
  /** Of these ids, the ones deleted/archived in the external system. */
  readArchived(entityType: EntityType, externalIds: string[]): Promise<ExternalRecord[]>;
  /** Idempotent creation: a create retried after a timeout must not duplicate. */
  create(entityType: EntityType, creates: WriteCreate[]): Promise<WriteOutcome[]>;
  update(entityType: EntityType, updates: WriteUpdate[]): Promise<WriteOutcome[]>;
  delete(entityType: EntityType, deletes: WriteDelete[]): Promise<WriteOutcome[]>;
  /** max records per write call */
  readonly batchSize: number;
}

/** Error kinds shared by connectors, activities and workflows (ApplicationFailure.type). */
export const ErrorType = {
  RateLimited: 'RATE_LIMITED',
  Auth: 'AUTH_FAILED',
  NotConfigured: 'NOT_CONFIGURED',
  Upstream: 'UPSTREAM_ERROR',
  BadRequest: 'BAD_REQUEST',
  UnknownSystem: 'UNKNOWN_SYSTEM',
} as const;
