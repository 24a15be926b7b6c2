/**
 * Stand-alone HubSpot sandbox:
 *   tsx src/sandbox/hubspot/main.ts --port 4010 --seed 100 --no-rate-limits --latency 20 --search-lag 1000
 * `--seed N` seeds N contacts, N companies and N deals (or use --seed-contacts/--seed-companies/--seed-deals).
 * `--webhook-url URL --webhook-secret S` sends signed webhook batches for every CRM change (UI helpers and
 * API writes, not seeding); finer options via `PUT /_sandbox/webhooks`.
 * Prints the URL; Ctrl-C stops. Admin API under /_sandbox/ (see admin.ts).
 */
import { startHubSpotSandbox } from './index';
import { exitOnFailure, runUntilStopped } from '../serve';
import type { ObjectType, SandboxOptions } from './types';

const USAGE = `Usage: tsx src/sandbox/hubspot/main.ts [options]
  --port N             listen port (default 4010; 0 = random)
  --host H             listen host (default 127.0.0.1)
  --seed N             seed N contacts, N companies and N deals
  --seed-contacts N    seed N contacts (likewise --seed-companies, --seed-deals)
  --no-rate-limits     never answer 429 (headers are still sent)
  --per-ten-seconds N  requests per rolling 10 s (default 100)
  --search-per-second N  search requests per second (default 5)
  --daily N            requests per day (default 250000)
  --latency MS         added to every API response (default 0)
  --search-lag MS      search index lag (default 0)
  --token T            only accept this Bearer token
  --strict-enums       reject unknown dealstage/lifecyclestage/pipeline options
  --webhook-url URL    POST signed webhook batches for CRM changes to URL (needs --webhook-secret)
  --webhook-secret S   the app client secret used to sign them
  --log                log requests`;

function parseArgs(argv: string[]): { opts: SandboxOptions; seeds: Partial<Record<ObjectType, number>> } {
  const opts: SandboxOptions = { port: 4010 };
  const seeds: Partial<Record<ObjectType, number>> = {};
  const limits: { perTenSeconds?: number; searchPerSecond?: number; daily?: number } = {};
  let rateLimits = true;
  let webhookUrl: string | undefined;
  let webhookSecret: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    switch (a) {
      case '--port': opts.port = num(); break;
      case '--host': opts.host = argv[++i]; break;
      case '--seed': { const n = num(); seeds.contacts = n; seeds.companies = n; seeds.deals = n; break; }
      case '--seed-contacts': seeds.contacts = num(); break;
      case '--seed-companies': seeds.companies = num(); break;
      case '--seed-deals': seeds.deals = num(); break;
      case '--no-rate-limits': rateLimits = false; break;
      case '--per-ten-seconds': limits.perTenSeconds = num(); break;
      case '--search-per-second': limits.searchPerSecond = num(); break;
      case '--daily': limits.daily = num(); break;
      case '--latency': opts.latencyMs = num(); break;
      case '--search-lag': opts.searchLagMs = num(); break;
      case '--token': opts.accessToken = argv[++i]; break;
      case '--strict-enums': opts.strictEnumerations = true; break;
      case '--log': opts.logger = true; break;
      case '--webhook-url': webhookUrl = argv[++i]; break;
      case '--webhook-secret': webhookSecret = argv[++i]; break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`Unknown option ${a}\n${USAGE}`);
    }
  }
  opts.rateLimits = rateLimits ? limits : false;
  if (webhookUrl !== undefined || webhookSecret !== undefined) {
    if (!webhookUrl || !webhookSecret) throw new Error(`--webhook-url and --webhook-secret go together\n${USAGE}`);
    opts.webhooks = { targetUrl: webhookUrl, clientSecret: webhookSecret };
  }
  return { opts, seeds };
}

async function main(): Promise<void> {
  const { opts, seeds } = parseArgs(process.argv.slice(2));
  const sandbox = await startHubSpotSandbox(opts);
  for (const [type, n] of Object.entries(seeds) as Array<[ObjectType, number]>) if (n > 0) sandbox.seed(type, n);
  const seeded = Object.entries(seeds).map(([t, n]) => `${n} ${t}`).join(', ');
  console.log(`HubSpot sandbox listening on ${sandbox.url}${seeded ? ` (seeded ${seeded})` : ''}`);
  console.log(`  rate limits: ${opts.rateLimits === false ? 'off' : 'on'}, latency ${opts.latencyMs ?? 0} ms, search lag ${opts.searchLagMs ?? 0} ms`);
  if (opts.webhooks) console.log(`  webhooks: POST to ${opts.webhooks.targetUrl}`);
  console.log(`  admin: ${sandbox.url}/_sandbox/stats`);
  runUntilStopped(() => sandbox.close());
}

exitOnFailure(main());
