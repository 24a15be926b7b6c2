/**
 * Webhooks: HubSpot deliveries verified and handed to the running workflow by signal, fetched by
 * batch read without a polling cycle; forged, stale, malformed, oversized, unknown and replayed
 * deliveries change nothing; endpoints of systems without credentials start nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { webhookPaceMs } from '../src/activities';
import { buildApi } from '../src/api/server';
import { createMetrics } from '../src/metrics';
import { syncWorkflowId, statusQuery, webhookSignal } from '../src/workflows/definitions';
import { count, harnessPerTest, subscribe, waitFor, type Harness } from './helpers';

const SECRET = 'hubspot-app-client-secret';
const setup = harnessPerTest();
const env = {
  HUBSPOT_CLIENT_SECRET: SECRET,
  PUBLIC_BASE_URL: 'https://aurora.example.com',
};

function api(h: Harness): { app: FastifyInstance; metrics: ReturnType<typeof createMetrics> } {
  const metrics = createMetrics();
  return { app: buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, metrics, configuredSystems: new Set(['hubspot']) }), metrics };
}

function signV3(body: string, timestamp = Date.now(), uri = 'https://aurora.example.com/api/webhooks/hubspot') {
  return {
    'content-type': 'application/json',
    'x-hubspot-signature-v3': createHmac('sha256', SECRET).update(`POST${uri}${body}${timestamp}`).digest('base64'),
    'x-hubspot-request-timestamp': String(timestamp),
  };
}

let nextEventId = 9_000_000;
function events(type: string, kind: string, objectIds: string[]) {
  return objectIds.map((id) => ({
    eventId: nextEventId++, subscriptionId: 1, portalId: 62515, appId: 1, occurredAt: Date.now(), subscriptionType: `${type}.${kind}`,
    attemptNumber: 0, objectId: Number(id), changeSource: 'CRM_UI',
  }));
}

async function metricValue(metrics: ReturnType<typeof createMetrics>, outcome: string): Promise<number> {
  return (await metrics.webhooks.get()).values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

describe('HubSpot webhooks', () => {
  test('a change in the sandbox arrives by its signed webhook, through the workflow, without a polling cycle', async () => {
    const h = await setup({ env }); // SYNC_INTERVAL=3600: no polling during the test
    const [a] = h.sandbox.seed('contacts', 3);
    await h.cycle('contact');
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    const cycles = (await handle.query(statusQuery)).cycles;
    const { app, metrics } = api(h);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    // HubSpot signs the public URL it was given; here a proxy would forward it to 127.0.0.1.
    h.sandbox.webhooks.configure({
      targetUrl: `http://127.0.0.1:${port}/api/webhooks/hubspot`,
      signatureUri: 'https://aurora.example.com/api/webhooks/hubspot',
      clientSecret: SECRET,
      batchWindowMs: 20,
    });
    const sub = await subscribe();
    try {
      h.sandbox.userUpdate('contacts', a!.id, { firstname: 'Webhooked' });
      await waitFor('row updated', async () => (await count(h.db, "SELECT count(*) n FROM contacts WHERE first_name = 'Webhooked'")) === 1 || undefined, 20_000);
      await waitFor('event published', async () => sub.events.some((e) => e.event.action === 'updated' && e.event.direction === 'pull') || undefined, 10_000);
      // The fetch's outcome reaches the workflow's status when the activity returns, after its pause
      // before the next fetch (the event is published before that pause).
      const status = await waitFor('fetch recorded', async () => {
        const s = await handle.query(statusQuery);
        return s.entities.contact?.lastWebhook ? s : undefined;
      }, 10_000);
      assert.equal(status.cycles, cycles, 'no polling cycle ran');
      assert.equal(status.entities.contact?.lastWebhook?.updated, 1);
      assert.ok((await metricValue(metrics, 'accepted')) >= 1);

      // Echo: the engine's own write to HubSpot comes back as a webhook and changes nothing.
      const { rows } = await h.db.query('SELECT c.id, c.version FROM contacts c JOIN sync_registry r ON r.local_id = c.id WHERE r.external_id = $1', [a!.id]);
      await h.db.query("UPDATE contacts SET last_name = 'Pushed' WHERE id = $1", [rows[0].id]);
      await h.cycle('contact');
      const outbox = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
      const version = (await h.db.query('SELECT version FROM contacts WHERE id = $1', [rows[0].id])).rows[0].version;
      await h.sandbox.webhooks.flush();
      await waitFor('echo webhook handled', async () => ((await handle.query(statusQuery)).entities.contact?.lastWebhook?.unchanged ? true : undefined), 20_000);
      assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), outbox, 'no event for our own echo');
      assert.equal((await h.db.query('SELECT version FROM contacts WHERE id = $1', [rows[0].id])).rows[0].version, version);
    } finally {
      h.sandbox.webhooks.configure(null);
      await sub.close();
      await app.close();
    }
  });

  test('a property change is fetched by one batch read and keeps its associations; an association change reads them', async () => {
    const h = await setup({ env });
    const [a, b] = h.sandbox.seed('companies', 2);
    const [c1, c2] = h.sandbox.seed('contacts', 2);
    h.sandbox.userAssociate('contacts', c1!.id, 'companies', a!.id);
    await h.cycle('company');
    await h.cycle('contact');
    const localOf = async (extId: string) => (await h.db.query('SELECT local_id FROM sync_registry WHERE external_id = $1 AND entity_type = $2', [extId, extId === a!.id || extId === b!.id ? 'company' : 'contact'])).rows[0].local_id as string;
    const companyOf = async (extId: string) => (await h.db.query('SELECT company_id FROM contacts WHERE id = $1', [await localOf(extId)])).rows[0].company_id as string | null;
    assert.equal(await companyOf(c1!.id), await localOf(a!.id));
    const { app } = api(h);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    h.sandbox.webhooks.configure({ targetUrl: `http://127.0.0.1:${port}/api/webhooks/hubspot`, signatureUri: 'https://aurora.example.com/api/webhooks/hubspot', clientSecret: SECRET, batchWindowMs: 20 });
    const assocReads = () => Object.entries(h.sandbox.stats().byRoute).filter(([k]) => k.includes('associations')).reduce((n, [, v]) => n + v, 0);
    try {
      h.sandbox.resetStats();
      h.sandbox.userUpdate('contacts', c1!.id, { firstname: 'PropertyOnly' });
      await waitFor('property change fetched', async () => (await count(h.db, "SELECT count(*) n FROM contacts WHERE first_name = 'PropertyOnly'")) === 1 || undefined, 20_000);
      assert.equal(assocReads(), 0, 'no association read for a property change');
      assert.equal(await companyOf(c1!.id), await localOf(a!.id), 'the company association is kept, not cleared');
      const reg = (await h.db.query("SELECT sync_status, synced_snapshot->>'company_id' AS company FROM sync_registry WHERE external_id = $1 AND entity_type = 'contact'", [c1!.id])).rows[0];
      assert.deepEqual(reg, { sync_status: 'synced', company: await localOf(a!.id) });

      h.sandbox.userAssociate('contacts', c2!.id, 'companies', b!.id);
      await waitFor('association change fetched', async () => ((await companyOf(c2!.id)) === (await localOf(b!.id)) ? true : undefined), 20_000);
      assert.ok(assocReads() >= 1, 'an association change reads associations');
      assert.equal(await companyOf(c1!.id), await localOf(a!.id));
    } finally {
      h.sandbox.webhooks.configure(null);
      await app.close();
    }
  });

  test('forged, stale, malformed, oversized, unknown and replayed deliveries change nothing', async () => {
    const h = await setup({ env: { ...env, WEBHOOK_MAX_BODY_BYTES: '4096' } });
    const [a] = h.sandbox.seed('contacts', 1);
    const { app, metrics } = api(h);
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    try {
      const body = JSON.stringify(events('contact', 'propertyChange', [a!.id]));
      const post = (payload: string, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload, headers });
      assert.equal((await post(body, { 'content-type': 'application/json' })).statusCode, 401, 'unsigned');
      const forged = { ...signV3(body), 'x-hubspot-signature-v3': createHmac('sha256', 'wrong-secret').update('x').digest('base64') };
      assert.equal((await post(body, forged)).statusCode, 401, 'forged');
      const tampered = signV3(body);
      assert.equal((await post(body.replace('propertyChange', 'creation'), tampered)).statusCode, 401, 'body changed after signing');
      const stale = await post(body, signV3(body, Date.now() - 6 * 60 * 1000));
      assert.equal(stale.statusCode, 401);
      assert.match(stale.json().error, /stale/);
      const bad = '{"not": "an array"';
      assert.equal((await post(bad, signV3(bad))).statusCode, 400, 'malformed JSON');
      const big = JSON.stringify(events('contact', 'propertyChange', Array.from({ length: 100 }, (_, i) => String(1000 + i))));
      assert.equal((await post(big, signV3(big))).statusCode, 413, 'oversized');
      const unknown = JSON.stringify(events('ticket', 'creation', ['5']));
      assert.equal((await post(unknown, signV3(unknown))).statusCode, 400, 'unknown object type');
      await assert.rejects(handle.describe(), 'nothing was started');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM webhook_events'), 0);
      assert.equal(await metricValue(metrics, 'bad_signature'), 3);
      assert.equal(await metricValue(metrics, 'stale'), 1);
      assert.equal(await metricValue(metrics, 'malformed'), 1);
      assert.equal(await metricValue(metrics, 'too_large'), 1);
      assert.equal(await metricValue(metrics, 'unknown_type'), 1);

      // v1 signature (the older form, when the request says so) is accepted too.
      const v1 = { 'content-type': 'application/json', 'x-hubspot-signature': createHash('sha256').update(SECRET + body).digest('hex'), 'x-hubspot-signature-version': 'v1' };
      const first = await post(body, v1);
      assert.equal(first.statusCode, 200);
      assert.deepEqual(first.json(), { accepted: 1, duplicates: 0 });
      const replay = await post(body, signV3(body));
      assert.equal(replay.statusCode, 200);
      assert.deepEqual(replay.json(), { accepted: 0, duplicates: 1 }, 'a replay is a no-op');
      assert.equal(await metricValue(metrics, 'duplicate'), 1);
    } finally {
      await app.close();
    }
  });

  test('a webhook for a deleted record soft-deletes it; one during a running cycle is not lost', async () => {
    const h = await setup({ env, sandbox: { latencyMs: 30 } });
    const seeded = h.sandbox.seed('deals', 600);
    await h.cycle('deal');
    const { app } = api(h);
    try {
      h.sandbox.userArchive('deals', seeded[0]!.id);
      const del = JSON.stringify(events('deal', 'deletion', [seeded[0]!.id]));
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: del, headers: signV3(del) })).statusCode, 200);
      await waitFor('soft-deleted', async () =>
        (await count(h.db, 'SELECT count(*) n FROM deals d JOIN sync_registry r ON r.local_id = d.id WHERE r.external_id = $1 AND d.deleted_at IS NOT NULL', [seeded[0]!.id])) === 1 || undefined, 20_000);

      // A cycle is running (every deal re-read); a webhook arrives meanwhile.
      for (const d of seeded.slice(1, 400)) h.sandbox.userUpdate('deals', d.id, { amount: '777' });
      const cycle = h.cycle('deal');
      await new Promise((r) => setTimeout(r, 300));
      h.sandbox.userUpdate('deals', seeded[500]!.id, { dealname: 'Mid-cycle webhook' });
      const mid = JSON.stringify(events('deal', 'propertyChange', [seeded[500]!.id]));
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: mid, headers: signV3(mid) })).statusCode, 200);
      await cycle;
      await waitFor('mid-cycle change applied', async () => (await count(h.db, "SELECT count(*) n FROM deals WHERE name = 'Mid-cycle webhook'")) === 1 || undefined, 20_000);
    } finally {
      await app.close();
    }
  });

  test('a burst of 1,000 events in a few batches ends with every record synced once', async () => {
    const h = await setup({ env });
    const seeded = h.sandbox.seed('contacts', 1000);
    await h.cycle('contact');
    const { app } = api(h);
    try {
      const before = await count(h.db, 'SELECT count(*) n FROM sync_outbox');
      for (const c of seeded) h.sandbox.userUpdate('contacts', c.id, { jobtitle: 'ignored', phone: '+1 555 0000' });
      const all = events('contact', 'propertyChange', seeded.map((c) => c.id));
      for (let i = 0; i < all.length; i += 250) {
        const body = JSON.stringify(all.slice(i, i + 250));
        assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: body, headers: signV3(body) })).statusCode, 200);
      }
      await waitFor('all 1,000 updated', async () => (await count(h.db, "SELECT count(*) n FROM contacts WHERE phone = '+1 555 0000'")) === 1000 || undefined, 60_000, 250);
      assert.equal(await count(h.db, "SELECT count(*) n FROM sync_outbox WHERE payload->>'action' = 'updated'") , 1000);
      assert.equal(await count(h.db, 'SELECT count(*) n FROM sync_outbox'), before + 1000, 'each record once');
      assert.equal(await count(h.db, 'SELECT count(*) n FROM contacts WHERE version <> 2'), 0);
    } finally {
      await app.close();
    }
  });
});

describe('webhooks of systems this installation does not sync', () => {
  test('a system without credentials answers 503 and starts nothing; an endpoint no connector declares is 404', async () => {
    const h = await setup({ env, worker: false }); // no Google credentials in this harness
    const { app, metrics } = api(h);
    try {
      const goog = { 'x-goog-channel-id': 'ch-1', 'x-goog-resource-id': 'res-1', 'x-goog-resource-state': 'exists', 'x-goog-channel-token': 'anything' };
      const res = await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: goog });
      assert.equal(res.statusCode, 503);
      assert.match(res.json().error, /google_workspace is not configured/);
      assert.equal(await metricValue(metrics, 'not_configured'), 1);
      // Fireflies without an API key: declared, not configured.
      const ff = await app.inject({ method: 'POST', url: '/api/webhooks/fireflies', payload: '{"meeting_id":"x"}', headers: { 'content-type': 'application/json' } });
      assert.equal(ff.statusCode, 503);
      assert.match(ff.json().error, /fireflies is not configured/);
      const none = await app.inject({ method: 'POST', url: '/api/webhooks/salesforce', payload: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(none.statusCode, 404);
      const running = await h.client.workflow.list({ query: `WorkflowId STARTS_WITH "${h.cfg.temporal.workflowIdPrefix}"` });
      for await (const wf of running) assert.fail(`nothing should have started, found ${wf.workflowId}`);
    } finally {
      await app.close();
    }
  });
});

/** A new phone for the next of `contacts` in HubSpot every `gapMs`, each announced by `announce`, until stop(). */
function streamPhones(h: Harness, contacts: readonly { id: string }[], gapMs: number, announce: (c: { id: string }) => Promise<unknown>) {
  let stop = false;
  let sent = 0;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const c = contacts[i % contacts.length]!;
      h.sandbox.userUpdate('contacts', c.id, { phone: `+1 555 ${String(i).padStart(4, '0')}` });
      await announce(c);
      sent++;
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return { sent: () => sent, stop: async () => void ((stop = true), await done) };
}

/** Every streamed change reached Aurora: each of the `n` contacts ends with the phone HubSpot has. */
async function everyPhoneAsInHubSpot(h: Harness, n: number): Promise<void> {
  await waitFor('every contact as in HubSpot', async () => {
    const { rows } = await h.db.query<{ external_id: string; phone: string | null }>(
      "SELECT r.external_id, c.phone FROM contacts c JOIN sync_registry r ON r.local_id = c.id WHERE r.external_system = 'hubspot' AND r.entity_type = 'contact'",
    );
    return rows.length === n && rows.every((r) => r.phone === (h.sandbox.get('contacts', r.external_id)?.properties.phone ?? null)) ? true : undefined;
  }, 20_000, 200);
}

describe('webhook fetches and the scheduled cycle', () => {
  test('a continuous webhook stream neither postpones nor starves the scheduled cycle', async () => {
    const h = await setup({ env: { ...env, SYNC_INTERVAL: '2' } });
    const seeded = h.sandbox.seed('contacts', 40);
    await h.cycle(); // the workflow is running; its next cycle is due 2 s after this one
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    const before = (await handle.query(statusQuery)).cycles;
    // A change and its webhook every 100 ms, far more often than the interval, until two scheduled cycles ran.
    const stream = streamPhones(h, seeded, 100, (c) => handle.signal(webhookSignal, { entityType: 'contact', ids: [c.id] }));
    try {
      const status = await waitFor('two scheduled cycles during the stream', async () => {
        const s = await handle.query(statusQuery);
        return s.cycles >= before + 2 ? s : undefined;
      }, 60_000, 200);
      // The stream was on all the while: webhook fetches ran between (and during) the cycles.
      assert.ok(status.entities.contact?.lastWebhook, 'webhook fetches ran');
      assert.ok(stream.sent() >= 20, `the stream kept going (${stream.sent()} webhooks sent)`);
    } finally {
      await stream.stop();
    }
    await everyPhoneAsInHubSpot(h, seeded.length);
  });

  test('records a webhook names are fetched while a cycle is still pulling, not after it', async () => {
    const h = await setup({ env, sandbox: { latencyMs: 60 } });
    const seeded = h.sandbox.seed('deals', 1200);
    await h.cycle('deal');
    const handle = h.client.workflow.getHandle(syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix));
    // Every deal changed: the next cycle's pull re-reads 1,199 of them, page by page.
    for (const d of seeded.slice(1)) h.sandbox.userUpdate('deals', d.id, { amount: '777' });
    const cycle = h.cycle('deal');
    await waitFor('cycle pulling', async () => ((await handle.query(statusQuery)).state === 'syncing' ? true : undefined), 20_000, 20);
    h.sandbox.userUpdate('deals', seeded[0]!.id, { dealname: 'Fetched mid-cycle' });
    await handle.signal(webhookSignal, { entityType: 'deal', ids: [seeded[0]!.id] });
    await cycle;
    await waitFor('mid-cycle change applied', async () => (await count(h.db, "SELECT count(*) n FROM deals WHERE name = 'Fetched mid-cycle'")) === 1 || undefined, 20_000);
    // In the history: the webhook's pullByIds was scheduled before the cycle's pullEntity had finished
    // (fetched one after the other, it would come after the cycle's pushEntity and publishEvents).
    const history = (await handle.fetchHistory()).events ?? [];
    const kinds = new Map<string, string>();
    let fetchScheduledAt = -1;
    let pullCompletedAt = -1;
    for (const [i, e] of history.entries()) {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (name) kinds.set(String(e.eventId), name);
      if (name === 'pullByIds' && fetchScheduledAt < 0) fetchScheduledAt = i;
      const done = e.activityTaskCompletedEventAttributes;
      if (done && kinds.get(String(done.scheduledEventId)) === 'pullEntity') pullCompletedAt = i; // the mid-cycle one is the last
    }
    assert.ok(fetchScheduledAt >= 0, 'the webhook fetch ran');
    assert.ok(fetchScheduledAt < pullCompletedAt, 'the webhook fetch started while the cycle was pulling');
  });
});

describe('continue-as-new under a webhook stream that never pauses', () => {
  test('a run forced to close holds its webhook signals meanwhile: it continues-as-new, the next run releases them, nothing is lost', async () => {
    // A cycle every 2 s and one cycle per run: every run is due to close; the stream never pauses
    // 250 ms, so it closes only once its history passes 150 events, with the webhooks held.
    const h = await setup({ env: { ...env, SYNC_INTERVAL: '2', SYNC_CYCLES_PER_RUN: '1', SYNC_FORCE_CONTINUE_AT_EVENTS: '150' } });
    const seeded = h.sandbox.seed('contacts', 40);
    await h.cycle('contact');
    const id = syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix);
    const { app } = api(h);
    const stream = streamPhones(h, seeded, 25, async (c) => {
      const body = JSON.stringify(events('contact', 'propertyChange', [c.id]));
      const res = await app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: body, headers: signV3(body) });
      assert.equal(res.statusCode, 200);
    });
    /** The runs that held their signals before continuing-as-new, and the runs that released them. */
    const runs = async () => {
      const held: string[] = [];
      const released: string[] = [];
      for await (const r of h.client.workflow.list({ query: `WorkflowId = "${id}"` })) {
        const { events: evs } = await h.client.workflow.getHandle(id, r.runId).fetchHistory();
        const acts = (evs ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
        if (acts.includes('holdWebhookSignals') && evs?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes) held.push(r.runId);
        if (acts.includes('releaseWebhookSignals')) released.push(r.runId);
      }
      return { held, released };
    };
    try {
      await waitFor('a run closed with its signals held, and the next released them', async () => {
        const r = await runs();
        return r.held.length >= 1 && r.released.length >= 1 ? r : undefined;
      }, 90_000, 1_000);
      const at = stream.sent();
      await waitFor('the stream goes on into the next run', async () => stream.sent() >= at + 40 || undefined, 20_000, 100);
    } finally {
      await stream.stop();
    }
    await waitFor('no hold left, the inbox drained', async () =>
      (await count(h.db, 'SELECT count(*) n FROM webhook_hold')) === 0 && (await count(h.db, 'SELECT count(*) n FROM webhook_inbox')) === 0 || undefined, 20_000, 200);
    await everyPhoneAsInHubSpot(h, seeded.length);
    await app.close();
  });
});

describe('webhook fetch pacing (pure)', () => {
  test('back-to-back fetches never spend more than a budget drawn on allows, and 65% of it under pressure; budgets not drawn on, daily caps and limits off set no pace', () => {
    const general = { window: '10s', limit: 100 };
    // HubSpot's 100 requests / 10 s with 20 left: 2 requests are 200 ms of the rate, 308 ms at 65%.
    assert.equal(Math.round(webhookPaceMs([{ ...general, left: 20, drawn: 2 }])), 308);
    // Half or more of the window left: the budget's own rate (a stream does not fill the window in a burst).
    assert.equal(Math.round(webhookPaceMs([{ ...general, left: 60, drawn: 2 }])), 200);
    // A budget under pressure that this fetch drew on sets the pace; one it did not draw on (search, emptied by polling) sets none.
    assert.equal(Math.round(webhookPaceMs([{ window: '1s', limit: 5, left: 1, drawn: 2 }, { ...general, left: 90, drawn: 2 }])), 615);
    assert.equal(Math.round(webhookPaceMs([{ window: '1s', limit: 5, left: 0, drawn: 0 }, { ...general, left: 90, drawn: 1 }])), 100);
    // A daily cap is a total, not a rate; limits off: nothing to wait for; never more than 1 s.
    assert.equal(webhookPaceMs([{ window: '1d', limit: 50, left: 1, drawn: 3 }]), 0);
    assert.ok(webhookPaceMs([{ window: '10s', limit: 1_000_000, left: 10, drawn: 2 }]) < 1);
    assert.equal(webhookPaceMs([{ window: '60s', limit: 10, left: 0, drawn: 5 }]), 1000);
    assert.equal(webhookPaceMs([]), 0);
  });
});
