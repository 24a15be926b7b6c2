/** WritePipeline (pure): pulled pages written at once where they do not overlap, gathered while the writes are busy, settled in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WritePipeline } from '../src/core/pipeline';
import { pageKeys } from '../src/store/pull-plan';
import { pushKeys } from '../src/store/push';
import { hubspotSpec } from '../src/connectors/hubspot/entities';
import { DRIVE_FILE } from '../src/connectors/google_workspace/drive/entities';

interface Page {
  n: number;
  ids: string[];
  refs?: string[];
  fail?: boolean;
}

/** A pipeline whose writes take `ms` each, recording what ran at once and what was settled. */
function harness(opts: { concurrency: number; maxItems: number; ms?: number }) {
  const log = { writes: [] as number[][], settled: [] as number[], maxAtOnce: 0, atOnce: 0, overlapping: [] as string[] };
  const live = new Set<string>();
  const pipe = new WritePipeline<Page, number>({
    ...opts,
    size: (p) => p.ids.length,
    keys: (p) => ({ own: p.ids, refs: p.refs ?? [] }),
    write: async (pages) => {
      log.writes.push(pages.map((p) => p.n));
      log.atOnce++;
      log.maxAtOnce = Math.max(log.maxAtOnce, log.atOnce);
      const names = pages.flatMap((p) => [...p.ids, ...(p.refs ?? [])]);
      for (const k of names) if (live.has(k)) log.overlapping.push(k);
      const mine = pages.flatMap((p) => p.ids);
      for (const k of mine) live.add(k);
      await new Promise((r) => setTimeout(r, opts.ms ?? 10));
      for (const k of mine) live.delete(k);
      log.atOnce--;
      if (pages.some((p) => p.fail)) throw new Error(`write of ${pages.map((p) => p.n).join('+')} failed`);
      return pages.length;
    },
    settle: async (pages) => {
      await new Promise((r) => setTimeout(r, 1));
      log.settled.push(...pages.map((p) => p.n));
    },
  });
  return { pipe, log };
}

const page = (n: number, ids: string[], extra: Partial<Page> = {}): Page => ({ n, ids, ...extra });

test('pipeline: pages arriving faster than they are written run two at once, the rest gathered (up to maxItems), settled in page order', async () => {
  const { pipe, log } = harness({ concurrency: 2, maxItems: 4 });
  for (let i = 0; i < 10; i++) await pipe.add(page(i, [`r${2 * i}`, `r${2 * i + 1}`]));
  await pipe.drain();
  assert.equal(log.maxAtOnce, 2, 'two writes at once, never more');
  assert.deepEqual(log.settled, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'settled in page order');
  assert.deepEqual(log.writes.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each page written once, in order of start');
  assert.ok(log.writes.length < 10 && log.writes.every((w) => w.length <= 2), `pages waiting for a free write went together, up to 4 records: ${JSON.stringify(log.writes)}`);
  assert.deepEqual(log.overlapping, []);
});

test('pipeline: one at a time with concurrency 1; a slow source gets each page written as it comes', async () => {
  const one = harness({ concurrency: 1, maxItems: 1 });
  for (let i = 0; i < 4; i++) await one.pipe.add(page(i, [`r${i}`]));
  await one.pipe.drain();
  assert.equal(one.log.maxAtOnce, 1);
  assert.deepEqual(one.log.writes, [[0], [1], [2], [3]]);

  const slow = harness({ concurrency: 2, maxItems: 1000, ms: 2 });
  for (let i = 0; i < 4; i++) {
    await slow.pipe.add(page(i, [`r${i}`]));
    await new Promise((r) => setTimeout(r, 15)); // the API's next page takes longer than a write
    assert.deepEqual(slow.log.writes.flat(), Array.from({ length: i + 1 }, (_, k) => k), 'written without waiting for the next page');
  }
  await slow.pipe.drain();
  assert.deepEqual(slow.log.settled, [0, 1, 2, 3]);
});

test('pipeline: a page naming a record (or pointing at one) that a write under way names waits for it, and the pages after it too', async () => {
  const { pipe, log } = harness({ concurrency: 3, maxItems: 1 });
  await pipe.add(page(0, ['a']));
  await pipe.add(page(1, ['b']));
  await pipe.add(page(2, ['a'])); // the same record again (changed while listed)
  await pipe.add(page(3, ['c']));
  await pipe.add(page(4, ['d'], { refs: ['c'] })); // points at a record page 3 writes
  await pipe.drain();
  assert.deepEqual(log.overlapping, [], 'no write ran beside one naming the same record or the record it points at');
  assert.deepEqual(log.writes.flat(), [0, 1, 2, 3, 4], 'order of start kept');
  assert.deepEqual(log.settled, [0, 1, 2, 3, 4]);

  // Within a gathered write as well: a page overlapping the batch starts the next one.
  const g = harness({ concurrency: 1, maxItems: 10 });
  await g.pipe.add(page(0, ['x'])); // writing
  await g.pipe.add(page(1, ['y']));
  await g.pipe.add(page(2, ['y']));
  await g.pipe.add(page(3, ['z']));
  await g.pipe.drain();
  assert.deepEqual(g.log.writes, [[0], [1], [2, 3]]);
});

test('pipeline: a failed write is thrown after the writes before it are settled and those under way are done; nothing after it is settled or started', async () => {
  const { pipe, log } = harness({ concurrency: 2, maxItems: 1 });
  let added = 0;
  await assert.rejects(async () => {
    for (let i = 0; i < 8; i++) {
      await pipe.add(page(i, [`r${i}`], { fail: i === 3 }));
      added++;
      await new Promise((r) => setTimeout(r, 12)); // the next page takes longer than a write: the failure is seen before it
    }
    await pipe.drain();
  }, /write of 3 failed/);
  assert.deepEqual(log.settled, [0, 1, 2], 'the pages before the failure keep their progress');
  assert.equal(log.atOnce, 0, 'no write left running');
  assert.ok(!log.writes.flat().some((n) => n > 4), `nothing started after the failure was seen: ${JSON.stringify(log.writes)}`);
  assert.ok(added <= 6, `the reader is stopped once the failure is seen (pages taken: ${added})`);
});

test('pageKeys / pushKeys: external ids, Aurora ids, natural keys and deletions are the page\'s own; associations within the type are its refs', () => {
  const contact = hubspotSpec('contact');
  const k = pageKeys(contact, {
    records: [{ externalId: '1', auroraId: 'L1', archived: false, updatedAt: '', fields: { email: 'A@x.io', company_id: '9' } }],
    deletions: [{ externalId: '2' }],
  });
  assert.deepEqual([...k.own].sort(), ['a:L1', 'm:a@x.io', 'x:1', 'x:2']);
  assert.deepEqual(k.refs, [], 'a contact points at companies, another type: no page of contacts waits for it');

  const f = pageKeys(DRIVE_FILE, { records: [{ externalId: 'f2', auroraId: null, archived: false, updatedAt: '', fields: { parents: 'f0,f1' } }] });
  assert.deepEqual(f.refs, ['x:f0', 'x:f1'], 'a file waits for the page writing its folder');
  // Pushed: the batch's rows and the rows (Aurora ids) its folders are.
  const p = pushKeys(DRIVE_FILE, [{ localId: 'L2', version: 2, updatedAt: new Date(), deleted: false, fields: { parents: 'L0' }, hash: '', reg: null }]);
  assert.deepEqual(p, { own: ['a:L2'], refs: ['a:L0'] });
});
