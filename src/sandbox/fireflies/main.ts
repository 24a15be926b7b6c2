/**
 * Stand-alone Fireflies sandbox:
 *   npm run sandbox:fireflies -- --port 4030 --seed 50 --key fireflies-demo-key --plan business \
 *     [--email ana@acme.test] [--webhook-url URL --webhook-secret S [--webhook-version v1|v2]] \
 *     [--refusal graphql|http429] [--no-rate-limits] [--latency MS] [--summarize-after MS]
 * Prints the URL (the GraphQL endpoint is URL/graphql); Ctrl-C stops.
 * Admin API under /_sandbox/fireflies/ (see admin.ts).
 */
import { startFirefliesSandbox } from './index';
import { exitOnFailure, flags, runUntilStopped } from '../serve';
import { PLANS, type FirefliesSandboxOptions, type Plan, type WebhookVersion } from './types';

const USAGE = `Usage: tsx src/sandbox/fireflies/main.ts [options]
  --port N                 listen port (default 4030; 0 = random)
  --host H                 listen host (default 127.0.0.1)
  --seed N                 seed N realistic transcripts (default 0)
  --random-seed N          seed of the deterministic generators (default 42)
  --key K                  register API key K (default fireflies-demo-key)
  --plan P                 its plan: free | pro (50/day) | business | enterprise (60/min) (default business)
  --email E                the key owner's email (default ana@acme.test)
  --daily-limit N          override: N requests per day for the key
  --per-minute-limit N     override: N requests per minute for the key
  --refusal F              graphql (HTTP 200 + too_many_requests, default) | http429
  --no-rate-limits         never refuse (headers are still sent)
  --auth-status S          HTTP status of auth_failed answers: 200 (default) | 401
  --webhook-url URL        POST signed webhooks there when transcripts finish processing
  --webhook-secret S       16–32 characters, signs them (X-Hub-Signature)
  --webhook-version V      v2 (default) | v1
  --summarize-after MS     seeded transcripts still processing get their summary after MS (and a webhook)
  --latency MS             added to every API response (default 0)
  --log                    log requests`;

interface Cli {
  opts: FirefliesSandboxOptions;
  seed: number;
  key: string;
  plan: Plan;
  email: string;
  limit?: number;
  windowMs?: number;
  latencyMs: number;
  summarizeAfterMs?: number;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { opts: { port: 4030 }, seed: 0, key: 'fireflies-demo-key', plan: 'business', email: 'ana@acme.test', latencyMs: 0 };
  let rateLimits = true;
  let refusal: 'graphql' | 'http429' | undefined;
  let webhookUrl: string | undefined;
  let webhookSecret: string | undefined;
  let webhookVersion: WebhookVersion = 'v2';
  for (const { flag: a, value, num } of flags(argv, USAGE)) {
    switch (a) {
      case '--port': cli.opts.port = num(); break;
      case '--host': cli.opts.host = value(); break;
      case '--seed': cli.seed = Math.floor(num()); break;
      case '--random-seed': cli.opts.randomSeed = num(); break;
      case '--key': cli.key = value(); break;
      case '--plan': {
        const p = value() as Plan;
        if (!PLANS.includes(p)) throw new Error(`--plan is one of ${PLANS.join(', ')}`);
        cli.plan = p;
        break;
      }
      case '--email': cli.email = value(); break;
      case '--daily-limit': cli.limit = Math.floor(num()); cli.windowMs = 86_400_000; break;
      case '--per-minute-limit': cli.limit = Math.floor(num()); cli.windowMs = 60_000; break;
      case '--refusal': {
        const f = value();
        if (f !== 'graphql' && f !== 'http429') throw new Error('--refusal is graphql or http429');
        refusal = f;
        break;
      }
      case '--no-rate-limits': rateLimits = false; break;
      case '--auth-status': {
        const s = num();
        if (s !== 200 && s !== 401) throw new Error('--auth-status is 200 or 401');
        cli.opts.authFailureStatus = s;
        break;
      }
      case '--webhook-url': webhookUrl = value(); break;
      case '--webhook-secret': webhookSecret = value(); break;
      case '--webhook-version': {
        const v = value();
        if (v !== 'v1' && v !== 'v2') throw new Error('--webhook-version is v1 or v2');
        webhookVersion = v;
        break;
      }
      case '--summarize-after': cli.summarizeAfterMs = num(); break;
      case '--latency': cli.latencyMs = num(); break;
      case '--log': cli.opts.logger = true; break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`Unknown option ${a}\n${USAGE}`);
    }
  }
  cli.opts.rateLimits = rateLimits ? (refusal ? { refusal } : true) : false;
  if (webhookSecret !== undefined && !webhookUrl) throw new Error(`--webhook-secret needs --webhook-url\n${USAGE}`);
  if (webhookUrl) cli.opts.webhooks = { url: webhookUrl, secret: webhookSecret, version: webhookVersion };
  return cli;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const sandbox = await startFirefliesSandbox(cli.opts);
  const key = sandbox.keys.add(cli.key, { plan: cli.plan, email: cli.email, limit: cli.limit, windowMs: cli.windowMs });
  if (cli.latencyMs > 0) sandbox.faults.set({ latencyMs: cli.latencyMs });
  const seeded = cli.seed > 0 ? sandbox.transcripts.seed(cli.seed) : [];
  if (cli.summarizeAfterMs !== undefined) {
    seeded.filter((t) => t.summary === null).forEach((t, i) => {
      setTimeout(() => {
        if (sandbox.transcripts.get(t.id)?.summary === null) sandbox.transcripts.summarize(t.id);
      }, cli.summarizeAfterMs! * (i + 1)).unref();
    });
  }
  const pending = seeded.filter((t) => t.summary === null).length;
  console.log(`Fireflies sandbox listening on ${sandbox.url} (GraphQL endpoint ${sandbox.url}/graphql)`);
  console.log(`  API key: ${key.key} (${key.plan}, ${key.limit} per ${key.windowMs === 86_400_000 ? 'day' : key.windowMs === 60_000 ? 'minute' : `${key.windowMs} ms`}, owner ${key.email})`);
  console.log(`  transcripts: ${seeded.length} seeded${pending ? `, ${pending} with the summary still processing` : ''}`);
  console.log(`  rate limits: ${cli.opts.rateLimits === false ? 'off' : `on (refusal: ${typeof cli.opts.rateLimits === 'object' && cli.opts.rateLimits.refusal ? cli.opts.rateLimits.refusal : 'graphql'})`}, latency ${cli.latencyMs} ms`);
  if (cli.opts.webhooks) console.log(`  webhooks: ${cli.opts.webhooks.version} to ${cli.opts.webhooks.url}${cli.opts.webhooks.secret ? ' (signed)' : ' (unsigned)'}`);
  console.log(`FIREFLIES_API_URL=${sandbox.url}/graphql`);
  console.log(`FIREFLIES_API_KEY=${key.key}`);
  console.log(`  admin: ${sandbox.url}/_sandbox/fireflies/stats`);
  runUntilStopped(() => sandbox.close());
}

exitOnFailure(main());
