/** Client-side helpers shared by the worker, the API and the CLI: connect, start, trigger. */
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ConflictRuntime } from './activities';
import type { Config } from './config';
import { ENTITY_TYPES, type EntityType } from './core/entities';
import {
  SA_ENTITY_TYPE,
  SA_STATUS,
  SA_SYSTEM,
  conflictWorkflowId,
  refreshSignal,
  type ConflictWorkflowInput,
  configureSignal,
  syncWorkflowId,
  triggerSignal,
  type SyncStatus,
  type SyncWorkflowInput,
  type SystemName,
  statusQuery,
} from './workflows/definitions';

export async function connectClient(cfg: Config): Promise<Client> {
  const connection = await Connection.connect({ address: cfg.temporal.address });
  return new Client({ connection, namespace: cfg.temporal.namespace });
}

/** How `sync:<system>` is started (by the worker, a trigger or a webhook): same ID, queue and settings. */
export function startOptionsFor(cfg: Config, system: SystemName, opts: { runImmediately?: boolean } = {}) {
  return startOptions(cfg, system, opts.runImmediately ?? true);
}

function startOptions(cfg: Config, system: SystemName, runImmediately = true) {
  const args: [SyncWorkflowInput] = [
    {
      system,
      entityTypes: [...ENTITY_TYPES],
      intervalSeconds: cfg.syncIntervalSeconds,
      heartbeatTimeoutSeconds: cfg.heartbeatTimeoutSeconds,
      cyclesPerRun: cfg.cyclesPerRun,
      runImmediately,
    },
  ];
  return {
    workflowId: syncWorkflowId(system, cfg.temporal.workflowIdPrefix),
    taskQueue: cfg.temporal.taskQueue,
    args,
    typedSearchAttributes: [{ key: SA_SYSTEM, value: system }],
    memo: { summary: `${system} two-way sync, every ${cfg.syncIntervalSeconds} s` },
  };
}

/**
 * Starts `sync:<system>` unless it is already running. `runImmediately: false` when the caller is
 * about to request a cycle itself (so a new workflow does not run two back to back).
 */
export async function ensureSyncWorkflow(client: Client, cfg: Config, system: SystemName, opts: { runImmediately?: boolean } = {}): Promise<void> {
  await client.workflow.start('syncWorkflow', {
    ...startOptions(cfg, system, opts.runImmediately ?? true),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

/** Sends the configuration's current settings to a running `sync:<system>` (they may have changed). */
export async function configureSyncWorkflow(client: Client, cfg: Config, system: SystemName): Promise<void> {
  await client.workflow.getHandle(syncWorkflowId(system, cfg.temporal.workflowIdPrefix)).signal(configureSignal, {
    intervalSeconds: cfg.syncIntervalSeconds,
    heartbeatTimeoutSeconds: cfg.heartbeatTimeoutSeconds,
    cyclesPerRun: cfg.cyclesPerRun,
  });
}

/** Signals `trigger` (starting the workflow first if it is not running). */
export async function triggerSync(client: Client, cfg: Config, system: SystemName, entityType?: EntityType): Promise<string> {
  const handle = await client.workflow.signalWithStart('syncWorkflow', {
    ...startOptions(cfg, system),
    signal: triggerSignal,
    signalArgs: [{ entityType }],
  });
  return handle.workflowId;
}

export async function queryStatus(client: Client, cfg: Config, system: SystemName): Promise<SyncStatus | null> {
  try {
    return await client.workflow.getHandle(syncWorkflowId(system, cfg.temporal.workflowIdPrefix)).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Conflict workflows as the activities reach them: started idempotently per record, nudged by signal. */
export function createConflictRuntime(client: Client, cfg: Config, db: Pool): ConflictRuntime {
  const id = (system: string, type: EntityType, localId: string) => conflictWorkflowId(system, type, localId, cfg.temporal.workflowIdPrefix);
  return {
    policyFor: cfg.conflicts.policyFor,
    autoResolveAfterMs: cfg.conflicts.autoResolveAfterMs,
    async open(system, type, localIds) {
      for (const localId of localIds) {
        const args: [ConflictWorkflowInput] = [{ system, entityType: type, localId, autoResolveAfterMs: cfg.conflicts.autoResolveAfterMs }];
        // signalWithStart: exactly one workflow per record; a running one just reloads its details.
        await client.workflow.signalWithStart('conflictWorkflow', {
          workflowId: id(system, type, localId),
          taskQueue: cfg.temporal.taskQueue,
          args,
          signal: refreshSignal,
          signalArgs: [],
          typedSearchAttributes: [
            { key: SA_SYSTEM, value: system },
            { key: SA_ENTITY_TYPE, value: type },
            { key: SA_STATUS, value: 'open' },
          ],
          memo: { summary: `${system} ${type} ${localId}: changed on both sides` },
        });
        await db.query(
          `UPDATE sync_registry SET conflict_started = TRUE
           WHERE external_system = $1 AND entity_type = $2 AND local_id = $3 AND sync_status = 'conflict'`,
          [system, type, localId],
        );
      }
    },
    async nudge(system, type, localIds) {
      for (const localId of localIds) {
        await client.workflow
          .getHandle(id(system, type, localId))
          .signal(refreshSignal)
          .catch((err: unknown) => {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          });
      }
    },
  };
}
