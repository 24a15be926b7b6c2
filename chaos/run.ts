/**
 * `npm run chaos`: fault scenarios against real worker processes, on the suite's own Postgres, Redis
 * and Temporal dev server (temporary, on free ports: the shared services are never touched).
 *   npx tsx chaos/run.ts [--quick] [--only 1,2,3a,3b,3c,3d,4] [--systems hubspot,google,fireflies] [--records 20000] [--base 5000] [--changes 1000] [--kills 5] [--recover-timeout 600] [--seed 7]
 * Every scenario runs against each system (Google: Calendar, Gmail and Drive in one connection).
 * Prints one table (faults, records checked, lost, duplicated, version inflation, events missing /
 * spurious, time to recover) and writes it to chaos/results/latest.md (and .json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK, infrastructure, killDuringBackfill, killDuringIncremental, rngFor, twoWorkers, type Ctx, type Row, type Sizes } from './scenarios';
import { startServices } from './services';
import { SYSTEMS, type SystemName } from './systems';
import { formatTable } from './table';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      records: { type: 'string' },
      base: { type: 'string' },
      changes: { type: 'string' },
      kills: { type: 'string' },
      'recover-timeout': { type: 'string' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      out: { type: 'string', default: join(__dirname, 'results') },
    },
  });
  const sizes: Sizes = { ...(values.quick ? QUICK : FULL) };
  if (values.records) sizes.backfill = Number(values.records);
  if (values.base) sizes.base = Number(values.base);
  if (values.changes) sizes.changes = Number(values.changes);
  if (values.kills) sizes.kills = Number(values.kills);
  if (values['recover-timeout']) sizes.recoverTimeoutMs = Number(values['recover-timeout']) * 1000;
  const only = values.only?.split(',').map((s) => s.trim());
  const want = (id: string) => !only || only.some((o) => o === id || id.startsWith(o) || o.startsWith(id));
  const systems = values.systems.split(',').map((s) => s.trim()) as SystemName[];
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`--systems: unknown system "${s}" (${SYSTEMS.join(', ')})`);
  const started = new Date();
  const log = (msg: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}`);
  log(`starting own Postgres, Redis and Temporal dev server (seed ${values.seed})`);
  const services = await startServices();
  const ctx: Ctx = { services, sizes, rng: rngFor(Number(values.seed)), log };
  const rows: Row[] = [];
  const stop = async () => {
    await services.close().catch(() => undefined);
    process.exit(130);
  };
  process.once('SIGINT', () => void stop());
  try {
    const add = (rs: Row[]) => {
      rows.push(...rs);
      for (const r of rs) log(`${r.scenario} / ${r.system}: ${r.error ? `error: ${r.error}` : r.verdict?.ok ? 'ok' : `NOT OK ${r.verdict?.samples.slice(0, 3).join('; ') ?? ''}`} (${r.totalSeconds} s)`);
    };
    for (const system of systems) {
      if (want('1')) add(await killDuringBackfill(ctx, system));
      if (want('2')) add(await killDuringIncremental(ctx, system));
      const infra = ['3a', '3b', '3c', '3d'].filter((id) => want(id)).concat(only?.includes('3z') ? ['3z'] : []);
      if (infra.length) add(await infrastructure(ctx, infra, system));
      if (want('4')) add(await twoWorkers(ctx, system));
      log(`${system} done`);
    }
  } finally {
    await services.close();
  }
  const header = `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${values.quick ? ' (quick sizes)' : ''}, seed ${values.seed}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}`;
  const table = formatTable(rows);
  console.log(`\n${header}\n\n${table}`);
  mkdirSync(values.out, { recursive: true });
  const base = values.quick ? 'quick' : 'latest';
  writeFileSync(join(values.out, `${base}.md`), `${header}\n\n${table}\n`);
  writeFileSync(join(values.out, `${base}.json`), JSON.stringify({ started, sizes, seed: values.seed, systems, rows }, null, 2));
  process.exit(rows.every((r) => r.verdict?.ok && !r.error) ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
