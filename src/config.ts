/**
 * Configuration: environment variables plus files in the secrets folder, parsed once by one zod
 * schema at start-up. A bad or missing value stops start-up with one message naming the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, nonEmpty, optionalSecret, parseEnv, port, readSecretFile } from './core/env';
import { CONNECTORS } from './connectors/registry';
import { DEFAULT_FORCE_CONTINUE_AT_EVENTS } from './workflows/definitions';
import { CODEC_KEYS_FILE, CodecKeyError, parseCodecKeys, type CodecKeys } from './core/codec';

export const CONFLICT_POLICIES = ['last-write-wins', 'merge', 'manual'] as const;

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
  SYNC_INTERVAL: z.coerce.number().int().min(1, 'must be at least 1 second').default(300),
  /** Seconds without a heartbeat before Temporal retries a page loop elsewhere (a killed worker). */
  ACTIVITY_HEARTBEAT_TIMEOUT: z.coerce.number().int().min(1).default(30),
  /** Cycles one workflow run performs before continue-as-new (history also triggers it earlier). */
  SYNC_CYCLES_PER_RUN: z.coerce.number().int().min(1).default(200),
  /**
   * History length (events) at which a run under a webhook stream that never pauses continues-as-new
   * anyway, holding its webhook signals meanwhile; for workflows started after a change.
   */
  SYNC_FORCE_CONTINUE_AT_EVENTS: z.coerce.number().int().min(100).max(40_000).default(DEFAULT_FORCE_CONTINUE_AT_EVENTS),
  TEMPORAL_ADDRESS: nonEmpty.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: nonEmpty.default('default'),
  TEMPORAL_TASK_QUEUE: nonEmpty.default('aurora-sync'),
  /** TLS to the Temporal frontend (Temporal Cloud, an mTLS cluster): true|false; default on when a certificate, CA, server name or API key is given. */
  TEMPORAL_TLS: z.enum(['true', 'false', 'on', 'off']).optional(),
  /** mTLS client certificate (PEM file, e.g. /secrets/temporal-client.pem), with TEMPORAL_TLS_KEY. */
  TEMPORAL_TLS_CERT: nonEmpty.optional(),
  /** ...its private key (PEM file, e.g. /secrets/temporal-client.key). */
  TEMPORAL_TLS_KEY: nonEmpty.optional(),
  /** CA certificate(s) that signed the server's certificate (PEM file); default: the system's trusted CAs. */
  TEMPORAL_TLS_CA: nonEmpty.optional(),
  /** Server name checked against the server's certificate (SNI), when it differs from TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: nonEmpty.optional(),
  /** Temporal Cloud API key (sent as a bearer token, only over TLS). Also from temporal-api-key.txt in SECRETS_DIR. */
  TEMPORAL_API_KEY: optionalSecret,
  /** AES-256-GCM keys of the payload codec by id (src/core/codec.ts); default temporal-codec-keys.json in SECRETS_DIR. None: payloads in Temporal are not encrypted. */
  TEMPORAL_CODEC_KEYS_PATH: nonEmpty.optional(),
  /** The key id that encrypts (rotation: add a key to the file, name it here); default: the file's "current". */
  TEMPORAL_CODEC_KEY_ID: nonEmpty.optional(),
  /** Browser origins (the Temporal Web UI) allowed to call the codec endpoint /codec, comma-separated. */
  CODEC_CORS_ORIGINS: z
    .string()
    .trim()
    .regex(/^https?:\/\/[^/,\s]+(\s*,\s*https?:\/\/[^/,\s]+)*$/, 'must be comma-separated origins like http://localhost:8233 (scheme, host, port; no path)')
    .default('http://localhost:8233'),
  /** Prefix for workflow IDs, so several installations (or test runs) can share one Temporal namespace. */
  WORKFLOW_ID_PREFIX: z.string().default(''),
  API_PORT: port.default(8000),
  API_HOST: nonEmpty.default('0.0.0.0'),
  METRICS_PORT: port.default(9100),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Default conflict policy; per system and entity type: CONFLICT_POLICY_<SYSTEM>_<ENTITY_TYPE>=manual etc. */
  CONFLICT_POLICY: z.enum(CONFLICT_POLICIES).default('last-write-wins'),
  /** What `merge` does with fields changed on both sides to different values. */
  CONFLICT_MERGE_FALLBACK: z.enum(['last-write-wins', 'manual']).default('last-write-wins'),
  /** e.g. 72h, 30m, 45s: an open conflict then resolves by last-write-wins (by policy). Unset: never. */
  CONFLICT_AUTO_RESOLVE_AFTER: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 72h, 30m or 45s').optional(),
  /** The public base URL webhooks are sent to (HubSpot signs the full URL), e.g. https://aurora.example.com */
  PUBLIC_BASE_URL: z.url({ message: 'must be an http(s) URL' }).optional(),
  /** Open push channels (Calendar/Drive watch) to PUBLIC_BASE_URL; default: on when PUBLIC_BASE_URL is set. */
  PUSH_CHANNELS: z.enum(['true', 'false']).optional(),
  /** How often each connection is reconciled (a full listing against the registry) by its Temporal Schedule, e.g. 24h. */
  RECONCILE_INTERVAL: z.string().regex(/^\d+(s|m|h|d)$/, 'must be a duration like 24h, 90m or 7d').default('24h'),
  /** How often the renewal schedule checks push channels and watches (each is renewed CHANNEL_RENEW_BEFORE_SECONDS before it expires). */
  CHANNEL_RENEW_INTERVAL: z.string().regex(/^\d+(s|m|h|d)$/, 'must be a duration like 6h or 30m').default('6h'),
  /** Renew a push channel this long before it expires. */
  CHANNEL_RENEW_BEFORE_SECONDS: z.coerce.number().int().min(1).default(86_400),
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** A full listing that would delete more than this share of a type's records deletes nothing until an operator confirms. */
  MASS_DELETE_MAX_SHARE: z.coerce.number().min(0).max(1).default(0.2),
  /** ...unless no more than this many records would go (small sets). */
  MASS_DELETE_MIN_RECORDS: z.coerce.number().int().min(0).default(10),
  /** Pulled pages one pull writes at once, each its own transaction and pool connection (pages naming the same record never at once). */
  PULL_WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(8).default(2),
  /** The records that pages arriving while those writes are busy are gathered into, one transaction. */
  PULL_WRITE_BATCH: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** Push batches one push sends at once. */
  PUSH_CONCURRENCY: z.coerce.number().int().min(1).max(8).default(2),
  /** Bearer token for the API's write endpoints (trigger, resolve). Also from api-token.txt in SECRETS_DIR. */
  API_TOKEN: optionalSecret,
  /** Bearer token that only reads the endpoints returning record content (conflicts, status, schedules); never writes. Also from api-read-token.txt. */
  API_READ_TOKEN: optionalSecret,
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
export { ConfigError, parseEnv, readSecretFile };

export interface Config {
  postgres: { host: string; port: number; database: string; user: string; password?: string };
  redis: { host: string; port: number; password?: string };
  /** each system's own settings, parsed by its connector definition (see connectors/registry.ts) */
  systems: Record<string, unknown>;
  massDelete: { maxShare: number; minRecords: number };
  /** pulled pages written at once (each its own transaction and connection), and the records one write gathers at most */
  pullWrites: { concurrency: number; maxItems: number };
  /** push batches sent at once by one push */
  pushConcurrency: number;
  syncIntervalSeconds: number;
  heartbeatTimeoutSeconds: number;
  cyclesPerRun: number;
  forceContinueAtEvents: number;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    workflowIdPrefix: string;
    /** absent: a plaintext connection (the dev server, a private network) */
    tls?: TemporalTls;
    /** Temporal Cloud API key (not serialised: a non-enumerable property) */
    apiKey?: string;
  };
  /** the payload codec on every Temporal client and worker, and its endpoint /codec for the Web UI and CLI */
  codec: {
    /** null: payloads are stored unencrypted (development) */
    keys: CodecKeys | null;
    /** browser origins allowed to call /codec/decode and /codec/encode */
    corsOrigins: string[];
  };
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
  /** undefined: only apiToken reads the endpoints that return record content */
  apiReadToken?: string;
  /** Temporal Schedules: how often reconciliation and channel renewal run */
  schedules: { reconcileEveryMs: number; renewChannelsEveryMs: number };
  webhooks: {
    /** base of the URL the sender signed and push channels post to (no trailing slash) */
    publicBaseUrl: string;
    maxBodyBytes: number;
    /** whether the worker opens push channels to publicBaseUrl, and when it renews them */
    pushChannels: boolean;
    channelRenewBeforeSeconds: number;
  };
}



/** TLS to the Temporal frontend: the files' contents (the private key does not serialise). */
export interface TemporalTls {
  /** SNI / the name the server's certificate must carry */
  serverName?: string;
  /** PEM of the CA(s) that signed the server's certificate */
  ca?: Buffer;
  /** PEM client certificate (mTLS), with `key` */
  cert?: Buffer;
  /** PEM private key of `cert` (non-enumerable) */
  key?: Buffer;
}

export const TEMPORAL_API_KEY_FILE = 'temporal-api-key.txt';

/** A PEM file a TEMPORAL_TLS_* variable names: read at start-up; a missing or non-PEM file is a ConfigError (never its content). */
function pemFile(name: string, path: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`Invalid configuration: ${name} (got "${path}"): ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? 'error'})`}`);
  }
  const text = data.toString('latin1');
  const ok = kind === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----/.test(text) : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
  if (!ok) throw new ConfigError(`Invalid configuration: ${name} (got "${path}"): not a PEM ${kind === 'CERTIFICATE' ? 'certificate' : 'private key'} (expected a -----BEGIN ${kind === 'CERTIFICATE' ? 'CERTIFICATE' : '... PRIVATE KEY'}----- block)`);
  return data;
}

/** Where and how the worker, the API and the CLI connect to Temporal (TEMPORAL_TLS*, TEMPORAL_API_KEY). */
function temporalSettings(e: Env, secretsDir: string): Config['temporal'] {
  const apiKey = e.TEMPORAL_API_KEY ?? readSecretFile(secretsDir, TEMPORAL_API_KEY_FILE);
  const given = (['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME'] as const).filter((n) => e[n] !== undefined);
  if (e.TEMPORAL_TLS_CERT !== undefined && e.TEMPORAL_TLS_KEY === undefined) {
    throw new ConfigError('Invalid configuration: TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: a client certificate needs its private key (both PEM files)');
  }
  if (e.TEMPORAL_TLS_KEY !== undefined && e.TEMPORAL_TLS_CERT === undefined) {
    throw new ConfigError('Invalid configuration: TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT: a private key needs its client certificate (both PEM files)');
  }
  const off = e.TEMPORAL_TLS === 'false' || e.TEMPORAL_TLS === 'off';
  if (off && given.length) throw new ConfigError(`Invalid configuration: TEMPORAL_TLS (got "${e.TEMPORAL_TLS}"): TLS is off but ${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} set`);
  if (off && apiKey) throw new ConfigError(`Invalid configuration: TEMPORAL_TLS (got "${e.TEMPORAL_TLS}"): an API key (TEMPORAL_API_KEY or ${TEMPORAL_API_KEY_FILE}) is only ever sent over TLS`);
  const on = e.TEMPORAL_TLS === 'true' || e.TEMPORAL_TLS === 'on' || (!off && (given.length > 0 || apiKey !== undefined));
  const out: Config['temporal'] = { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE, workflowIdPrefix: e.WORKFLOW_ID_PREFIX };
  if (on) {
    const tls: TemporalTls = {};
    if (e.TEMPORAL_TLS_SERVER_NAME) tls.serverName = e.TEMPORAL_TLS_SERVER_NAME;
    if (e.TEMPORAL_TLS_CA) tls.ca = pemFile('TEMPORAL_TLS_CA', e.TEMPORAL_TLS_CA, 'CERTIFICATE');
    if (e.TEMPORAL_TLS_CERT && e.TEMPORAL_TLS_KEY) {
      tls.cert = pemFile('TEMPORAL_TLS_CERT', e.TEMPORAL_TLS_CERT, 'CERTIFICATE');
      Object.defineProperty(tls, 'key', { value: pemFile('TEMPORAL_TLS_KEY', e.TEMPORAL_TLS_KEY, 'PRIVATE KEY'), enumerable: false });
    }
    out.tls = tls;
  }
  if (apiKey) Object.defineProperty(out, 'apiKey', { value: apiKey, enumerable: false });
  return out;
}

/** The codec keys file: TEMPORAL_CODEC_KEYS_PATH (must exist) or SECRETS_DIR/temporal-codec-keys.json (optional). */
function loadCodecKeys(e: Env, secretsDir: string): CodecKeys | null {
  const path = e.TEMPORAL_CODEC_KEYS_PATH ?? join(secretsDir, CODEC_KEYS_FILE);
  const name = e.TEMPORAL_CODEC_KEYS_PATH ? 'TEMPORAL_CODEC_KEYS_PATH' : `${CODEC_KEYS_FILE} in SECRETS_DIR`;
  if (!existsSync(path)) {
    if (e.TEMPORAL_CODEC_KEYS_PATH) throw new ConfigError(`Invalid configuration: TEMPORAL_CODEC_KEYS_PATH (got "${path}"): no such file`);
    if (e.TEMPORAL_CODEC_KEY_ID) throw new ConfigError(`Invalid configuration: TEMPORAL_CODEC_KEY_ID is set but there is no codec keys file (${path})`);
    return null;
  }
  try {
    return parseCodecKeys(readFileSync(path, 'utf8'), e.TEMPORAL_CODEC_KEY_ID);
  } catch (err) {
    if (err instanceof CodecKeyError) throw new ConfigError(`Invalid configuration: ${name} (${path}): ${err.message}`);
    throw new ConfigError(`Invalid configuration: ${name} (${path}): cannot read it (${(err as Error).message})`);
  }
}

/** Parses the environment (default: process.env). Throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(EnvSchema.shape, env);
  const secretsDir = e.SECRETS_DIR;
  const secrets = { dir: secretsDir, read: (name: string) => readSecretFile(secretsDir, name) };
  const plain: Record<string, string> = Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined));
  const systems: Record<string, unknown> = {};
  for (const def of CONNECTORS) systems[def.system] = def.parseConfig(plain, secrets);
  // Per system and entity type overrides: CONFLICT_POLICY_<SYSTEM>_<ENTITY_TYPE> (e.g. _GOOGLE_WORKSPACE_CALENDAR_EVENT).
  const known = new Map<string, string>();
  for (const def of CONNECTORS) {
    for (const spec of def.entities) known.set(`CONFLICT_POLICY_${def.system}_${spec.type}`.toUpperCase(), `${def.system}:${spec.type}`);
  }
  const overrides = new Map<string, ConflictPolicyName>();
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith('CONFLICT_POLICY_') || raw === undefined || raw === '') continue;
    const target = known.get(key);
    if (!target) {
      throw new ConfigError(`Invalid configuration: ${key}: no such system and entity type; expected one of ${[...known.keys()].join(', ')}`);
    }
    if (!(CONFLICT_POLICIES as readonly string[]).includes(raw)) {
      throw new ConfigError(`Invalid configuration: ${key} (got "${raw}"): must be one of ${CONFLICT_POLICIES.join(', ')}`);
    }
    overrides.set(target, raw as ConflictPolicyName);
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
    systems,
    massDelete: { maxShare: e.MASS_DELETE_MAX_SHARE, minRecords: e.MASS_DELETE_MIN_RECORDS },
    pullWrites: { concurrency: e.PULL_WRITE_CONCURRENCY, maxItems: e.PULL_WRITE_BATCH },
    pushConcurrency: e.PUSH_CONCURRENCY,
    syncIntervalSeconds: e.SYNC_INTERVAL,
    heartbeatTimeoutSeconds: e.ACTIVITY_HEARTBEAT_TIMEOUT,
    cyclesPerRun: e.SYNC_CYCLES_PER_RUN,
    forceContinueAtEvents: e.SYNC_FORCE_CONTINUE_AT_EVENTS,
    temporal: temporalSettings(e, secretsDir),
    codec: { keys: loadCodecKeys(e, secretsDir), corsOrigins: e.CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()) },
    api: { host: e.API_HOST, port: e.API_PORT },
    metricsPort: e.METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    secretsDir,
    conflicts: {
      policyFor: (system, entityType) => ({
        policy: overrides.get(`${system}:${entityType}`) ?? e.CONFLICT_POLICY,
        fallback: e.CONFLICT_MERGE_FALLBACK,
      }),
      autoResolveAfterMs: e.CONFLICT_AUTO_RESOLVE_AFTER ? parseDurationMs(e.CONFLICT_AUTO_RESOLVE_AFTER) : null,
    },
    apiToken: e.API_TOKEN ?? readSecretFile(secretsDir, 'api-token.txt'),
    apiReadToken: e.API_READ_TOKEN ?? readSecretFile(secretsDir, 'api-read-token.txt'),
    schedules: { reconcileEveryMs: parseDurationMs(e.RECONCILE_INTERVAL), renewChannelsEveryMs: parseDurationMs(e.CHANNEL_RENEW_INTERVAL) },
    webhooks: {
      publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.API_PORT}`).replace(/\/+$/, ''),
      maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
      pushChannels: e.PUSH_CHANNELS ? e.PUSH_CHANNELS === 'true' : e.PUBLIC_BASE_URL !== undefined,
      channelRenewBeforeSeconds: e.CHANNEL_RENEW_BEFORE_SECONDS,
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
