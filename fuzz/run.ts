/**
 * npm run fuzz [-- --requests 1200 --seed 1 --json]: the hostile-input fuzzer (fuzz/lib.ts) against
 * a real API, worker, Temporal, Postgres, Redis and the sandboxes. Prints the counts by outcome
 * (status × category) and the checks; exits 1 when one fails. FUZZ_REQUESTS / FUZZ_SEED work too.
 */
import { failures, formatReport, runFuzz } from './lib';

/** --requests/--seed, else FUZZ_REQUESTS/FUZZ_SEED, else the defaults (test/fuzz.test.ts: a short run) */
export function fuzzOptions(argv: string[], env: NodeJS.ProcessEnv, defaults: { requests: number; seed: number }): { requests: number; seed: number } {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const requests = Number(arg('requests') ?? env.FUZZ_REQUESTS ?? defaults.requests);
  const seed = Number(arg('seed') ?? env.FUZZ_SEED ?? defaults.seed);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`--requests (FUZZ_REQUESTS) must be a positive integer (got ${arg('requests') ?? env.FUZZ_REQUESTS})`);
  if (!Number.isInteger(seed)) throw new Error(`--seed (FUZZ_SEED) must be an integer (got ${arg('seed') ?? env.FUZZ_SEED})`);
  return { requests, seed };
}

async function main() {
  const report = await runFuzz({ ...fuzzOptions(process.argv, process.env, { requests: 1_200, seed: 1 }), log: (l) => console.log(l) });
  for (const line of formatReport(report)) console.log(line);
  if (process.argv.includes('--json')) console.log(JSON.stringify(report));
  const failed = failures(report);
  console.log(failed.length ? `FAIL:\n  ${failed.join('\n  ')}` : 'PASS: nothing unverified started or signalled a workflow, no row changed, no 5xx, no crash, memory flat');
  process.exit(failed.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
}
