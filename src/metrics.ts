/** Prometheus metrics (names from the design), served by the worker on METRICS_PORT (:9100). */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { inboxBacklog } from './store/inbox';
import type { Pool } from 'pg';
import { log } from './log';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'aurora_sync_process_' });
  return {
    registry,
    records: new Counter({
      name: 'aurora_sync_records_total',
      help: 'Records synced (created, updated or deleted on either side)',
      labelNames: ['system', 'type', 'direction', 'action'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'aurora_sync_errors_total',
      help: 'Sync errors (failed pulls/pushes of an entity type, and records rejected by the external system)',
      labelNames: ['system', 'type'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'aurora_sync_duration_seconds',
      help: 'Duration of one pull or push of one entity type',
      labelNames: ['system', 'type', 'direction'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'aurora_sync_last_success_timestamp',
      help: 'Unix time of the last successful sync of a system',
      labelNames: ['system'] as const,
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'aurora_sync_conflicts_total',
      help: 'Records changed on both sides since the last sync',
      labelNames: ['system', 'type'] as const,
      registers: [registry],
    }),
    apiCalls: new Counter({
      name: 'aurora_sync_api_calls_total',
      help: 'Requests made to external APIs',
      labelNames: ['system'] as const,
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'aurora_sync_webhooks_total',
      help: `Webhook deliveries by outcome (${WEBHOOK_OUTCOMES.join(', ')})`,
      labelNames: ['system', 'outcome'] as const,
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'aurora_sync_events_published_total',
      help: 'Events relayed from the outbox to Redis',
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'aurora_sync_api_rate_limited_total',
      help: 'Requests the external API refused for rate or quota (HTTP 429, Google rate-limit 403s, Fireflies too_many_requests)',
      labelNames: ['system'] as const,
      registers: [registry],
    }),
    reconcileRepairs: new Counter({
      name: 'aurora_sync_reconcile_repairs_total',
      help: 'Differences a reconciliation found and repaired (created, updated or deleted in Aurora)',
      labelNames: ['system', 'type', 'kind'] as const,
      registers: [registry],
    }),
    reconcileChecked: new Counter({
      name: 'aurora_sync_reconcile_checked_total',
      help: 'Records a reconciliation compared with the registry',
      labelNames: ['system', 'type'] as const,
      registers: [registry],
    }),
    lastReconcile: new Gauge({
      name: 'aurora_sync_last_reconcile_timestamp',
      help: 'Unix time of the last finished reconciliation of a system',
      labelNames: ['system'] as const,
      registers: [registry],
    }),
    /** budgets the connectors built, read on each scrape (see observeBudget) */
    budgets: new Map<string, BudgetInfo>(),
    watchActive: new Gauge({
      name: 'aurora_sync_watch_active',
      help: '1 when every resource a connection watches for this entity type (calendars, Drive changes, the Gmail mailbox) has a live push channel or users.watch after the last upkeep; 0 when one could not be opened (the engine then polls only: see the log line "push channel not opened")',
      labelNames: ['system', 'connection', 'type'] as const,
      registers: [registry],
    }),
    /**
     * After a push-channel upkeep (activities' maintainChannels): whether every watchable resource
     * has a live channel. Nothing to watch (push channels off, no Gmail topic): no series.
     */
    observeWatch(
      labels: { system: string; connection: string; type: string },
      resources: readonly string[],
      live: readonly { resource: string; expiresAt: string; stopped?: boolean }[],
      now = Date.now(),
    ): void {
      if (!resources.length) {
        this.watchActive.remove(labels);
        return;
      }
      const watched = resources.every((r) => live.some((c) => c.resource === r && !c.stopped && Date.parse(c.expiresAt) > now));
      this.watchActive.set(labels, watched ? 1 : 0);
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Every outcome a webhook delivery can have (the API's counter). */
/** duplicate: seen before (a sender's retry or a replay), answered 2xx, nothing done; stale: too old to be anything but a replay. */
export const WEBHOOK_OUTCOMES = ['accepted', 'duplicate', 'ignored', 'bad_signature', 'stale', 'malformed', 'too_large', 'unknown_type', 'unknown_channel', 'not_configured', 'error'] as const;

/**
 * Every labelled counter of a configured system exists from the start, at 0: a first increment
 * between two scrapes then shows in rate()/increase() instead of being taken for the series' birth.
 */
export function seriesAtZero(metrics: Metrics, def: { system: string; reconcile?: boolean; entities: readonly { type: string; direction?: string }[] }): void {
  const { system } = def;
  metrics.apiCalls.inc({ system }, 0);
  metrics.rateLimited.inc({ system }, 0);
  for (const e of def.entities) {
    const labels = { system, type: e.type };
    metrics.errors.inc(labels, 0);
    metrics.conflicts.inc(labels, 0);
    const directions = e.direction === 'pull-only' ? (['pull'] as const) : (['pull', 'push'] as const);
    for (const direction of directions) for (const action of ['created', 'updated', 'deleted'] as const) metrics.records.inc({ ...labels, direction, action }, 0);
    if (def.reconcile !== false) {
      metrics.reconcileChecked.inc(labels, 0);
      for (const kind of ['created', 'updated', 'deleted'] as const) metrics.reconcileRepairs.inc({ ...labels, kind }, 0);
    }
  }
}

/** A request budget a connector built (its name never holds a credential: keys are hashed). */
export interface BudgetInfo {
  system: string;
  connection: string;
  budget: string;
  /** `10s`, `60s`, `1d` */
  window: string;
  limit: number;
  remaining: () => Promise<number>;
}

/** A request budget a connector built: its remaining units are read on each scrape. */
export function observeBudget(metrics: Metrics, b: BudgetInfo): void {
  metrics.budgets.set(`${b.system}\u0000${b.budget}`, b);
}

/** `60000` → `60s`, `86400000` → `1d` (the budgets' window label) */
export function windowLabel(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The gauges a worker reads from its state on each scrape: open conflicts (0 for every type of every
 * configured system), the outbox backlog, the webhook inbox's, live channels' expiry, and the budgets the connectors
 * built. One worker's registry only: the API process serves its webhook counters and no state.
 */
export function observeState(metrics: Metrics, db: Pool, systems: () => { system: string; types: string[] }[]): void {
  const registers = [metrics.registry];
  const safely = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      log.warn('metrics: could not read state', { metric: what, error: err instanceof Error ? err.message : String(err) });
    }
  };
  new Gauge({
    name: 'aurora_sync_conflicts_open',
    help: 'Registry entries in conflict (waiting for a resolution)',
    labelNames: ['system', 'type'] as const,
    registers,
    async collect() {
      await safely('aurora_sync_conflicts_open', async () => {
        const { rows } = await db.query<{ system: string; type: string; n: string }>(
          `SELECT external_system AS system, entity_type AS type, count(*) AS n FROM sync_registry WHERE sync_status = 'conflict' GROUP BY 1, 2`,
        );
        this.reset();
        for (const { system, types } of systems()) for (const type of types) this.set({ system, type }, 0);
        for (const r of rows) this.set({ system: r.system, type: r.type }, Number(r.n));
      });
    },
  });
  new Gauge({
    name: 'aurora_sync_outbox_backlog',
    help: 'Events written with their change but not yet relayed to Redis',
    labelNames: ['system'] as const,
    registers,
    async collect() {
      await safely('aurora_sync_outbox_backlog', async () => {
        const { rows } = await db.query<{ system: string | null; n: string }>(
          `SELECT payload->>'source' AS system, count(*) AS n FROM sync_outbox WHERE published_at IS NULL GROUP BY 1`,
        );
        this.reset();
        for (const { system } of systems()) this.set({ system }, 0);
        for (const r of rows) this.set({ system: r.system ?? 'unknown' }, Number(r.n));
      });
    },
  });
  new Gauge({
    name: 'aurora_sync_outbox_oldest_age_seconds',
    help: 'Age of the oldest event not yet relayed to Redis (0 when none waits)',
    registers,
    async collect() {
      await safely('aurora_sync_outbox_oldest_age_seconds', async () => {
        const { rows } = await db.query<{ age: number | null }>(
          `SELECT extract(epoch FROM now() - min(created_at))::float8 AS age FROM sync_outbox WHERE published_at IS NULL`,
        );
        this.set(Math.max(0, rows[0]?.age ?? 0));
      });
    },
  });
  new Gauge({
    name: 'aurora_sync_webhook_inbox_backlog',
    help: 'Webhook work accepted but not yet handed to its sync workflow (grows while Temporal is unreachable)',
    registers,
    async collect() {
      await safely('aurora_sync_webhook_inbox_backlog', async () => this.set((await inboxBacklog(db)).rows));
    },
  });
  new Gauge({
    name: 'aurora_sync_webhook_inbox_oldest_age_seconds',
    help: 'Age of the oldest webhook work not yet handed to its sync workflow (0 when none waits)',
    registers,
    async collect() {
      await safely('aurora_sync_webhook_inbox_oldest_age_seconds', async () => this.set(Math.max(0, (await inboxBacklog(db)).oldestSeconds)));
    },
  });
  new Gauge({
    name: 'aurora_sync_channel_expiry_timestamp',
    help: 'Unix time the earliest live push channel or watch of a system, connection and type expires',
    labelNames: ['system', 'connection', 'type'] as const,
    registers,
    async collect() {
      await safely('aurora_sync_channel_expiry_timestamp', async () => {
        const { rows } = await db.query<{ system: string; connection: string; type: string; at: number }>(
          `SELECT external_system AS system, connection, entity_type AS type, extract(epoch FROM min(expires_at))::float8 AS at
             FROM sync_channels WHERE stopped_at IS NULL GROUP BY 1, 2, 3`,
        );
        this.reset();
        for (const r of rows) this.set({ system: r.system, connection: r.connection, type: r.type }, r.at);
      });
    },
  });
  const budgetGauge = (name: string, help: string, value: (b: Parameters<typeof observeBudget>[1]) => Promise<number>) =>
    new Gauge({
      name,
      help,
      labelNames: ['system', 'budget', 'window'] as const,
      registers,
      async collect() {
        this.reset();
        for (const b of metrics.budgets.values()) {
          await safely(name, async () => this.set({ system: b.system, budget: b.budget, window: b.window }, await value(b)));
        }
      },
    });
  budgetGauge('aurora_sync_rate_budget_remaining', 'Requests (or quota units) of a budget that could be spent now', (b) => b.remaining());
  budgetGauge('aurora_sync_rate_budget_limit', 'Size of a request budget per window', async (b) => b.limit);
}

export function serveMetrics(metrics: Metrics, port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/metrics')) {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500).end();
        });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('see /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
