/**
 * Webhook signals go out as a group commit (src/api/webhooks/coalesce.ts): the first delivery is
 * signalled at once; deliveries arriving while that signal is on its way go out together as the
 * next one; each waits for the signal carrying its ids, and a failed signal fails exactly its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalCoalescer } from '../src/api/webhooks/coalesce';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('webhook signal group commit', () => {
  test('one signal at once, then one for everything that arrived meanwhile, per workflow and type', async () => {
    const sent: { key: string; ids: string[]; done: ReturnType<typeof deferred> }[] = [];
    const c = new SignalCoalescer((target, entityType, ids) => {
      const done = deferred();
      sent.push({ key: `${target.system}/${target.connection ?? ''}/${entityType}`, ids, done });
      return done.promise;
    });
    const settled: string[] = [];
    const track = (name: string, p: Promise<void>) => p.then(() => settled.push(name), () => settled.push(`${name}!`));
    const a = track('a', c.signal({ system: 'hubspot' }, 'contact', ['1']));
    const b = track('b', c.signal({ system: 'hubspot' }, 'contact', ['2', '3']));
    const d = track('d', c.signal({ system: 'hubspot' }, 'contact', ['3', '4']));
    const other = track('deal', c.signal({ system: 'hubspot' }, 'deal', ['9']));
    const conn = track('ana', c.signal({ system: 'google_workspace', connection: 'ana@acme.test' }, 'contact', ['1']));
    assert.deepEqual(sent.map((s) => [s.key, s.ids]), [['hubspot//contact', ['1']], ['hubspot//deal', ['9']], ['google_workspace/ana@acme.test/contact', ['1']]], 'one signal at once per workflow and type');
    sent[0]!.done.resolve();
    await a;
    assert.deepEqual(settled, ['a'], 'the gathered deliveries wait for their own signal');
    assert.equal(sent.length, 4);
    assert.deepEqual(sent[3]!.ids, ['2', '3', '4'], 'the deliveries that came meanwhile, in one signal, each id once');
    sent[3]!.done.reject(new Error('temporal unreachable'));
    await Promise.all([b, d]);
    assert.deepEqual(settled.slice(1), ['b!', 'd!'], 'a failed signal fails the deliveries it carried');
    sent[1]!.done.resolve();
    sent[2]!.done.resolve();
    await Promise.all([other, conn]);
    // idle again: the next delivery goes out at once
    const e = c.signal({ system: 'hubspot' }, 'contact', ['5']);
    assert.deepEqual(sent[4]!.ids, ['5']);
    sent[4]!.done.resolve();
    await e;
  });

  test('an id gathered stays property-only only while every delivery naming it says so (one association change: read whole)', async () => {
    const sent: { ids: string[]; propertyOnly?: string[]; done: ReturnType<typeof deferred> }[] = [];
    const c = new SignalCoalescer((_target, _entityType, ids, propertyOnly) => {
      const done = deferred();
      sent.push({ ids, propertyOnly, done });
      return done.promise;
    });
    const first = c.signal({ system: 'hubspot' }, 'contact', ['1', '2'], ['1', '2']);
    assert.deepEqual(sent[0]!.propertyOnly, ['1', '2']);
    const later = [
      c.signal({ system: 'hubspot' }, 'contact', ['2', '3'], ['3']), // 2: an association change
      c.signal({ system: 'hubspot' }, 'contact', ['4', '3'], ['3']), // 4: a creation
      c.signal({ system: 'hubspot' }, 'contact', ['5'], ['5']),
      c.signal({ system: 'hubspot' }, 'contact', ['2'], ['2']), // still read whole: one delivery said otherwise
    ];
    sent[0]!.done.resolve();
    await first;
    assert.deepEqual(sent[1]!.ids, ['2', '3', '4', '5']);
    assert.deepEqual(sent[1]!.propertyOnly, ['3', '5']);
    sent[1]!.done.resolve();
    await Promise.all(later);
    // none property-only: the signal carries no list (the shape of signals before it)
    const plain = c.signal({ system: 'hubspot' }, 'contact', ['6']);
    assert.equal(sent[2]!.propertyOnly, undefined);
    sent[2]!.done.resolve();
    await plain;
  });
});
