/**
 * `npm run bench`: runs every benchmark under bench/ (each in its own process, one after the
 * other), collects the figures they emit (bench/lib.ts `emit`), and prints one table — every
 * figure with its bound and ratio, per system — with the machine it ran on. Writes the figures as
 * JSON (an array of {figure, system, records, value, unit, bound, ratio, note}, one per table line)
 * to bench/results/<time>.json and bench/results/latest.json, and the table to bench/results/latest.md.
 * Usage: npx tsx bench/run.ts [--only pull,calendar-pull] [--quick]
 *   --quick: small sizes (a smoke run of every benchmark, not figures to report)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { FIGURE_LINE, type Figure } from './lib';

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } } });

/** Every benchmark, with its arguments for a full run and for a quick one. */
const BENCHES: { name: string; args: string[]; quick: string[] }[] = [
  { name: 'pull', args: [], quick: ['--records', '2000', '--repeat', '1'] },
  { name: 'calendar-pull', args: [], quick: ['--events', '2000', '--repeat', '1'] },
  { name: 'gmail-pull', args: [], quick: ['--threads', '300', '--quota', '3000', '--mailboxes', '2'] },
  { name: 'drive-pull', args: [], quick: ['--files', '2000'] },
  { name: 'fireflies', args: [], quick: ['--transcripts', '100', '--cycles', '2'] },
  { name: 'push', args: [], quick: ['--records', '1000', '--repeat', '1'] },
  { name: 'idle', args: [], quick: ['--records', '500'] },
  { name: 'webhook-latency', args: [], quick: ['--seconds', '5'] },
  { name: 'memory', args: [], quick: ['--sizes', '3000'] },
  { name: 'scaleout', args: [], quick: ['--users', '4', '--events', '300'] },
];

function runOne(name: string, args: string[]): Promise<{ figures: Figure[]; ok: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, `${name}.ts`), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const figures: Figure[] = [];
    let rest = '';
    child.stdout!.on('data', (d: Buffer) => {
      rest += d.toString();
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith(FIGURE_LINE)) figures.push(JSON.parse(line.slice(FIGURE_LINE.length)) as Figure);
        else console.log(`  [${name}] ${line}`);
      }
    });
    child.once('exit', (code) => resolve({ figures, ok: code === 0 }));
  });
}

async function machine(): Promise<Record<string, string>> {
  const cfg = loadConfig();
  const pool = new Pool({ ...cfg.postgres, max: 1 });
  try {
    const pg = async (q: string) => String(Object.values((await pool.query(q)).rows[0] as object)[0]);
    let osName = `Linux ${release()}`;
    try {
      osName = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
    } catch {
      // not Linux
    }
    return {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: String(cpus().length),
      memory: `${(totalmem() / 1024 ** 3).toFixed(0)} GiB`,
      os: osName,
      node: process.version,
      postgres: `${await pg('SHOW server_version')} (fsync ${await pg('SHOW fsync')}, synchronous_commit ${await pg('SHOW synchronous_commit')})`,
    };
  } finally {
    await pool.end();
  }
}

const fmt = (n: number | null) => (n === null ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: n >= 100 ? 0 : 2 }));

export function table(figures: Figure[]): string {
  const lines = ['| system | figure | records | value | bound | ratio | the bound |', '|---|---|---:|---:|---:|---:|---|'];
  for (const f of figures) {
    lines.push(
      `| ${f.system} | ${f.figure} | ${fmt(f.records)} | ${fmt(f.value)} ${f.unit} | ${f.bound === null ? '—' : `${fmt(f.bound)} ${f.unit}`} | ${f.ratio === null ? '—' : `**${f.ratio.toFixed(2)}**`} | ${f.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const only = values.only?.split(',').map((s) => s.trim());
  const selected = BENCHES.filter((b) => !only || only.includes(b.name));
  const started = new Date();
  const figures: Figure[] = [];
  const failed: string[] = [];
  for (const b of selected) {
    console.log(`bench ${b.name}${values.quick ? ' (quick)' : ''} ...`);
    const t0 = performance.now();
    const { figures: got, ok } = await runOne(b.name, values.quick ? b.quick : b.args);
    figures.push(...got);
    if (!ok) failed.push(b.name);
    console.log(`bench ${b.name}: ${ok ? 'done' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${got.length} figures`);
  }
  const m = await machine();
  const header =
    `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${values.quick ? ' (quick sizes: a smoke run, not figures to report)' : ''} on ` +
    `${m.cpu}, ${m.cores} cores, ${m.memory}, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}.`;
  const md = `${header}\n\n${table(figures)}\n${failed.length ? `\nFailed: ${failed.join(', ')}\n` : ''}`;
  console.log(`\n${md}`);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(figures, null, 2)}\n`;
  if (!values.quick) writeFileSync(join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`), json);
  writeFileSync(join(dir, values.quick ? 'quick.json' : 'latest.json'), json);
  writeFileSync(join(dir, values.quick ? 'quick.md' : 'latest.md'), `${md}\nMachine: ${JSON.stringify(m)}\n`);
  console.log(`figures written to bench/results/${values.quick ? 'quick' : 'latest'}.json`);
  process.exit(failed.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
}
