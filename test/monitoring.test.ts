/**
 * Monitoring: the alert rules pass promtool (syntax and their unit tests), the shipped Prometheus
 * config is valid, and every panel of the Grafana dashboard answers with data from a real
 * Prometheus scraping a real worker and API after a sync cycle of every system, webhook deliveries
 * and a reconciliation. (Grafana itself is not installable here: its queries are evaluated by
 * Prometheus' HTTP API after substituting the Grafana variables.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/server';
import { createMetrics, serveMetrics } from '../src/metrics';
import { ensureSchedules, triggerSchedule } from '../src/schedules';
import { harnessPerTest, linkGhost, waitFor, type Harness } from './helpers';

const ROOT = join(__dirname, '..');
const PROM_DIR = join(ROOT, 'deploy', 'prometheus');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'dashboards', 'aurora-sync.json');
const ANA = 'ana@acme.test';
const HUBSPOT_SECRET = 'hubspot-app-client-secret';
const FIREFLIES_SECRET = 'ff-webhook-secret-0123';
/** the systems the demo syncs: a panel grouped by system must show each, unless excepted below */
const SYSTEMS = ['hubspot', 'google_workspace', 'fireflies'];

/**
 * Panels (by title) where a system genuinely has no series, and why. The test also fails when an
 * excepted system does show up, so this list cannot go stale unnoticed.
 */
const NOT_APPLICABLE: Record<string, Record<string, string>> = {
  'Time until channel / watch expiry': {
    hubspot: 'HubSpot opens no push channels (its webhooks are subscribed in the app settings)',
    fireflies: 'Fireflies opens no push channels (its webhook is configured in the Fireflies account)',
  },
  'Channel / watch time left': {
    hubspot: 'HubSpot opens no push channels',
    fireflies: 'Fireflies opens no push channels',
  },
  'Reconciliation repairs': { fireflies: 'Fireflies is not reconciled (ConnectorDefinition.reconcile: false: a full listing would spend its daily budget)' },
  'Records checked by reconciliation': { fireflies: 'Fireflies is not reconciled' },
  'Last reconciliation': { fireflies: 'Fireflies is not reconciled' },
  'Daily budget remaining': {
    hubspot: "HubSpot's budgets are per 10 seconds and per second (search); no daily bucket is built",
    google_workspace: "Google's quotas are per minute (per user and per project); no daily bucket is built",
  },
};

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Server = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}

/** Grafana's variables as a dashboard with "All" systems over the last 10 minutes would send them. */
function substitute(expr: string): string {
  const vars: Record<string, string> = {
    system: '.*',
    __range: '10m',
    __range_s: '600',
    __range_ms: '600000',
    __rate_interval: '1m',
    __interval: '15s',
    __interval_ms: '15000',
  };
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (m, a: string, b: string, c: string) => {
    const name = a ?? b ?? c;
    if (!(name in vars)) throw new Error(`unknown Grafana variable ${m} in ${expr}`);
    return vars[name]!;
  });
  return out;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('Monitoring: alert rules, Prometheus config, dashboard', () => {
  test('promtool: the alert rules are valid and their unit tests pass; the shipped config (with its rule_files) is valid', () => {
    const check = run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml']);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: \d+ rules found/);
    const unit = run('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml']);
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout + unit.stderr, /SUCCESS/);
    // check config does not resolve the compose hostnames: the shipped file is checked as it is.
    const config = run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    assert.equal(config.status, 0, config.stdout + config.stderr);
    assert.match(config.stdout, /1 rule files found/, 'prometheus.yml loads alerts.yml');
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; templating: { list: { name: string }[] } };
    assert.equal(dashboard.uid, 'aurora-sync');
    assert.ok(dashboard.templating.list.some((v) => v.name === 'system'), 'the $system variable');
  });

  describe('against a real Prometheus scraping a real worker and API', () => {
    const setup = harnessPerTest();
    let h: Harness;
    let app: FastifyInstance;
    let workerMetrics: HttpServer;
    let prometheus: ChildProcess | undefined;
    let promUrl = '';
    let tmp = '';

    const query = async (q: string): Promise<Sample[]> => {
      const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: q })}`);
      const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Sample[] | [number, string] } };
      assert.equal(body.status, 'success', `${q}: ${body.error}`);
      if (body.data.resultType === 'scalar') return [{ metric: {}, value: body.data.result as [number, string] }];
      return body.data.result as Sample[];
    };

    before(async () => {
      h = await setup({
        google: { users: [ANA] },
        fireflies: {},
        worker: false,
        env: { PUSH_CHANNELS: 'true', HUBSPOT_CLIENT_SECRET: HUBSPOT_SECRET, FIREFLIES_WEBHOOK_SECRET: FIREFLIES_SECRET },
      });
      // The API as src/api/main.ts builds it (its own registry: webhook outcomes), and the worker's registry on a port of its own.
      app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, metrics: createMetrics(), configuredSystems: new Set(SYSTEMS) });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const apiPort = (app.server.address() as AddressInfo).port;
      h.cfg.webhooks.publicBaseUrl = `http://127.0.0.1:${apiPort}`; // push channels are opened to it
      workerMetrics = await serveMetrics(h.deps.metrics, 0, '127.0.0.1');
      const workerPort = (workerMetrics.address() as AddressInfo).port;
      await h.startWorker();

      // Prometheus first, so the counters' growth during the test is seen.
      tmp = mkdtempSync(join(tmpdir(), 'aurora-prometheus-'));
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      writeFileSync(
        join(tmp, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          '  evaluation_interval: 1s',
          'rule_files:',
          `  - ${join(PROM_DIR, 'alerts.yml')}`,
          'scrape_configs:',
          '  - job_name: aurora-sync', // the shipped job names (the alerts' up{job=...} refers to them)
          '    static_configs:',
          `      - targets: ["127.0.0.1:${workerPort}"]`,
          '  - job_name: aurora-sync-api',
          '    static_configs:',
          `      - targets: ["127.0.0.1:${apiPort}"]`,
          '',
        ].join('\n'),
      );
      const logFd = openSync(join(tmp, 'prometheus.log'), 'w');
      prometheus = spawn('prometheus', [
        `--config.file=${join(tmp, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(tmp, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      await waitFor('prometheus is ready', async () => {
        if (prometheus!.exitCode !== null) throw new Error(`prometheus exited: ${readFileSync(join(tmp, 'prometheus.log'), 'utf8')}`);
        return (await fetch(`${promUrl}/-/ready`)).ok || undefined;
      }, 30_000, 100);
      // (its target discovery hands the targets over within ~5 s of the start: scraping before the activity shows the counters grow)
      await waitFor('prometheus scrapes both targets', async () => ((await query('up == 1')).length === 2 ? true : undefined), 30_000, 100);
    });

    after(async () => {
      if (prometheus && prometheus.exitCode === null) {
        const exited = new Promise((r) => prometheus!.once('exit', r));
        prometheus.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
      }
      await app?.close();
      await new Promise((r) => (workerMetrics ? workerMetrics.close(r) : r(undefined)));
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    test('every dashboard panel answers with data, for every system it applies to; the alert rules are loaded and healthy', async () => {
      const t0 = Date.now();
      // A sync cycle of every system, with something to sync.
      h.sandbox.seed('contacts', 5);
      h.google!.calendar.seed(ANA, ANA, 5);
      h.fireflies!.transcripts.seed(5, { pendingShare: 0 });
      for (const [target, what] of [[{ system: 'hubspot' }, 'hubspot'], [{ system: 'google_workspace', connection: ANA }, 'google'], [{ system: 'fireflies' }, 'fireflies']] as const) {
        const s = await h.cycleOf(target);
        for (const [type, e] of Object.entries(s.entities)) assert.equal(e?.lastError ?? null, null, `${what} ${type} synced without error`);
      }
      const channels = await h.db.query('SELECT entity_type FROM sync_channels WHERE stopped_at IS NULL');
      assert.ok(channels.rows.length >= 1, 'the Google cycle opened push channels');

      // Webhook deliveries of every system: a verified one and a forged one.
      const hubspotBody = JSON.stringify([{ eventId: 7_000_001, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: Number(h.sandbox.seed('contacts', 1)[0]!.id), changeSource: 'CRM_UI' }]);
      const ts = Date.now();
      const v3 = (secret: string) => createHmac('sha256', secret).update(`POST${h.cfg.webhooks.publicBaseUrl}/api/webhooks/hubspot${hubspotBody}${ts}`).digest('base64');
      const post = (path: string, payload: string, headers: Record<string, string>) =>
        app.inject({ method: 'POST', url: path, payload, headers: { 'content-type': 'application/json', ...headers } });
      assert.equal((await post('/api/webhooks/hubspot', hubspotBody, { 'x-hubspot-signature-v3': v3(HUBSPOT_SECRET), 'x-hubspot-request-timestamp': String(ts) })).statusCode, 200);
      assert.equal((await post('/api/webhooks/hubspot', hubspotBody, { 'x-hubspot-signature-v3': v3('wrong-secret'), 'x-hubspot-request-timestamp': String(ts) })).statusCode, 401);
      // Google: opening the channels made the sandbox send its "sync" notifications (accepted); one with a forged token.
      const ch = h.google!.channels.active()[0]!;
      assert.equal((await post('/api/webhooks/google', '', { 'x-goog-channel-id': ch.id, 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': 'exists', 'x-goog-message-number': '99', 'x-goog-channel-token': 'forged' })).statusCode, 401);
      const ffBody = JSON.stringify({ meetingId: h.fireflies!.transcripts.list()[0]!.id, eventType: 'Transcription completed' });
      assert.equal((await post('/api/webhooks/fireflies', ffBody, { 'x-hub-signature': createHmac('sha256', FIREFLIES_SECRET).update(ffBody).digest('hex') })).statusCode < 300, true, 'a signed Fireflies delivery is accepted');
      assert.equal((await post('/api/webhooks/fireflies', ffBody, { 'x-hub-signature': 'forged' })).statusCode, 401);

      // A reconciliation of each reconciled system; Google's repairs a record the feed never reported gone.
      const ghost = (await h.db.query(
        `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, status) VALUES ($1, $1, 'Ghost', now(), now() + interval '1 hour', 'confirmed') RETURNING id, version`,
        [ANA],
      )).rows[0];
      await linkGhost(h.db, ghost, { system: 'google_workspace', connection: ANA, entityType: 'calendar_event', externalId: 'ghost0event0id0000000' });
      await ensureSchedules(h.client, h.cfg, new Set(['google_workspace']));
      await triggerSchedule(h.client, h.cfg, 'reconcile:hubspot');
      await triggerSchedule(h.client, h.cfg, `reconcile:google_workspace:${ANA}`);
      await waitFor('both reconciliations finished', async () => ((await h.deps.metrics.lastReconcile.get()).values.length >= 2 ? true : undefined), 60_000, 200);
      const activityDone = Date.now() / 1000;
      console.log(`syncs, webhooks and reconciliations: ${Date.now() - t0} ms`);

      // Two scrapes of both targets after the activity: its last increments are in, and rate() has two samples.
      await waitFor('prometheus scraped both targets twice after the activity', async () => {
        const up = await query('up');
        const last = await query('timestamp(up)');
        return up.length === 2 && up.every((s) => s.value[1] === '1') && last.every((s) => Number(s.value[1]) > activityDone + 2) ? true : undefined;
      }, 20_000, 250);

      // The $system variable's values.
      const label = (await (await fetch(`${promUrl}/api/v1/label/system/values?${new URLSearchParams({ 'match[]': 'aurora_sync_duration_seconds_count' })}`)).json()) as { data: string[] };
      assert.deepEqual([...label.data].sort(), [...SYSTEMS].sort(), 'the $system variable offers every system');

      // Every panel's every query.
      const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
      const panels = dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
      const titles = new Set(panels.map((p) => p.title));
      for (const t of Object.keys(NOT_APPLICABLE)) assert.ok(titles.has(t), `exception for a panel that exists: ${t}`);
      let checked = 0;
      const report: string[] = [];
      const results = new Map<string, Sample[]>();
      for (const panel of panels) {
        assert.ok(panel.targets?.length, `panel ${panel.title} has a query`);
        for (const target of panel.targets!) {
          const where = `panel "${panel.title}" (${target.refId})`;
          const q = substitute(target.expr);
          const result = await query(q);
          results.set(`${panel.title}/${target.refId}`, result);
          assert.ok(result.length > 0, `${where} returns data: ${q}`);
          if (/\bby \([^)]*\bsystem\b/.test(target.expr)) {
            const seen = new Set(result.map((s) => s.metric.system));
            const na = NOT_APPLICABLE[panel.title] ?? {};
            for (const system of SYSTEMS) {
              if (na[system]) assert.ok(!seen.has(system), `${where}: ${system} is excepted (${na[system]}) but has data: drop the exception`);
              else assert.ok(seen.has(system), `${where} has data for ${system} (got ${[...seen].join(', ')}): ${q}`);
            }
          }
          report.push(`${where}: ${result.map((r) => `${Object.entries(r.metric).filter(([k]) => !['__name__', 'instance', 'job'].includes(k)).map(([k, v]) => `${k}=${v}`).join(',') || '-'} ${r.value[1]}`).join('; ')}`);
          checked++;
        }
      }
      assert.ok(checked >= 30, `all queries evaluated (${checked})`);
      console.log(report.join('\n'));

      // What the test did shows in the panels' numbers, not only as series (a counter's first
      // increment must be visible: the series has to exist, at 0, before it).
      const value = (title: string, match: Record<string, string>, refId = 'A') =>
        (results.get(`${title}/${refId}`) ?? []).filter((r) => Object.entries(match).every(([k, v]) => r.metric[k] === v)).reduce((sum, r) => sum + Number(r.value[1]), 0);
      for (const system of SYSTEMS) {
        assert.ok(value('Records synced per system', { system }) > 0, `records synced by ${system} in the last minute show as a rate`);
        assert.ok(value('API calls and 429s over the time range', { system }) > 0, `${system}'s API calls`);
        assert.ok(value('Webhook outcomes over the time range', { system, outcome: 'bad_signature' }) > 0, `the forged ${system} webhook is counted under system="${system}"`);
        assert.ok(value('Webhook outcomes over the time range', { system, outcome: 'accepted' }) > 0, `the verified ${system} webhook is counted under system="${system}"`);
      }
      assert.ok(value('Reconciliation repairs', { system: 'google_workspace', type: 'calendar_event', kind: 'deleted' }) > 0, 'the ghost event tombstoned by the reconciliation is a repair');
      assert.equal(value('Reconciliation repairs', { system: 'hubspot' }), 0, 'HubSpot needed no repair');
      for (const system of ['hubspot', 'google_workspace']) assert.ok(value('Records checked by reconciliation', { system }) > 0, `${system}: records checked`);
      const daily = (results.get('Rate budget remaining (requests or units)/B') ?? []).filter((r) => r.metric.system === 'fireflies' && r.metric.window === '1d');
      assert.equal(daily.length, 1, "Fireflies' daily budget");
      assert.equal(Number(daily[0]!.value[1]), 50, 'free plan: 50 requests a day');
      assert.ok(value('Daily budget remaining', { system: 'fireflies' }) < 1, 'the requests Fireflies spent show');
      assert.ok(Math.min(...(results.get('Time until channel / watch expiry/A') ?? []).map((r) => Number(r.value[1]))) > 3600, 'freshly opened channels are far from expiry');

      // The alert rules are loaded and evaluate without error.
      const alertNames = [...readFileSync(join(PROM_DIR, 'alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]!);
      assert.ok(alertNames.length >= 5);
      const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; type: string; health: string; lastError?: string }[] }[] } };
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      assert.deepEqual(loaded.map((r) => r.name).sort(), [...alertNames].sort(), 'every alert rule is loaded');
      await waitFor('every rule evaluated', async () => {
        const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof rules;
        return r.data.groups.flatMap((g) => g.rules).every((x) => x.health !== 'unknown') || undefined;
      }, 10_000, 200);
      for (const r of ((await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof rules).data.groups.flatMap((g) => g.rules)) {
        assert.equal(r.type, 'alerting');
        assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
      }
      console.log(`monitoring test body: ${Date.now() - t0} ms`);
    });
  });
});
