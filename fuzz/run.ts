/**
 * npm run fuzz [-- --requests 1200 --per-endpoint 1000 --seed 1 --json --out fuzz/results/latest.md]:
 * the hostile-input fuzzer (fuzz/lib.ts) against a real API, worker, Temporal, Postgres, Redis and
 * the sandboxes. Prints the counts per endpoint (the route the API matched) and by outcome (status ×
 * category) and the checks; exits 1 when one fails. FUZZ_REQUESTS / FUZZ_PER_ENDPOINT / FUZZ_SEED
 * work too. --out writes the same lines to a file, under a header (date, seed, requests, seconds, cores).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { failures, formatReport, runFuzz } from './lib';

export interface FuzzCliOptions {
  requests: number;
  perEndpoint: number;
  seed: number;
}

/**
 * --requests/--per-endpoint/--seed, else FUZZ_REQUESTS/FUZZ_PER_ENDPOINT/FUZZ_SEED, else the
 * defaults (test/fuzz.test.ts: a short run). A per-endpoint target given alone sets no minimum total.
 */
export function fuzzOptions(argv: string[], env: NodeJS.ProcessEnv, defaults: FuzzCliOptions): FuzzCliOptions {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const given = (name: string, envName: string) => arg(name) ?? env[envName];
  const perEndpointGiven = given('per-endpoint', 'FUZZ_PER_ENDPOINT');
  const requests = Number(given('requests', 'FUZZ_REQUESTS') ?? (perEndpointGiven !== undefined ? 0 : defaults.requests));
  const perEndpoint = Number(perEndpointGiven ?? defaults.perEndpoint);
  const seed = Number(given('seed', 'FUZZ_SEED') ?? defaults.seed);
  if (!Number.isInteger(perEndpoint) || perEndpoint < 0) throw new Error(`--per-endpoint (FUZZ_PER_ENDPOINT) must be a non-negative integer (got ${perEndpointGiven})`);
  if (!Number.isInteger(requests) || requests < (perEndpoint ? 0 : 1)) throw new Error(`--requests (FUZZ_REQUESTS) must be a positive integer (got ${given('requests', 'FUZZ_REQUESTS')})`);
  if (!Number.isInteger(seed)) throw new Error(`--seed (FUZZ_SEED) must be an integer (got ${given('seed', 'FUZZ_SEED')})`);
  return { requests, perEndpoint, seed };
}

async function main() {
  const opts = fuzzOptions(process.argv, process.env, { requests: 1_200, perEndpoint: 0, seed: 1 });
  const started = new Date();
  const report = await runFuzz({ ...opts, log: (l) => console.log(l) });
  const lines = formatReport(report);
  const failed = failures(report);
  lines.push(failed.length ? `FAIL:\n  ${failed.join('\n  ')}` : 'PASS: nothing unverified started or signalled a workflow, no row changed, no 5xx, no crash, no record content where it may not be, memory flat');
  for (const line of lines) console.log(line);
  if (process.argv.includes('--json')) console.log(JSON.stringify(report));
  const i = process.argv.indexOf('--out');
  if (i >= 0 && process.argv[i + 1]) {
    const out = process.argv[i + 1]!;
    const args = process.argv.slice(2).filter((a, j, all) => a !== '--json' && a !== '--out' && all[j - 1] !== '--out');
    const header = [
      '# Hostile-input fuzzer: latest run',
      '',
      `${started.toISOString().replace(/\.\d+Z$/, 'Z')}: \`npm run fuzz -- ${args.join(' ')}\`; seed ${report.seed}, ${report.requests.toLocaleString('en-US')} requests${report.perEndpoint ? ` (at least ${report.perEndpoint.toLocaleString('en-US')} per endpoint)` : ''}, ${report.seconds} s, ${report.cores} cores.`,
      '',
    ];
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, [...header, '```', ...lines, '```', ''].join('\n'));
  }
  process.exit(failed.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
}
