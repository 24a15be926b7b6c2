/**
 * Fireflies.ai settings: the API key (FIREFLIES_API_KEY or <SECRETS_DIR>/fireflies-api-key.txt),
 * where the GraphQL API is (the sandbox in tests and the demo), the plan's request limit, the
 * webhook secret and the overlap window of the incremental listing. The key is never logged,
 * never in an error message, never in workflow arguments.
 */
import { z } from 'zod';
import { ConfigError, optionalSecret, parseEnv } from '../../core/env';
import type { Config } from '../../config';
import type { SecretReader } from '../types';

export const FIREFLIES_SYSTEM = 'fireflies';
export const FIREFLIES_KEY_FILE = 'fireflies-api-key.txt';
export const FIREFLIES_WEBHOOK_SECRET_FILE = 'fireflies-webhook-secret.txt';

export const DAY_MS = 86_400_000;

/** Fireflies' documented limits per API key (docs: fundamentals/limits). */
export const PLAN_LIMITS = {
  free: { limit: 50, windowMs: DAY_MS },
  pro: { limit: 50, windowMs: DAY_MS },
  business: { limit: 60, windowMs: 60_000 },
  enterprise: { limit: 60, windowMs: 60_000 },
} as const;
export type FirefliesPlan = keyof typeof PLAN_LIMITS;

const FirefliesEnv = {
  FIREFLIES_API_KEY: optionalSecret,
  /** the GraphQL endpoint (default Fireflies'; the sandbox's `<url>/graphql` in tests and the demo) */
  FIREFLIES_API_URL: z.url({ message: 'must be an http(s) URL' }).default('https://api.fireflies.ai/graphql'),
  /** the key's plan: free and pro allow 50 requests a day, business and enterprise 60 a minute */
  FIREFLIES_PLAN: z.enum(['free', 'pro', 'business', 'enterprise']).default('free'),
  /** explicit limits instead of the plan's: requests per window, and the window (day = a UTC day) */
  FIREFLIES_REQUESTS_PER_WINDOW: z.coerce.number().int().min(1).optional(),
  FIREFLIES_WINDOW: z.enum(['day', 'minute']).optional(),
  /** requests of each window kept for webhook fetches (the polling leaves them alone) */
  FIREFLIES_WEBHOOK_RESERVE: z.coerce.number().int().min(0).default(0),
  /** HMAC secret of Fireflies' webhooks (Settings → Developer settings; 16–32 characters) */
  FIREFLIES_WEBHOOK_SECRET: optionalSecret,
  /** how far before the last listing each incremental listing starts again (a transcript appears, or its summary finishes, after the meeting's date) */
  FIREFLIES_OVERLAP_MINUTES: z.coerce.number().int().min(0).default(360),
  /** backfill window of the first listing in days (default: everything the key can see) */
  FIREFLIES_BACKFILL_DAYS: z.coerce.number().int().min(1).optional(),
  /**
   * minutes between pages of the sweep of older transcripts (dated before the overlap; they can
   * become visible late); default 360 on a daily plan (4 of its 50 requests), 15 on a per-minute
   * one; 0: no sweep
   */
  FIREFLIES_SWEEP_MINUTES: z.coerce.number().min(0).optional(),
  /** transcripts per list request (Fireflies' maximum: 50) */
  FIREFLIES_PAGE_SIZE: z.coerce.number().int().min(1).max(50).default(50),
};

export interface FirefliesConfig {
  /** undefined: Fireflies is not configured */
  apiKey?: string;
  apiUrl: string;
  plan: FirefliesPlan;
  /** requests allowed per window */
  limit: number;
  /** 'day': a UTC day (Fireflies' daily counter); 'minute': a rolling minute */
  window: 'day' | 'minute';
  webhookReserve: number;
  webhookSecret?: string;
  overlapMs: number;
  backfillDays?: number;
  pageSize: number;
  /** ms between pages of the sweep of older transcripts; 0: none */
  sweepMs: number;
}

export function parseFirefliesConfig(env: Record<string, string>, secrets: SecretReader): FirefliesConfig {
  const e = parseEnv(FirefliesEnv, env);
  const plan = PLAN_LIMITS[e.FIREFLIES_PLAN];
  const window = e.FIREFLIES_WINDOW ?? (plan.windowMs === DAY_MS ? 'day' : 'minute');
  const limit = e.FIREFLIES_REQUESTS_PER_WINDOW ?? plan.limit;
  if (e.FIREFLIES_WEBHOOK_RESERVE >= limit) {
    throw new ConfigError(`Invalid configuration: FIREFLIES_WEBHOOK_RESERVE (got "${e.FIREFLIES_WEBHOOK_RESERVE}"): must be less than the ${limit} requests per ${window}`);
  }
  const secret = e.FIREFLIES_WEBHOOK_SECRET ?? secrets.read(FIREFLIES_WEBHOOK_SECRET_FILE);
  if (secret !== undefined && (secret.length < 16 || secret.length > 32)) {
    throw new ConfigError('Invalid configuration: FIREFLIES_WEBHOOK_SECRET: must be 16 to 32 characters (as Fireflies requires)');
  }
  return {
    apiKey: e.FIREFLIES_API_KEY ?? secrets.read(FIREFLIES_KEY_FILE),
    apiUrl: e.FIREFLIES_API_URL,
    plan: e.FIREFLIES_PLAN,
    limit,
    window,
    webhookReserve: e.FIREFLIES_WEBHOOK_RESERVE,
    webhookSecret: secret,
    overlapMs: e.FIREFLIES_OVERLAP_MINUTES * 60_000,
    backfillDays: e.FIREFLIES_BACKFILL_DAYS,
    pageSize: e.FIREFLIES_PAGE_SIZE,
    sweepMs: (e.FIREFLIES_SWEEP_MINUTES ?? (window === 'day' ? 360 : 15)) * 60_000,
  };
}

export const firefliesConfig = (cfg: Config): FirefliesConfig => cfg.systems[FIREFLIES_SYSTEM] as FirefliesConfig;
