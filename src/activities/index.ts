/**
 * Activities: the I/O of a sync (external API pages, Postgres writes, Redis publishes), built once
 * per worker from injected dependencies. Workflows pass IDs, cursors and counts only; records move
 * here, page by page, with the cursor heartbeated so a retried activity resumes where it stopped.
 * Activities orchestrate: decisions are in core/reconcile, SQL in store/, API calls in connectors.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type Redis from 'ioredis';
import type { Config, ConflictPolicy } from '../config';
import { ErrorType } from '../core/errors';
import { readAhead } from '../core/iter';
import { WritePipeline } from '../core/pipeline';
import { changedFields, DEFAULT_CONNECTION, findEntity, refFields, type Canonical } from '../core/model';
import { drawn, runWithProgress, setProgress } from '../core/progress';
import { sha256Hex } from '../core/secure';
import { CONNECTORS } from '../connectors/registry';
import { isCursorExpired, type ChangeCursor, type Connector, type ConnectorDefinition, type ExternalDeletion, type ExternalRecord, type WriteOutcome } from '../connectors/types';
import type { BudgetInfo, Metrics } from '../metrics';
import { log, withoutValue } from '../log';
import { commitResolution, decide, externalChange, loadConflict } from '../store/conflicts';
import { translateRefs } from '../store/local';
import { relayOutbox } from '../store/outbox';
import { addCounts, applyExternalDeletions, applyPulledPage, emptyPullCounts, unseenRecords, type PullCounts } from '../store/pull';
import { pageKeys } from '../store/pull-plan';
import {
  countLocalEdits,
  emptyPushCounts,
  operatorRetries,
  recordPushOutcomes,
  refreshConflictSnapshots,
  selectPushCandidates,
  pushKeys,
  type PushCandidate,
  type PushCounts,
  type PushItem,
  type PushKind,
} from '../store/push';
import { markPullError, withSnapshot, type Scope } from '../store/registry';
import * as state from '../store/state';
import * as inbox from '../store/inbox';
import type { ConflictDetails, ConflictResult, ReconcileSummary, ResolutionInput } from '../workflows/definitions';

/** How conflicts are decided and how their workflows are reached (the worker wires this to Temporal). */
export interface ConflictRuntime {
  policyFor(system: string, entityType: string): ConflictPolicy;
  autoResolveAfterMs: number | null;
  /** start (or nudge, when running) the conflict workflows of these records */
  open(system: string, entityType: string, localIds: string[]): Promise<void>;
  /** tell running conflict workflows their record changed or was resolved elsewhere */
  nudge(system: string, entityType: string, localIds: string[]): Promise<void>;
}

export const lastWriteWinsOnly: ConflictRuntime = {
  policyFor: () => ({ policy: 'last-write-wins', fallback: 'last-write-wins' }),
  autoResolveAfterMs: null,
  open: async () => undefined,
  nudge: async () => undefined,
};

/** The connectors of this process: one client per system and connection, built on first use. */
export interface ConnectorPool {
  /** throws NOT_CONFIGURED (non-retryable) when the system or connection has no credentials here */
  get(system: string, connection: string): Connector;
  /** systems with credentials, and their connections */
  configured(): Map<string, string[]>;
  /** the request budgets the connector of this connection built (its requests spend them) */
  budgets?(system: string, connection: string): BudgetInfo[];
}

/** The activities' settings from the configuration. */
export function activitySettings(cfg: Config): ActivityDeps['settings'] {
  return {
    massDelete: cfg.massDelete,
    pullWrites: cfg.pullWrites,
    pushConcurrency: cfg.pushConcurrency,
    channels: cfg.webhooks.pushChannels ? { baseUrl: cfg.webhooks.publicBaseUrl, renewBeforeSeconds: cfg.webhooks.channelRenewBeforeSeconds } : null,
  };
}

export interface ActivityDeps {
  db: Pool;
  redis: Redis;
  connectors: ConnectorPool;
  metrics: Metrics;
  conflicts?: ConflictRuntime;
  /** the systems (default: connectors/registry.ts) */
  definitions?: readonly ConnectorDefinition[];
  settings: {
    massDelete: { maxShare: number; minRecords: number };
    /** pulled pages written at once, and the records a write gathers at most (default 2 and 1,000) */
    pullWrites?: { concurrency: number; maxItems: number };
    /** push batches sent at once (default 2) */
    pushConcurrency?: number;
    /** push channels (Calendar/Drive watch): where notifications go; null: not opened */
    channels: { baseUrl: string; renewBeforeSeconds: number } | null;
  };
}

export interface EntityInput {
  system: string;
  /** absent in workflows started before connections existed: the system's only connection */
  connection?: string;
  entityType: string;
}
export interface PullInput extends EntityInput {
  cursor: ChangeCursor | null;
  /** a reconciliation: list everything and compare it with the registry, whatever the cursor */
  full?: boolean;
}
export interface PullResult {
  cursor: ChangeCursor | null;
  counts: PullCounts & { fullResync?: number; heldDeletions?: number; channelErrors?: number };
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

interface PullProgress {
  cursor: ChangeCursor | null;
  counts: PullResult['counts'];
  /** a full listing was under way: a retry starts it again (the ids it saw are not heartbeated) */
  full?: boolean;
}

export function createActivities(deps: ActivityDeps) {
  const { db, redis, metrics } = deps;
  const conflicts = deps.conflicts ?? lastWriteWinsOnly;
  const definitions = deps.definitions ?? CONNECTORS;
  const definitionOf = (system: string) => definitions.find((d) => d.system === system);
  const entitySpec = (system: string, type: unknown) => {
    const def = definitionOf(system);
    return def ? findEntity(def.entities, type) : undefined;
  };
  const entityNames = (system: string) => (definitionOf(system)?.entities ?? []).map((e) => e.plural).join(', ');
  /** When this process's last webhook fetch of a connection ended: the workflow's turn-around counts toward the pace. */
  const fetchEndedAt = new Map<string, number>();
  const pullWrites = deps.settings.pullWrites ?? { concurrency: 2, maxItems: 1000 };
  const pushConcurrency = deps.settings.pushConcurrency ?? 2;

  /** The scope and client of one entity type of one connection; clear non-retryable failures otherwise. */
  function resolve(input: EntityInput): { scope: Scope; connector: Connector; key: state.StateKey } {
    const def = definitionOf(input.system);
    if (!def) throw ApplicationFailure.create({ type: ErrorType.UnknownSystem, message: `unknown system "${input.system}"`, nonRetryable: true });
    const spec = entitySpec(input.system, input.entityType);
    if (!spec) {
      throw ApplicationFailure.create({
        type: ErrorType.BadRequest,
        message: `${input.system} has no entity type "${input.entityType}"; expected one of ${entityNames(input.system)}`,
        nonRetryable: true,
      });
    }
    const connection = input.connection ?? DEFAULT_CONNECTION;
    const connector = deps.connectors.get(input.system, connection);
    return {
      scope: { system: input.system, connection, spec, specs: def.entities },
      connector,
      key: { system: input.system, connection, entityType: spec.type },
    };
  }

  async function timed<T>(scope: Scope, direction: 'pull' | 'push', fn: () => Promise<T>): Promise<T> {
    const labels = { system: scope.system, type: scope.spec.type };
    const end = metrics.duration.startTimer({ ...labels, direction });
    try {
      return await fn();
    } catch (err) {
      metrics.errors.inc(labels);
      throw err;
    } finally {
      end();
    }
  }

  function record(scope: Scope, direction: 'pull' | 'push', c: { created?: number; updated?: number; deleted?: number; conflicts?: number }) {
    const labels = { system: scope.system, type: scope.spec.type };
    for (const action of ['created', 'updated', 'deleted'] as const) {
      const n = c[action] ?? 0;
      if (n) metrics.records.inc({ ...labels, direction, action }, n);
    }
    if (c.conflicts) metrics.conflicts.inc(labels, c.conflicts);
  }

  /**
   * Applies a page in one transaction; if Postgres rejects the data (a value out of range, a broken
   * reference), applies it record by record so one bad record cannot block the rest: the bad one is
   * marked sync_status='error' in the registry (when it has a row) and counted as failed.
   */
  async function applyPage(scope: Scope, records: ExternalRecord[], opened: string[], closed: string[]): Promise<PullCounts> {
    const opts = { policy: conflicts.policyFor(scope.system, scope.spec.type), conflicts: opened, closed };
    try {
      return await applyPulledPage(db, scope, records, opts);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const total = emptyPullCounts();
      for (const rec of records) {
        try {
          addCounts(total, await applyPulledPage(db, scope, [rec], opts));
        } catch (one) {
          if (!isDataError(one)) throw one;
          total.fetched++;
          total.failed++;
          const message = `pull rejected by Postgres: ${(one as Error).message}`.slice(0, 2000);
          log.warn('record not applied', { system: scope.system, connection: scope.connection, entity_type: scope.spec.type, external_id: rec.externalId, error: withoutValue(message) });
          await markPullError(db, scope, rec.externalId, message);
          metrics.errors.inc({ system: scope.system, type: scope.spec.type });
        }
      }
      return total;
    }
  }

  /** Of these ids, those the system confirms deleted, with when (all of them where it cannot tell). */
  async function confirmDeleted(scope: Scope, connector: Connector, externalIds: string[]): Promise<ExternalDeletion[]> {
    if (!connector.readArchived) return externalIds.map((externalId) => ({ externalId }));
    return (await connector.readArchived(scope.spec.type, externalIds)).map((r) => ({ externalId: r.externalId, deletedAt: r.archivedAt ?? r.updatedAt }));
  }

  /**
   * After a full listing (a cursor expired): registry rows the listing did not see were deleted
   * externally. More than the configured share of a type's records at once is held back for an
   * operator (mass-delete guard): nothing is deleted and the type reports why.
   */
  async function reconcileDeletions(scope: Scope, key: state.StateKey, connector: Connector, seen: ReadonlySet<string>): Promise<{ deleted: number; held: number }> {
    const { missing, total } = await unseenRecords(db, scope, seen);
    if (!missing.length) return { deleted: 0, held: 0 };
    // Where the system can tell, only what it confirms as deleted goes (a lagging listing proves
    // nothing), at the time it says (an Aurora edit made after it still wins).
    const gone = await confirmDeleted(scope, connector, missing);
    const { maxShare, minRecords } = deps.settings.massDelete;
    if (gone.length > minRecords && gone.length > maxShare * total) {
      const reason =
        `mass-delete guard: a full listing would delete ${gone.length} of ${total} ${scope.spec.plural} (${Math.round((100 * gone.length) / total)}% > ` +
        `${Math.round(maxShare * 100)}%); nothing was deleted. If that is right: npm run cli -- deletions confirm ${scope.system} ${scope.spec.plural}` +
        (scope.connection !== DEFAULT_CONNECTION ? ` --connection ${scope.connection}` : '');
      log.warn('mass deletion held', { system: scope.system, connection: scope.connection, entity_type: scope.spec.type, count: gone.length, total });
      await state.holdDeletions(db, key, { external_ids: gone.map((g) => g.externalId), total, detected_at: new Date().toISOString(), reason });
      return { deleted: 0, held: gone.length };
    }
    return { deleted: await applyExternalDeletions(db, scope, gone, connector.readArchived ? 'archived' : 'deleted'), held: 0 };
  }

  /** Keeps one live push channel per watchable resource: opens missing ones, renews before expiry, stops replaced ones. */
  async function maintainChannels(scope: Scope, key: state.StateKey, connector: Connector): Promise<{ renewed: number; errors: number }> {
    const channels = deps.settings.channels;
    const path = definitionOf(scope.system)?.webhooks?.path;
    if (!channels || !path || !connector.watchableResources || !connector.openChannel) return { renewed: 0, errors: 0 };
    let errors = 0;
    let renewed = 0;
    const resources = await connector.watchableResources(scope.spec.type);
    const live = await state.liveChannels(db, key);
    const now = Date.now();
    const stop = async (ch: (typeof live)[number]) => {
      if (Date.parse(ch.expiresAt) > now) await connector.stopChannel?.(scope.spec.type, ch).catch(() => undefined);
      await state.markChannelStopped(db, ch.channelId);
    };
    for (const resource of resources) {
      const mine = live.filter((c) => c.resource === resource).sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
      const newest = mine[0];
      let keep = newest;
      if (!newest || Date.parse(newest.expiresAt) - now < channels.renewBeforeSeconds * 1000) {
        const token = randomBytes(24).toString('base64url');
        try {
          const opened = await connector.openChannel(scope.spec.type, { resource, channelId: randomUUID(), token, address: `${channels.baseUrl}/api/webhooks/${path}` });
          await state.saveChannel(db, key, opened, sha256Hex(token));
          renewed++;
          keep = { ...opened, system: scope.system, connection: scope.connection, entityType: scope.spec.type, tokenHash: '', stopped: false };
        } catch (err) {
          errors++;
          log.warn('push channel not opened', { system: scope.system, connection: scope.connection, entity_type: scope.spec.type, resource, error: (err as Error).message });
        }
      }
      for (const old of mine) if (old.channelId !== keep?.channelId) await stop(old);
    }
    for (const orphan of live.filter((c) => !resources.includes(c.resource))) await stop(orphan);
    metrics.observeWatch({ system: scope.system, connection: scope.connection, type: scope.spec.type }, resources, await state.liveChannels(db, key));
    return { renewed, errors };
  }

  /** Applies a decision to both sides: the external write through the connector, then the Aurora side. */
  async function resolveOne(scope: Scope, connector: Connector, localId: string, input: ResolutionInput): Promise<ConflictResult> {
    const details = await loadConflict(db, scope.system, scope.spec, localId);
    if (!details || (details.status !== 'conflict' && details.status !== 'pending')) {
      throw ApplicationFailure.create({ type: ErrorType.ConflictNotOpen, message: `no open conflict for ${scope.system} ${scope.spec.type} ${localId}`, nonRetryable: true });
    }
    const decision = decide(details, input);
    const change = externalChange(details, decision);
    let external = { wrote: false, updatedAt: details.external.updated_at, etag: null as string | null | undefined };
    const refuse = (what: string, out: WriteOutcome | undefined) =>
      ApplicationFailure.create({ type: ErrorType.InvalidResolution, message: `${scope.system} refused the ${what}: ${out && !out.ok ? out.error : 'no answer'}`, nonRetryable: true });
    if (change && 'delete' in change) {
      const [out] = await connector.delete(scope.spec.type, [{ localId, externalId: details.externalId! }]);
      if (!out?.ok) throw refuse('delete', out);
      external = { wrote: true, updatedAt: out.updatedAt, etag: out.etag };
    } else if (change) {
      const [sendable, previous] = [{ ...decision.values }, { ...details.external.values }];
      await translateRefs(db, scope, [sendable, previous], 'external');
      const [out] = await connector.update(scope.spec.type, [{ localId, externalId: details.externalId!, fields: sendable, previous, changed: change.update }]);
      if (!out?.ok) throw refuse('update', out);
      external = { wrote: true, updatedAt: out.updatedAt, etag: out.etag };
    }
    return commitResolution(db, scope, details, input, decision, external);
  }

  /**
   * Before a push: conflicts an operator set back to 'pending' are retried (last-write-wins, as the
   * design's runbook says), and local edits to records with an open conflict refresh its snapshot.
   */
  async function settleConflicts(scope: Scope, connector: Connector): Promise<void> {
    const retried = await operatorRetries(db, scope);
    for (const localId of retried) {
      await resolveOne(scope, connector, localId, { choice: 'last-write-wins', resolvedBy: 'operator (sync_status set to pending)', byPolicy: true });
    }
    const edited = await refreshConflictSnapshots(db, scope);
    await conflicts.nudge(scope.system, scope.spec.type, [...retried, ...edited]);
  }

  /**
   * Sends one batch of local changes: creates, updates and deletes, each as one connector call.
   * Associations travel as the external system's ids and come back as Aurora ids. Updates the
   * external side refused because it changed meanwhile (412) come back in `changedExternally`.
   */
  async function pushBatch(scope: Scope, connector: Connector, batch: PushCandidate[]): Promise<{ items: PushItem[]; changedExternally: ExternalRecord[]; vanished: string[] }> {
    const type = scope.spec.type;
    const external = new Map(batch.map((c) => [c.localId, { fields: { ...c.fields }, previous: c.reg?.synced_snapshot ? { ...c.reg.synced_snapshot } : null }]));
    await translateRefs(db, scope, [...external.values()].map((e) => e.fields), 'external');
    await translateRefs(db, scope, [...external.values()].flatMap((e) => (e.previous ? [e.previous] : [])), 'external');
    const refCount = (f: Canonical) => refFields(scope.spec).reduce((n, [field]) => n + (f[field] ?? '').split(',').filter(Boolean).length, 0);

    const creates: PushCandidate[] = [];
    const updates: PushCandidate[] = [];
    const deletes: PushCandidate[] = [];
    const items: PushItem[] = [];
    const changedExternally: ExternalRecord[] = [];
    /** external ids an update found gone (deleted there since the last sync, not reported yet) */
    const vanished: string[] = [];
    for (const c of batch) {
      const ext = c.reg?.external_id;
      if (c.deleted) {
        if (ext && !c.reg?.deleted) deletes.push(c);
        else items.push({ candidate: c, kind: 'unchanged' });
      } else if (!ext || c.reg?.deleted) creates.push(c); // new, or restored in Aurora after a delete on both sides
      else if (c.hash === c.reg?.synced_hash) items.push({ candidate: c, kind: 'unchanged' });
      else updates.push(c);
    }
    const ext = (c: PushCandidate) => external.get(c.localId)!;
    const run = async (list: PushCandidate[], kind: PushKind, write: () => Promise<WriteOutcome[]>) => {
      if (!list.length) return;
      const written = await write();
      await translateRefs(db, scope, written.flatMap((o) => (o.ok ? [o.fields] : [])), 'local');
      const outcomes = new Map(written.map((o) => [o.localId, o]));
      for (const c of list) {
        const outcome = outcomes.get(c.localId);
        if (outcome && !outcome.ok && outcome.changedExternally) {
          changedExternally.push(outcome.changedExternally);
          continue;
        }
        if (outcome && !outcome.ok && outcome.notFound && kind === 'updated') {
          vanished.push(c.reg!.external_id!);
          continue;
        }
        const unresolved = kind !== 'deleted' && refCount(c.fields) > refCount(ext(c).fields);
        items.push({ candidate: c, kind, outcome, unresolved });
      }
    };
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
          etag: c.reg?.external_etag ?? null,
        })),
      ),
    );
    await run(deletes, 'deleted', () =>
      connector.delete(type, deletes.map((c) => ({ localId: c.localId, externalId: c.reg!.external_id!, etag: c.reg?.external_etag ?? null }))),
    );
    return { items, changedExternally, vanished };
  }

  /**
   * Records an update found gone: where the system confirms the deletion (readArchived), it is
   * applied as a pulled one would be — a local edit made after it wins, so the record is created
   * again; unconfirmed ones stay pending for the next cycle. Answers how many were applied.
   */
  async function applyVanished(scope: Scope, connector: Connector, externalIds: string[]): Promise<number> {
    if (!externalIds.length) return 0;
    const confirmed = await confirmDeleted(scope, connector, externalIds);
    if (confirmed.length < externalIds.length) {
      log.warn('update found no record, deletion not confirmed', { system: scope.system, connection: scope.connection, entity_type: scope.spec.type, count: externalIds.length - confirmed.length });
    }
    const n = await applyExternalDeletions(db, scope, confirmed, connector.readArchived ? 'archived' : 'deleted');
    if (n) metrics.records.inc({ system: scope.system, type: scope.spec.type, direction: 'pull', action: 'deleted' }, n);
    return confirmed.length;
  }

  return {
    /** Loads an open conflict's details for its workflow (null when there is none). */
    async loadConflictDetails(input: EntityInput & { localId: string }): Promise<ConflictDetails | null> {
      const spec = entitySpec(input.system, input.entityType);
      if (!spec) return null;
      const details = await loadConflict(db, input.system, spec, input.localId);
      if (!details) return null;
      const { connection: _connection, ...view } = details;
      return view;
    },

    /** Applies a conflict decision to both sides. */
    async resolveConflict(input: EntityInput & { localId: string; resolution: ResolutionInput }): Promise<ConflictResult> {
      const spec = entitySpec(input.system, input.entityType);
      const details = spec ? await loadConflict(db, input.system, spec, input.localId) : null;
      const { scope, connector } = resolve({ ...input, connection: input.connection ?? details?.connection });
      const result = await resolveOne(scope, connector, input.localId, input.resolution);
      metrics.records.inc({ system: input.system, type: scope.spec.type, direction: 'resolution', action: 'resolved' });
      return result;
    },

    /**
     * Pulls every external change since the cursor, page by page (records and inline deletions);
     * when the cursor has expired, a full listing reconciled with the registry. Returns the new
     * cursor and counts.
     */
    async pullEntity(input: PullInput): Promise<PullResult> {
      const { scope, connector, key } = resolve(input);
      const type = scope.spec.type;
      return timed(scope, 'pull', async () => {
        await connector.prepare?.(type);
        const counts: PullResult['counts'] = emptyPullCounts();
        // Deletions held by the guard that an operator has confirmed since.
        const confirmed = await state.confirmedDeletions(db, key);
        if (confirmed) {
          counts.deleted += await applyExternalDeletions(db, scope, confirmed.external_ids.map((externalId) => ({ externalId })));
          await state.clearHeldDeletions(db, key);
        }
        // Only a heartbeat written after a page was applied holds an exact position to resume from.
        const resumed = heartbeatDetails<PullProgress>();
        let cursor: ChangeCursor | null = resumed?.full ? null : (resumed?.cursor ?? input.cursor ?? (await state.loadCursor(db, key)));
        if (resumed && !resumed.full) addCounts(counts, resumed.counts);
        const opened: string[] = [];
        const closed: string[] = [];
        let saved: ChangeCursor | null = null;
        type Page = { records: ExternalRecord[]; deletions?: { externalId: string; deletedAt?: string }[]; cursor: ChangeCursor };
        const applyChanges = async (source: AsyncIterable<Page>, full: boolean, seen?: Set<string>) => {
          // Pages are written as they come, up to `concurrency` at once (those arriving meanwhile
          // together); cursor and progress follow in page order.
          const writer = new WritePipeline<Page, PullCounts>({
            ...pullWrites,
            size: (p) => p.records.length,
            keys: (p) => pageKeys(scope.spec, p),
            write: async (pages) => {
              const c = await applyPage(scope, pages.flatMap((p) => p.records), opened, closed);
              for (const p of pages) if (p.deletions?.length) c.deleted += await applyExternalDeletions(db, scope, p.deletions);
              return c;
            },
            settle: async (pages, c) => {
              for (const p of pages) for (const r of p.records) seen?.add(r.externalId);
              addCounts(counts, c);
              record(scope, 'pull', c);
              cursor = pages[pages.length - 1]!.cursor;
              setProgress({ cursor, counts, full } satisfies PullProgress);
              await state.saveState(db, key, { cursor }); // written only when it differs from the stored one
              saved = cursor;
            },
          });
          try {
            // the next page is fetched while this one is written
            for await (const page of readAhead(source, 1)) await writer.add(page);
            await writer.drain();
          } finally {
            await writer.close();
          }
        };
        await runWithProgress(heartbeat, undefined, async () => {
          // An interrupted full listing starts again: the ids it had seen were not heartbeated.
          let full = Boolean(resumed?.full) || (input.full === true && !resumed);
          if (!full) {
            try {
              await applyChanges(connector.listChanges(type, cursor, Boolean(resumed)), false);
            } catch (err) {
              if (!isCursorExpired(err)) throw err;
              log.info('full resync', { system: scope.system, connection: scope.connection, entity_type: type, reason: err.message });
              full = true;
            }
          }
          if (full) {
            // The cursor can no longer be used: list everything, then reconcile with the registry.
            await state.clearCursor(db, key);
            cursor = null;
            const seen = new Set<string>();
            setProgress({ cursor: null, counts, full: true } satisfies PullProgress);
            await applyChanges(connector.listChanges(type, null, false), true, seen);
            const { deleted, held } = await reconcileDeletions(scope, key, connector, seen);
            counts.deleted += deleted;
            counts.fullResync = 1;
            if (held) counts.heldDeletions = held;
            if (deleted) metrics.records.inc({ system: scope.system, type, direction: 'pull', action: 'deleted' }, deleted);
            await state.saveState(db, key, { full: true });
          }
        });
        const { errors: channelErrors } = await maintainChannels(scope, key, connector).catch((err: unknown) => {
          log.warn('push channels not maintained', { system: scope.system, connection: scope.connection, entity_type: scope.spec.type, error: (err as Error).message });
          return { errors: 1 };
        });
        if (channelErrors) counts.channelErrors = channelErrors;
        // Conflicts opened or changed by this pull, and any whose workflow was never started (a crash).
        const unstarted = await state.unstartedConflicts(db, key);
        await conflicts.open(scope.system, type, [...new Set([...opened, ...unstarted])]);
        await conflicts.nudge(scope.system, type, closed);
        // Bookkeeping only on change: a quiet pull (nothing applied, the cursor saved with its last page or none) writes nothing.
        const changed = pullChanged(counts);
        if (changed || (cursor !== null && cursor !== saved)) await state.saveState(db, key, { cursor, pull: changed });
        // Held deletions (mass-delete guard) leave the type in `error` in sync_state with the reason, until confirmed.
        return { cursor, counts };
      });
    },

    /**
     * Fetches exactly the records webhooks named (batch read) and applies them with the same
     * conflict, echo and event rules as a polled change; ids no longer readable that are deleted
     * become deletions.
     */
    async pullByIds(input: EntityInput & { ids: string[]; propertyOnly?: string[] }): Promise<PullCounts> {
      const { scope, connector } = resolve(input);
      const type = scope.spec.type;
      return timed(scope, 'pull', async () => {
        const began = Date.now();
        // The workflow's turn-around since the previous fetch (a workflow task) is part of the spacing.
        const lane = `${scope.system}\u0000${scope.connection}`;
        const sincePrevious = began - (fetchEndedAt.get(lane) ?? 0);
        const turnaround = sincePrevious < 2_000 ? sincePrevious : 0;
        await connector.prepare?.(type);
        const opened: string[] = [];
        const closed: string[] = [];
        const counts = emptyPullCounts();
        // What this fetch's requests took of each of the connection's budgets (core/progress).
        let spent: ReadonlyMap<string, number> = new Map();
        await runWithProgress(heartbeat, undefined, async () => {
          // Property-only ids whose last synced state is known need not have their associations read.
          const propertiesOnly = input.propertyOnly?.length ? await withSnapshot(db, scope, input.propertyOnly) : undefined;
          const records = await connector.readByIds(type, input.ids, propertiesOnly?.size ? { propertiesOnly } : undefined);
          const found = new Set(records.map((r) => r.externalId));
          addCounts(counts, await applyPage(scope, records, opened, closed));
          const missing = input.ids.filter((id) => !found.has(id));
          if (missing.length && connector.readArchived) {
            const archived = await connector.readArchived(type, missing);
            counts.deleted += await applyExternalDeletions(db, scope, archived.map((r) => ({ externalId: r.externalId, deletedAt: r.archivedAt ?? r.updatedAt })), 'archived');
          }
          spent = new Map(drawn());
        });
        record(scope, 'pull', counts);
        await conflicts.open(scope.system, type, opened);
        await conflicts.nudge(scope.system, type, closed);
        // Real time: publish now rather than in a second activity or the worker's next relay tick
        // (waiting for a relay under way; Redis down: the relay catches up).
        await relayOutbox(db, redis, undefined, undefined, { waitForLockMs: 2_000 }).then((n) => n && metrics.eventsPublished.inc(n), () => undefined);
        // Webhook fetches share the request budgets with polling: the next one waits so that a stream
        // of them never spends more than a budget's rate, and at most WEBHOOK_BUDGET_SHARE of it once
        // the budget runs low (ids arriving meanwhile are coalesced into it), instead of emptying a
        // rolling window in a burst and then stalling everyone, the scheduled cycle included, until it
        // drains. Only the budgets this fetch drew on set the pace.
        const budgets = await Promise.all(
          (deps.connectors.budgets?.(scope.system, scope.connection) ?? [])
            .filter((b) => spent.get(b.budget))
            .map(async (b) => ({ window: b.window, limit: b.limit, drawn: spent.get(b.budget)!, left: await b.remaining().catch(() => b.limit) })),
        );
        await sleep(webhookPaceMs(budgets) - (Date.now() - began) - turnaround);
        fetchEndedAt.set(lane, Date.now());
        return counts;
      });
    },

    /** Pushes local changes (version ahead of the registry) in batches of the connector's size. */
    async pushEntity(input: EntityInput): Promise<PushCounts> {
      const { scope, connector, key } = resolve(input);
      return timed(scope, 'push', async () => {
        const counts = emptyPushCounts();
        if (scope.spec.direction === 'pull-only') {
          // Never sent: the external system stays the truth; the edits are counted for the status.
          counts.ignoredLocalEdits = await countLocalEdits(db, scope);
          await state.saveIgnoredEdits(db, key, counts.ignoredLocalEdits);
          return counts;
        }
        await connector.prepare?.(scope.spec.type);
        await settleConflicts(scope, connector);
        const opened: string[] = [];
        const closed: string[] = [];
        await runWithProgress(heartbeat, undefined, async () => {
          // A second pass sends what a 412 handed back to Aurora's side (the local change won).
          for (let pass = 0; pass < 2; pass++) {
            let refused = 0;
            // Batches are sent two at a time (disjoint: rows after the last one read; a batch pointing
            // at records of its own type that one under way sends waits for it), each recorded as
            // soon as it is answered, while the next is read; progress follows in batch order.
            const sender = new WritePipeline<PushCandidate[], PushCounts>({
              concurrency: pushConcurrency,
              maxItems: connector.batchSize,
              size: (b) => b.length,
              keys: (b) => pushKeys(scope.spec, b),
              write: async (batches) => {
                // one batch (two together only if they fit one write)
                const { items, changedExternally, vanished } = await pushBatch(scope, connector, batches.flat());
                const c = await recordPushOutcomes(db, scope, items);
                // Deleted externally since the last sync: the tombstone (kept, if edited here later) goes again in the next pass.
                refused += await applyVanished(scope, connector, vanished);
                if (changedExternally.length) {
                  // Changed on both sides since the last sync: decide by the conflict policy, as a pull would.
                  refused += changedExternally.length;
                  c.conflicts = (c.conflicts ?? 0) + changedExternally.length;
                  await applyPage(scope, changedExternally, opened, closed);
                }
                return c;
              },
              settle: async (batches, c) => {
                addCounts(counts, c);
                record(scope, 'push', c);
                if (c.errors) metrics.errors.inc({ system: scope.system, type: scope.spec.type }, c.errors);
                setProgress({ afterId: batches.flat().pop()!.localId, counts });
              },
            });
            // Candidates are read several batches at a time (one transaction and round trip for
            // PUSH_READ_BATCHES batches), and handed on a batch at a time.
            async function* reads(): AsyncGenerator<PushCandidate[]> {
              const limit = connector.batchSize * PUSH_READ_BATCHES;
              let afterId = '';
              for (;;) {
                const rows = await selectPushCandidates(db, scope, afterId, limit);
                if (!rows.length) return;
                afterId = rows[rows.length - 1]!.localId;
                yield rows;
                if (rows.length < limit) return;
              }
            }
            async function* candidates(): AsyncGenerator<PushCandidate[]> {
              for await (const rows of readAhead(reads(), 1)) {
                for (let i = 0; i < rows.length; i += connector.batchSize) yield rows.slice(i, i + connector.batchSize);
              }
            }
            try {
              // the next batches are read while these are handed on
              for await (const batch of candidates()) await sender.add(batch);
              await sender.drain();
            } finally {
              await sender.close();
            }
            if (!refused) break;
          }
        });
        await conflicts.open(scope.system, scope.spec.type, opened);
        await conflicts.nudge(scope.system, scope.spec.type, closed);
        if (pushChanged(counts)) await state.saveState(db, key, { push: true });
        return counts;
      });
    },

    /** Relays unpublished outbox events to Redis. Safe to call any time; idempotent. */
    async publishEvents(): Promise<number> {
      const n = await relayOutbox(db, redis);
      if (n) metrics.eventsPublished.inc(n);
      return n;
    },

    /** Push channels and watches of one connection's entity type: opened where missing, renewed before expiry (scheduled). */
    async renewChannels(input: EntityInput): Promise<{ renewed: number; errors: number }> {
      const { scope, connector, key } = resolve(input);
      return maintainChannels(scope, key, connector);
    },

    /** Keeps a reconciliation's result for the status (one row per connection and run). */
    async recordReconciliation(summary: ReconcileSummary): Promise<void> {
      await state.recordReconciliation(db, summary);
      for (const [type, e] of Object.entries(summary.entities)) {
        const labels = { system: summary.system, type };
        metrics.reconcileChecked.inc(labels, e.checked);
        for (const kind of ['created', 'updated', 'deleted'] as const) metrics.reconcileRepairs.inc({ ...labels, kind }, e[kind]);
        if (e.deleted || e.created || e.updated) log.info('reconciliation repaired', { system: summary.system, connection: summary.connection, entity_type: type, created: e.created, updated: e.updated, deleted: e.deleted });
      }
      metrics.lastReconcile.set({ system: summary.system }, Date.parse(summary.finishedAt) / 1000);
    },

    /**
     * Holds the webhook inbox's signals to this sync workflow for up to `seconds`, and waits until
     * none is on its way (the workflow then continues-as-new with nothing arriving meanwhile).
     */
    async holdWebhookSignals(input: { system: string; connection: string; seconds: number }): Promise<void> {
      await inbox.holdSignals(db, input.system, input.connection, input.seconds);
    },

    /** Ends that hold (the next run of the workflow, or a close given up). */
    async releaseWebhookSignals(input: { system: string; connection: string }): Promise<void> {
      await inbox.releaseSignals(db, input.system, input.connection);
    },

    /** Records an entity type's outcome for operators (sync_state) and metrics. */
    async recordOutcome(input: EntityInput & { error: string | null }): Promise<void> {
      const key = { system: input.system, connection: input.connection ?? DEFAULT_CONNECTION, entityType: input.entityType };
      if (input.error) log.warn('sync failed', { system: input.system, connection: key.connection, entity_type: input.entityType, error: input.error });
      await state.recordOutcome(db, key, input.error);
      if (!input.error) metrics.lastSuccess.set({ system: input.system }, Date.now() / 1000);
    },
  };
}

/**
 * Of a budget's rate, the most a stream of webhook fetches spends; the rest is polling's. 0.65:
 * measured with HubSpot's 100 requests/10 s, 50 changes/s and a cycle every 20 s (bench/webhook-latency.ts),
 * 0.8 left too little for the cycles' bursts (a fetch stalled behind them now and then: p99 476–795
 * ms, max up to 1.3 s), 0.5 paced every fetch 200 ms apart (p99 468–506 ms); 0.65 432–435 ms.
 */
export const WEBHOOK_BUDGET_SHARE = 0.65;
/** Longest pause between two webhook fetches, however tight a budget is. */
const MAX_WEBHOOK_PACE_MS = 1_000;
/**
 * Push candidates read per query, in batches (connector.batchSize each): 5 × 100 for HubSpot. Each
 * read is a read-only transaction of three round trips: at one batch a read, the reads took Postgres
 * about as long as the batches' registry writes (bench/push.ts, 20,000 creates then 20,000 edits,
 * one batch at a time); at five, under half as long.
 */
const PUSH_READ_BATCHES = 5;

/** `10s`, `60s`, `250ms` (metrics' window labels) in ms; null for a cap over days, not a rate. */
function windowMs(label: string): number | null {
  const m = /^(\d+)(ms|s)$/.exec(label);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : null;
}

/**
 * How long a webhook fetch takes before the next may start, given what it drew of each budget
 * (`drawn` units; budgets it did not draw on are left out by the caller: HubSpot's search limit,
 * which polling empties each cycle, sets no pace for batch reads), so that back-to-back fetches
 * never spend more than a budget's own rate, and at most WEBHOOK_BUDGET_SHARE of it once less than
 * half is `left` in its window. Unpaced while half was left, a stream's first seconds filled half a
 * rolling window at once; those requests stayed in it for a whole window, so the paced stream and a
 * polling cycle together emptied it about one window later and a fetch waited for a slot (a stall
 * of 0.6–1 s once per run, at the p99 with 50 changes/s: p99 413–577 ms, max 858–1034 ms; paced
 * so, 228–230 ms and 268–304 ms, the same minutes, bench/webhook-latency.ts). Units, not requests:
 * a Google budget counts quota units (a Gmail threads.get is 10). A daily cap is a total, not a
 * rate: ignored. Limits off (huge budgets): 0.
 */
export function webhookPaceMs(budgets: readonly { window: string; limit: number; left: number; drawn: number }[]): number {
  let pace = 0;
  for (const b of budgets) {
    const ms = windowMs(b.window);
    if (ms === null || ms > 60_000 || b.limit <= 0 || b.drawn <= 0) continue;
    const share = b.left < b.limit / 2 ? WEBHOOK_BUDGET_SHARE : 1;
    pace = Math.max(pace, (b.drawn * ms) / (b.limit * share));
  }
  return Math.min(MAX_WEBHOOK_PACE_MS, pace);
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/** A pull that changed something Aurora or an operator sees (not just read records it already had). */
const pullChanged = (c: PullResult['counts']): boolean =>
  c.created + c.updated + c.deleted + c.conflicts + c.failed + (c.fullResync ?? 0) + (c.heldDeletions ?? 0) > 0;
const pushChanged = (c: PushCounts): boolean => c.created + c.updated + c.deleted + c.errors + (c.conflicts ?? 0) > 0;

export type Activities = ReturnType<typeof createActivities>;
