/**
 * Replay: every history recorded in test/fixtures/histories (by record.ts, from earlier versions of the
 * workflow code) must replay with the current workflow code without a nondeterminism error. Workflows
 * run for months; a change that breaks one of these breaks the executions that are running in production.
 * See test/fixtures/histories/README.md. Needs no services: replay runs in-process.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { historyFromJSON as sdkHistoryFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import * as workflows from '../src/workflows';
import { workflowBundle } from './helpers';

Runtime.install({ logger: new DefaultLogger('WARN') }); // this file runs in its own process

const DIR = join(__dirname, 'fixtures', 'histories');
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as Record<string, { workflowId: string; runId: string; events: number }>;
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && f !== 'index.json')
  .sort();

/**
 * The SDK's historyFromJSON, or the same conversion with the protobufjs copy @temporalio/proto was built
 * with: in this install @temporalio/common and @temporalio/proto each have their own nested protobufjs 8,
 * so the SDK's function fails with "type must be a Type" (an instanceof across copies). The replay
 * worker calls historyFromJSON itself for JSON input, so it is given the History object instead.
 */
function historyFromJSON(json: unknown): History {
  try {
    return sdkHistoryFromJSON(json);
  } catch (err) {
    if (!(err instanceof TypeError && /must be a Type/.test(err.message))) throw err;
    const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
      fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
    };
    const type = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');
    return protojson.fromJson(type, json, { ignoreUnknownFields: true }) as History;
  }
}

const load = (file: string): History => historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));

/** The workflow type a history ran (from its WorkflowExecutionStarted event). */
const workflowTypeOf = (history: History): string | undefined => history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;

describe('replay of recorded workflow histories', () => {
  test('the fixtures are all there: one index entry per history, at least 5, each with more than 10 events', () => {
    assert.ok(files.length >= 5, `expected at least 5 histories in ${DIR}, found ${files.length}`);
    assert.deepEqual(Object.keys(index).sort(), files, 'index.json lists exactly the history files');
    for (const file of files) {
      const events = load(file).events ?? [];
      assert.ok(events.length > 10, `${file}: only ${events.length} events`);
      assert.equal(events.length, index[file]!.events, `${file}: event count differs from index.json`);
    }
  });

  test('every workflow type the worker registers has at least one history here', () => {
    // (the worker registers what src/workflows/index.ts exports; a new type needs its fixtures recorded)
    const registered = Object.entries(workflows).filter(([, v]) => typeof v === 'function').map(([name]) => name).sort();
    assert.ok(registered.includes('reconcileWorkflow') && registered.includes('renewChannelsWorkflow'), `registered workflow types: ${registered.join(', ')}`);
    const byType = new Map<string, string[]>();
    for (const file of files) {
      const type = workflowTypeOf(load(file));
      assert.ok(type, `${file}: no WorkflowExecutionStarted event first`);
      byType.set(type, [...(byType.get(type) ?? []), file]);
    }
    for (const type of registered) assert.ok(byType.get(type)?.length, `no history of ${type} in ${DIR}: record one (README.md there)`);
    assert.deepEqual([...byType.keys()].filter((t) => !registered.includes(t)), [], 'every history is of a registered workflow type (a removed type breaks its running executions)');
  });

  test('every history replays with the current workflow code', async () => {
    const histories = files.map((file) => ({ file, workflowId: index[file]!.workflowId, history: load(file) }));
    const failures: string[] = [];
    let replayed = 0;
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), replayName: 'fixtures' },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    // One at a time, in order: the n-th result is the n-th history.
    for await (const result of results) {
      const { file, workflowId } = histories[replayed]!;
      replayed++;
      assert.equal(result.workflowId, workflowId, `${file}: results came back out of order`);
      if (result.error) {
        failures.push(`${file} (${result.workflowId}): ${result.error.name}: ${result.error.message}`);
      }
    }
    assert.equal(replayed, files.length, 'every fixture was replayed');
    if (failures.length) assert.fail(`${failures.length} of ${files.length} histories do not replay with the current workflow code:\n${failures.join('\n')}`);
  });
});
