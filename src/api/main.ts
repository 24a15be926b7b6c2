/** Runs the REST API on API_PORT. */
import { loadConfigOrExit } from '../config';
import { checkServices, describeServiceError } from '../core/preflight';
import { configuredSystems, createConnectorPool, createRedis } from '../deps';
import { log } from '../log';
import { createPool } from '../store/db';
import { migrate } from '../store/migrate';
import { pruneEventIds } from '../store/webhooks';
import { connectClient } from '../temporal';
import { buildApi } from './server';
import { createMetrics } from '../metrics';
import { eventIdRetentionDays } from './webhooks/routes';

async function main() {
  const cfg = loadConfigOrExit();
  await checkServices(cfg, ['postgres', 'temporal']);
  const db = createPool(cfg.postgres, 5);
  await migrate(db);
  const temporal = await connectClient(cfg);
  const metrics = createMetrics();
  // Connectors are built (never called) only to read their request budgets in Redis for the status.
  const redis = createRedis(cfg.redis);
  const app = buildApi({ cfg, db, temporal, metrics, configuredSystems: configuredSystems(cfg), connectors: createConnectorPool(cfg, undefined, redis) });
  await app.listen({ host: cfg.api.host, port: cfg.api.port });
  // Webhook event ids are kept for deduplication as long as a delivery could be replayed, then dropped.
  const retentionDays = eventIdRetentionDays(cfg);
  const prune = setInterval(() => {
    pruneEventIds(db, retentionDays).catch(() => undefined);
  }, 3_600_000);
  prune.unref();
  log.info('api listening', { url: `http://localhost:${cfg.api.port}` });
  const stop = () => void app.close().then(() => redis.disconnect()).then(() => db.end()).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  const line = describeServiceError(err);
  if (line) console.error(line);
  else log.error('api failed', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
