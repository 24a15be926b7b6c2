/**
 * Start-up checks for the entry points (worker, API, CLI, migrate, demo): can this process reach
 * Postgres, Redis and Temporal with the configured settings? A failure becomes one line that names
 * the setting and says what to do, e.g.
 *   Postgres at 127.0.0.1:5432 refused the connection — is it running? Check POSTGRES_HOST/POSTGRES_PORT, or start the local services: bash scripts/services.sh start
 * instead of a driver error or a stack trace. `describeServiceError` maps the same driver errors
 * when they happen later (a service going away between the check and its first use).
 * Only entry points import this; library code keeps throwing the drivers' errors.
 */
import { connect as tcpConnect } from 'node:net';
import { Connection } from '@temporalio/client';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import type { Config } from '../config';
import { temporalConnectionOptions } from '../temporal';

export type Service = 'postgres' | 'redis' | 'temporal';
export type ServiceSettings = Pick<Config, 'postgres' | 'redis' | 'temporal'> & { secretsDir?: string };

/** A start-up check failed; `message` is the one line to show. */
export class ServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceError';
  }
}

const TIMEOUT_MS = 5_000;
const START_LOCAL = 'bash scripts/services.sh start';

/** The settings as the environment gives them (config's defaults), for errors raised without a config at hand. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceSettings {
  const v = (name: string, dflt: string) => (env[name] && env[name]!.trim() !== '' ? env[name]!.trim() : dflt);
  return {
    postgres: {
      host: v('POSTGRES_HOST', '127.0.0.1'),
      port: Number(v('POSTGRES_PORT', '5432')),
      database: v('POSTGRES_DB', 'aurora_unified'),
      user: v('POSTGRES_USER', 'aurora_app'),
      ...(env.POSTGRES_PASSWORD ? { password: env.POSTGRES_PASSWORD } : {}),
    },
    redis: { host: v('REDIS_HOST', '127.0.0.1'), port: Number(v('REDIS_PORT', '6379')), ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}) },
    temporal: {
      address: v('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
      namespace: v('TEMPORAL_NAMESPACE', 'default'),
      taskQueue: v('TEMPORAL_TASK_QUEUE', 'aurora-sync'),
      workflowIdPrefix: v('WORKFLOW_ID_PREFIX', ''),
    },
    secretsDir: v('SECRETS_DIR', '/secrets'),
  };
}

function hostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:[a-z]+:\/\/\/?)?\[?([^\]/]+?)\]?:(\d+)$/i.exec(address.trim());
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

interface Target {
  /** "Postgres", "Redis", "Temporal" */
  name: string;
  at: string;
  /** the variables that say where it is */
  where: string;
}

function targetOf(service: Service, s: ServiceSettings): Target {
  if (service === 'postgres') return { name: 'Postgres', at: `${s.postgres.host}:${s.postgres.port}`, where: 'POSTGRES_HOST/POSTGRES_PORT' };
  if (service === 'redis') return { name: 'Redis', at: `${s.redis.host}:${s.redis.port}`, where: 'REDIS_HOST/REDIS_PORT' };
  return { name: 'Temporal', at: s.temporal.address, where: 'TEMPORAL_ADDRESS' };
}

function unreachable(service: Service, s: ServiceSettings, how: 'refused' | 'timeout' | 'dns' | 'closed'): string {
  const t = targetOf(service, s);
  const host = service === 'postgres' ? s.postgres.host : service === 'redis' ? s.redis.host : (hostPort(s.temporal.address)?.host ?? s.temporal.address);
  const hostVar = service === 'postgres' ? 'POSTGRES_HOST' : service === 'redis' ? 'REDIS_HOST' : 'TEMPORAL_ADDRESS';
  if (how === 'dns') return `${t.name} host "${host}" (${hostVar}) was not found — check ${hostVar}`;
  const what =
    how === 'refused' ? 'refused the connection' : how === 'timeout' ? `did not answer within ${TIMEOUT_MS / 1000} s` : 'closed the connection';
  return `${t.name} at ${t.at} ${what} — is it running? Check ${t.where}, or start the local services: ${START_LOCAL}`;
}

const secretFile = (s: ServiceSettings, file: string) => `${s.secretsDir ?? '$SECRETS_DIR'}/${file}`;

function socketCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errno?: unknown } | null;
  return e && typeof e.code === 'string' ? e.code : undefined;
}

function howUnreachable(err: unknown): 'refused' | 'timeout' | 'dns' | 'closed' | undefined {
  const code = socketCode(err);
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'closed';
  return undefined;
}

/** Postgres driver errors (connect, auth, database) as one line; undefined when it is not one. */
function describePg(err: unknown, s: ServiceSettings): string | undefined {
  const e = err as { code?: unknown; message?: unknown; port?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  const p = s.postgres;
  const at = `Postgres at ${p.host}:${p.port}`;
  if (/client password must be a string|no password (was )?supplied/i.test(message)) {
    return `${at} wants a password for user ${p.user} and none is set — set POSTGRES_PASSWORD (or put it in ${secretFile(s, 'postgres-password.txt')})`;
  }
  if (e?.code === '28P01') return `${at} rejected the password for user ${p.user} — check POSTGRES_PASSWORD (and POSTGRES_USER)`;
  if (e?.code === '28000') return `${at} does not let user ${p.user} in (${message}) — check POSTGRES_USER, or the server's pg_hba.conf`;
  if (e?.code === '3D000') return `${at} has no database "${p.database}" — check POSTGRES_DB, or create it (bash scripts/services.sh start creates POSTGRES_DB on the local services)`;
  if (e?.code === '42P01') {
    return `Postgres database "${p.database}" has no Aurora Sync tables yet (${message}) — run: POSTGRES_DB=${p.database} npm run migrate (the worker and the API migrate at start-up)`;
  }
  if (/timeout expired|Connection terminated due to connection timeout/i.test(message)) return unreachable('postgres', s, 'timeout');
  if (/Connection terminated unexpectedly/i.test(message)) return unreachable('postgres', s, 'closed');
  return undefined;
}

/** Redis errors as one line; undefined when it is not one. */
function describeRedis(err: unknown, s: ServiceSettings): string | undefined {
  const message = err instanceof Error ? err.message : '';
  const at = `Redis at ${s.redis.host}:${s.redis.port}`;
  if (/^NOAUTH/.test(message)) return `${at} wants a password and none is set — set REDIS_PASSWORD (or put it in ${secretFile(s, 'redis-password.txt')})`;
  if (/^WRONGPASS|invalid password/i.test(message)) return `${at} rejected the password — check REDIS_PASSWORD`;
  if (/called without any password configured/i.test(message)) return `${at} has no password but REDIS_PASSWORD is set — unset REDIS_PASSWORD`;
  if (/Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|Reached the max retries/i.test(message)) return unreachable('redis', s, 'closed');
  return undefined;
}

/** Temporal client errors as one line; undefined when it is not one. */
function describeTemporal(err: unknown, s: ServiceSettings): string | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/Failed to connect before the deadline|14 UNAVAILABLE|tcp connect error|transport error|Connection refused/i.test(message)) {
    return `Temporal at ${s.temporal.address} is not reachable — is it running? Check TEMPORAL_ADDRESS, or start the local services: ${START_LOCAL}`;
  }
  if (e?.code === 5 && /Namespace .* is not found/i.test(message)) {
    return `Temporal at ${s.temporal.address} has no namespace "${s.temporal.namespace}" — check TEMPORAL_NAMESPACE, or create it: temporal operator namespace create --namespace ${s.temporal.namespace}`;
  }
  return undefined;
}

/**
 * One line for a connection, authentication or "not found" error from pg, ioredis or the Temporal
 * client (naming the setting and what to do), or undefined when `err` is something else.
 * `service` narrows the guess when the caller knows which one failed.
 */
export function describeServiceError(err: unknown, settings: ServiceSettings = settingsFromEnv(), service?: Service): string | undefined {
  if (err instanceof ServiceError) return err.message;
  const how = howUnreachable(err);
  if (how) {
    if (service) return unreachable(service, settings, how);
    // A socket error names the port it was for.
    const port = Number((err as { port?: unknown }).port);
    const guess: Service | undefined =
      port === settings.postgres.port ? 'postgres' : port === settings.redis.port ? 'redis' : port === hostPort(settings.temporal.address)?.port ? 'temporal' : undefined;
    return guess ? unreachable(guess, settings, how) : undefined;
  }
  const order: Service[] = service ? [service] : ['postgres', 'redis', 'temporal'];
  for (const s of order) {
    const line = s === 'postgres' ? describePg(err, settings) : s === 'redis' ? describeRedis(err, settings) : describeTemporal(err, settings);
    if (line) return line;
  }
  return undefined;
}

/** Whether a TCP connection to host:port opens (else the reason, as a socket error). */
function probe(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect ETIMEDOUT ${host}:${port}`), { code: 'ETIMEDOUT' }));
    }, TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

async function checkPostgres(s: ServiceSettings): Promise<void> {
  await probe(s.postgres.host, s.postgres.port);
  const client = new PgClient({ ...s.postgres, connectionTimeoutMillis: TIMEOUT_MS, application_name: 'aurora-sync-preflight' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(s: ServiceSettings): Promise<void> {
  await probe(s.redis.host, s.redis.port);
  const redis = new Redis({
    host: s.redis.host,
    port: s.redis.port,
    password: s.redis.password,
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis reports an AUTH or ready-check refusal as an 'error' event, then rejects with "Connection is closed."
  let refused: unknown;
  redis.on('error', (err) => (refused ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw refused ?? err;
  } finally {
    redis.disconnect();
  }
}

async function checkTemporal(s: ServiceSettings): Promise<void> {
  const hp = hostPort(s.temporal.address);
  if (hp) await probe(hp.host, hp.port);
  const connection = await Connection.connect({ ...temporalConnectionOptions(s.temporal), connectTimeout: TIMEOUT_MS });
  try {
    await connection.workflowService.describeNamespace({ namespace: s.temporal.namespace });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Checks that each service in `which` answers with the configured settings, in that order; throws a
 * ServiceError with the one line for the first that does not (errors it cannot name are rethrown).
 */
export async function checkServices(cfg: ServiceSettings, which: readonly Service[]): Promise<void> {
  for (const service of which) {
    try {
      if (service === 'postgres') await checkPostgres(cfg);
      else if (service === 'redis') await checkRedis(cfg);
      else await checkTemporal(cfg);
    } catch (err) {
      const line = describeServiceError(err, cfg, service);
      if (line) throw new ServiceError(line);
      throw err;
    }
  }
}

/** The services a CLI command needs (`npm run cli -- <command> <sub>`). */
export function cliServices(command: string | undefined, sub: string | undefined): Service[] {
  if (command === 'trigger') return ['temporal'];
  if (command === 'status') return ['postgres', 'temporal'];
  if (command === 'conflicts') return sub === 'resolve' ? ['postgres', 'temporal'] : sub === 'list' || sub === 'show' ? ['postgres'] : [];
  if (command === 'deletions') return sub === 'confirm' ? ['postgres', 'temporal'] : sub === 'list' ? ['postgres'] : [];
  return [];
}

/**
 * For entry points' last catch: a service error becomes its one line, anything else `prefix: message`
 * (no stack trace); then exit(1).
 */
export function exitWithStartupError(err: unknown, prefix: string, settings?: ServiceSettings): never {
  const line = describeServiceError(err, settings ?? settingsFromEnv());
  console.error(line ?? `${prefix}${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
