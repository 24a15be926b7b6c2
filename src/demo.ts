/**
 * The demo: a full two-way HubSpot sync against the built-in sandbox, no credentials needed.
 * Seeds both sides, runs the worker (metrics on :9100) and the API (:8000), performs a cycle,
 * makes a change on each side and syncs again, prints what happened and where to look, then keeps
 * running (cycling every SYNC_INTERVAL) until Ctrl-C. `--once` exits after the first cycles.
 */
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Pool } from 'pg';
import Redis from 'ioredis';
import { loadConfigOrExit } from './config';
import { buildApi } from './api/server';
import { startHubSpotSandbox } from './sandbox/hubspot';
import { startWorker } from './worker';
import { connectClient, ensureSyncWorkflow } from './temporal';
import { syncNowUpdate, syncWorkflowId, type CycleSummary } from './workflows/definitions';
import { syncStatus } from './store/status';
import { CONNECTORS } from './connectors/registry';

const { values } = parseArgs({
  options: {
    once: { type: 'boolean' },
    seed: { type: 'string', default: '300' },
    'sandbox-port': { type: 'string', default: process.env.DEMO_SANDBOX_PORT ?? '4010' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('npm run demo [-- --once] [--seed N] [--sandbox-port 4010]');
  process.exit(0);
}

const DEMO_DB = process.env.DEMO_POSTGRES_DB ?? 'aurora_demo';

function line(s = '') {
  process.stdout.write(s + '\n');
}
function printCycle(title: string, summary: CycleSummary) {
  line(`\n== ${title}`);
  for (const [type, st] of Object.entries(summary.entities)) {
    const p = st.lastPull ?? {};
    const q = st.lastPush ?? {};
    line(
      `  ${type.padEnd(8)} pull: ${p.created ?? 0} created, ${p.updated ?? 0} updated, ${p.deleted ?? 0} deleted, ${p.unchanged ?? 0} unchanged, ${p.conflicts ?? 0} conflicts` +
        ` | push: ${q.created ?? 0} created, ${q.updated ?? 0} updated, ${q.deleted ?? 0} deleted, ${q.errors ?? 0} errors` +
        (st.lastError ? ` | ERROR ${st.lastError}` : ''),
    );
  }
}

async function recreateDatabase(base: ReturnType<typeof loadConfigOrExit>) {
  const admin = new Pool({ ...base.postgres, max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${DEMO_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DEMO_DB}`);
  await admin.end();
}

async function main() {
  const seedN = Math.max(10, Number(values.seed));
  const sandbox = await startHubSpotSandbox({ port: Number(values['sandbox-port']), rateLimits: true, searchLagMs: 500 });
  sandbox.seed('companies', Math.round(seedN / 5));
  sandbox.seed('contacts', seedN);
  sandbox.seed('deals', Math.round(seedN / 3));
  // HubSpot-side associations: each contact works at a company; each deal has a company and two contacts.
  const companies = sandbox.list('companies');
  const contacts = sandbox.list('contacts');
  contacts.forEach((c, i) => sandbox.userAssociate('contacts', c.id, 'companies', companies[i % companies.length]!.id));
  sandbox.list('deals').forEach((d, i) => {
    sandbox.userAssociate('deals', d.id, 'companies', companies[i % companies.length]!.id);
    sandbox.userAssociate('deals', d.id, 'contacts', contacts[(2 * i) % contacts.length]!.id);
    sandbox.userAssociate('deals', d.id, 'contacts', contacts[(2 * i + 1) % contacts.length]!.id);
  });

  const base = loadConfigOrExit();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await recreateDatabase(base);
  const cfg = loadConfigOrExit({
    ...process.env,
    POSTGRES_DB: DEMO_DB,
    HUBSPOT_API_KEY: 'demo-sandbox-token',
    HUBSPOT_BASE_URL: sandbox.url,
    SYNC_INTERVAL: process.env.SYNC_INTERVAL ?? '60',
    HUBSPOT_SEARCH_LOOKBACK_MS: '5000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    API_TOKEN: process.env.API_TOKEN ?? 'demo-token',
    HUBSPOT_CLIENT_SECRET: 'demo-client-secret',
  });

  // A fresh demo: the previous demo's workflow (if any) belongs to a database we just dropped.
  const client = await connectClient(cfg);
  const wfId = syncWorkflowId('hubspot', cfg.temporal.workflowIdPrefix);
  await client.workflow.getHandle(wfId).terminate('demo restarted').catch(() => undefined);

  const worker = await startWorker(cfg, { ensureWorkflows: false });
  const db = worker.deps.db;
  const api = buildApi({ cfg, db, temporal: client, configuredSystems: new Set(['hubspot']) });
  await api.listen({ host: cfg.api.host, port: cfg.api.port });

  // Aurora-side records that HubSpot does not have yet.
  await db.query(`INSERT INTO companies (name, domain, industry, total_deal_value)
    VALUES ('Aurora Labs', 'aurora-labs.example', 'Software', 125000), ('Northwind Traders', 'northwind.example', 'Retail', 48000)`);
  await db.query(`INSERT INTO contacts (first_name, last_name, email, phone, linkedin_url, company_id)
    SELECT 'Local' || g, 'Person', 'local' || g || '@aurora.example', '+1 415 555 ' || lpad(g::text, 4, '0'),
           'https://www.linkedin.com/in/local' || g, (SELECT id FROM companies WHERE name = 'Aurora Labs')
    FROM generate_series(1, 10) g`);
  await db.query(`INSERT INTO deals (name, amount, stage, probability, close_date, company_id)
    VALUES ('Aurora Labs - platform', 125000, 'contractsent', 0.9, '2027-01-31', (SELECT id FROM companies WHERE name = 'Aurora Labs'))`);
  await db.query(`INSERT INTO deal_contacts (deal_id, contact_id)
    SELECT d.id, c.id FROM deals d, contacts c WHERE d.name = 'Aurora Labs - platform' AND c.email IN ('local1@aurora.example', 'local2@aurora.example')`);

  const sub = new Redis({ host: cfg.redis.host, port: cfg.redis.port, password: cfg.redis.password });
  let events = 0;
  const byChannel: Record<string, number> = {};
  sub.on('pmessage', (_p, channel) => {
    events++;
    byChannel[channel] = (byChannel[channel] ?? 0) + 1;
  });
  await sub.psubscribe('aurora:sync:*');

  line(`Aurora Sync demo: HubSpot sandbox at ${sandbox.url} (seeded ${seedN} contacts, ${Math.round(seedN / 5)} companies, ${Math.round(seedN / 3)} deals; rate limits on)`);
  await ensureSyncWorkflow(client, cfg, { system: 'hubspot' }, { runImmediately: false });
  const handle = client.workflow.getHandle(wfId);
  const t0 = Date.now();
  const first = await handle.executeUpdate(syncNowUpdate, { args: [{}] });
  printCycle(`cycle 1: backfill both ways (${((Date.now() - t0) / 1000).toFixed(1)} s)`, first);

  // A HubSpot user edits a contact; Aurora edits another; both flow across.
  const remote = sandbox.list('contacts')[0]!;
  sandbox.userUpdate('contacts', remote.id, { jobtitle: 'VP Sales', phone: '+1 212 555 0199' });
  const { rows } = await db.query(`SELECT c.id, c.email FROM contacts c JOIN sync_registry r ON r.local_id = c.id
    WHERE r.external_id <> $1 ORDER BY c.id LIMIT 1`, [remote.id]);
  await db.query("UPDATE contacts SET last_name = 'Edited-in-Aurora' WHERE id = $1", [rows[0].id]);
  await new Promise((r) => setTimeout(r, 700)); // let the sandbox's search index catch up
  printCycle('cycle 2: one edit on each side', await handle.executeUpdate(syncNowUpdate, { args: [{}] }));
  printCycle('cycle 3: nothing changed, nothing written', await handle.executeUpdate(syncNowUpdate, { args: [{}] }));
  await new Promise((r) => setTimeout(r, 1500));

  // Real time: the sandbox sends signed webhooks to the API, which signals the workflow.
  sandbox.webhooks.configure({
    targetUrl: `http://127.0.0.1:${cfg.api.port}/api/webhooks/hubspot`,
    signatureUri: `${cfg.webhooks.publicBaseUrl}/api/webhooks/hubspot`,
    clientSecret: 'demo-client-secret',
    batchWindowMs: 50,
  });
  const live = sandbox.list('contacts')[1]!;
  const t1 = Date.now();
  sandbox.userUpdate('contacts', live.id, { firstname: 'Realtime' });
  let arrived = false;
  while (Date.now() - t1 < 15_000) {
    const { rows: r } = await db.query(
      `SELECT 1 FROM contacts c JOIN sync_registry s ON s.local_id = c.id WHERE s.external_id = $1 AND c.first_name = 'Realtime'`,
      [live.id],
    );
    if (r.length) {
      arrived = true;
      break;
    }
    await new Promise((r2) => setTimeout(r2, 10));
  }
  line(`\n== webhook: a HubSpot edit of contact ${live.id} ${arrived ? `was in Postgres after ${Date.now() - t1} ms (no polling cycle)` : 'did NOT arrive within 15 s'}`);
  await new Promise((r) => setTimeout(r, 500));

  line(`\n== Events on Redis: ${events} (${Object.entries(byChannel).map(([c, n]) => `${c}=${n}`).join(', ')})`);
  line('== Sync status (GET /api/sync/status):');
  line(JSON.stringify(await syncStatus(db, CONNECTORS), null, 2));
  line(`\nWhere to look:
  Temporal Web UI   http://localhost:8233/namespaces/${cfg.temporal.namespace}/workflows/${encodeURIComponent(wfId)}
  REST API          curl -s localhost:${cfg.api.port}/api/sync/status
                    curl -s -XPOST localhost:${cfg.api.port}/api/sync/trigger -H 'content-type: application/json' -H 'authorization: Bearer ${cfg.apiToken === 'demo-token' ? 'demo-token' : '$API_TOKEN'}' -d '{"system":"hubspot","entity_type":"contacts"}'
  Conflicts         http://localhost:${cfg.api.port}/conflicts   (review page; API token ${cfg.apiToken === 'demo-token' ? 'demo-token' : '$API_TOKEN'})
  Temporal CLI      .tools/venv/bin/temporal workflow signal --workflow-id ${wfId} --name trigger
  CLI               npm run cli -- status     (with POSTGRES_DB=${DEMO_DB})
  Metrics           curl -s localhost:${cfg.metricsPort}/metrics | grep aurora_sync_
  Registry (psql)   PGPASSWORD=$POSTGRES_PASSWORD psql -h ${cfg.postgres.host} -U ${cfg.postgres.user} -d ${DEMO_DB} -c "SELECT external_system, entity_type, sync_status, COUNT(*) FROM sync_registry GROUP BY 1,2,3;"
  Act as a HubSpot user:  curl -s -XPATCH ${sandbox.url}/_sandbox/objects/contacts/${remote.id} -H 'content-type: application/json' -d '{"properties":{"firstname":"Grace"}}'`);

  const shutdown = async (code: number) => {
    await api.close();
    await sub.quit().catch(() => undefined);
    await worker.stop();
    await client.workflow.getHandle(wfId).terminate('demo stopped').catch(() => undefined);
    await client.connection.close();
    await sandbox.close();
    process.exit(code);
  };
  if (values.once) {
    const failed = !arrived || Object.values((await syncStatus(db, CONNECTORS)).hubspot!).some((s) => s.status === 'error');
    line(failed ? '\ndemo: FAILED (see errors above)' : '\ndemo: OK (--once: stopping)');
    await shutdown(failed ? 1 : 0);
    return;
  }
  line(`\nRunning: the workflow syncs every ${cfg.syncIntervalSeconds} s (or on trigger). Ctrl-C to stop.`);
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
