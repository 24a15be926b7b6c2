/**
 * Real worker processes for the benchmarks (bench/memory.ts, bench/scaleout.ts): `src/worker.ts`
 * started as `npm run worker` and the image start it (the worker's V8 flags, the prebuilt workflow
 * bundle), each with its own metrics port, its output read line by line; and its /metrics read back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { WORKER_NODE_FLAGS } from '../src/worker';

const ROOT = join(__dirname, '..');

/** `node [flags] --import tsx <args>` in the project, each line of its stdout and stderr to `onLine`. */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, onLine: (l: string) => void, nodeFlags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout!, child.stderr!]) {
    let rest = '';
    s.on('data', (d: Buffer) => {
      rest += d.toString();
      const lines = rest.split('\n');
      rest = lines.pop()!;
      lines.forEach(onLine);
    });
  }
  return child;
}

export const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
    srv.once('error', fail);
  });

/** A process's resident memory, MiB, from /proc. */
export const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  /** true once the worker logged "worker running" */
  running(): boolean;
  /** resolves when it runs; rejects when it exits first or takes longer than `ms` */
  whenRunning(ms?: number): Promise<void>;
  /** the worker's /metrics text (null when it does not answer) */
  metrics(): Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * Starts a worker process over `env` (its METRICS_PORT chosen here). Its warnings and errors are
 * printed with `name`, except the expected ones of a bench set-up (systems not configured, no codec).
 * `v8Defaults`: without the worker's V8 flags.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, opts: { name?: string; v8Defaults?: boolean; onLine?: (l: string) => void } = {}): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  let running = false;
  const child = spawnNode(
    ['src/worker.ts'],
    { ...env, METRICS_PORT: String(metricsPort) },
    (l) => {
      opts.onLine?.(l);
      if (l.includes('worker running')) running = true;
      else if (/"level":"(error|warn)"/.test(l) && !/not configured|not encrypted/.test(l)) console.log(`  ${opts.name ?? 'worker'}: ${l.slice(0, 300)}`);
    },
    opts.v8Defaults ? [] : WORKER_NODE_FLAGS,
  );
  return {
    child,
    pid: child.pid!,
    metricsPort,
    running: () => running,
    async whenRunning(ms = 120_000) {
      const t0 = performance.now();
      while (!running) {
        if (child.exitCode !== null) throw new Error(`${opts.name ?? 'worker'} exited (${child.exitCode}) before it ran`);
        if (performance.now() - t0 > ms) throw new Error(`${opts.name ?? 'worker'} not running after ${ms / 1000} s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async metrics() {
      try {
        return await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      } catch {
        return null;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The sum of a Prometheus metric's samples whose labels include `labels` (0 when there are none). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[2]);
  }
  return sum;
}
