/**
 * Fireflies.ai: meeting transcripts and their action items, pull-only (Fireflies → Aurora), over
 * Fireflies' GraphQL API with one API key (one connection). The key's plan limits every request
 * (50 a day on Free/Pro): see budget.ts and connector.ts for how they are spent.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import { DEFAULT_CONNECTION } from '../../core/model';
import type { ConnectorDefinition } from '../types';
import { FirefliesBudget } from './budget';
import { FirefliesClient } from './client';
import { FIREFLIES_KEY_FILE, FIREFLIES_SYSTEM, firefliesConfig, parseFirefliesConfig } from './config';
import { FirefliesConnector } from './connector';
import { FIREFLIES_ENTITIES } from './entities';
import { ItemLedger } from './ledger';
import { firefliesWebhooks } from './webhooks';

/** Redis key prefix of one API key's state (budget, ledger): a hash of the key, never the key. */
export const accountPrefix = (apiKey: string): string => `aurora:fireflies:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;

export const fireflies: ConnectorDefinition = {
  system: FIREFLIES_SYSTEM,
  title: 'Fireflies.ai',
  parseConfig: parseFirefliesConfig,
  entities: FIREFLIES_ENTITIES,
  migrationsDir: join(__dirname, 'migrations'),
  connections(cfg) {
    return firefliesConfig(cfg).apiKey
      ? { connections: [DEFAULT_CONNECTION] }
      : { notConfigured: `set FIREFLIES_API_KEY or put ${FIREFLIES_KEY_FILE} in ${cfg.secretsDir}` };
  },
  create(cfg, connection, ctx) {
    const ff = firefliesConfig(cfg);
    if (!ff.apiKey) throw ApplicationFailure.create({ type: ErrorType.NotConfigured, message: 'fireflies is not configured (no API key)', nonRetryable: true });
    if (!ctx.redis) throw ApplicationFailure.create({ type: ErrorType.NotConfigured, message: 'fireflies needs Redis (its request budget and action-item ledger are shared there)', nonRetryable: true });
    const prefix = accountPrefix(ff.apiKey);
    const budget = new FirefliesBudget({
      redis: ctx.redis,
      prefix: `${prefix}:budget`,
      limit: ff.limit,
      window: ff.window,
      webhookReserve: ff.webhookReserve,
      minute: ctx.budget(`${prefix.slice('aurora:'.length)}:minute`, ff.limit, 60_000),
    });
    if (ff.window === 'day') ctx.reportBudget?.(`${prefix.slice('aurora:'.length)}:day`, '1d', ff.limit, async () => ff.limit - (await budget.used()));
    const client = new FirefliesClient({ url: ff.apiUrl, apiKey: ff.apiKey, budget, onRequest: ctx.onRequest, onRateLimited: ctx.onRateLimited });
    return new FirefliesConnector(ff, client, new ItemLedger(ctx.redis, prefix), ctx.redis, `${prefix}:wanted`);
  },
  webhooks: firefliesWebhooks,
  // A full listing costs a request per 50 transcripts of a 50-a-day budget, and the API reports no
  // deletions to confirm: a daily reconciliation would only spend the day's requests.
  reconcile: false,
};
