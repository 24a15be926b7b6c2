/**
 * Everything the API, the CLI and the activities need to know about the workflows: names, IDs,
 * the task queue, signals, queries, updates and their argument types. Deterministic-safe: imports
 * only @temporalio/workflow's define* helpers and types.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { EntityType } from '../core/entities';

export const SYSTEMS = ['hubspot'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const DEFAULT_TASK_QUEUE = 'aurora-sync';

/** Entity type names a trigger accepts, singular or plural (workflow code cannot import core/entities). */
export const ENTITY_TYPE_NAMES: Readonly<Record<string, EntityType>> = {
  contact: 'contact',
  contacts: 'contact',
  company: 'company',
  companies: 'company',
  deal: 'deal',
  deals: 'deal',
};

export const syncWorkflowId = (system: string, prefix = ''): string => `${prefix}sync:${system}`;

export const SA_SYSTEM = defineSearchAttributeKey('AuroraSystem', SearchAttributeType.KEYWORD);
export const SA_ENTITY_TYPE = defineSearchAttributeKey('AuroraEntityType', SearchAttributeType.KEYWORD);
export const SA_STATUS = defineSearchAttributeKey('AuroraStatus', SearchAttributeType.KEYWORD);

export interface PullCursorState {
  [key: string]: unknown;
}

export interface EntityStatus {
  lastCycleAt: string | null;
  lastSuccessAt: string | null;
  lastPull: Record<string, number> | null;
  lastPush: Record<string, number> | null;
  cursor: PullCursorState | null;
  lastError: string | null;
}

export interface SyncWorkflowInput {
  system: SystemName;
  entityTypes: EntityType[];
  intervalSeconds: number;
  /** heartbeat timeout of the page loops (default 30 s) */
  heartbeatTimeoutSeconds?: number;
  /** run a cycle as soon as the workflow starts (default true); false: wait for the timer or a trigger */
  runImmediately?: boolean;
  /** cycles per run before continue-as-new (default 200) */
  cyclesPerRun?: number;
  /** carried across continue-as-new */
  state?: {
    cursors: Record<string, PullCursorState | null>;
    status: Record<string, EntityStatus>;
    cycles: number;
    pending: TriggerRequest[];
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

/** Wake the sync workflow now (all entity types, or one). `temporal workflow signal --name trigger`. */
export const triggerSignal = defineSignal<[TriggerRequest?]>('trigger');
/** Run a cycle now and answer with its outcome when done. */
export const syncNowUpdate = defineUpdate<CycleSummary, [TriggerRequest]>('syncNow');
export const statusQuery = defineQuery<SyncStatus>('status');
