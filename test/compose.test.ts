/**
 * docker-compose.yml, validated without a Docker engine: `docker-compose config` succeeds for every
 * profile, and the resolved configuration runs what the design's runbook names (services, container
 * names, profiles, ports, the secrets mount, Prometheus and Grafana) with every variable the app's
 * configuration reads passed to the worker and the API. The list of variables is derived from the
 * code (the parsers are run against a recording environment), so a new setting that is missing from
 * docker-compose.yml fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { loadConfig } from '../src/config';
import { CONNECTORS } from '../src/connectors/registry';
import { settingsFromEnv } from '../src/core/preflight';
import { SEARCH_ATTRIBUTES } from '../src/workflows/definitions';

const ROOT = join(__dirname, '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const WORKER = 'integration-sync';
const API = 'integration-sync-api';
const PRODUCTION = 'temporal-production';
const PRODUCTION_TEMPORAL = ['temporal-postgresql', 'temporal-schema', 'temporal-server', 'temporal-setup', 'temporal-ui'];
/** the switch to production Temporal, as the header of docker-compose.yml and .env.example give it */
const PRODUCTION_ENV = { AURORA_TEMPORAL_ADDRESS: 'temporal-server:7233', TEMPORAL_DEV_SERVER_REPLICAS: '0' };

// ---- running docker-compose ----------------------------------------------------------------------

const EMPTY_ENV_FILE = join(mkdtempSync(join(tmpdir(), 'aurora-compose-')), 'empty.env');
writeFileSync(EMPTY_ENV_FILE, '');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * docker-compose with only PATH and HOME from this process (the variables scripts/env.sh exports
 * must not leak in unless a test sets them) and an empty env file instead of a developer's .env.
 */
function compose(args: string[], env: Record<string, string> = {}): Run {
  const res = spawnSync('docker-compose', ['--project-directory', ROOT, '-f', COMPOSE_FILE, '--env-file', EMPTY_ENV_FILE, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...env },
  });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(
      'docker-compose is not installed (not on PATH). scripts/setup.sh installs it (Debian package docker-compose, ' +
        '/usr/bin/docker-compose); this test validates docker-compose.yml with `docker-compose config` and needs no Docker engine.',
    );
  }
  if (res.error) throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** docker-compose 1.x is Python; its own interpreter has PyYAML, which turns the resolved YAML into JSON. */
function yamlToJson(text: string): unknown {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  const path = which.stdout.trim();
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(path, 'utf8').slice(0, 200))?.[1];
  assert.ok(shebang && /python/.test(shebang), `expected docker-compose 1.x (a Python script) at ${path}, as scripts/setup.sh installs`);
  const res = spawnSync(shebang, ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: text, encoding: 'utf8' });
  assert.equal(res.status, 0, `converting YAML with ${shebang}: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

interface Service {
  image?: string;
  container_name?: string;
  profiles?: string[];
  environment?: Record<string, string | null>;
  ports?: (string | { published?: number | string; target?: number | string; host_ip?: string })[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  command?: string[] | string;
  entrypoint?: string[] | string;
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[] | string };
}
interface Project {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const resolved = new Map<string, Project>();
/** The resolved configuration (`docker-compose [--profile p]... config`), checked to be valid. */
function project(profiles: string[] = [], env: Record<string, string> = {}): Project {
  const key = JSON.stringify([profiles, env]);
  const cached = resolved.get(key);
  if (cached) return cached;
  const flags = profiles.flatMap((p) => ['--profile', p]);
  const run = compose([...flags, 'config'], env);
  assert.equal(run.status, 0, `docker-compose ${flags.join(' ')} config failed:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /variable is not set/, 'every ${VAR} in docker-compose.yml needs a default (${VAR:-...})');
  const p = yamlToJson(run.stdout) as Project;
  resolved.set(key, p);
  return p;
}

/** What `up` starts with these profiles: services without profiles, and those in an active one. */
function enabled(p: Project, profiles: string[]): string[] {
  return Object.entries(p.services)
    .filter(([, s]) => !s.profiles?.length || s.profiles.some((x) => profiles.includes(x)))
    .map(([name]) => name);
}

const deps = (s: Service): string[] => (Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {}));
const env = (s: Service): Record<string, string> => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));
const argv = (c: string[] | string | undefined): string[] => (c === undefined ? [] : Array.isArray(c) ? c : [c]);

/** "host:container" for each published port (1.x prints objects, newer versions strings). */
function ports(s: Service): string[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'string') {
      const parts = p.replace(/\/tcp$/, '').split(':');
      return `${parts.at(-2)}:${parts.at(-1)}`;
    }
    return `${p.published}:${p.target}`;
  });
}

/** Bind mounts and named volumes as { source, target, mode }. */
function mounts(s: Service): { source: string; target: string; mode: string }[] {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, mode };
  });
}

// ---- what the app reads ------------------------------------------------------------------------

const NO_SECRETS = mkdtempSync(join(tmpdir(), 'aurora-compose-secrets-'));

/** An environment that records each variable asked for and answers "unset" (SECRETS_DIR: an empty folder). */
function recordingEnv(names: Set<string>): Record<string, string> {
  return new Proxy({} as Record<string, string>, {
    get(_t, key) {
      if (typeof key !== 'string') return undefined;
      names.add(key);
      return key === 'SECRETS_DIR' ? NO_SECRETS : undefined;
    },
    has(_t, key) {
      if (typeof key === 'string') names.add(key);
      return false;
    },
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'sandbox' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
const SOURCES = sourceFiles(join(ROOT, 'src')).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

/** Read from process.env outside the parsers, but not by the worker or the API. */
const NOT_FOR_CONTAINERS: Record<string, string> = {
  USER: 'the CLI records who resolved a conflict (src/client.ts)',
  NODE_OPTIONS: "Node's own: the worker only checks it for its V8 flags (src/worker.ts missingNodeFlags); the image's CMD passes them",
};

/** The per-type conflict policy overrides, CONFLICT_POLICY_<SYSTEM>_<TYPE>, checked against the config's own parser. */
function conflictPolicyNames(): string[] {
  const names: string[] = [];
  for (const def of CONNECTORS) {
    for (const spec of def.entities) {
      const name = `CONFLICT_POLICY_${def.system}_${spec.type}`.toUpperCase();
      const cfg = loadConfig({ SECRETS_DIR: NO_SECRETS, [name]: 'manual' });
      assert.equal(cfg.conflicts.policyFor(def.system, spec.type).policy, 'manual', `${name} is the override of ${def.system}:${spec.type}`);
      names.push(name);
    }
  }
  return names;
}

/** Every environment variable the worker's and the API's configuration reads. */
function appVariables(): string[] {
  const names = new Set<string>();
  loadConfig(recordingEnv(names));
  const secrets = { dir: NO_SECRETS, read: () => undefined };
  for (const def of CONNECTORS) def.parseConfig(recordingEnv(names), secrets);
  settingsFromEnv(recordingEnv(names));
  for (const name of conflictPolicyNames()) names.add(name);
  // Any direct process.env read elsewhere in src/ (outside the parsers) counts too.
  for (const { text } of SOURCES) {
    for (const m of text.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g)) {
      const name = m[1] ?? m[2]!;
      if (!name.startsWith('DEMO_') && !(name in NOT_FOR_CONTAINERS)) names.add(name);
    }
  }
  return [...names].filter((n) => /^[A-Z][A-Z0-9_]*$/.test(n)).sort();
}

/** The files the app reads from the secrets folder (connectors' reader, config.ts's own reads, *_FILE constants). */
function secretFiles(): string[] {
  const files = new Set<string>();
  const reader = { dir: NO_SECRETS, read: (name: string) => void files.add(name) };
  for (const def of CONNECTORS) def.parseConfig({}, reader);
  for (const { text } of SOURCES) {
    for (const m of text.matchAll(/(?:readSecretFile\([^,()]+,\s*|secrets\.read\(\s*|_FILE\s*=\s*)'([\w.-]+\.(?:txt|json))'/g)) files.add(m[1]!);
  }
  return [...files].sort();
}

const APP_VARIABLES = appVariables();

/** The comment block at the top of docker-compose.yml. */
function headerComment(): string {
  const lines = readFileSync(COMPOSE_FILE, 'utf8').split('\n');
  const end = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  return lines.slice(0, end).join('\n');
}

// ---- tests -------------------------------------------------------------------------------------

test('docker-compose is installed (scripts/setup.sh installs it; no Docker engine needed)', () => {
  const run = compose(['version']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /docker-compose version/);
});

const PROFILE_SETS: string[][] = [[], ['lead'], ['backup'], ['monitoring'], [PRODUCTION], ['lead', PRODUCTION]];

for (const profiles of PROFILE_SETS) {
  const label = profiles.length ? profiles.map((p) => `--profile ${p}`).join(' ') : 'no profile';
  test(`docker-compose config is valid with ${label}, and what it starts depends only on what it starts`, () => {
    const flags = profiles.flatMap((p) => ['--profile', p]);
    const quiet = compose([...flags, 'config', '-q']);
    assert.equal(quiet.status, 0, `docker-compose ${flags.join(' ')} config -q:\n${quiet.stderr}`);
    assert.equal(quiet.stdout, '');
    const p = project(profiles);
    const on = enabled(p, profiles);
    for (const name of on) {
      for (const dep of deps(p.services[name]!)) {
        assert.ok(on.includes(dep), `${name} depends on ${dep}, which ${label} does not start`);
      }
    }
    const expected: Record<string, string[]> = {
      '': ['postgres', 'redis', 'temporal'],
      lead: ['postgres', 'redis', 'temporal', WORKER, API, 'prometheus', 'grafana'],
      backup: ['postgres', 'redis', 'temporal', WORKER, API],
      monitoring: ['postgres', 'redis', 'temporal', 'prometheus', 'grafana'],
      [PRODUCTION]: ['postgres', 'redis', 'temporal', ...PRODUCTION_TEMPORAL],
      [`lead,${PRODUCTION}`]: ['postgres', 'redis', 'temporal', WORKER, API, 'prometheus', 'grafana', ...PRODUCTION_TEMPORAL],
    };
    assert.deepEqual([...on].sort(), [...expected[profiles.join(',')]!].sort());
  });
}

test('the runbook: integration-sync (aurora-integration-sync, profiles lead and backup), aurora-postgres with aurora_app / aurora_unified', () => {
  const p = project(['lead']);
  const worker = p.services[WORKER]!;
  assert.equal(worker.container_name, 'aurora-integration-sync');
  assert.deepEqual(worker.profiles, ['lead', 'backup']);
  assert.deepEqual(deps(worker).sort(), ['postgres', 'redis', 'temporal']);
  const api = p.services[API]!;
  assert.deepEqual(api.profiles, ['lead', 'backup']);
  assert.equal(api.container_name, 'aurora-integration-sync-api');
  assert.deepEqual(argv(api.command), ['node', '--import', 'tsx', 'src/api/main.ts']);
  assert.equal(worker.image, api.image, 'the worker and the API run one image');

  const pg = p.services.postgres!;
  assert.equal(pg.container_name, 'aurora-postgres');
  assert.equal(pg.profiles, undefined, 'postgres runs with every profile');
  assert.equal(env(pg).POSTGRES_USER, 'aurora_app');
  assert.equal(env(pg).POSTGRES_DB, 'aurora_unified');
  assert.equal(env(worker).POSTGRES_USER, 'aurora_app');
  assert.equal(env(worker).POSTGRES_DB, 'aurora_unified');
  assert.equal(env(worker).POSTGRES_HOST, 'postgres');
  assert.equal(env(worker).POSTGRES_PASSWORD, env(pg).POSTGRES_PASSWORD, 'the app and the database agree on the password');
  assert.equal(p.services.redis!.container_name, 'aurora-redis');
  assert.equal(p.services.temporal!.container_name, 'aurora-temporal');
  assert.ok(p.services.redis && p.services.temporal);
});

test('ports: metrics :9100, API :8000, Grafana :3001, Prometheus :9090, Temporal :7233 and its UI :8233; none published twice', () => {
  const p = project(['lead']);
  assert.deepEqual(ports(p.services[WORKER]!), ['9100:9100']);
  assert.deepEqual(ports(p.services[API]!), ['8000:8000']);
  assert.deepEqual(ports(p.services.grafana!), ['3001:3000']);
  assert.deepEqual(ports(p.services.prometheus!), ['9090:9090']);
  assert.deepEqual(ports(p.services.temporal!).sort(), ['7233:7233', '8233:8233']);
  assert.equal(env(p.services[WORKER]!).METRICS_PORT, '9100');
  assert.equal(env(p.services[API]!).API_PORT, '8000');
  assert.equal(env(p.services[API]!).API_HOST, '0.0.0.0');
  assert.equal(env(p.services.grafana!).GF_SERVER_ROOT_URL, 'http://localhost:3001');

  const published = (q: Project, profiles: string[]) =>
    enabled(q, profiles)
      .filter((name) => q.services[name]!.deploy?.replicas !== 0)
      .flatMap((name) => ports(q.services[name]!).map((port) => `${port.split(':')[0]} (${name})`));
  const dupes = (list: string[]) => list.filter((x, i) => list.findIndex((y) => y.split(' ')[0] === x.split(' ')[0]) !== i);
  assert.deepEqual(dupes(published(p, ['lead'])), [], 'no host port twice with --profile lead');
  const prod = project(['lead', PRODUCTION], PRODUCTION_ENV);
  assert.deepEqual(dupes(published(prod, ['lead', PRODUCTION])), [], 'no host port twice in production mode');
  const prodPorts = [...ports(prod.services['temporal-server']!), ...ports(prod.services['temporal-ui']!)].sort();
  assert.deepEqual(prodPorts, ['7233:7233', '8233:8080'], 'production Temporal at the dev server\'s addresses');
});

test('the secrets folder is mounted read-only at /secrets (./secrets:/secrets:ro) in the worker and the API', () => {
  assert.match(readFileSync(COMPOSE_FILE, 'utf8'), /- \.\/secrets:\/secrets:ro/);
  const p = project(['lead']);
  for (const name of [WORKER, API]) {
    const s = p.services[name]!;
    assert.ok(
      mounts(s).some((m) => m.source === join(ROOT, 'secrets') && m.target === '/secrets' && m.mode === 'ro'),
      `${name} mounts ./secrets at /secrets read-only: ${JSON.stringify(s.volumes)}`,
    );
    assert.equal(env(s).SECRETS_DIR, '/secrets');
  }
  assert.ok(existsSync(join(ROOT, 'secrets')), 'the secrets folder exists in the checkout (secrets/README.md)');
});

test('the variables the app reads are derived from the code (not an empty or stale list)', () => {
  for (const name of [
    'POSTGRES_HOST', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'TEMPORAL_ADDRESS', 'SYNC_INTERVAL', 'API_TOKEN',
    'HUBSPOT_API_KEY', 'HUBSPOT_CLIENT_SECRET', 'GOOGLE_CREDENTIALS_PATH', 'GOOGLE_USERS', 'GMAIL_PUSH_TOKEN',
    'GOOGLE_DRIVE_SHARED_DRIVES', 'FIREFLIES_API_KEY', 'FIREFLIES_WEBHOOK_SECRET', 'CONFLICT_POLICY_HUBSPOT_CONTACT',
  ]) {
    assert.ok(APP_VARIABLES.includes(name), `${name} found in the app's configuration`);
  }
  assert.ok(APP_VARIABLES.length > 60, `found ${APP_VARIABLES.length}`);
});

test('every variable the app reads is passed to integration-sync and to the API, and nothing else is', () => {
  const p = project(['lead']);
  for (const name of [WORKER, API]) {
    const passed = Object.keys(env(p.services[name]!));
    const missing = APP_VARIABLES.filter((v) => !passed.includes(v));
    assert.deepEqual(missing, [], `${name} lacks these settings of the app: add them to x-aurora-env in docker-compose.yml`);
    const unknown = passed.filter((v) => !APP_VARIABLES.includes(v));
    assert.deepEqual(unknown, [], `${name} is given variables the app never reads (typo or stale)`);
  }
  assert.deepEqual(env(p.services[WORKER]!), env(p.services[API]!), 'the worker and the API share one configuration');
});

test('the containers\' environment is a valid configuration with the app\'s defaults, whatever the shell exports', () => {
  // scripts/env.sh exports host values; they must not reach the containers.
  const shell = { POSTGRES_HOST: '127.0.0.1', REDIS_HOST: '127.0.0.1', TEMPORAL_ADDRESS: '127.0.0.1:7233', SECRETS_DIR: join(ROOT, 'secrets'), POSTGRES_PORT: '5432' };
  for (const [label, p] of [['clean shell', project(['lead'])], ['after scripts/env.sh', project(['lead'], shell)]] as const) {
    const e = env(p.services[WORKER]!);
    const cfg = loadConfig({ ...e, SECRETS_DIR: NO_SECRETS, GOOGLE_CREDENTIALS_PATH: join(NO_SECRETS, 'google-credentials.json') });
    assert.equal(cfg.postgres.host, 'postgres', label);
    assert.equal(cfg.redis.host, 'redis', label);
    assert.equal(cfg.temporal.address, 'temporal:7233', label);
    assert.equal(e.SECRETS_DIR, '/secrets', label);
    assert.equal(e.GOOGLE_CREDENTIALS_PATH, '/secrets/google-credentials.json', label);
    // empty values fall back to the app's own defaults
    const defaults = loadConfig({ SECRETS_DIR: NO_SECRETS });
    assert.equal(cfg.syncIntervalSeconds, defaults.syncIntervalSeconds, label);
    assert.deepEqual(cfg.schedules, defaults.schedules, label);
    assert.deepEqual(cfg.massDelete, defaults.massDelete, label);
    assert.equal(cfg.webhooks.pushChannels, false, `${label}: no push channels without a PUBLIC_BASE_URL`);
    assert.equal(cfg.temporal.taskQueue, 'aurora-sync', label);
    assert.equal(cfg.apiToken, undefined, label);
  }
  // ...and values from the shell or .env reach the app
  const set = project(['lead'], { SYNC_INTERVAL: '60', HUBSPOT_API_KEY: 'pat-from-env', CONFLICT_POLICY_HUBSPOT_DEAL: 'manual', PUBLIC_BASE_URL: 'https://aurora.example.com' });
  const cfg = loadConfig({ ...env(set.services[WORKER]!), SECRETS_DIR: NO_SECRETS, GOOGLE_CREDENTIALS_PATH: join(NO_SECRETS, 'none.json') });
  assert.equal(cfg.syncIntervalSeconds, 60);
  assert.equal(cfg.conflicts.policyFor('hubspot', 'deal').policy, 'manual');
  assert.equal(cfg.webhooks.pushChannels, true, 'PUBLIC_BASE_URL turns push channels on, as the app documents');
  assert.equal((cfg.systems.hubspot as { accessToken?: string }).accessToken, 'pat-from-env');
});

test('every file the app reads from the secrets folder is documented in the header of docker-compose.yml', () => {
  const files = secretFiles();
  for (const f of ['hubspot-api-key.txt', 'google-credentials.json', 'postgres-password.txt', 'api-token.txt']) assert.ok(files.includes(f), `${f} found`);
  const header = headerComment();
  const undocumented = files.filter((f) => !header.includes(f));
  assert.deepEqual(undocumented, [], 'describe these files in the SECRETS part of the header');
  // the bundled Postgres and Redis honour the same files as the app (else a password only in a file locks the app out)
  const p = project(['lead']);
  for (const [name, file] of [['postgres', 'postgres-password.txt'], ['redis', 'redis-password.txt']] as const) {
    const s = p.services[name]!;
    assert.ok(mounts(s).some((m) => m.target === '/secrets' && m.mode === 'ro'), `${name} mounts the secrets folder`);
    assert.ok(argv(s.command).join(' ').includes(`/secrets/${file}`), `${name} reads ${file}`);
  }
});

test('.env.example lists every variable of docker-compose.yml and of the app', () => {
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
  const interpolated = [...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
  const fixedInCompose = new Set(['POSTGRES_HOST', 'POSTGRES_PORT', 'POSTGRES_DB', 'POSTGRES_USER', 'REDIS_HOST', 'REDIS_PORT', 'TEMPORAL_ADDRESS', 'SECRETS_DIR', 'API_HOST', 'API_PORT', 'METRICS_PORT']);
  const wanted = [...new Set([...interpolated, ...APP_VARIABLES.filter((v) => !fixedInCompose.has(v))])];
  assert.deepEqual(wanted.filter((v) => !listed.has(v)).sort(), []);
});

test('Temporal dev server (default): the search attributes the workflows use, the app\'s namespace', () => {
  const names = SEARCH_ATTRIBUTES.map((a) => a.name);
  assert.ok(names.includes('AuroraSystem') && names.includes('AuroraEntityType') && names.includes('AuroraStatus'));
  const p = project(['lead'], { TEMPORAL_NAMESPACE: 'aurora' });
  const cmd = argv(p.services.temporal!.command);
  assert.deepEqual(cmd.slice(0, 2), ['server', 'start-dev']);
  const registered = cmd.flatMap((a, i) => (cmd[i - 1] === '--search-attribute' ? [a] : []));
  assert.deepEqual(registered.sort(), names.map((n) => `${n}=Keyword`).sort());
  assert.equal(cmd[cmd.indexOf('--namespace') + 1], 'aurora');
  assert.equal(env(p.services[WORKER]!).TEMPORAL_NAMESPACE, 'aurora');
  assert.equal(env(p.services[WORKER]!).TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(project(['lead']).services.temporal!.deploy?.replicas ?? 1, 1, 'the dev server runs by default');
});

test('production Temporal (profile temporal-production): Postgres persistence, schema, namespace and search attributes, UI; the worker pointed at it', () => {
  const p = project(['lead', PRODUCTION], { ...PRODUCTION_ENV, TEMPORAL_NAMESPACE: 'aurora' });
  for (const name of PRODUCTION_TEMPORAL) assert.deepEqual(p.services[name]!.profiles, [PRODUCTION], `${name} only in ${PRODUCTION}`);

  const db = p.services['temporal-postgresql']!;
  assert.match(db.image ?? '', /^postgres:/);
  assert.notEqual(db.container_name, 'aurora-postgres', 'its own Postgres, apart from the Aurora data');
  assert.deepEqual(ports(db), [], 'Temporal\'s database is not published');
  assert.ok(mounts(db).some((m) => m.target === '/var/lib/postgresql/data' && !m.source.startsWith('/')), 'on a named volume');

  const schema = p.services['temporal-schema']!;
  assert.match(schema.image ?? '', /^temporalio\/admin-tools:/);
  const schemaScript = argv(schema.command).join('\n');
  for (const part of ['temporal-sql-tool', 'postgres12', 'temporal_visibility', 'setup-schema', 'update-schema', '/etc/temporal/schema/postgresql/v12/']) {
    assert.ok(schemaScript.includes(part), `schema job: ${part}`);
  }

  const server = p.services['temporal-server']!;
  assert.match(server.image ?? '', /^temporalio\/server:/);
  const se = env(server);
  assert.equal(se.DB, 'postgres12');
  assert.equal(se.POSTGRES_SEEDS, 'temporal-postgresql');
  assert.equal(se.POSTGRES_PWD, env(db).POSTGRES_PASSWORD);
  assert.equal(se.POSTGRES_USER, env(db).POSTGRES_USER);
  assert.equal(env(schema).SQL_PASSWORD, env(db).POSTGRES_PASSWORD);
  assert.equal(se.BIND_ON_IP, '0.0.0.0');
  assert.ok(Number(se.NUM_HISTORY_SHARDS) >= 4);
  assert.deepEqual(p.services['temporal-server']!.depends_on, { 'temporal-schema': { condition: 'service_completed_successfully' } });

  const setup = p.services['temporal-setup']!;
  const ue = env(setup);
  assert.equal(ue.TEMPORAL_ADDRESS, 'temporal-server:7233');
  assert.equal(ue.NAMESPACE, 'aurora', 'the namespace the worker uses');
  assert.deepEqual(ue.SEARCH_ATTRIBUTES!.split(/\s+/).sort(), SEARCH_ATTRIBUTES.map((a) => a.name).sort());
  const setupScript = argv(setup.command).join('\n');
  assert.ok(setupScript.includes('namespace create') && setupScript.includes('search-attribute create') && setupScript.includes('--type Keyword'));

  const ui = p.services['temporal-ui']!;
  assert.match(ui.image ?? '', /^temporalio\/ui:/);
  assert.equal(env(ui).TEMPORAL_ADDRESS, 'temporal-server:7233');
  assert.ok(deps(ui).includes('temporal-setup'), '`up -d temporal-ui` also registers the namespace and search attributes');

  for (const name of [WORKER, API]) {
    assert.equal(env(p.services[name]!).TEMPORAL_ADDRESS, 'temporal-server:7233', `${name} uses the production server`);
    assert.equal(env(p.services[name]!).TEMPORAL_NAMESPACE, 'aurora');
  }
  assert.equal(p.services.temporal!.deploy?.replicas, 0, 'the dev server is not started in production mode');
  const cfg = loadConfig({ ...env(p.services[WORKER]!), SECRETS_DIR: NO_SECRETS, GOOGLE_CREDENTIALS_PATH: join(NO_SECRETS, 'none.json') });
  assert.equal(cfg.temporal.address, 'temporal-server:7233');

  // without the switch both servers would claim 7233: `up` fails loudly instead of splitting workflows
  const both = project(['lead', PRODUCTION]);
  assert.ok(ports(both.services.temporal!).includes('7233:7233') && ports(both.services['temporal-server']!).includes('7233:7233'));
});

test('Prometheus mounts deploy/prometheus/prometheus.yml and alerts.yml, and every rule file it loads', () => {
  const p = project(['monitoring']);
  const prom = p.services.prometheus!;
  assert.deepEqual(prom.profiles?.sort(), ['lead', 'monitoring']);
  const m = mounts(prom);
  const mounted = (file: string, target: string) =>
    assert.ok(m.some((x) => x.source === join(ROOT, 'deploy', 'prometheus', file) && x.target === target && x.mode === 'ro'), `${file} at ${target}: ${JSON.stringify(prom.volumes)}`);
  mounted('prometheus.yml', '/etc/prometheus/prometheus.yml');
  mounted('alerts.yml', '/etc/prometheus/alerts.yml');
  assert.ok(argv(prom.command).includes('--config.file=/etc/prometheus/prometheus.yml'));
  // rule_files are relative to the config file's folder inside the container
  const promCfg = yamlToJson(readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as { rule_files?: string[] };
  for (const rule of promCfg.rule_files ?? []) {
    const target = posix.resolve('/etc/prometheus', rule);
    const bind = m.find((x) => x.target === target);
    assert.ok(bind, `prometheus.yml loads ${rule}: mount it at ${target}`);
    assert.ok(existsSync(bind.source), `${bind.source} exists`);
  }
  for (const x of m.filter((y) => y.source.startsWith('/'))) assert.ok(existsSync(x.source), `${x.source} exists`);
});

test('Grafana provisions deploy/grafana: datasource, dashboard provider, and the aurora-sync dashboard at :3001/d/aurora-sync', () => {
  const p = project(['monitoring']);
  const g = p.services.grafana!;
  assert.deepEqual(g.profiles?.sort(), ['lead', 'monitoring']);
  const m = mounts(g);
  const grafana = join(ROOT, 'deploy', 'grafana');
  for (const [dir, target] of [
    ['provisioning/datasources', '/etc/grafana/provisioning/datasources'],
    ['provisioning/dashboards', '/etc/grafana/provisioning/dashboards'],
    ['dashboards', '/etc/grafana/dashboards'],
  ] as const) {
    assert.ok(m.some((x) => x.source === join(grafana, dir) && x.target === target && x.mode === 'ro'), `deploy/grafana/${dir} at ${target}`);
    assert.ok(statSync(join(grafana, dir)).isDirectory());
  }
  const dashboards = readdirSync(join(grafana, 'dashboards')).filter((f) => f.endsWith('.json'));
  const uids = dashboards.map((f) => (JSON.parse(readFileSync(join(grafana, 'dashboards', f), 'utf8')) as { uid?: string }).uid);
  assert.ok(uids.includes('aurora-sync'), `a dashboard with uid aurora-sync (got ${uids.join(', ')})`);
  assert.ok(existsSync(join(grafana, 'dashboards', posix.basename(env(g).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? ''))), 'the home dashboard exists');
  assert.ok(deps(g).includes('prometheus'));
});
