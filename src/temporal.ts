/** Client-side helpers shared by the worker, the API and the CLI: connect, start, trigger. */
import { Client, Connection, WorkflowNotFoundError, type TLSConfig } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { Pool } from 'pg';
import type { ConflictRuntime } from './activities';
import type { Config } from './config';
import { definitionOf } from './connectors/registry';
import { DEFAULT_CONNECTION } from './core/model';
import { markConflictStarted } from './store/state';
import { CODEC_KEYS_FILE, dataConverterFor } from './core/codec';
import { log } from './log';
import {
  SA_CONNECTION,
  SA_ENTITY_TYPE,
  SA_STATUS,
  SA_SYSTEM,
  SEARCH_ATTRIBUTES,
  conflictWorkflowId,
  DEFAULT_FORCE_CONTINUE_AT_EVENTS,
  refreshSignal,
  type ConflictWorkflowInput,
  configureSignal,
  syncWorkflowId,
  triggerSignal,
  webhookSignal,
  type SyncStatus,
  type SyncWorkflowInput,
  statusQuery,
} from './workflows/definitions';

/**
 * How every client and worker connects to Temporal (Connection.connect, NativeConnection.connect):
 * the address, TLS when configured (the server's CA and name, an mTLS client certificate) and the
 * API key (Temporal Cloud; sent as a bearer token, only over TLS).
 */
export function temporalConnectionOptions(t: Config['temporal']): { address: string; tls?: TLSConfig; apiKey?: string } {
  const options: { address: string; tls?: TLSConfig; apiKey?: string } = { address: t.address };
  if (t.tls) {
    options.tls = {
      ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
      ...(t.tls.ca ? { serverRootCACertificate: t.tls.ca } : {}),
      ...(t.tls.cert && t.tls.key ? { clientCertPair: { crt: t.tls.cert, key: t.tls.key } } : {}),
    };
  }
  if (t.apiKey) options.apiKey = t.apiKey;
  return options;
}

/** A client with the payload codec (every client of the engine: worker, API, CLI, demo, tests). */
export async function connectClient(cfg: Config): Promise<Client> {
  warnIfUnencrypted(cfg);
  const connection = await Connection.connect(temporalConnectionOptions(cfg.temporal));
  return new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverterFor(cfg.codec.keys) });
}

let warnedUnencrypted = false;
/** Once per process: without codec keys, record content in workflow history is stored as plain JSON. */
export function warnIfUnencrypted(cfg: Config): void {
  if (cfg.codec.keys || warnedUnencrypted) return;
  warnedUnencrypted = true;
  log.warn(`payloads in Temporal are not encrypted: no codec keys (${CODEC_KEYS_FILE} in SECRETS_DIR or TEMPORAL_CODEC_KEYS_PATH); fine for development only`);
}

/** Registers the search attributes the workflows use when the server lacks them (a server started elsewhere). */
export async function ensureSearchAttributes(client: Client, cfg: Config): Promise<void> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
  const missing = SEARCH_ATTRIBUTES.filter((a) => !(customAttributes && a.name in customAttributes));
  if (!missing.length) return;
  await client.connection.operatorService.addSearchAttributes({
    namespace: cfg.temporal.namespace,
    searchAttributes: Object.fromEntries(missing.map((a) => [a.name, proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
}

/** One sync workflow: a system's connection. */
export interface SyncTarget {
  system: string;
  connection?: string;
}

/** How `sync:<system>[:<connection>]` is started (by the worker, a trigger or a webhook): same ID, queue and settings. */
export function startOptionsFor(cfg: Config, target: SyncTarget, opts: { runImmediately?: boolean } = {}) {
  const def = definitionOf(target.system);
  if (!def) throw new Error(`unknown system "${target.system}"`);
  const connection = target.connection ?? DEFAULT_CONNECTION;
  const args: [SyncWorkflowInput] = [
    {
      system: target.system,
      ...(connection !== DEFAULT_CONNECTION ? { connection } : {}),
      entityTypes: def.entities.map((e) => e.type),
      entityAliases: Object.fromEntries(def.entities.map((e) => [e.plural, e.type])),
      intervalSeconds: cfg.syncIntervalSeconds,
      heartbeatTimeoutSeconds: cfg.heartbeatTimeoutSeconds,
      cyclesPerRun: cfg.cyclesPerRun,
      ...(cfg.forceContinueAtEvents !== DEFAULT_FORCE_CONTINUE_AT_EVENTS ? { forceContinueAtEvents: cfg.forceContinueAtEvents } : {}),
      runImmediately: opts.runImmediately ?? true,
    },
  ];
  const who = connection === DEFAULT_CONNECTION ? def.title : `${def.title} (${connection})`;
  return {
    workflowId: syncWorkflowId(target.system, cfg.temporal.workflowIdPrefix, connection),
    taskQueue: cfg.temporal.taskQueue,
    args,
    typedSearchAttributes: [
      { key: SA_SYSTEM, value: target.system },
      { key: SA_CONNECTION, value: connection },
    ],
    memo: { summary: `${who}: two-way sync of ${def.entities.map((e) => e.plural).join(', ')}, every ${cfg.syncIntervalSeconds} s` },
  };
}

/**
 * Starts the sync workflow unless it is already running. `runImmediately: false` when the caller
 * is about to request a cycle itself (so a new workflow does not run two back to back).
 */
export async function ensureSyncWorkflow(client: Client, cfg: Config, target: SyncTarget, opts: { runImmediately?: boolean } = {}): Promise<void> {
  await client.workflow.start('syncWorkflow', { ...startOptionsFor(cfg, target, opts), workflowIdConflictPolicy: 'USE_EXISTING' });
}

/** Sends the configuration's current settings to a running sync workflow (they may have changed). */
export async function configureSyncWorkflow(client: Client, cfg: Config, target: SyncTarget): Promise<void> {
  await client.workflow.getHandle(syncWorkflowId(target.system, cfg.temporal.workflowIdPrefix, target.connection)).signal(configureSignal, {
    intervalSeconds: cfg.syncIntervalSeconds,
    heartbeatTimeoutSeconds: cfg.heartbeatTimeoutSeconds,
    cyclesPerRun: cfg.cyclesPerRun,
  });
}

/** Signals `trigger` (starting the workflow first if it is not running). */
export async function triggerSync(client: Client, cfg: Config, target: SyncTarget, entityType?: string): Promise<string> {
  const handle = await client.workflow.signalWithStart('syncWorkflow', {
    ...startOptionsFor(cfg, target),
    signal: triggerSignal,
    signalArgs: [{ entityType }],
  });
  return handle.workflowId;
}

/** Hands records a webhook named to the workflow (starting it, without a cycle, when not running). */
export async function signalWebhook(client: Client, cfg: Config, target: SyncTarget, entityType: string, ids: string[], propertyOnly?: string[]): Promise<void> {
  await client.workflow.signalWithStart('syncWorkflow', {
    ...startOptionsFor(cfg, target, { runImmediately: false }),
    signal: webhookSignal,
    signalArgs: [{ entityType, ids, ...(propertyOnly?.length ? { propertyOnly } : {}) }],
  });
}

export async function queryStatus(client: Client, cfg: Config, target: SyncTarget): Promise<SyncStatus | null> {
  try {
    return await client.workflow.getHandle(syncWorkflowId(target.system, cfg.temporal.workflowIdPrefix, target.connection)).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Conflict workflows as the activities reach them: started idempotently per record, nudged by signal. */
export function createConflictRuntime(client: Client, cfg: Config, db: Pool): ConflictRuntime {
  const id = (system: string, type: string, localId: string) => conflictWorkflowId(system, type, localId, cfg.temporal.workflowIdPrefix);
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
        await markConflictStarted(db, system, type, localId);
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
