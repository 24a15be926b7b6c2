/**
 * Configuration: environment variables plus files in the secrets folder, parsed once by one zod
 * schema at start-up. A bad or missing value stops start-up with one message naming the variable.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

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
});

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
