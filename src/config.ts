/**
 * Configuration: environment variables plus files in the secrets folder, parsed once by one zod
 * schema at start-up. A bad or missing value stops start-up with one message naming the variable.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const CONFLICT_POLICIES = ['last-write-wins', 'merge', 'manual'] as const;
const port = z.coerce.number().int().min(0).max(65535);
const nonEmpty = z.string().trim().min(1);
const optionalSecret = z.string().trim().min(1).optional();

const EnvSchema = z.object({
  POSTGRES_HOST: nonEmpty.default('127.0.0.1'),
  POSTGRES_PORT: port.default(5432),
  POSTGRES_DB: nonEmpty.default('aurora_unified'),
  POSTGRES_USER: nonEmpty.default('aurora_app'),
  POSTGRES_PASSWORD: optionalSecret,
  REDIS_HOST: nonEmpty.default('127.0.0.1'),
  REDIS_PORT: port.default(6379),
  REDIS_PASSWORD: optionalSecret,
  SECRETS_DIR: nonEmpty.default('/secrets'),
  HUBSPOT_API_KEY: optionalSecret,
  HUBSPOT_BASE_URL: z.url({ message: 'must be an http(s) URL' }).default('https://api.hubapi.com'),
  /** Requests per rolling 10 s the engine allows itself (HubSpot Free/Starter: 100; Professional/Enterprise: 190). */
  HUBSPOT_RATE_LIMIT_PER_10S: z.coerce.number().int().min(1).default(100),
  HUBSPOT_SEARCH_PER_SECOND: z.coerce.number().int().min(1).default(5),
  /** How far back each incremental search re-reads, to cover HubSpot's search indexing delay. */
  HUBSPOT_SEARCH_LOOKBACK_MS: z.coerce.number().int().min(0).default(30_000),
  SYNC_INTERVAL: z.coerce.number().int().min(1, 'must be at least 1 second').default(300),
  /** Seconds without a heartbeat before Temporal retries a page loop elsewhere (a killed worker). */
  ACTIVITY_HEARTBEAT_TIMEOUT: z.coerce.number().int().min(1).default(30),
  /** Cycles one workflow run performs before continue-as-new (history also triggers it earlier). */
  SYNC_CYCLES_PER_RUN: z.coerce.number().int().min(1).default(200),
  TEMPORAL_ADDRESS: nonEmpty.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: nonEmpty.default('default'),
  TEMPORAL_TASK_QUEUE: nonEmpty.default('aurora-sync'),
  /** Prefix for workflow IDs, so several installations (or test runs) can share one Temporal namespace. */
  WORKFLOW_ID_PREFIX: z.string().default(''),
  API_PORT: port.default(8000),
  API_HOST: nonEmpty.default('0.0.0.0'),
  METRICS_PORT: port.default(9100),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Default conflict policy; per system and entity type: CONFLICT_POLICY_HUBSPOT_CONTACT=manual etc. */
  CONFLICT_POLICY: z.enum(CONFLICT_POLICIES).default('last-write-wins'),
  /** What `merge` does with fields changed on both sides to different values. */
  CONFLICT_MERGE_FALLBACK: z.enum(['last-write-wins', 'manual']).default('last-write-wins'),
  /** e.g. 72h, 30m, 45s: an open conflict then resolves by last-write-wins (by policy). Unset: never. */
  CONFLICT_AUTO_RESOLVE_AFTER: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 72h, 30m or 45s').optional(),
  /** HubSpot app client secret: verifies webhook signatures. Also hubspot-client-secret.txt in SECRETS_DIR. */
  HUBSPOT_CLIENT_SECRET: optionalSecret,
  /** The public base URL webhooks are sent to (HubSpot signs the full URL), e.g. https://aurora.example.com */
  PUBLIC_BASE_URL: z.url({ message: 'must be an http(s) URL' }).optional(),
  /** Token set on Google push channels (X-Goog-Channel-Token). Also google-channel-token.txt. */
  GOOGLE_CHANNEL_TOKEN: optionalSecret,
  /** Fireflies webhook secret (HMAC). Also fireflies-webhook-secret.txt. */
  FIREFLIES_WEBHOOK_SECRET: optionalSecret,
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Bearer token for the API's write endpoints (trigger, resolve). Also from api-token.txt in SECRETS_DIR. */
  API_TOKEN: optionalSecret,
});

export type ConflictPolicyName = (typeof CONFLICT_POLICIES)[number];
export interface ConflictPolicy {
  policy: ConflictPolicyName;
  /** for merge: what decides fields changed on both sides */
  fallback: 'last-write-wins' | 'manual';
}

function parseDurationMs(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value)!;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  postgres: { host: string; port: number; database: string; user: string; password?: string };
  redis: { host: string; port: number; password?: string };
  hubspot: {
    /** Private-app access token; undefined means HubSpot is not configured. Never logged, never sent to Temporal. */
    accessToken?: string;
    baseUrl: string;
    ratePer10s: number;
    searchPerSecond: number;
    searchLookbackMs: number;
  };
  syncIntervalSeconds: number;
  heartbeatTimeoutSeconds: number;
  cyclesPerRun: number;
  temporal: { address: string; namespace: string; taskQueue: string; workflowIdPrefix: string };
  api: { host: string; port: number };
  metricsPort: number;
  logLevel: Env['LOG_LEVEL'];
  secretsDir: string;
  conflicts: {
    /** the policy for one system and entity type */
    policyFor(system: string, entityType: string): ConflictPolicy;
    /** null: open conflicts wait for a person however long it takes */
    autoResolveAfterMs: number | null;
  };
  /** undefined: the API's write endpoints refuse every request */
  apiToken?: string;
  webhooks: {
    hubspotClientSecret?: string;
    /** base of the URL the sender signed (no trailing slash) */
    publicBaseUrl: string;
    googleChannelToken?: string;
    firefliesSecret?: string;
    maxBodyBytes: number;
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function readSecretFile(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  const value = readFileSync(path, 'utf8').trim();
  return value.length > 0 ? value : undefined;
}

/** Parses the environment (default: process.env). Throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Treat empty strings as unset, so `FOO=` falls back to the default instead of failing oddly.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    const shown = name in cleaned && !/PASSWORD|KEY|SECRET|TOKEN/.test(name) ? ` (got "${cleaned[name]}")` : '';
    throw new ConfigError(`Invalid configuration: ${name}${shown}: ${issue.message}`);
  }
  const e = parsed.data;
  const secretsDir = e.SECRETS_DIR;
  // Per system and entity type overrides: CONFLICT_POLICY_<SYSTEM>_<ENTITY_TYPE>.
  const overrides = new Map<string, ConflictPolicyName>();
  for (const [key, raw] of Object.entries(env)) {
    const m = /^CONFLICT_POLICY_([A-Z0-9]+)_([A-Z0-9]+)$/.exec(key);
    if (!m || raw === undefined || raw === '') continue;
    if (!(CONFLICT_POLICIES as readonly string[]).includes(raw)) {
      throw new ConfigError(`Invalid configuration: ${key} (got "${raw}"): must be one of ${CONFLICT_POLICIES.join(', ')}`);
    }
    overrides.set(`${m[1]!.toLowerCase()}:${m[2]!.toLowerCase()}`, raw as ConflictPolicyName);
  }
  return {
    postgres: {
      host: e.POSTGRES_HOST,
      port: e.POSTGRES_PORT,
      database: e.POSTGRES_DB,
      user: e.POSTGRES_USER,
      password: e.POSTGRES_PASSWORD ?? readSecretFile(secretsDir, 'postgres-password.txt'),
    },
    redis: { host: e.REDIS_HOST, port: e.REDIS_PORT, password: e.REDIS_PASSWORD ?? readSecretFile(secretsDir, 'redis-password.txt') },
    hubspot: {
      accessToken: e.HUBSPOT_API_KEY ?? readSecretFile(secretsDir, 'hubspot-api-key.txt'),
      baseUrl: e.HUBSPOT_BASE_URL.replace(/\/+$/, ''),
      ratePer10s: e.HUBSPOT_RATE_LIMIT_PER_10S,
      searchPerSecond: e.HUBSPOT_SEARCH_PER_SECOND,
      searchLookbackMs: e.HUBSPOT_SEARCH_LOOKBACK_MS,
    },
    syncIntervalSeconds: e.SYNC_INTERVAL,
    heartbeatTimeoutSeconds: e.ACTIVITY_HEARTBEAT_TIMEOUT,
    cyclesPerRun: e.SYNC_CYCLES_PER_RUN,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      workflowIdPrefix: e.WORKFLOW_ID_PREFIX,
    },
    api: { host: e.API_HOST, port: e.API_PORT },
    metricsPort: e.METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    secretsDir,
    conflicts: {
      policyFor: (system, entityType) => ({
        policy: overrides.get(`${system.toLowerCase()}:${entityType.toLowerCase()}`) ?? e.CONFLICT_POLICY,
        fallback: e.CONFLICT_MERGE_FALLBACK,
      }),
      autoResolveAfterMs: e.CONFLICT_AUTO_RESOLVE_AFTER ? parseDurationMs(e.CONFLICT_AUTO_RESOLVE_AFTER) : null,
    },
    apiToken: e.API_TOKEN ?? readSecretFile(secretsDir, 'api-token.txt'),
    webhooks: {
      hubspotClientSecret: e.HUBSPOT_CLIENT_SECRET ?? readSecretFile(secretsDir, 'hubspot-client-secret.txt'),
      publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.API_PORT}`).replace(/\/+$/, ''),
      googleChannelToken: e.GOOGLE_CHANNEL_TOKEN ?? readSecretFile(secretsDir, 'google-channel-token.txt'),
      firefliesSecret: e.FIREFLIES_WEBHOOK_SECRET ?? readSecretFile(secretsDir, 'fireflies-webhook-secret.txt'),
      maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
    },
  };
}

/** For entry points: load the config or print the one-line reason and exit(1). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
