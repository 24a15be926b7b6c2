/**
 * A connection running without its push channel or Gmail watch (users.watch refused: a topic outside
 * the project) is visible on the worker's /metrics: aurora_sync_watch_active{system,connection,type}
 * is 0 for it and 1 for the types whose channels are open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../src/metrics';
import { harnessPerTest } from './helpers';

const setup = harnessPerTest();
const ANA = 'ana@acme.test';

async function watchGauge(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  return Object.fromEntries((await metrics.watchActive.get()).values.map((v) => [`${v.labels.system}/${v.labels.connection}/${v.labels.type}`, v.value]));
}

test('aurora_sync_watch_active: 0 for a Gmail mailbox whose users.watch was refused, 1 where the channels are open', async () => {
  const h = await setup({
    google: { users: [ANA] },
    // notifications go to a port where nothing listens (this test reads the metric, not the deliveries)
    env: { PUSH_CHANNELS: 'true', PUBLIC_BASE_URL: 'http://127.0.0.1:9', GMAIL_PUBSUB_TOPIC: 'projects/not-the-sandbox/topics/aurora-gmail' },
  });
  h.google!.calendar.seed(ANA, ANA, 1);
  await h.cycleOf({ system: 'google_workspace', connection: ANA });
  const gauge = await watchGauge(h.deps.metrics);
  assert.equal(gauge[`google_workspace/${ANA}/email`], 0, `users.watch was refused: ${JSON.stringify(gauge)}`);
  assert.equal(gauge[`google_workspace/${ANA}/calendar_event`], 1, JSON.stringify(gauge));
  assert.equal(gauge[`google_workspace/${ANA}/email_label`], undefined, 'nothing to watch: no series');
  const text = await h.deps.metrics.registry.metrics();
  assert.match(text, new RegExp(`aurora_sync_watch_active\\{system="google_workspace",connection="${ANA}",type="email"\\} 0`));
});

test('observeWatch: every resource needs a live, unexpired channel; nothing to watch removes the series', async () => {
  const m = createMetrics();
  const labels = { system: 'google_workspace', connection: ANA, type: 'calendar_event' };
  const soon = new Date(Date.now() + 3_600_000).toISOString();
  const value = async () => (await m.watchActive.get()).values.find((v) => v.labels.type === 'calendar_event')?.value;
  m.observeWatch(labels, ['a', 'b'], [{ resource: 'a', expiresAt: soon }, { resource: 'b', expiresAt: soon }]);
  assert.equal(await value(), 1);
  m.observeWatch(labels, ['a', 'b'], [{ resource: 'a', expiresAt: soon }]);
  assert.equal(await value(), 0, 'one calendar without a channel');
  m.observeWatch(labels, ['a'], [{ resource: 'a', expiresAt: new Date(Date.now() - 1000).toISOString() }]);
  assert.equal(await value(), 0, 'expired');
  m.observeWatch(labels, ['a'], [{ resource: 'a', expiresAt: soon, stopped: true }]);
  assert.equal(await value(), 0, 'stopped');
  m.observeWatch(labels, [], []);
  assert.equal(await value(), undefined);
});
