/**
 * The short chaos run (`npm run chaos -- --quick` has the rest): on the suite's own Postgres, Redis
 * and Temporal dev server, a real worker process SIGKILLed 5 times during a HubSpot backfill and
 * twice during a Google backfill (Calendar, Gmail and Drive of one mailbox), and Redis stopped
 * mid-cycle while changes are made on both sides of HubSpot. Each ends with both sides equal record
 * by record, nothing duplicated, versions as a clean run's and every change announced.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QUICK, infrastructure, killDuringBackfill, rngFor, type Ctx, type Row } from '../chaos/scenarios';
import { startServices, type Services } from '../chaos/services';
import { formatTable } from '../chaos/table';

let services: Services;
const sizes = { ...QUICK, backfill: 2_000, base: 300, faultChanges: 40, redisDownMs: 5_000, recoverTimeoutMs: 90_000, heartbeatTimeout: 2 };
const ctx = (): Ctx => ({ services, sizes, rng: rngFor(1313), log: (m) => console.error(`[chaos] ${m}`) });

function assertClean(r: Row): void {
  const table = formatTable([r]);
  assert.equal(r.error, undefined, table);
  const v = r.verdict;
  assert.ok(v, table);
  assert.ok(r.faultCount >= 1, `faults were injected\n${table}`);
  assert.equal(v.lost, 0, table);
  assert.equal(v.lostUpdates, 0, table);
  assert.equal(v.mismatched, 0, table);
  assert.equal(v.duplicatedAurora, 0, table);
  assert.equal(v.duplicatedExternal, 0, table);
  assert.equal(v.registryRows, v.checked, `registry rows = records\n${table}`);
  assert.equal(v.versionInflated, 0, table);
  assert.equal(v.eventsMissing, 0, `every change announced\n${table}`);
  assert.equal(v.eventsSpurious, 0, `nothing announced that did not change\n${table}`);
  assert.equal(v.outboxPending, 0, table);
  assert.ok(v.ok, table);
}

describe('chaos (short)', () => {
  before(async () => {
    services = await startServices({ fsync: false });
  });
  after(async () => {
    await services?.close();
  });

  test('a worker SIGKILLed 5 times during a backfill: every record once, versions clean, every record announced', async () => {
    const [r] = await killDuringBackfill(ctx());
    assert.ok(r);
    assert.equal(r.faultCount, 5, `5 kills during the backfill\n${formatTable([r])}`);
    assertClean(r);
  });

  test('Google (Calendar, Gmail, Drive): a worker SIGKILLed during a backfill (2 kill points), each product record by record', async () => {
    const rows = await killDuringBackfill({ ...ctx(), sizes: { ...sizes, backfill: 400, kills: 2 } }, 'google');
    assert.deepEqual(rows.map((r) => r.system), ['Calendar', 'Gmail', 'Drive']);
    for (const r of rows) {
      assert.ok(r.faultCount >= 1, `killed during the backfill\n${formatTable(rows)}`);
      assertClean(r);
    }
  });

  test('Redis down mid-cycle: both sides synced, every event delivered through the stream in outbox order', async () => {
    const [r] = await infrastructure(ctx(), ['3b']);
    assert.ok(r);
    assertClean(r);
    assert.ok(r.notes.some((n) => / in outbox order/.test(n)), formatTable([r]));
    assert.ok(r.notes.some((n) => /^[1-9]\d* events waiting in the outbox/.test(n)), `events waited while Redis was down\n${formatTable([r])}`);
  });
});
