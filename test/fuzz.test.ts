/**
 * The hostile-input fuzzer, short (FUZZ_REQUESTS, default 300, and FUZZ_PER_ENDPOINT, default 8:
 * every endpoint at least that many; `npm run fuzz` sends 1,200+, `-- --per-endpoint 1000` 1,000 to
 * each): forged, missing and stale signatures, replays, wrong content types, invalid and nested
 * JSON, huge bodies, odd encodings, unknown systems, hostile ids, invalid resolutions and triggers,
 * wrong tokens and cookies, foreign origins, ciphertext that does not decrypt, to every webhook,
 * REST, codec and open endpoint of a real API with a real worker. Nothing unverified starts or
 * signals a workflow, no row changes, no 5xx, no crash, no record content in /health, /metrics or a
 * refused answer, memory flat; the valid deliveries and codec calls mixed in are accepted (and
 * signal exactly once each).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENDPOINTS, failures, formatReport, runFuzz } from '../fuzz/lib';
import { fuzzOptions } from '../fuzz/run';

test('hostile and malformed requests to every endpoint change nothing; the valid ones among them are accepted', async () => {
  const opts = fuzzOptions([], process.env, { requests: 300, perEndpoint: 8, seed: 7 });
  const report = await runFuzz(opts);
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
  // every endpoint reached (as the API's router says), the codec's and the open ones included
  assert.ok(report.requests >= opts.requests);
  for (const e of ENDPOINTS) assert.ok(Object.values(report.endpoints[e] ?? {}).reduce((a, b) => a + b, 0) >= opts.perEndpoint, `${e}: at least ${opts.perEndpoint} requests`);
  assert.ok((report.endpoints['POST /codec/decode']?.['401'] ?? 0) > 0 && (report.endpoints['POST /codec/decode']?.['200'] ?? 0) > 0, 'codec: refused without credentials, answered with them');
  assert.ok((report.endpoints['OPTIONS /codec/decode']?.['403'] ?? 0) + (report.endpoints['OPTIONS /codec/encode']?.['403'] ?? 0) > 0, 'preflights from foreign origins refused');
  assert.ok(report.outcomes['codec/valid_decode'] || report.outcomes['codec/valid_encode'], 'valid codec calls mixed in (checked: decode gives back the plaintext, encode what decrypts to it)');
  assert.deepEqual(report.leaks, [], 'no record content or secret in /health, /metrics or a refused answer');
  assert.ok(report.revealedToAuthorized > 0, 'the leak check finds such content where it may be (authorized reads, decodes)');
  assert.deepEqual(failures(report), []);
});
