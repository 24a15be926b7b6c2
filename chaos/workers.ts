/**
 * Real worker processes (`tsx src/worker.ts`, as `npm run worker` runs it), killed with SIGKILL by
 * the scenarios. A worker that exits by itself (e.g. it gave up on an unreachable Temporal) is
 * restarted after a pause and counted, as `restart: unless-stopped` would do in docker-compose.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export interface WorkerProc {
  name: string;
  pid(): number | undefined;
  /** resolves once the worker logged 'worker running' (it polls the task queue) */
  ready(): Promise<void>;
  running(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
  start(): void;
  /** exits the worker did not ask for (restarted by the supervisor) */
  crashes: number;
  starts: number;
  stop(): Promise<void>;
}

export function workerProcess(name: string, env: Record<string, string>, logPath: string, opts: { restartDelayMs?: number } = {}): WorkerProc {
  let child: ChildProcess | undefined;
  let expectExit = false;
  let stopped = false;
  let readyWaiters: Array<() => void> = [];
  let isReady = false;
  const log: WriteStream = createWriteStream(logPath, { flags: 'a' });
  const w: WorkerProc = {
    name,
    crashes: 0,
    starts: 0,
    pid: () => child?.pid,
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    ready: () => (isReady ? Promise.resolve() : new Promise((r) => readyWaiters.push(r))),
    start() {
      stopped = false;
      expectExit = false;
      isReady = false;
      w.starts++;
      const c = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'worker.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child = c;
      let buf = '';
      c.stderr!.on('data', (d: Buffer) => {
        log.write(d);
        if (isReady) return;
        buf += d.toString();
        if (buf.includes('"worker running"')) {
          isReady = true;
          buf = '';
          const ws = readyWaiters;
          readyWaiters = [];
          for (const r of ws) r();
        } else if (buf.length > 100_000) buf = buf.slice(-1000);
      });
      c.once('exit', (code, signal) => {
        log.write(`\n--- chaos: ${name} exited (code ${code}, signal ${signal}) ---\n`);
        if (child === c) child = undefined;
        if (expectExit || stopped) return;
        w.crashes++;
        setTimeout(() => {
          if (!stopped && !child) w.start();
        }, opts.restartDelayMs ?? 2_000);
      });
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      expectExit = true;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await exited;
    },
    async stop() {
      stopped = true;
      const c = child;
      const force = setTimeout(() => c?.kill('SIGKILL'), 15_000);
      await w.kill('SIGTERM');
      clearTimeout(force);
      await new Promise((r) => log.end(r));
    },
  };
  return w;
}
