/**
 * Activities: the I/O of a sync (external API pages, Postgres writes, Redis publishes), built once
 * per worker from injected dependencies. Workflows pass IDs, cursors and counts only; records move
 * here, page by page, with the cursor heartbeated so a retried activity resumes where it stopped.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type Redis from 'ioredis';
import { changedFields, parseEntityType, refFields, type Canonical, type EntityType } from '../core/entities';
import type { ConflictPolicy } from '../config';
import { applyResolution, loadConflict } from '../store/conflicts';
import type { ConflictDetails, ConflictResult, ResolutionInput } from '../workflows/definitions';
import { runWithProgress, setProgress } from '../core/progress';
import { ErrorType, type ChangeCursor, type Connector, type ExternalRecord, type WriteOutcome } from '../connectors/types';
import type { Metrics } from '../metrics';
import { relayOutbox } from '../store/outbox';
import {
  applyExternalDeletions,
  applyPulledPage,
  emptyPullCounts,
  emptyPushCounts,
  recordPushOutcomes,
  refreshConflictSnapshots,
  selectPushCandidates,
  translateRefs,
  type PullCounts,
  type PushCandidate,
  type PushCounts,
  type PushItem,
  type PushKind,
} from '../store/sync';
import { log } from '../log';

/** How conflicts are decided and how their workflows are reached (the worker wires this to Temporal). */
export interface ConflictRuntime {
  policyFor(system: string, entityType: string): ConflictPolicy;
  autoResolveAfterMs: number | null;
  /** start (or nudge, when running) the conflict workflows of these records */
  open(system: string, entityType: EntityType, localIds: string[]): Promise<void>;
  /** tell running conflict workflows their record changed or was resolved elsewhere */
  nudge(system: string, entityType: EntityType, localIds: string[]): Promise<void>;
}

export const lastWriteWinsOnly: ConflictRuntime = {
  policyFor: () => ({ policy: 'last-write-wins', fallback: 'last-write-wins' }),
  autoResolveAfterMs: null,
  open: async () => undefined,
  nudge: async () => undefined,
};

export interface ActivityDeps {
  db: Pool;
  redis: Redis;
  connectors: Map<string, Connector>;
  metrics: Metrics;
  conflicts?: ConflictRuntime;
}

export interface PullInput {
  system: string;
  entityType: EntityType;
  cursor: ChangeCursor | null;
}
export interface PullResult {
  cursor: ChangeCursor | null;
  counts: PullCounts;
}

/** Postgres rejected the data itself (class 22 data exception, class 23 integrity violation). */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not inside an activity (direct calls in tests and benchmarks)
  }
}
function heartbeatDetails<T>(): T | undefined {
  try {
    return Context.current().info.heartbeatDetails as T | undefined;
  } catch {
    return undefined;
  }
}

export function createActivities(deps: ActivityDeps) {
  const { db, redis, metrics } = deps;
  const conflicts = deps.conflicts ?? lastWriteWinsOnly;

  function connectorFor(system: string, entityType: string): { connector: Connector; type: EntityType } {
    const connector = deps.connectors.get(system);
    if (!connector) {
      throw ApplicationFailure.create({
        type: ErrorType.NotConfigured,
        message: `${system} is not configured on this worker (no credentials)`,
        nonRetryable: true,
      });
    }
    const type = parseEntityType(entityType);
    if (!type || !connector.entityTypes.includes(type)) {
      throw ApplicationFailure.create({ type: ErrorType.BadRequest, message: `${system} has no entity type "${entityType}"`, nonRetryable: true });
    }
    return { connector, type };
  }

  async function timed<T>(system: string, type: EntityType, direction: 'pull' | 'push', fn: () => Promise<T>): Promise<T> {
    const end = metrics.duration.startTimer({ system, type, direction });
    try {
      return await fn();
    } catch (err) {
      metrics.errors.inc({ system, type });
      throw err;
    } finally {
      end();
    }
  }

  async function saveState(system: string, type: EntityType, patch: { cursor?: ChangeCursor | null; pull?: boolean; push?: boolean }) {
    await db.query(
      `INSERT INTO sync_state (external_system, entity_type, cursor, last_pull_at, last_push_at)
       VALUES ($1, $2, $3::jsonb, CASE WHEN $4 THEN now() END, CASE WHEN $5 THEN now() END)
       ON CONFLICT (external_system, entity_type) DO UPDATE SET
         cursor = COALESCE(EXCLUDED.cursor, sync_state.cursor),
         last_pull_at = COALESCE(EXCLUDED.last_pull_at, sync_state.last_pull_at),
         last_push_at = COALESCE(EXCLUDED.last_push_at, sync_state.last_push_at)`,
      [system, type, patch.cursor === undefined ? null : JSON.stringify(patch.cursor), Boolean(patch.pull), Boolean(patch.push)],
    );
  }

  /**
   * Applies a page in one transaction; if Postgres rejects the data (a value out of range, a broken
   * reference), applies it record by record so one bad record cannot block the rest: the bad one is
   * marked sync_status='error' in the registry (when it has a row) and counted as failed.
   */
  async function applyPage(system: string, type: EntityType, records: ExternalRecord[], opened: string[], closed: string[]): Promise<PullCounts> {
    const opts = { policy: conflicts.policyFor(system, type), conflicts: opened, closed };
    try {
      return await applyPulledPage(db, system, type, records, opts);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const total = emptyPullCounts();
      for (const rec of records) {
        try {
          const c = await applyPulledPage(db, system, type, [rec], opts);
          for (const k of Object.keys(c) as (keyof PullCounts)[]) total[k] += c[k];
        } catch (one) {
          if (!isDataError(one)) throw one;
          total.fetched++;
          total.failed++;
          const message = `pull rejected by Postgres: ${(one as Error).message}`.slice(0, 2000);
          log.warn('record not applied', { system, entity_type: type, external_id: rec.externalId, error: message });
          await db.query(
            `UPDATE sync_registry SET sync_status = 'error', error_message = $4, updated_at = now()
             WHERE external_system = $1 AND entity_type = $2 AND external_id = $3`,
            [system, type, rec.externalId, message],
          );
          metrics.errors.inc({ system, type });
        }
      }
      return total;
    }
  }

  /**
   * Before a push: conflicts an operator set back to 'pending' are retried (last-write-wins, as the
   * design's runbook says), and local edits to records with an open conflict refresh its snapshot.
   */
  async function settleConflicts(connector: Connector, system: string, type: EntityType): Promise<void> {
    const { rows: retried } = await db.query<{ local_id: string }>(
      `SELECT local_id FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND sync_status = 'pending' AND conflict IS NOT NULL`,
      [system, type],
    );
    for (const { local_id } of retried) {
      await applyResolution(db, connector, system, type, local_id, {
        choice: 'last-write-wins',
        resolvedBy: 'operator (sync_status set to pending)',
        byPolicy: true,
      });
    }
    const edited = await refreshConflictSnapshots(db, system, type);
    await conflicts.nudge(system, type, [...retried.map((r) => r.local_id), ...edited]);
  }

  return {
    /** Loads an open conflict's details for its workflow (null when there is none). */
    async loadConflictDetails(input: { system: string; entityType: EntityType; localId: string }): Promise<ConflictDetails | null> {
      return loadConflict(db, input.system, input.entityType, input.localId);
    },

    /** Applies a conflict decision to both sides (see store/conflicts). */
    async resolveConflict(input: { system: string; entityType: EntityType; localId: string; resolution: ResolutionInput }): Promise<ConflictResult> {
      const { connector, type } = connectorFor(input.system, input.entityType);
      const result = await applyResolution(db, connector, input.system, type, input.localId, input.resolution);
      metrics.records.inc({ system: input.system, type, direction: 'resolution', action: 'resolved' });
      return result;
    },

    /** Pulls every external change since the cursor, page by page; returns the new cursor and counts. */
    async pullEntity(input: PullInput): Promise<PullResult> {
      const { connector, type } = connectorFor(input.system, input.entityType);
      return timed(input.system, type, 'pull', async () => {
        await connector.prepare?.(type);
        // Only a heartbeat written after a page was applied holds an exact position to resume from.
        const resumed = heartbeatDetails<{ cursor: ChangeCursor; counts: PullCounts } | undefined>();
        let cursor: ChangeCursor | null = resumed?.cursor ?? input.cursor;
        if (!resumed && !cursor) {
          // A brand-new workflow: continue from the cursor mirrored in Postgres, if any.
          const { rows } = await db.query<{ cursor: ChangeCursor | null }>(
            'SELECT cursor FROM sync_state WHERE external_system = $1 AND entity_type = $2',
            [input.system, type],
          );
          cursor = rows[0]?.cursor ?? null;
        }
        const counts = resumed?.counts ?? emptyPullCounts();
        const opened: string[] = [];
        const closed: string[] = [];
        await runWithProgress(heartbeat, undefined, async () => {
          for await (const page of prefetched(connector.listChanges(type, cursor, Boolean(resumed)))) {
            const c = await applyPage(input.system, type, page.records, opened, closed);
            for (const k of Object.keys(c) as (keyof PullCounts)[]) counts[k] += c[k];
            record(input.system, type, 'pull', c);
            cursor = page.cursor;
            setProgress({ cursor, counts });
            await saveState(input.system, type, { cursor });
          }
          for await (const archived of connector.listDeleted(type)) {
            const n = await applyExternalDeletions(db, input.system, type, archived);
            counts.deleted += n;
            if (n) metrics.records.inc({ system: input.system, type, direction: 'pull', action: 'deleted' }, n);
          }
        });
        // Conflicts opened or changed by this pull, and any whose workflow was never started (a crash).
        const { rows: unstarted } = await db.query<{ local_id: string }>(
          `SELECT local_id FROM sync_registry WHERE external_system = $1 AND entity_type = $2
             AND sync_status = 'conflict' AND NOT conflict_started`,
          [input.system, type],
        );
        await conflicts.open(input.system, type, [...new Set([...opened, ...unstarted.map((r) => r.local_id)])]);
        await conflicts.nudge(input.system, type, closed);
        await saveState(input.system, type, { cursor, pull: true });
        return { cursor, counts };
      });
    },

    /**
     * Fetches exactly the records webhooks named (batch read) and applies them with the same
     * conflict, echo and event rules as a polled change; ids no longer readable that are archived
     * become deletions.
     */
    async pullByIds(input: { system: string; entityType: EntityType; ids: string[] }): Promise<PullCounts> {
      const { connector, type } = connectorFor(input.system, input.entityType);
      return timed(input.system, type, 'pull', async () => {
        await connector.prepare?.(type);
        const opened: string[] = [];
        const closed: string[] = [];
        const counts = emptyPullCounts();
        await runWithProgress(heartbeat, undefined, async () => {
          const records = await connector.readByIds(type, input.ids);
          const found = new Set(records.map((r) => r.externalId));
          const c = await applyPage(input.system, type, records, opened, closed);
          for (const k of Object.keys(c) as (keyof PullCounts)[]) counts[k] += c[k];
          const missing = input.ids.filter((id) => !found.has(id));
          if (missing.length) counts.deleted += await applyExternalDeletions(db, input.system, type, await connector.readArchived(type, missing));
        });
        record(input.system, type, 'pull', counts);
        await conflicts.open(input.system, type, opened);
        await conflicts.nudge(input.system, type, closed);
        // Real time: publish now rather than in a second activity (Redis down: the relay catches up).
        await relayOutbox(db, redis).then((n) => n && metrics.eventsPublished.inc(n), () => undefined);
        return counts;
      });
    },

    /** Pushes local changes (version ahead of the registry) in batches of the connector's size. */
    async pushEntity(input: { system: string; entityType: EntityType }): Promise<PushCounts> {
      const { connector, type } = connectorFor(input.system, input.entityType);
      return timed(input.system, type, 'push', async () => {
        await connector.prepare?.(type);
        const counts = emptyPushCounts();
        let afterId = '';
        await settleConflicts(connector, input.system, type);
        await runWithProgress(heartbeat, undefined, async () => {
          for (;;) {
            const batch = await selectPushCandidates(db, input.system, type, afterId, connector.batchSize);
            if (!batch.length) break;
            afterId = batch[batch.length - 1]!.localId;
            const items = await pushBatch(db, connector, type, batch);
            const c = await recordPushOutcomes(db, input.system, type, items);
            for (const k of Object.keys(c) as (keyof PushCounts)[]) counts[k] += c[k];
            record(input.system, type, 'push', c);
            if (c.errors) metrics.errors.inc({ system: input.system, type }, c.errors);
            setProgress({ afterId, counts });
            if (batch.length < connector.batchSize) break;
          }
        });
        await saveState(input.system, type, { push: true });
        return counts;
      });
    },

    /** Relays unpublished outbox events to Redis. Safe to call any time; idempotent. */
    async publishEvents(): Promise<number> {
      const n = await relayOutbox(db, redis);
      if (n) metrics.eventsPublished.inc(n);
      return n;
    },

    /** Records an entity type's outcome for operators (sync_state) and metrics. */
    async recordOutcome(input: { system: string; entityType: EntityType; error: string | null }): Promise<void> {
      if (input.error) {
        log.warn('sync failed', { system: input.system, entity_type: input.entityType, error: input.error });
        await db.query(
          `INSERT INTO sync_state (external_system, entity_type, last_error, last_error_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (external_system, entity_type) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = now()`,
          [input.system, input.entityType, input.error.slice(0, 2000)],
        );
      } else {
        await db.query(
          `INSERT INTO sync_state (external_system, entity_type, last_success_at) VALUES ($1, $2, now())
           ON CONFLICT (external_system, entity_type) DO UPDATE SET last_success_at = now(), last_error = NULL`,
          [input.system, input.entityType],
        );
        metrics.lastSuccess.set({ system: input.system }, Date.now() / 1000);
      }
    },
  };

  function record(system: string, type: EntityType, direction: 'pull' | 'push', c: { created?: number; updated?: number; deleted?: number; conflicts?: number }) {
    for (const action of ['created', 'updated', 'deleted'] as const) {
      const n = c[action] ?? 0;
      if (n) metrics.records.inc({ system, type, direction, action }, n);
    }
    if (c.conflicts) metrics.conflicts.inc({ system, type }, c.conflicts);
  }
}

/**
 * Fetches the next page while the current one is being written: API latency and Postgres time
 * overlap instead of adding up. Order and cursors are unchanged.
 */
async function* prefetched<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done) return;
      next = it.next();
      next.catch(() => undefined); // surfaced when awaited above
      yield current.value;
    }
  } finally {
    await it.return?.();
  }
}

/**
 * Sends one batch of local changes: creates, updates and deletes, each as one batch call.
 * Associations travel as the external system's ids and come back as Aurora ids.
 */
async function pushBatch(db: Pool, connector: Connector, type: EntityType, batch: PushCandidate[]): Promise<PushItem[]> {
  const system = connector.system;
  const external = new Map(
    batch.map((c) => [c.localId, { fields: { ...c.fields }, previous: c.reg?.synced_snapshot ? { ...c.reg.synced_snapshot } : null }]),
  );
  await translateRefs(db, system, type, [...external.values()].map((e) => e.fields), 'external');
  const previous = [...external.values()].map((e) => e.previous).filter((p): p is Canonical => p !== null);
  await translateRefs(db, system, type, previous, 'external');
  const refCount = (f: Canonical) => refFields(type).reduce((n, [field]) => n + (f[field] ?? '').split(',').filter(Boolean).length, 0);

  const creates: PushCandidate[] = [];
  const updates: PushCandidate[] = [];
  const deletes: PushCandidate[] = [];
  const items: PushItem[] = [];
  for (const c of batch) {
    const ext = c.reg?.external_id;
    if (c.deleted) {
      if (ext && !c.reg?.deleted) deletes.push(c);
      else items.push({ candidate: c, kind: 'unchanged' });
    } else if (!ext || c.reg?.deleted) creates.push(c); // new, or restored in Aurora after a delete on both sides
    else if (c.hash === c.reg?.synced_hash) items.push({ candidate: c, kind: 'unchanged' });
    else updates.push(c);
  }
  const run = async (list: PushCandidate[], kind: PushKind, write: () => Promise<WriteOutcome[]>) => {
    if (!list.length) return;
    const written = await write();
    await translateRefs(db, system, type, written.flatMap((o) => (o.ok ? [o.fields] : [])), 'local');
    const outcomes = new Map(written.map((o) => [o.localId, o]));
    for (const c of list) {
      const unresolved = kind !== 'deleted' && refCount(c.fields) > refCount(external.get(c.localId)!.fields);
      items.push({ candidate: c, kind, outcome: outcomes.get(c.localId), unresolved });
    }
  };
  const ext = (c: PushCandidate) => external.get(c.localId)!;
  await run(creates, 'created', () =>
    connector.create(type, creates.map((c) => ({ localId: c.localId, fields: ext(c).fields, previous: c.reg?.deleted ? null : ext(c).previous }))),
  );
  await run(updates, 'updated', () =>
    connector.update(
      type,
      updates.map((c) => ({
        localId: c.localId,
        externalId: c.reg!.external_id!,
        fields: ext(c).fields,
        previous: ext(c).previous,
        // Only what changed in Aurora since the last sync (everything when there is no snapshot).
        changed: c.reg?.synced_snapshot ? changedFields(c.fields, c.reg.synced_snapshot) : undefined,
      })),
    ),
  );
  await run(deletes, 'deleted', () => connector.delete(type, deletes.map((c) => ({ localId: c.localId, externalId: c.reg!.external_id! }))));
  return items;
}

export type Activities = ReturnType<typeof createActivities>;
