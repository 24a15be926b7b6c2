/**
 * Everything the API, the CLI and the activities need to know about the workflows: names, IDs,
 * the task queue, signals, queries, updates and their argument types. Deterministic-safe: imports
 * only @temporalio/workflow's define* helpers and types.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { DEFAULT_CONNECTION, invalidValue, type Canonical, type FieldKind } from '../core/model';

type EntityType = string;

export const DEFAULT_TASK_QUEUE = 'aurora-sync';

/** `sync:<system>` for a system's only connection, `sync:<system>:<connection>` for each of several (e.g. a Google user). */
export const syncWorkflowId = (system: string, prefix = '', connection: string = DEFAULT_CONNECTION): string =>
  connection === DEFAULT_CONNECTION ? `${prefix}sync:${system}` : `${prefix}sync:${system}:${connection}`;

export const SA_SYSTEM = defineSearchAttributeKey('AuroraSystem', SearchAttributeType.KEYWORD);
export const SA_CONNECTION = defineSearchAttributeKey('AuroraConnection', SearchAttributeType.KEYWORD);
export const SA_ENTITY_TYPE = defineSearchAttributeKey('AuroraEntityType', SearchAttributeType.KEYWORD);
export const SA_STATUS = defineSearchAttributeKey('AuroraStatus', SearchAttributeType.KEYWORD);
/** Registered on the Temporal server (scripts/services.sh; the worker adds any that are missing). */
export const SEARCH_ATTRIBUTES = [SA_SYSTEM, SA_CONNECTION, SA_ENTITY_TYPE, SA_STATUS];

export interface PullCursorState {
  [key: string]: unknown;
}

export interface EntityStatus {
  lastCycleAt: string | null;
  lastSuccessAt: string | null;
  lastPull: Record<string, number> | null;
  lastPush: Record<string, number> | null;
  /** the last fetch of records named by webhooks */
  lastWebhook?: Record<string, number | string> | null;
  cursor: PullCursorState | null;
  lastError: string | null;
}

export interface SyncWorkflowInput {
  system: string;
  /** absent in workflows started before connections existed: the system's only connection */
  connection?: string;
  /** entity types in the order each cycle syncs them (singular names) */
  entityTypes: EntityType[];
  /** other names a trigger may use for them (plural → singular) */
  entityAliases?: Record<string, EntityType>;
  intervalSeconds: number;
  /** heartbeat timeout of the page loops (default 30 s) */
  heartbeatTimeoutSeconds?: number;
  /** run a cycle as soon as the workflow starts (default true); false: wait for the timer or a trigger */
  runImmediately?: boolean;
  /** cycles per run before continue-as-new (default 200) */
  cyclesPerRun?: number;
  /** history length at which a run continues-as-new under a stream that never pauses (default 10,000; runs with patch continue-as-new-forced-sooner) */
  forceContinueAtEvents?: number;
  /** carried across continue-as-new */
  state?: {
    cursors: Record<string, PullCursorState | null>;
    status: Record<string, EntityStatus>;
    cycles: number;
    pending: TriggerRequest[];
    /** external ids from webhooks not fetched yet, per entity type */
    webhookIds?: Record<string, string[]>;
    /** of those, the ones every webhook so far named for property changes only (see WebhookChanges.propertyOnly) */
    webhookPropertyOnly?: Record<string, string[]>;
    /** when the next scheduled cycle is due (epoch ms); absent: an interval after the run starts */
    dueAt?: number;
    /** the run before held the webhook inbox's signals while it closed: this run releases them */
    signalsHeld?: boolean;
  };
}

export interface TriggerRequest {
  /** one entity type, or all when omitted */
  entityType?: EntityType;
  /** set by syncNow; the update answers when this request's cycle is done */
  requestId?: string;
}

export interface SyncStatus {
  system: string;
  state: 'idle' | 'syncing';
  cycles: number;
  nextCycleAt: string | null;
  /** trigger signals ignored because they named an unknown entity type */
  rejectedTriggers: number;
  entities: Record<string, EntityStatus>;
}

export interface CycleSummary {
  requestId: string;
  entities: Record<string, EntityStatus>;
}

/** Settings a running workflow takes from the worker's configuration (sent at every worker start). */
export interface SyncSettings {
  intervalSeconds: number;
  heartbeatTimeoutSeconds: number;
  cyclesPerRun: number;
}
export const configureSignal = defineSignal<[SyncSettings]>('configure');

/** Records named by webhooks: the workflow fetches exactly these, soon (not a full incremental scan). */
export interface WebhookChanges {
  entityType: EntityType;
  /** external ids */
  ids: string[];
  /**
   * Of `ids`, those these webhooks name for property changes only (HubSpot `*.propertyChange`): a
   * fetch of them need not read their associations, which such a change cannot have touched (the
   * last synced ones stand). Absent: every id is read whole.
   */
  propertyOnly?: string[];
}

/**
 * Adds the ids of one delivery to those gathered (`ids`, in arrival order, and the property-only
 * subset): an id stays property-only only while every delivery naming it says so. Pure (the
 * workflow and the API's signal coalescing use it alike).
 */
export function gatherWebhookIds(ids: string[], propertyOnly: Set<string>, change: { ids: readonly string[]; propertyOnly?: readonly string[] }): void {
  const known = new Set(ids);
  const only = new Set(change.propertyOnly ?? []);
  for (const id of change.ids) {
    if (typeof id !== 'string') continue;
    const isNew = !known.has(id);
    if (isNew) {
      ids.push(id);
      known.add(id);
    }
    if (only.has(id) && (isNew || propertyOnly.has(id))) propertyOnly.add(id);
    else propertyOnly.delete(id);
  }
}
export const webhookSignal = defineSignal<[WebhookChanges]>('webhook');
/** ids held per entity type before the workflow falls back to an incremental pull instead */
export const MAX_WEBHOOK_IDS = 5_000;

/**
 * History length at which a run under a webhook stream that never pauses continues-as-new anyway
 * (runs with patch continue-as-new-forced-sooner): at 30,000 events (about 5 MB) its workflow tasks
 * took 33–51 s, timed out and were retried, and the stream stalled (load/webhooks.ts).
 * SYNC_FORCE_CONTINUE_AT_EVENTS sets it per installation.
 */
export const DEFAULT_FORCE_CONTINUE_AT_EVENTS = 10_000;

/** Wake the sync workflow now (all entity types, or one). `temporal workflow signal --name trigger`. */
export const triggerSignal = defineSignal<[TriggerRequest?]>('trigger');
/** Run a cycle now and answer with its outcome when done. */
export const syncNowUpdate = defineUpdate<CycleSummary, [TriggerRequest]>('syncNow');
export const statusQuery = defineQuery<SyncStatus>('status');

// ---------------------------------------------------------------------------------------------
// Conflicts: one workflow per conflicted record, `conflict:<system>:<entity_type>:<local_id>`.

export const conflictWorkflowId = (system: string, entityType: string, localId: string, prefix = ''): string =>
  `${prefix}conflict:${system}:${entityType}:${localId}`;

/** Per field: take one side's value, or give the value. */
export type FieldChoice = 'local' | 'external' | { value: string | null };

export interface ResolutionInput {
  /** keep one side, merge per field, or (policies only) last-write-wins */
  choice: 'local' | 'external' | 'merged' | 'last-write-wins';
  /** for `merged`: a choice for each conflicting field (others merge: each side's own changes) */
  fields?: Record<string, FieldChoice>;
  resolvedBy: string;
  comment?: string;
  /** set when a policy, not a person, decided (deadline, operator retry) */
  byPolicy?: boolean;
}

export interface ConflictDetails {
  system: string;
  entityType: EntityType;
  localId: string;
  externalId: string | null;
  /** 'conflict' while open */
  status: string;
  detectedAt: string;
  /** fields changed on both sides to different values */
  fields: string[];
  kinds: Record<string, FieldKind>;
  local: { values: Canonical; updated_at: string | null; deleted: boolean; version: number };
  external: { values: Canonical; updated_at: string; id: string };
  base: Canonical | null;
}

export interface ConflictResult {
  outcome: 'resolved' | 'closed';
  /** one line for the Temporal Web UI */
  summary: string;
  choice?: ResolutionInput['choice'];
  resolvedBy?: string;
  comment?: string;
  byPolicy?: boolean;
  values?: Canonical;
  wroteLocal?: boolean;
  wroteExternal?: boolean;
  at: string;
}

export interface ConflictWorkflowInput {
  system: string;
  entityType: EntityType;
  localId: string;
  /** resolve by last-write-wins after this long (CONFLICT_AUTO_RESOLVE_AFTER); null: wait for a person */
  autoResolveAfterMs: number | null;
}

export interface ConflictView {
  id: string;
  status: 'open' | 'resolving' | 'resolved';
  details: ConflictDetails | null;
  result: ConflictResult | null;
  /** resolve signals that were rejected, with the reason */
  rejected: string[];
  autoResolveAt: string | null;
}

/** Resolve by signal (`temporal workflow signal --name resolve`): invalid input is rejected and recorded. */
export const resolveSignal = defineSignal<[ResolutionInput]>('resolve');
/** Resolve by update: validated before it reaches history; answers with the applied result. */
export const resolveUpdate = defineUpdate<ConflictResult, [ResolutionInput]>('resolve');
/** The record changed again (either side) or was resolved elsewhere: reload the details. */
export const refreshSignal = defineSignal('refresh');
export const detailsQuery = defineQuery<ConflictView>('details');

const CHOICES = ['local', 'external', 'merged', 'last-write-wins'];

/** Checks a resolution against a conflict's details. Pure: used by the workflow, the API and the CLI. */
export function validateResolution(input: unknown, details: Pick<ConflictDetails, 'fields' | 'kinds'>): string | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'resolution must be an object {choice, resolvedBy, fields?, comment?}';
  const r = input as Record<string, unknown>;
  if (typeof r.choice !== 'string' || !CHOICES.includes(r.choice)) return `unknown choice ${JSON.stringify(r.choice)}; expected local, external or merged`;
  if (typeof r.resolvedBy !== 'string' || !r.resolvedBy.trim() || r.resolvedBy.length > 200) return 'resolvedBy must name who resolved (1-200 characters)';
  if (r.comment !== undefined && (typeof r.comment !== 'string' || r.comment.length > 2000)) return 'comment must be a string of at most 2000 characters';
  if (r.fields !== undefined) {
    if (r.choice !== 'merged') return 'fields are only allowed with choice "merged"';
    if (typeof r.fields !== 'object' || r.fields === null || Array.isArray(r.fields)) return 'fields must be an object {field: "local" | "external" | {value}}';
    for (const [field, choice] of Object.entries(r.fields as Record<string, unknown>)) {
      // own fields only: `constructor` or `toString` must not pass for a field of the record
      const kind = Object.hasOwn(details.kinds, field) ? details.kinds[field] : undefined;
      if (!kind) return `unknown field "${field}"; expected one of ${Object.keys(details.kinds).join(', ')}`;
      if (choice === 'local' || choice === 'external') continue;
      if (typeof choice !== 'object' || choice === null || !('value' in choice)) return `field "${field}": expected "local", "external" or {"value": ...}`;
      const v = (choice as { value: unknown }).value;
      if (v === null) continue;
      if (typeof v !== 'string') return `field "${field}": value must be a string or null`;
      const invalid = invalidValue(kind, v);
      if (invalid) return `field "${field}"${invalid.startsWith('"') ? ': ' : ' '}${invalid}`;
      if (v.length > 10_000) return `field "${field}": value too long`;
    }
  }
  if (r.choice === 'merged') {
    const given = (r.fields ?? {}) as Record<string, unknown>;
    const missing = details.fields.filter((f) => !(f in given));
    if (missing.length) return `choice "merged" needs a choice for each conflicting field; missing: ${missing.join(', ')}`;
  }
  return null;
}

// ---- scheduled maintenance (Temporal Schedules) ----------------------------------------------------

/** `reconcile:<system>` for a system's only connection, `reconcile:<system>:<connection>` otherwise: the schedule's and its runs' id. */
export const reconcileScheduleId = (system: string, prefix = '', connection: string = DEFAULT_CONNECTION): string =>
  connection === DEFAULT_CONNECTION ? `${prefix}reconcile:${system}` : `${prefix}reconcile:${system}:${connection}`;
/** `renew-channels:<system>`: renews every connection's push channels (Calendar, Drive) and Gmail watches. */
export const renewScheduleId = (system: string, prefix = ''): string => `${prefix}renew-channels:${system}`;

export interface ReconcileWorkflowInput {
  system: string;
  connection: string;
  /** in dependency order (records pointed at first) */
  entityTypes: EntityType[];
}

/** What a reconciliation checked and repaired, per entity type (the workflow's result). */
export interface ReconcileSummary {
  system: string;
  connection: string;
  startedAt: string;
  finishedAt: string;
  entities: Record<string, { checked: number; created: number; updated: number; deleted: number; heldDeletions: number; conflicts: number; error: string | null }>;
}

export interface RenewChannelsWorkflowInput {
  system: string;
  connections: string[];
  entityTypes: EntityType[];
}

export interface RenewChannelsSummary {
  system: string;
  /** per connection: channels opened or renewed, and failures */
  connections: Record<string, { renewed: number; errors: number }>;
}
