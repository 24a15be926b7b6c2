/** Prometheus metrics (names from the design), served by the worker on METRICS_PORT (:9100). */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
      help: 'Webhook deliveries by outcome (accepted, duplicate, bad_signature, stale, malformed, too_large, unknown_type, not_configured)',
      labelNames: ['system', 'outcome'] as const,
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'aurora_sync_events_published_total',
      help: 'Events relayed from the outbox to Redis',
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

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
