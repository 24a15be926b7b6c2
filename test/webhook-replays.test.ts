/**
 * Hostile input on the webhook endpoints (issue 13): bodies that are not UTF-8 (the signature covers
 * the exact bytes: unverifiable ones get 401, verified ones 400 saying why), and replays — a Google
 * channel notification's message number or a Gmail push's message id seen before, a Gmail push
 * published longer ago than Pub/Sub keeps messages, a Fireflies delivery whose signed timestamp is
 * old — acknowledged (so the sender does not retry), counted, and signalling nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { buildApi } from '../src/api/server';
import { eventIdRetentionDays } from '../src/api/webhooks/routes';
import { loadConfig } from '../src/config';
import { createMetrics } from '../src/metrics';
import { syncWorkflowId } from '../src/workflows/definitions';
import { count, harnessPerTest, waitFor, type Harness } from './helpers';

const setup = harnessPerTest();
const SECRET = 'hubspot-app-client-secret';
const env = { HUBSPOT_CLIENT_SECRET: SECRET, PUBLIC_BASE_URL: 'https://aurora.example.com' };

async function metricValue(metrics: ReturnType<typeof createMetrics>, outcome: string): Promise<number> {
  return (await metrics.webhooks.get()).values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

const ANA = 'ana@acme.test';
const FF_SECRET = 'fireflies-webhook-secret-0123';
const PUSH_TOKEN = 'gmail-push-token-0123456789abcdef';
/** Bytes that are not UTF-8: a lone continuation, 0xFF/0xFE, an encoded surrogate (as in fuzz/lib.ts). */
const NOT_UTF8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x22, 0x7d]);

/** Signals the workflow has received, from its history (every run). */
async function signalsOf(h: Harness, workflowId: string): Promise<number> {
  let n = 0;
  for await (const wf of h.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const history = await h.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    n += (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }
  return n;
}

describe('hostile encodings and replays', () => {
  test('a body that is not UTF-8: 401 unless verified, then 400 saying so (the signature covers the exact bytes)', async () => {
    const h = await setup({ env: { ...env, FIREFLIES_WEBHOOK_SECRET: FF_SECRET } });
    const metrics = createMetrics();
    const app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, metrics, configuredSystems: new Set(['hubspot', 'fireflies']) });
    try {
      const ts = Date.now();
      const uri = 'https://aurora.example.com/api/webhooks/hubspot';
      const v3 = createHmac('sha256', SECRET).update(`POST${uri}`).update(NOT_UTF8).update(String(ts)).digest('base64');
      const hs = (sig: string) => app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: NOT_UTF8, headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': sig, 'x-hubspot-request-timestamp': String(ts) } });
      const signed = await hs(v3);
      assert.equal(signed.statusCode, 400, signed.body);
      assert.match(signed.json().error, /not valid UTF-8/);
      const forged = await hs(createHmac('sha256', 'not-the-secret').update(NOT_UTF8).digest('base64'));
      assert.equal(forged.statusCode, 401, 'an unverifiable body learns nothing about its encoding');
      assert.doesNotMatch(forged.body, /UTF-8/);
      const v1 = await app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: NOT_UTF8, headers: { 'content-type': 'application/json', 'x-hubspot-signature': createHash('sha256').update(SECRET).update(NOT_UTF8).digest('hex'), 'x-hubspot-signature-version': 'v1' } });
      assert.equal(v1.statusCode, 400, 'v1 signs the bytes too');

      const ff = (sig: string) => app.inject({ method: 'POST', url: '/api/webhooks/fireflies', payload: NOT_UTF8, headers: { 'content-type': 'application/json', 'x-hub-signature': sig } });
      const ffSigned = await ff(`sha256=${createHmac('sha256', FF_SECRET).update(NOT_UTF8).digest('hex')}`);
      assert.equal(ffSigned.statusCode, 400, ffSigned.body);
      assert.match(ffSigned.json().error, /not valid UTF-8/);
      assert.equal((await ff(createHmac('sha256', 'other-secret-0123456').update(NOT_UTF8).digest('hex'))).statusCode, 401);
      // a UTF-16 body (BOM FF FE) is not UTF-8 either
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"event":"meeting.transcribed","meeting_id":"m1"}', 'utf16le')]);
      const bom = await app.inject({ method: 'POST', url: '/api/webhooks/fireflies', payload: utf16, headers: { 'content-type': 'application/json', 'x-hub-signature': createHmac('sha256', FF_SECRET).update(utf16).digest('hex') } });
      assert.equal(bom.statusCode, 400);

      assert.equal(await metricValue(metrics, 'malformed'), 4);
      assert.equal(await metricValue(metrics, 'bad_signature'), 2);
      assert.equal(await count(h.db, 'SELECT count(*) n FROM webhook_events'), 0, 'nothing recorded');
      for await (const wf of h.client.workflow.list({ query: `WorkflowId STARTS_WITH "${h.cfg.temporal.workflowIdPrefix}"` })) assert.fail(`nothing should have started, found ${wf.workflowId}`);
    } finally {
      await app.close();
    }
  });

  test('Google: a replayed channel notification or Gmail push signals nothing (200, counted as duplicate); stale pushes are ignored', async () => {
    const h = await setup({ google: { users: [ANA] }, env: { PUSH_CHANNELS: 'true', GMAIL_PUSH_TOKEN: PUSH_TOKEN, FIREFLIES_WEBHOOK_SECRET: FF_SECRET } });
    const metrics = createMetrics();
    const app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, metrics, configuredSystems: new Set(['google_workspace', 'fireflies']) });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      h.cfg.webhooks.publicBaseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      h.google!.calendar.seed(ANA, ANA, 2);
      await h.cycleOf({ system: 'google_workspace', connection: ANA });
      await h.google!.channels.flush(); // the channels' own `sync` messages have arrived
      const ch = h.google!.channels.active()[0]!;
      assert.ok(ch, 'a push channel was opened');
      const wf = syncWorkflowId('google_workspace', h.cfg.temporal.workflowIdPrefix, ANA);
      const base = await signalsOf(h, wf);
      // Each delivery's work is handed on before the next (the inbox's forwarder would otherwise send several in one signal).
      const drained = async <T>(res: T): Promise<T> => {
        await waitFor('the inbox forwarded', async () => (await count(h.db, 'SELECT count(*) n FROM webhook_inbox')) === 0 || undefined, 10_000);
        return res;
      };
      const notify = async (number: string, state = 'exists') =>
        drained(await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: { 'x-goog-channel-id': ch.id, 'x-goog-channel-token': ch.token!, 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': state, 'x-goog-message-number': number } }));

      const first = await notify('1000');
      assert.equal(first.statusCode, 200);
      assert.deepEqual(first.json(), { accepted: 1, state: 'exists' });
      const again = await notify('1000');
      assert.equal(again.statusCode, 200, 'acknowledged, so Google does not retry');
      assert.deepEqual(again.json(), { accepted: 0, duplicate: true });
      assert.equal((await notify('0001000')).json().duplicate, true, 'the same number written differently');
      // numbers are not sequential and may come out of order: an earlier unseen one is a new message
      assert.deepEqual((await notify('990')).json(), { accepted: 1, state: 'exists' });
      const noNumber = await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: { 'x-goog-channel-id': ch.id, 'x-goog-channel-token': ch.token!, 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': 'exists' } });
      assert.equal(noNumber.statusCode, 400);
      assert.equal((await notify('12a')).statusCode, 400);
      // a forged notification does not use up a number
      const forged = await app.inject({ method: 'POST', url: '/api/webhooks/google', headers: { 'x-goog-channel-id': ch.id, 'x-goog-channel-token': 'forged', 'x-goog-resource-id': ch.resourceId, 'x-goog-resource-state': 'exists', 'x-goog-message-number': '2000' } });
      assert.equal(forged.statusCode, 401);
      assert.equal((await notify('2000')).json().accepted, 1);

      // Gmail: the same message id twice; a push published 8 days ago; one without publishTime.
      const push = async (messageId: string, publishTime?: string) =>
        drained(await app.inject({
          method: 'POST',
          url: `/api/webhooks/google?token=${PUSH_TOKEN}`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: ANA, historyId: 1 })).toString('base64'), messageId, ...(publishTime ? { publishTime } : {}) }, subscription: 'projects/p/subscriptions/s' }),
        }));
      const now = new Date().toISOString();
      assert.deepEqual((await push('m-1', now)).json(), { accepted: 1 });
      assert.deepEqual((await push('m-1', now)).json(), { accepted: 0, duplicate: true });
      const stale = await push('m-2', new Date(Date.now() - 8 * 86_400_000).toISOString());
      assert.equal(stale.statusCode, 200, 'acknowledged: Pub/Sub would not deliver it any more, so it is a replay');
      assert.equal(stale.json().stale, true);
      assert.equal((await push('m-3')).statusCode, 400, 'Pub/Sub always sets publishTime');
      const notUtf8 = await app.inject({ method: 'POST', url: `/api/webhooks/google?token=${PUSH_TOKEN}`, headers: { 'content-type': 'application/json' }, payload: NOT_UTF8 });
      assert.equal(notUtf8.statusCode, 400);
      assert.match(notUtf8.json().error, /not valid UTF-8/);
      assert.equal((await app.inject({ method: 'POST', url: '/api/webhooks/google?token=wrong-token', headers: { 'content-type': 'application/json' }, payload: NOT_UTF8 })).statusCode, 401);

      // Fireflies v2: its signed timestamp two days old is a replay; the same delivery twice is one.
      const ffPost = (body: string) => app.inject({ method: 'POST', url: '/api/webhooks/fireflies', payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature': `sha256=${createHmac('sha256', FF_SECRET).update(body).digest('hex')}` } });
      const old = await ffPost(JSON.stringify({ event: 'meeting.transcribed', meeting_id: 'm-old', timestamp: Date.now() - 2 * 86_400_000 }));
      assert.equal(old.statusCode, 200);
      assert.equal(old.json().stale, true);

      // 3 channel notifications and 1 push were new: exactly that many signals.
      await waitFor('signals recorded', async () => (await signalsOf(h, wf)) >= base + 4 || undefined, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await signalsOf(h, wf), base + 4, 'replays signalled nothing');
      assert.equal(await metricValue(metrics, 'duplicate'), 3);
      assert.equal(await metricValue(metrics, 'stale'), 2);
      const numbers = (await h.db.query("SELECT event_id FROM webhook_events WHERE system = 'google_workspace' AND event_id LIKE $1 ORDER BY 1", [`channel:${ch.id}:%`])).rows.map((r) => r.event_id.split(':').pop());
      assert.deepEqual(numbers.filter((n: string) => Number(n) >= 100), ['1000', '2000', '990'], 'each number the channel had, once (the forged one not among them)');
      await assert.rejects(h.client.workflow.getHandle(syncWorkflowId('fireflies', h.cfg.temporal.workflowIdPrefix)).describe(), 'the stale Fireflies delivery started nothing');
    } finally {
      await app.close();
    }
  });

  test('event ids are kept longer than a delivery can be replayed: a channel\'s lifetime, Pub/Sub\'s 7 days, and a day more', () => {
    assert.equal(eventIdRetentionDays(loadConfig({ SECRETS_DIR: '/nonexistent' })), 8);
    assert.equal(eventIdRetentionDays(loadConfig({ SECRETS_DIR: '/nonexistent', GOOGLE_CHANNEL_TTL_SECONDS: String(14 * 86_400) })), 15);
    assert.equal(eventIdRetentionDays(loadConfig({ SECRETS_DIR: '/nonexistent', GOOGLE_CHANNEL_TTL_SECONDS: '3600' })), 8, 'never below Pub/Sub\'s retention');
  });
});

describe('a delivery whose work cannot be handed on at once', () => {
  test('Temporal unreachable: 200 all the same, the work waits in the inbox and reaches the workflow once Temporal answers; a repeat is a duplicate', async () => {
    const h = await setup({ env });
    const down = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 1_000 }), namespace: h.cfg.temporal.namespace });
    const body = JSON.stringify([{ eventId: 7001, subscriptionType: 'contact.propertyChange', objectId: 4242, propertyName: 'phone', occurredAt: Date.now() }]);
    const deliver = async (temporal: Client) => {
      const app = buildApi({ cfg: h.cfg, db: h.db, temporal, configuredSystems: new Set(['hubspot']) });
      try {
        const ts = Date.now();
        const sig = createHmac('sha256', SECRET).update(`POSThttps://aurora.example.com/api/webhooks/hubspot${body}${ts}`).digest('base64');
        return await app.inject({ method: 'POST', url: '/api/webhooks/hubspot', payload: body, headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': sig, 'x-hubspot-request-timestamp': String(ts) } });
      } finally {
        await app.close(); // waits for the forwarder's round on its way
      }
    };
    const wf = syncWorkflowId('hubspot', h.cfg.temporal.workflowIdPrefix);
    const accepted = await deliver(down);
    assert.equal(accepted.statusCode, 200, accepted.body);
    const { rows } = await h.db.query<{ work: unknown; attempts: number; last_error: string | null }>('SELECT work, attempts, last_error FROM webhook_inbox');
    assert.equal(rows.length, 1, 'the work is kept');
    assert.deepEqual(rows[0]!.work, [{ connection: 'default', entityType: 'contact', ids: ['4242'], propertyOnly: ['4242'] }]);
    assert.ok(rows[0]!.attempts >= 1 && rows[0]!.last_error, 'the failed signal is on the row');
    assert.equal(await signalsOf(h, wf), 0);
    // An API that reaches Temporal (this one after a restart, or another one) forwards it; the sender's repeat is a duplicate.
    const repeated = await deliver(h.client);
    assert.equal(repeated.statusCode, 200, repeated.body);
    assert.equal(await count(h.db, 'SELECT count(*) n FROM webhook_inbox'), 0, 'forwarded and gone');
    await waitFor('the workflow got the kept work', async () => (await signalsOf(h, wf)) >= 1 || undefined, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await signalsOf(h, wf), 1, 'one signal: the repeat was a duplicate');
    assert.equal(await count(h.db, "SELECT count(*) n FROM webhook_events WHERE system = 'hubspot'"), 1);
  });
});
