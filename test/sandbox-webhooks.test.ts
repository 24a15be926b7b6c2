/**
 * Outgoing webhooks of the HubSpot sandbox: a tiny node:http receiver records every delivery (headers
 * and raw body) and can be told to fail; the sandbox must batch, sign and retry like HubSpot.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Client } from '@hubspot/api-client';
import { startHubSpotSandbox, type HubSpotSandbox, type WebhookEvent, type WebhookOptions } from '../src/sandbox/hubspot/index';

const SECRET = 'shh-client-secret';

interface Delivery {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  events: WebhookEvent[];
  at: number;
}

interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** answer `status` (default 500) to the next `n` requests */
  failNext(n: number, status?: number, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  let failing = 0;
  let failStatus = 500;
  let failHeaders: Record<string, string> = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      deliveries.push({ method: req.method!, url: req.url!, headers: req.headers, raw, events: JSON.parse(raw) as WebhookEvent[], at: Date.now() });
      if (failing > 0) {
        failing--;
        res.writeHead(failStatus, failHeaders).end('nope');
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/hubspot?tenant=t1`,
    deliveries,
    failNext(n, status = 500, headers = {}) {
      failing = n;
      failStatus = status;
      failHeaders = headers;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function withSetup(
  wh: Partial<WebhookOptions>,
  fn: (sb: HubSpotSandbox, rx: Receiver) => Promise<void>,
): Promise<void> {
  const rx = await startReceiver();
  const sb = await startHubSpotSandbox({
    rateLimits: false,
    webhooks: { targetUrl: rx.url, clientSecret: SECRET, appId: 777, portalId: 4242, batchWindowMs: 30, retryBaseMs: 50, ...wh },
  });
  try {
    await fn(sb, rx);
  } finally {
    await sb.close();
    await rx.close();
  }
}

const all = (rx: Receiver): WebhookEvent[] => rx.deliveries.flatMap((d) => d.events);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function verify(d: Delivery, uri: string): void {
  const ts = d.headers['x-hubspot-request-timestamp'] as string;
  assert.match(ts, /^\d{13}$/);
  assert.ok(Math.abs(Date.now() - Number(ts)) < 60_000, 'timestamp is recent epoch ms');
  const v3 = createHmac('sha256', SECRET).update(`POST${uri}${d.raw}${ts}`, 'utf8').digest('base64');
  assert.equal(d.headers['x-hubspot-signature-v3'], v3, 'v3 signature');
  const v1 = createHash('sha256').update(SECRET + d.raw, 'utf8').digest('hex');
  assert.equal(d.headers['x-hubspot-signature'], v1, 'v1 signature');
  assert.equal(d.headers['x-hubspot-signature-version'], 'v1');
  assert.match(String(d.headers['content-type']), /^application\/json/);
  assert.equal(d.method, 'POST');
}

test('a user update produces signed contact.propertyChange events', async () => {
  await withSetup({}, async (sb, rx) => {
    const c = sb.seed('contacts', 1)[0]!;
    const before = Date.now();
    sb.userUpdate('contacts', c.id, { firstname: 'Grace', jobtitle: 'Admiral' });
    // no change -> nothing
    sb.userUpdate('contacts', c.id, { firstname: 'Grace' });
    await sb.webhooks.flush();
    assert.equal(rx.deliveries.length, 1);
    const d = rx.deliveries[0]!;
    verify(d, rx.url);
    assert.equal(d.url, '/hooks/hubspot?tenant=t1');
    const evs = d.events;
    assert.deepEqual(evs.map((e) => e.propertyName).sort(), ['firstname', 'jobtitle']);
    const rec = sb.get('contacts', c.id)!;
    for (const e of evs) {
      assert.deepEqual(Object.keys(e), [
        'eventId', 'subscriptionId', 'portalId', 'appId', 'occurredAt', 'subscriptionType', 'attemptNumber', 'objectId',
        'changeSource', 'sourceId', 'propertyName', 'propertyValue',
      ]);
      assert.equal(e.subscriptionType, 'contact.propertyChange');
      assert.equal(typeof e.eventId, 'number');
      assert.equal(typeof e.subscriptionId, 'number');
      assert.equal(e.portalId, 4242);
      assert.equal(e.appId, 777);
      assert.equal(e.objectId, Number(c.id));
      assert.equal(e.attemptNumber, 0);
      assert.equal(e.changeSource, 'CRM_UI');
      assert.match(e.sourceId, /^userId:\d+$/);
      assert.equal(e.occurredAt, Date.parse(rec.updatedAt));
      assert.ok(e.occurredAt >= before);
    }
    assert.equal(evs.find((e) => e.propertyName === 'firstname')!.propertyValue, 'Grace');
    assert.equal(evs.find((e) => e.propertyName === 'jobtitle')!.propertyValue, 'Admiral');
    assert.equal(evs[0]!.subscriptionId, evs[1]!.subscriptionId, 'stable subscriptionId per type');
    assert.ok(evs[1]!.eventId > evs[0]!.eventId);

    // clearing a value -> propertyValue ""
    sb.userUpdate('contacts', c.id, { jobtitle: null });
    await sb.webhooks.flush();
    const cleared = rx.deliveries[1]!.events;
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]!.propertyValue, '');
    assert.ok(cleared[0]!.eventId > evs[1]!.eventId);
    assert.deepEqual(sb.webhooks.stats(), { sent: 3, delivered: 3, failed: 0, attempts: 2, pending: 0 });
  });
});

test('changes within the window share a batch; more than maxBatch are split', async () => {
  await withSetup({ batchWindowMs: 150, maxBatch: 40 }, async (sb, rx) => {
    const ids = sb.seed('companies', 30).map((r) => r.id);
    for (const id of ids) sb.userUpdate('companies', id, { name: `v1 ${id}` });
    await sleep(400); // the window closes by itself
    assert.equal(rx.deliveries.length, 1, 'one batch');
    assert.equal(rx.deliveries[0]!.events.length, 30);

    for (const id of ids) sb.userUpdate('companies', id, { name: `v2 ${id}`, industry: 'COMPUTER_SOFTWARE' });
    await sb.webhooks.flush();
    const sizes = rx.deliveries.slice(1).map((d) => d.events.length);
    assert.deepEqual(sizes.sort((a, b) => b - a), [40, 20]);
    for (const d of rx.deliveries) verify(d, rx.url);
    const evIds = all(rx).map((e) => e.eventId);
    assert.equal(new Set(evIds).size, 90, 'eventIds unique');
    assert.ok(all(rx).every((e) => e.subscriptionType === 'company.propertyChange'));
  });
});

test('API writes through @hubspot/api-client report changeSource INTEGRATION', async () => {
  await withSetup({ signatureUri: 'https://aurora.example.com/hooks/hubspot?tenant=t1' }, async (sb, rx) => {
    const client = new Client({ accessToken: 'x', basePath: sb.url, numberOfApiCallRetries: 0 });
    const company = await client.crm.companies.basicApi.create({ properties: { name: 'Initech', domain: 'initech.example' }, associations: [] });
    const contact = await client.crm.contacts.basicApi.create({ properties: { email: 'peter@initech.example', firstname: 'Peter' }, associations: [] });
    await client.crm.contacts.basicApi.update(contact.id, { properties: { lastname: 'Gibbons' } });
    await client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'peter@initech.example', idProperty: 'email', properties: { phone: '555-0100' } }] });
    await client.crm.associations.v4.basicApi.createDefault('contacts', contact.id, 'companies', company.id);
    await client.crm.deals.batchApi.create({ inputs: [{ properties: { dealname: 'TPS', closedate: '2025-03-01T00:00:00.000Z' }, associations: [] }] });
    await client.crm.associations.v4.basicApi.archive('contacts', contact.id, 'companies', company.id);
    await client.crm.companies.basicApi.archive(company.id);
    await sb.webhooks.flush();

    for (const d of rx.deliveries) verify(d, 'https://aurora.example.com/hooks/hubspot?tenant=t1');
    const evs = all(rx);
    assert.ok(evs.length > 0);
    for (const e of evs) {
      assert.equal(e.changeSource, 'INTEGRATION');
      assert.equal(e.sourceId, 'app:777');
    }
    const types = (t: string) => evs.filter((e) => e.subscriptionType === t);
    assert.deepEqual(types('company.creation').map((e) => e.objectId), [Number(company.id)]);
    assert.deepEqual(types('contact.creation').map((e) => e.objectId), [Number(contact.id)]);
    const contactProps = types('contact.propertyChange').map((e) => `${e.propertyName}=${e.propertyValue}`);
    for (const p of ['email=peter@initech.example', 'firstname=Peter', 'lastname=Gibbons', 'phone=555-0100']) assert.ok(contactProps.includes(p), p);
    assert.ok(!contactProps.some((p) => /^(hs_lastmodifieddate|lastmodifieddate|hs_object_id|createdate)=/.test(p)), 'no system properties');
    const dealClose = types('deal.propertyChange').find((e) => e.propertyName === 'closedate')!;
    assert.equal(dealClose.propertyValue, String(Date.parse('2025-03-01T00:00:00.000Z')), 'datetimes as epoch ms');

    const assoc = [...types('contact.associationChange'), ...types('company.associationChange')];
    const added = assoc.filter((e) => !e.associationRemoved);
    const removed = assoc.filter((e) => e.associationRemoved);
    assert.deepEqual(added.map((e) => e.associationType).sort(), ['COMPANY_TO_CONTACT', 'CONTACT_TO_COMPANY']);
    assert.deepEqual(removed.map((e) => e.associationType).sort(), ['COMPANY_TO_CONTACT', 'CONTACT_TO_COMPANY']);
    const c2c = added.find((e) => e.associationType === 'CONTACT_TO_COMPANY')!;
    assert.equal(c2c.fromObjectId, Number(contact.id));
    assert.equal(c2c.toObjectId, Number(company.id));
    assert.equal(c2c.objectId, Number(contact.id));
    assert.equal(c2c.subscriptionType, 'contact.associationChange');
    assert.deepEqual(types('company.deletion').map((e) => e.objectId), [Number(company.id)]);
  });
});

test('a 500 answer is retried with attemptNumber 1, the same eventIds and a fresh signature', async () => {
  await withSetup({}, async (sb, rx) => {
    rx.failNext(1);
    const c = sb.userCreate('contacts', { email: 'retry@example.com' });
    await sb.webhooks.flush();
    assert.equal(rx.deliveries.length, 2);
    const [first, second] = rx.deliveries as [Delivery, Delivery];
    verify(first, rx.url);
    verify(second, rx.url);
    assert.ok(first.events.every((e) => e.attemptNumber === 0));
    assert.ok(second.events.every((e) => e.attemptNumber === 1));
    assert.deepEqual(second.events.map((e) => e.eventId), first.events.map((e) => e.eventId));
    assert.deepEqual(second.events.map((e) => ({ ...e, attemptNumber: 0 })), first.events);
    assert.ok(second.at - first.at >= 35, 'backoff ≈ retryBaseMs (±20%)');
    assert.ok(second.events.some((e) => e.subscriptionType === 'contact.creation' && e.objectId === Number(c.id)));
    assert.deepEqual(sb.webhooks.stats(), { sent: 2, delivered: 2, failed: 0, attempts: 2, pending: 0 });
  });
});

test('429 Retry-After is honoured; after maxAttempts the batch is dropped as failed', async () => {
  await withSetup({ maxAttempts: 3, retryBaseMs: 20 }, async (sb, rx) => {
    rx.failNext(1, 429, { 'retry-after': '1' });
    sb.userCreate('deals', { dealname: 'Slow' });
    await sb.webhooks.flush();
    assert.equal(rx.deliveries.length, 2);
    assert.ok(rx.deliveries[1]!.at - rx.deliveries[0]!.at >= 950, 'waited Retry-After: 1 s');

    rx.failNext(5, 503);
    sb.userUpdate('deals', sb.list('deals')[0]!.id, { dealname: 'Doomed' });
    await sb.webhooks.flush();
    const doomed = rx.deliveries.slice(2);
    assert.deepEqual(doomed.map((d) => d.events[0]!.attemptNumber), [0, 1, 2]);
    const s = sb.webhooks.stats();
    assert.equal(s.failed, 1);
    assert.equal(s.pending, 0);
    assert.equal(s.attempts, 5);
  });
});

test('user create / associate / archive produce creation, associationChange and deletion events', async () => {
  await withSetup({}, async (sb, rx) => {
    const co = sb.userCreate('companies', { name: 'Acme', domain: 'acme.example' });
    const deal = sb.userCreate('deals', { dealname: 'Anvils', amount: '100' });
    sb.userAssociate('deals', deal.id, 'companies', co.id);
    sb.userArchive('deals', deal.id);
    sb.userArchive('deals', deal.id); // idempotent: no second deletion
    await sb.webhooks.flush();
    const evs = all(rx);
    assert.ok(evs.every((e) => e.changeSource === 'CRM_UI'));
    const summary = evs.map((e) => `${e.subscriptionType}:${e.objectId}${e.propertyName ? `:${e.propertyName}` : ''}`);
    assert.deepEqual(summary, [
      `company.creation:${co.id}`,
      `company.propertyChange:${co.id}:name`,
      `company.propertyChange:${co.id}:domain`,
      `deal.creation:${deal.id}`,
      `deal.propertyChange:${deal.id}:dealname`,
      `deal.propertyChange:${deal.id}:amount`,
      `deal.associationChange:${deal.id}`,
      `company.associationChange:${co.id}`,
      `deal.deletion:${deal.id}`,
    ]);
    const creation = evs.find((e) => e.subscriptionType === 'deal.creation')!;
    assert.equal(creation.occurredAt, Date.parse(deal.createdAt));
    assert.ok(!('propertyName' in creation));
    const d2c = evs.find((e) => e.subscriptionType === 'deal.associationChange')!;
    assert.equal(d2c.associationType, 'DEAL_TO_COMPANY');
    assert.equal(d2c.associationRemoved, false);
    assert.equal(d2c.isPrimaryAssociation, true);
    const del = evs.find((e) => e.subscriptionType === 'deal.deletion')!;
    assert.equal(del.occurredAt, Date.parse(sb.get('deals', deal.id, { includeArchived: true })!.archivedAt!));
    const ids = evs.map((e) => e.eventId);
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'eventIds increase');
  });
});

test('seed sends nothing; webhooks can be turned off and on through the admin API', async () => {
  const rx = await startReceiver();
  const sb = await startHubSpotSandbox({ rateLimits: false });
  try {
    sb.userCreate('contacts', { email: 'before@example.com' }); // webhooks off: not recorded
    const put = (body: unknown) =>
      fetch(`${sb.url}/_sandbox/webhooks`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await put({ targetUrl: 'not a url', clientSecret: 'x' });
    assert.equal(bad.status, 400);
    const ok = await put({ targetUrl: rx.url, clientSecret: SECRET, batchWindowMs: 10, retryBaseMs: 50 });
    assert.equal(ok.status, 200);
    const desc = (await ok.json()) as { options: { clientSecret: string; targetUrl: string; maxBatch: number } };
    assert.equal(desc.options.clientSecret, '***');
    assert.equal(desc.options.maxBatch, 100);

    sb.seed('contacts', 50);
    sb.seed('deals', 20);
    await sb.webhooks.flush();
    await sleep(50);
    assert.equal(rx.deliveries.length, 0, 'seeding sends nothing');
    assert.equal(sb.webhooks.stats().sent, 0);

    sb.userCreate('contacts', { email: 'after@example.com' });
    const flushed = await fetch(`${sb.url}/_sandbox/webhooks/flush`, { method: 'POST' });
    assert.equal(flushed.status, 200);
    assert.equal(rx.deliveries.length, 1);
    verify(rx.deliveries[0]!, rx.url);
    assert.equal(rx.deliveries[0]!.events[0]!.sourceId, 'userId:123');

    assert.equal((await put(null)).status, 200);
    sb.userCreate('contacts', { email: 'off@example.com' });
    await sleep(50);
    assert.equal(rx.deliveries.length, 1, 'off again');
  } finally {
    await sb.close();
    await rx.close();
  }
});

test('close() drops pending deliveries and keeps nothing alive', async () => {
  const rx = await startReceiver();
  rx.failNext(100);
  const sb = await startHubSpotSandbox({ rateLimits: false, webhooks: { targetUrl: rx.url, clientSecret: SECRET, batchWindowMs: 5, retryBaseMs: 60_000 } });
  sb.userCreate('contacts', { email: 'pending@example.com' });
  await sleep(100);
  assert.equal(rx.deliveries.length, 1);
  assert.ok(sb.webhooks.stats().pending > 0, 'waiting for a retry a minute away');
  const flushing = sb.webhooks.flush();
  await sb.close();
  await flushing; // close() releases flush waiters
  assert.equal(sb.webhooks.stats().pending, 0);
  await rx.close();
});
