/** readAhead (pure): the source's reads run ahead of the consumer, in order, errors in their place. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAhead } from '../src/core/iter';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('readAhead: up to `ahead` reads under way while the consumer works; order kept; an error after the items before it; a break closes the source', async () => {
  const log: string[] = [];
  let closed = false;
  async function* source(fail?: number) {
    try {
      for (let i = 0; i < 6; i++) {
        log.push(`read ${i}`);
        await tick();
        if (i === fail) throw new Error(`page ${i} failed`);
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  const got: number[] = [];
  for await (const x of readAhead(source(), 3)) {
    got.push(x);
    if (x === 0) {
      await tick(); await tick(); await tick(); await tick(); // the consumer writing its page
      assert.deepEqual(log, ['read 0', 'read 1', 'read 2', 'read 3'], 'three reads ahead of the one consumed, no more');
    }
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
  assert.ok(closed);

  const before: number[] = [];
  await assert.rejects(async () => { for await (const x of readAhead(source(2), 4)) before.push(x); }, /page 2 failed/);
  assert.deepEqual(before, [0, 1], 'the items before the failed read were handed on first');

  closed = false;
  log.length = 0;
  for await (const x of readAhead(source(), 2)) if (x === 1) break;
  assert.ok(closed, 'a break closes the source');
  assert.ok(log.length <= 4, `no reads after the break beyond those under way (${log.join(', ')})`);
});
