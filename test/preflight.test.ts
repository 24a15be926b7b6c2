/**
 * Start-up checks (src/core/preflight.ts), with real processes: the CLI and the worker, pointed at a
 * closed port, a wrong password or none, stop with exit code 1 and one line on stderr that names the
 * setting and says what to do — no driver error, no stack trace. And the npm scripts get the local
 * services' defaults by themselves (scripts/run.sh), from a terminal with nothing set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { baseEnv } from './helpers';

const ROOT = join(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not exit within ${timeoutMs / 1000} s; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const entry = (file: string, args: string[], env: NodeJS.ProcessEnv) =>
  run(process.execPath, ['--import', 'tsx', join(ROOT, 'src', file), ...args], { PATH: process.env.PATH, ...env });

function envWith(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...baseEnv(), METRICS_PORT: '0', TEMPORAL_TASK_QUEUE: `preflight-${process.pid}`, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete env[k];
  return env;
}

/** Exit 1, one line on stderr matching every pattern, no stack trace. */
function assertOneLine(r: Run, ...patterns: RegExp[]): void {
  const lines = r.stderr.trim().split('\n');
  assert.equal(r.code, 1, `exit code 1, got ${r.code}; stderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n?\s{4}at /, 'no stack trace');
  for (const p of patterns) assert.match(lines[0]!, p);
}

test('Postgres not listening: one line naming POSTGRES_HOST/POSTGRES_PORT and how to start it', async () => {
  const port = await freePort();
  const r = await entry('client.ts', ['status'], envWith({ POSTGRES_PORT: String(port) }));
  assertOneLine(r, new RegExp(`^Postgres at 127\\.0\\.0\\.1:${port} refused the connection`), /POSTGRES_HOST\/POSTGRES_PORT/, /scripts\/services\.sh start/);
});

test('Postgres with a wrong password: one line naming POSTGRES_PASSWORD', async () => {
  const r = await entry('client.ts', ['status'], envWith({ POSTGRES_PASSWORD: 'not-the-password' }));
  assertOneLine(r, /rejected the password for user aurora_app/, /POSTGRES_PASSWORD/);
  assert.doesNotMatch(r.stderr, /not-the-password/, 'the password is never shown');
});

test('Postgres with no password set: one line naming POSTGRES_PASSWORD (not the SASL error)', async () => {
  const r = await entry('client.ts', ['status'], envWith({ POSTGRES_PASSWORD: undefined }));
  assertOneLine(r, /wants a password for user aurora_app and none is set/, /POSTGRES_PASSWORD/, /postgres-password\.txt/);
  assert.doesNotMatch(r.stderr, /SASL/);
});

test('a database that does not exist: one line naming POSTGRES_DB', async () => {
  const r = await entry('client.ts', ['conflicts', 'list'], envWith({ POSTGRES_DB: `nope_${process.pid}` }));
  assertOneLine(r, /has no database "nope_\d+"/, /POSTGRES_DB/);
});

test('Temporal not listening: one line naming TEMPORAL_ADDRESS', async () => {
  const port = await freePort();
  const started = Date.now();
  const r = await entry('client.ts', ['status'], envWith({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
  assertOneLine(r, new RegExp(`^Temporal at 127\\.0\\.0\\.1:${port} refused the connection`), /TEMPORAL_ADDRESS/, /scripts\/services\.sh start/);
  assert.ok(Date.now() - started < 30_000, 'fails fast (no connect deadline to wait out)');
});

test('the worker: Temporal not listening gives the same one line', async () => {
  const port = await freePort();
  const r = await entry('worker.ts', [], envWith({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
  assertOneLine(r, /^Temporal at .* refused the connection/, /TEMPORAL_ADDRESS/);
});

test('the worker: Redis not listening, no password, a wrong password: one line naming the setting', async () => {
  const closed = await freePort();
  assertOneLine(await entry('worker.ts', [], envWith({ REDIS_PORT: String(closed) })), new RegExp(`^Redis at 127\\.0\\.0\\.1:${closed} refused the connection`), /REDIS_HOST\/REDIS_PORT/);

  // A Redis of our own that wants a password.
  const port = await freePort();
  const redis: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'preflight-secret', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], {
    stdio: 'ignore',
  });
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true)); // the port is taken: Redis is listening
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (up) break;
      assert.ok(Date.now() < deadline, 'redis-server started');
      await new Promise((r) => setTimeout(r, 100));
    }
    assertOneLine(await entry('worker.ts', [], envWith({ REDIS_PORT: String(port) })), /wants a password and none is set/, /REDIS_PASSWORD/);
    const wrong = await entry('worker.ts', [], envWith({ REDIS_PORT: String(port), REDIS_PASSWORD: 'wrong-secret' }));
    assertOneLine(wrong, /rejected the password/, /REDIS_PASSWORD/);
    assert.doesNotMatch(wrong.stderr, /wrong-secret/);
  } finally {
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
  }
});

// A new terminal: nothing exported, no project Node on PATH; npm is the system's.
const systemNpm = existsSync('/usr/bin/npm');
test('npm scripts get the local services defaults and the project Node by themselves', { skip: !systemNpm && 'no /usr/bin/npm' }, async () => {
  const bare = { HOME: process.env.HOME, PATH: '/usr/bin:/bin' };
  const help = await run('npm', ['run', '-s', 'cli', '--', '--help'], bare);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage:/);
  const migrated = await run('npm', ['run', '-s', 'migrate'], bare);
  assert.equal(migrated.code, 0, `npm run migrate in a bare environment: ${migrated.stderr}`);
  const status = await run('npm', ['run', '-s', 'cli', '--', 'status'], bare);
  assert.equal(status.code, 0, `npm run cli -- status in a bare environment: ${status.stderr}`);
  assert.doesNotMatch(status.stderr, /SASL|password/);
  // What the user exported still wins.
  const port = await freePort();
  const theirs = await run('npm', ['run', '-s', 'cli', '--', 'status'], { ...bare, POSTGRES_PORT: String(port) });
  assertOneLine(theirs, new RegExp(`Postgres at 127\\.0\\.0\\.1:${port} refused`));
});
