/**
 * Stand-alone Google sandbox:
 *   npm run sandbox:google -- --port 4020 --users ana@acme.test,ben@acme.test --calendars 2 --seed 100 \
 *     --gmail-threads 500 --drive-files 2000 [--pubsub-url URL [--pubsub-token T] [--pubsub-oidc-audience A]] \
 *     [--no-quotas] [--latency MS] [--write-credentials DIR]
 * Prints the root URL (pass it as googleapis' `rootUrl`) and the token URL; Ctrl-C stops.
 * Admin API under /_sandbox/google/ (see admin.ts).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startGoogleSandbox } from './index';
import { exitOnFailure, flags, runUntilStopped } from '../serve';
import type { GoogleSandboxOptions } from './types';

const USAGE = `Usage: tsx src/sandbox/google/main.ts [options]
  --port N                 listen port (default 4020; 0 = random)
  --host H                 listen host (default 127.0.0.1)
  --users A,B              users to create (default ana@acme.test,ben@acme.test)
  --domain D               the Workspace domain the service account may impersonate (default acme.test)
  --calendars N            calendars per user, the primary one included (default 1)
  --seed N                 seed N events into every calendar (default 0)
  --gmail-threads N        seed N Gmail threads into every user's mailbox (default 0)
  --drive-files N          seed N Drive files and folders into every user's My Drive (default 0)
  --shared-drive NAME      a shared drive of the first user with every other user as writer (seeded like a My Drive)
  --gmail-history-hours H  Gmail history retention: older startHistoryIds answer 404 (default 168)
  --pubsub-url URL         Pub/Sub push endpoint for users.watch notifications (any topic of the project)
  --pubsub-token T         appended to the push endpoint as ?token=T
  --pubsub-oidc-audience A sign each push with an OIDC token for audience A (certs at /oauth2/v1/certs)
  --pubsub-oidc            the same, audience = the push endpoint
  --random-seed N          seed of the deterministic generators (default 42)
  --no-quotas              never answer 403/429 rate limits
  --quota-mode M           Calendar's refusals: 403 | 429 | mixed | detailed (default 403)
  --gmail-quota-mode M     Gmail's refusals: 403 | 429 | mixed | detailed (default mixed)
  --latency MS             added to every API response (default 0)
  --require-https-webhooks refuse http:// watch addresses as Google does
  --write-credentials DIR  write DIR/google-credentials.json (service-account key) and print GOOGLE_USERS
  --log                    log requests`;

interface Cli {
  opts: GoogleSandboxOptions;
  users: string[];
  calendars: number;
  seed: number;
  gmailThreads: number;
  driveFiles: number;
  sharedDrive?: string;
  latencyMs: number;
  credentialsDir?: string;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { opts: { port: 4020 }, users: ['ana@acme.test', 'ben@acme.test'], calendars: 1, seed: 0, gmailThreads: 0, driveFiles: 0, latencyMs: 0 };
  let quotas = true;
  type Mode = '403' | '429' | 'mixed' | 'detailed';
  let mode: Mode | undefined;
  let gmailMode: Mode | undefined;
  const push: { endpoint?: string; token?: string; oidc?: boolean | { audience: string } } = {};
  const modeOf = (flag: string, m: string): Mode => {
    if (m !== '403' && m !== '429' && m !== 'mixed' && m !== 'detailed') throw new Error(`${flag} is 403, 429, mixed or detailed`);
    return m;
  };
  for (const { flag: a, value, num } of flags(argv, USAGE)) {
    switch (a) {
      case '--port': cli.opts.port = num(); break;
      case '--host': cli.opts.host = value(); break;
      case '--users': cli.users = value().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--domain': cli.opts.domain = value(); break;
      case '--calendars': cli.calendars = Math.max(1, Math.floor(num())); break;
      case '--seed': cli.seed = Math.floor(num()); break;
      case '--random-seed': cli.opts.randomSeed = num(); break;
      case '--no-quotas': quotas = false; break;
      case '--quota-mode': mode = modeOf(a, value()); break;
      case '--gmail-quota-mode': gmailMode = modeOf(a, value()); break;
      case '--gmail-threads': cli.gmailThreads = Math.floor(num()); break;
      case '--drive-files': cli.driveFiles = Math.floor(num()); break;
      case '--shared-drive': cli.sharedDrive = value(); break;
      case '--gmail-history-hours': cli.opts.gmail = { ...cli.opts.gmail, historyRetentionMs: Math.max(1, num()) * 3600_000 }; break;
      case '--pubsub-url': push.endpoint = value(); break;
      case '--pubsub-token': push.token = value(); break;
      case '--pubsub-oidc-audience': push.oidc = { audience: value() }; break;
      case '--pubsub-oidc': push.oidc = true; break;
      case '--latency': cli.latencyMs = num(); break;
      case '--require-https-webhooks': cli.opts.requireHttpsWebhooks = true; break;
      case '--write-credentials': cli.credentialsDir = value(); break;
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
  cli.opts.quotas = quotas ? (mode ? { mode } : true) : false;
  const gmail = { ...cli.opts.gmail };
  if (!quotas) gmail.quotas = false;
  else if (gmailMode) gmail.quotas = { mode: gmailMode };
  if (push.endpoint) gmail.push = { endpoint: push.endpoint, ...(push.token ? { token: push.token } : {}), ...(push.oidc ? { oidc: push.oidc } : {}) };
  else if (push.token || push.oidc) throw new Error('--pubsub-token and --pubsub-oidc need --pubsub-url');
  cli.opts.gmail = gmail;
  return cli;
}

const SECONDARY = ['Sales', 'Customer meetings', 'Team', 'Travel', 'Hiring'];

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const sandbox = await startGoogleSandbox({ ...cli.opts, users: cli.users });
  if (cli.latencyMs > 0) sandbox.faults.set({ latencyMs: cli.latencyMs });
  for (const user of sandbox.users()) {
    for (let i = 1; i < cli.calendars; i++) {
      sandbox.calendar.addCalendar(user, { summary: SECONDARY[(i - 1) % SECONDARY.length]!, timeZone: i % 2 ? 'Europe/Berlin' : 'America/New_York' });
    }
    if (cli.seed > 0) for (const cal of sandbox.calendar.calendars(user)) sandbox.calendar.seed(user, cal.id, cli.seed);
    if (cli.gmailThreads > 0) sandbox.gmail.seed(user, cli.gmailThreads);
    if (cli.driveFiles > 0) sandbox.drive.seed(user, cli.driveFiles);
  }
  const [first, ...others] = sandbox.users();
  if (cli.sharedDrive && first) {
    const d = sandbox.drive.addSharedDrive(first, cli.sharedDrive, Object.fromEntries(others.map((u) => [u, 'writer' as const])));
    if (cli.driveFiles > 0) sandbox.drive.seed(first, cli.driveFiles, { driveId: d.id });
    console.log(`  shared drive "${d.name}" (${d.id})`);
  }
  console.log(`Google sandbox listening on ${sandbox.url} (token endpoint ${sandbox.tokenUrl})`);
  console.log(`  users: ${sandbox.users().join(', ')}; ${cli.calendars} calendar(s) each, ${cli.seed} event(s) per calendar, ${cli.gmailThreads} Gmail thread(s) per mailbox, ${cli.driveFiles} Drive file(s) per drive`);
  for (const s of sandbox.gmail.pubsub.subscriptions()) {
    console.log(`  Gmail push: ${s.pushEndpoint}${s.oidcToken ? ` (OIDC audience ${s.oidcToken.audience}; keys ${sandbox.gmail.pubsub.certsUrl})` : ''}; watch topic projects/${sandbox.auth.serviceAccount().project_id}/topics/<name>`);
  }
  console.log(`  quotas: ${cli.opts.quotas === false ? 'off' : 'on'}, latency ${cli.latencyMs} ms`);
  if (cli.credentialsDir) {
    const dir = resolve(cli.credentialsDir);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'google-credentials.json');
    writeFileSync(file, `${JSON.stringify(sandbox.auth.serviceAccount(), null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    console.log(`  service-account key: ${file}`);
    console.log(`GOOGLE_CREDENTIALS_PATH=${file}`);
  }
  console.log(`GOOGLE_USERS=${sandbox.users().join(',')}`);
  console.log(`  admin: ${sandbox.url}_sandbox/google/stats`);
  runUntilStopped(() => sandbox.close());
}

exitOnFailure(main());
