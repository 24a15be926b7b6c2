/**
 * The chaos suite's own Postgres, Redis and Temporal dev server: on free ports, with their data in
 * one temporary directory, so the scenarios can kill and restart them without touching the shared
 * services other work uses. Started the way scripts/services.sh starts the shared ones.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PG_USER = 'aurora_app';
export const PG_PASSWORD = 'chaos_password';
export const PG_DB = 'aurora_chaos';
const SEARCH_ATTRIBUTES = ['AuroraSystem', 'AuroraConnection', 'AuroraEntityType', 'AuroraStatus'];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitPort(port: number, what: string, timeoutMs = 60_000, open = true): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await portOpen(port)) === open) return;
    await sleep(100);
  }
  throw new Error(`chaos: ${what} did not ${open ? 'open' : 'close'} port ${port} within ${timeoutMs} ms`);
}

function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`));
  versions.sort((a, b) => Number(a) - Number(b));
  if (!versions.length) throw new Error('chaos: no PostgreSQL binaries under /usr/lib/postgresql/*/bin (run scripts/setup.sh)');
  return `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
}

const isRoot = process.getuid?.() === 0;
/** Postgres refuses to run as root: as root, run its tools as 'postgres' (from /, which that user can enter). */
function asPg(cmd: string, args: string[]): void {
  if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
  else execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface Services {
  dir: string;
  pg: { port: number; start(): Promise<void>; stop(mode?: 'fast' | 'immediate'): Promise<void>; restart(mode?: 'fast' | 'immediate'): Promise<void> };
  redis: { port: number; start(): Promise<void>; stop(): Promise<void> };
  temporal: { port: number; address: string; start(): Promise<void>; stop(): Promise<void>; restart(): Promise<void> };
  /** the environment a worker needs to reach these services */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startServices(opts: { fsync?: boolean } = {}): Promise<Services> {
  const dir = mkdtempSync(join(tmpdir(), 'aurora-chaos-'));
  chmodSync(dir, 0o755);
  const bin = pgBin();
  const pgDir = join(dir, 'pg');
  mkdirSync(pgDir);
  if (isRoot) {
    chownSync(pgDir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  }
  chmodSync(pgDir, 0o700);
  const [pgPort, redisPort, tPort, tHttp, tMetrics] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];

  asPg(`${bin}/initdb`, ['-D', pgDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=trust', '-E', 'UTF8']);
  const pgStart = async () => {
    asPg(`${bin}/pg_ctl`, ['-D', pgDir, '-l', join(pgDir, 'server.log'), '-w', '-t', '60', '-o',
      `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=${opts.fsync === false ? 'off' : 'on'} -c shared_buffers=64MB`, 'start']);
    await waitPort(pgPort, 'postgres');
  };
  const pgStop = async (mode: 'fast' | 'immediate' = 'fast') => {
    asPg(`${bin}/pg_ctl`, ['-D', pgDir, '-m', mode, '-w', 'stop']);
  };
  await pgStart();
  const psql = (sql: string) => asPg(`${bin}/psql`, ['-h', pgDir, '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql]);
  psql(`CREATE ROLE ${PG_USER} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'`);
  psql(`CREATE DATABASE ${PG_DB} OWNER ${PG_USER}`);

  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir);
  let redisProc: ChildProcess | undefined;
  const redisStart = async () => {
    // AOF on: a stopped Redis comes back with its stream, as a production Redis would.
    redisProc = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'everysec'], { stdio: 'ignore' });
    await waitPort(redisPort, 'redis', 20_000);
  };
  const redisStop = async () => {
    const p = redisProc;
    redisProc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM'); // Redis writes its AOF and exits
    await exited;
  };
  await redisStart();

  const temporalDir = join(dir, 'temporal');
  mkdirSync(temporalDir);
  let tProc: ChildProcess | undefined;
  const tStart = async () => {
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(tPort), '--http-port', String(tHttp), '--metrics-port', String(tMetrics),
      '--headless', '--namespace', 'default', '--db-filename', join(temporalDir, 'temporal.db'), '--log-level', 'error',
      ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a}=Keyword`])];
    tProc = spawn(temporalBin(), args, { stdio: 'ignore' });
    await waitPort(tPort, 'temporal', 60_000);
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      try {
        execFileSync(temporalBin(), ['operator', 'cluster', 'health', '--address', `127.0.0.1:${tPort}`], { stdio: 'ignore' });
        return;
      } catch {
        await sleep(200);
      }
    }
  };
  const tStop = async () => {
    const p = tProc;
    tProc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    await waitPort(tPort, 'temporal', 10_000, false);
  };
  await tStart();

  const services: Services = {
    dir,
    pg: { port: pgPort, start: pgStart, stop: pgStop, restart: async (mode = 'fast') => { await pgStop(mode); await pgStart(); } },
    redis: { port: redisPort, start: redisStart, stop: redisStop },
    temporal: { port: tPort, address: `127.0.0.1:${tPort}`, start: tStart, stop: tStop, restart: async () => { await tStop(); await tStart(); } },
    env: {
      POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(pgPort), POSTGRES_USER: PG_USER, POSTGRES_PASSWORD: PG_PASSWORD, POSTGRES_DB: PG_DB,
      REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redisPort), TEMPORAL_ADDRESS: `127.0.0.1:${tPort}`, TEMPORAL_NAMESPACE: 'default',
    },
    async close() {
      await tStop().catch(() => undefined);
      await redisStop().catch(() => undefined);
      await pgStop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return services;
}

function temporalBin(): string {
  const local = join(__dirname, '..', '.tools', 'venv', 'bin', 'temporal');
  return existsSync(local) ? local : 'temporal';
}
