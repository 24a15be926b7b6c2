/**
 * The operator's status (GET /api/sync/status, `npm run cli -- status`): the registry's view per
 * system and entity type (store/status.ts, the design's shape: last_synced, records, status) with
 * what only the running engine knows — the next sync cycle (the sync workflow's own timer), the next
 * reconciliation (its Temporal Schedule), when each type's last cycle ran and last succeeded (the
 * sync workflow's state: sync_state is written only when something changes, so a quiet cycle leaves
 * no trace there), the request budgets left (Redis) and open conflicts.
 * Every live source is optional: with Temporal or Redis down the registry's part still answers.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ConnectorPool } from './activities';
import type { Config } from './config';
import { CONNECTORS } from './connectors/registry';
import { systemConnections } from './deps';
import { DEFAULT_CONNECTION } from './core/model';
import { log } from './log';
import { syncStatus, type EntitySyncStatus } from './store/status';
import { queryStatus } from './temporal';
import { reconcileScheduleId } from './workflows/definitions';

export interface BudgetView {
  budget: string;
  window: string;
  limit: number;
  remaining: number | null;
}

interface Live {
  open_conflicts: number;
  /** when the sync workflow of the connection runs its next cycle (null: not running or mid-cycle) */
  next_run: string | null;
  /**
   * when the type's last cycle started (the sync workflow's; null: not running, or not synced yet);
   * over several connections, the least recent (a connection left behind shows)
   */
  last_cycle_at: string | null;
  /** when the type last synced without error, quiet cycles included (the sync workflow's; as last_cycle_at) */
  last_success_at: string | null;
  /** the next scheduled reconciliation (null: none, or paused) */
  next_reconcile: string | null;
  /** the request budgets this connection's requests spend */
  rate_budget: BudgetView[];
}

export type OperatorEntityStatus = Omit<EntitySyncStatus, 'connections'> &
  Live & { connections?: Record<string, Omit<EntitySyncStatus, 'connections' | 'direction'> & Live> };

export interface StatusSources {
  cfg: Config;
  db: Pool;
  temporal: Client | null;
  /** a pool of this configuration's connectors (their budgets are read from Redis) */
  connectors?: ConnectorPool;
}

const earliest = (xs: (string | null)[]): string | null => xs.filter((x): x is string => x !== null).sort()[0] ?? null;

/** What the live sources say about one connection: per connection, and per entity type (singular name). */
interface LiveOf extends Omit<Live, 'open_conflicts' | 'last_cycle_at' | 'last_success_at'> {
  types: Record<string, Pick<Live, 'last_cycle_at' | 'last_success_at'>>;
}

async function liveOf(src: StatusSources, system: string, connection: string): Promise<LiveOf> {
  const { cfg, temporal, connectors } = src;
  const quietly = <T>(what: string, p: Promise<T>, fallback: T): Promise<T> =>
    p.catch((err: unknown) => {
      log.debug('status: live source unavailable', { system, connection, source: what, error: err instanceof Error ? err.message : String(err) });
      return fallback;
    });
  const wf = temporal ? await quietly('sync workflow', queryStatus(temporal, cfg, { system, connection }), null) : null;
  const def = CONNECTORS.find((d) => d.system === system);
  const schedule =
    temporal && def?.reconcile !== false
      ? await quietly('schedule', temporal.schedule.getHandle(reconcileScheduleId(system, cfg.temporal.workflowIdPrefix, connection)).describe(), null)
      : null;
  let rate_budget: BudgetView[] = [];
  if (connectors?.budgets) {
    try {
      connectors.get(system, connection); // builds the connector (no request): its budgets exist from then on
      rate_budget = await Promise.all(
        connectors.budgets(system, connection).map(async (b) => ({ budget: b.budget, window: b.window, limit: b.limit, remaining: await b.remaining().catch(() => null) })),
      );
    } catch (err) {
      log.debug('status: budgets unavailable', { system, connection, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return {
    next_run: wf?.nextCycleAt ?? null,
    next_reconcile: schedule && !schedule.state.paused ? (schedule.info.nextActionTimes[0]?.toISOString() ?? null) : null,
    rate_budget,
    types: Object.fromEntries(Object.entries(wf?.entities ?? {}).map(([type, e]) => [type, { last_cycle_at: e.lastCycleAt ?? null, last_success_at: e.lastSuccessAt ?? null }])),
  };
}

export async function operatorStatus(src: StatusSources): Promise<Record<string, Record<string, OperatorEntityStatus>>> {
  const registry = await syncStatus(src.db, CONNECTORS);
  const out: Record<string, Record<string, OperatorEntityStatus>> = {};
  for (const { def, connections } of systemConnections(src.cfg)) {
    const live = new Map(await Promise.all(connections.map(async (c) => [c, await liveOf(src, def.system, c)] as const)));
    out[def.system] = {};
    for (const [plural, st] of Object.entries(registry[def.system] ?? {})) {
      const type = def.entities.find((e) => e.plural === plural)?.type ?? plural;
      const times = (c: string) => live.get(c)!.types[type] ?? { last_cycle_at: null, last_success_at: null };
      const all = [...live.values()];
      const budgets = new Map(all.flatMap((l) => l.rate_budget).map((b) => [b.budget, b]));
      const entry: OperatorEntityStatus = {
        ...st,
        connections: undefined,
        open_conflicts: st.by_status.conflict ?? 0,
        next_run: earliest(all.map((l) => l.next_run)),
        last_cycle_at: earliest(connections.map((c) => times(c).last_cycle_at)),
        last_success_at: earliest(connections.map((c) => times(c).last_success_at)),
        next_reconcile: earliest(all.map((l) => l.next_reconcile)),
        rate_budget: [...budgets.values()],
      };
      const perConnection = connections.length > 1 || (connections.length === 1 && connections[0] !== DEFAULT_CONNECTION);
      if (perConnection) {
        entry.connections = Object.fromEntries(
          connections.map((c) => {
            const base = st.connections?.[c] ?? { last_synced: null, records: 0, status: 'never' as const, by_status: {}, last_error: null };
            const { types: _types, ...l } = live.get(c)!;
            return [c, { ...base, open_conflicts: base.by_status.conflict ?? 0, ...l, ...times(c) }];
          }),
        );
      } else delete entry.connections;
      out[def.system][plural] = entry;
    }
  }
  // Systems without credentials still show what the registry holds for them.
  for (const [system, types] of Object.entries(registry)) {
    if (out[system]) continue;
    out[system] = Object.fromEntries(
      Object.entries(types).map(([plural, { connections: _, ...st }]) => [plural, { ...st, open_conflicts: st.by_status.conflict ?? 0, next_run: null, last_cycle_at: null, last_success_at: null, next_reconcile: null, rate_budget: [] }]),
    );
  }
  return out;
}
