/**
 * The hostile-input fuzzer, short (FUZZ_REQUESTS, default 300; `npm run fuzz` sends 1,200+): forged,
 * missing and stale signatures, replays, wrong content types, invalid and nested JSON, huge bodies,
 * odd encodings, unknown systems, hostile ids, invalid resolutions and triggers, wrong tokens, to
 * every webhook and REST endpoint of a real API with a real worker. Nothing unverified starts or
 * signals a workflow, no row changes, no 5xx, no crash, memory flat; the valid deliveries mixed in
 * are accepted and signal exactly once each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failures, formatReport, runFuzz } from '../fuzz/lib';
import { fuzzOptions } from '../fuzz/run';

test('hostile and malformed requests to every endpoint change nothing; the valid ones among them are accepted', async () => {
  const report = await runFuzz(fuzzOptions([], process.env, { requests: 300, seed: 7 }));
  for (const line of formatReport(report)) console.log(line);
  assert.equal(report.crashed, false, 'no uncaught exception');
  assert.deepEqual(report.serverErrors, [], 'no 5xx');
  assert.deepEqual(report.unexpected, [], 'every answer is one its case allows (4xx for everything unverified)');
  assert.ok(report.valid.sent >= 10, 'valid deliveries were mixed in');
  assert.equal(report.valid.accepted, report.valid.sent, 'every valid delivery accepted');
  assert.deepEqual(report.temporal.newWorkflowIds, [], 'no workflow started');
  assert.equal(report.temporal.signalsTotal, report.valid.expectedSignals, 'signals: exactly those of the valid deliveries');
  assert.equal(report.temporal.conflictSignals, 0);
  assert.equal(report.temporal.updatesAccepted, 0, 'no resolution accepted');
  assert.ok(report.temporal.schedules >= 2, 'schedules exist to be fuzzed');
  assert.deepEqual(report.temporal.schedulesChanged, [], 'no schedule paused, unpaused, triggered or backfilled');
  assert.deepEqual(report.tables.changed, [], 'no row changed');
  assert.equal(report.tables.newEventIds, report.tables.expectedEventIds, 'webhook event ids: exactly the valid deliveries');
  assert.ok(Object.keys(report.outcomes).length >= 40, 'many kinds of request');
  assert.deepEqual(failures(report), []);
});
