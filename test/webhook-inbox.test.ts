/**
 * The webhook inbox (src/api/webhooks/forward.ts, src/store/inbox.ts): a delivery's work is kept in
 * Postgres and answered; the forwarder hands it on as one signal per workflow and entity type per
 * round (deliveries arriving meanwhile go out together in the next; a workflow's signals in order),
 * deletes exactly what Temporal accepted and keeps the rest for a retry, backing off per workflow;
 * a workflow's signals wait while it holds them. Against a real Postgres; `send` stands for Temporal
 * (the API tests in webhooks.test.ts and webhook-replays.test.ts use the real one).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { groupInbox, InboxForwarder, type InboxGroup } from '../src/api/webhooks/forward';
import { loadConfig } from '../src/config';
import { createPool } from '../src/store/db';
import { enqueueWork, holdSignals, inboxBacklog, releaseSignals } from '../src/store/inbox';
import { migrate } from '../src/store/migrate';
import { baseEnv, count, freshDatabase, waitFor } from './helpers';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
const key = (g: InboxGroup) => `${g.target.system}/${g.target.connection}/${g.entityType}${'incremental' in g ? '/incremental' : ''}`;

describe('grouping the inbox into signals (pure)', () => {
  test('one signal per workflow, entity type and kind; ids each once in arrival order; the rows each group came from', () => {
    const groups = groupInbox([
      { id: '1', system: 'hubspot', work: [{ connection: 'default', entityType: 'contact', ids: ['1'] }] },
      { id: '2', system: 'hubspot', work: [{ connection: 'default', entityType: 'contact', ids: ['2', '3'] }, { connection: 'default', entityType: 'deal', ids: ['9'] }] },
      { id: '3', system: 'hubspot', work: [{ connection: 'default', entityType: 'contact', ids: ['3', '4'] }] },
      { id: '4', system: 'google_workspace', work: [{ connection: 'ana@acme.test', entityType: 'drive_file', incremental: true }] },
      { id: '5', system: 'google_workspace', work: [{ connection: 'ana@acme.test', entityType: 'drive_file', incremental: true }] },
      { id: '6', system: 'google_workspace', work: [{ connection: 'bob@acme.test', entityType: 'drive_file', incremental: true }] },
    ]);
    assert.deepEqual(
      groups.map((g) => [key(g), 'ids' in g ? g.ids : null, g.rows]),
      [
        ['hubspot/default/contact', ['1', '2', '3', '4'], ['1', '2', '3']],
        ['hubspot/default/deal', ['9'], ['2']],
        ['google_workspace/ana@acme.test/drive_file/incremental', null, ['4', '5']],
        ['google_workspace/bob@acme.test/drive_file/incremental', null, ['6']],
      ],
    );
  });

  test('an id stays property-only only while every delivery naming it says so (one association change: read whole)', () => {
    const w = (ids: string[], propertyOnly?: string[]) => ({ connection: 'default', entityType: 'contact', ids, ...(propertyOnly ? { propertyOnly } : {}) });
    const [g] = groupInbox([
      { id: '1', system: 'hubspot', work: [w(['1', '2'], ['1', '2'])] },
      { id: '2', system: 'hubspot', work: [w(['2', '3'], ['3'])] }, // 2: an association change
      { id: '3', system: 'hubspot', work: [w(['4', '3'], ['3'])] }, // 4: a creation
      { id: '4', system: 'hubspot', work: [w(['5'], ['5'])] },
      { id: '5', system: 'hubspot', work: [w(['2'], ['2'])] }, // still read whole: one delivery said otherwise
    ]);
    assert.ok(g && 'ids' in g);
    assert.deepEqual(g.ids, ['1', '2', '3', '4', '5']);
    assert.deepEqual(g.propertyOnly, ['1', '3', '5']);
    const [plain] = groupInbox([{ id: '1', system: 'hubspot', work: [w(['6'])] }]);
    assert.ok(plain && 'ids' in plain);
    assert.equal(plain.propertyOnly, undefined, 'none property-only: the signal carries no list (the shape of signals before it)');
  });
});

describe('the forwarder (real Postgres)', () => {
  let db: Pool;
  let drop: () => Promise<void>;
  before(async () => {
    const fresh = await freshDatabase();
    drop = fresh.drop;
    db = createPool(loadConfig({ ...baseEnv(), POSTGRES_DB: fresh.name }).postgres, 4);
    await migrate(db);
  });
  after(async () => {
    await db.end();
    await drop();
  });

  /** A forwarder whose Temporal refuses every signal to bob's workflow with `error` until accept(). */
  const refusingBob = (error: string, retryMs: number) => {
    const sent: string[] = [];
    let refuse = true;
    const f = new InboxForwarder(
      db,
      async (g) => {
        sent.push(key(g));
        if (refuse && g.target.connection === 'bob@acme.test') throw new Error(error);
      },
      { retryMs },
    );
    return { f, sent, accept: () => void (refuse = false) };
  };

  test('a round at once, then one signal per workflow and type for everything that arrived meanwhile; rows gone once accepted', async () => {
    await db.query('DELETE FROM webhook_inbox');
    const sent: { key: string; ids: string[] | null; done: ReturnType<typeof deferred> }[] = [];
    const f = new InboxForwarder(db, (g) => {
      const done = deferred();
      sent.push({ key: key(g), ids: 'ids' in g ? g.ids : null, done });
      return done.promise;
    });
    f.start();
    try {
      await enqueueWork(db, 'hubspot', [{ connection: 'default', entityType: 'contact', ids: ['1'] }]);
      f.wake();
      await waitFor('first round', async () => sent.length === 1 || undefined, 5_000);
      // while that signal is on its way
      await enqueueWork(db, 'hubspot', [{ connection: 'default', entityType: 'contact', ids: ['2', '3'] }]);
      f.wake();
      await enqueueWork(db, 'hubspot', [{ connection: 'default', entityType: 'contact', ids: ['3', '4'] }, { connection: 'default', entityType: 'deal', ids: ['9'] }]);
      f.wake();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(sent.length, 1, 'nothing more while a round is on its way');
      assert.equal((await inboxBacklog(db)).rows, 3);
      sent[0]!.done.resolve();
      await waitFor('second round', async () => sent.length === 2 || undefined, 5_000);
      assert.deepEqual([sent[1]!.key, sent[1]!.ids], ['hubspot/default/contact', ['2', '3', '4']], 'what came meanwhile, in one signal, each id once');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(sent.length, 2, 'the workflow\'s next signal only once this one was accepted (it fetches in the order signals land)');
      sent[1]!.done.resolve();
      await waitFor('then the deals', async () => sent.length === 3 || undefined, 5_000);
      assert.deepEqual([sent[2]!.key, sent[2]!.ids], ['hubspot/default/deal', ['9']]);
      assert.equal(await count(db, 'SELECT count(*) n FROM webhook_inbox'), 2, 'kept until accepted');
      sent[2]!.done.resolve();
      await waitFor('inbox empty', async () => (await count(db, 'SELECT count(*) n FROM webhook_inbox')) === 0 || undefined, 5_000);
    } finally {
      sent.forEach((s) => s.done.resolve());
      await f.stop();
    }
  });

  test('a signal Temporal refused keeps exactly its rows (attempts, error) and is sent again after a backoff; the others are gone', async () => {
    await db.query('DELETE FROM webhook_inbox');
    const { f, sent, accept } = refusingBob('14 UNAVAILABLE: connect ECONNREFUSED', 200);
    await enqueueWork(db, 'google_workspace', [{ connection: 'ana@acme.test', entityType: 'calendar_event', ids: ['e1'] }]);
    await enqueueWork(db, 'google_workspace', [{ connection: 'bob@acme.test', entityType: 'drive_file', incremental: true }]);
    // rows left by an API that stopped: found at start, without a wake
    f.start();
    try {
      await waitFor('first round', async () => sent.length >= 2 || undefined, 5_000);
      await waitFor('settled', async () => (await count(db, 'SELECT count(*) n FROM webhook_inbox')) === 1 || undefined, 5_000);
      const { rows } = await db.query<{ work: { connection: string }[]; attempts: number; last_error: string }>('SELECT work, attempts, last_error FROM webhook_inbox');
      assert.equal(rows[0]!.work[0]!.connection, 'bob@acme.test');
      assert.ok(rows[0]!.attempts >= 1);
      assert.match(rows[0]!.last_error, /UNAVAILABLE/);
      accept();
      await waitFor('retried and gone', async () => (await count(db, 'SELECT count(*) n FROM webhook_inbox')) === 0 || undefined, 5_000);
      assert.equal(sent.filter((k) => k.startsWith('google_workspace/ana')).length, 1, 'the accepted signal is not sent again');
    } finally {
      await f.stop();
    }
  });
  test('a workflow refusing signals backs off on its own: the others\' deliveries go out meanwhile, its rows are not sent again until its retry', async () => {
    await db.query('DELETE FROM webhook_inbox');
    const { f, sent, accept } = refusingBob('5 NOT_FOUND: workflow is closing', 3_000);
    f.start();
    try {
      await enqueueWork(db, 'google_workspace', [{ connection: 'bob@acme.test', entityType: 'drive_file', ids: ['f1'] }]);
      f.wake();
      await waitFor('bob refused', async () => sent.length === 1 || undefined, 5_000);
      for (let i = 0; i < 5; i++) {
        await enqueueWork(db, 'google_workspace', [{ connection: 'ana@acme.test', entityType: 'calendar_event', ids: [`e${i}`] }, { connection: 'bob@acme.test', entityType: 'drive_file', ids: [`f${i + 2}`] }]);
        f.wake();
        await waitFor(`ana's delivery ${i}`, async () => sent.filter((k) => k.startsWith('google_workspace/ana')).length === i + 1 || undefined, 2_000, 20);
      }
      assert.equal(sent.filter((k) => k.startsWith('google_workspace/bob')).length, 1, 'bob\'s rows left alone during his backoff');
      assert.equal(await count(db, "SELECT count(*) n FROM webhook_inbox WHERE connection = 'bob@acme.test'"), 6, 'and kept');
      assert.equal(await count(db, "SELECT count(*) n FROM webhook_inbox WHERE connection = 'ana@acme.test'"), 0);
      accept();
      await waitFor('bob retried after his backoff, all of it in one signal', async () => (await count(db, 'SELECT count(*) n FROM webhook_inbox')) === 0 || undefined, 10_000);
      assert.equal(sent.filter((k) => k.startsWith('google_workspace/bob')).length, 2);
    } finally {
      await f.stop();
    }
  });

  test('a workflow holding its signals gets none until it releases them; the hold waits for a round on its way; others go on', async () => {
    await db.query('DELETE FROM webhook_inbox');
    const sent: { key: string; ids: string[] | null; done: ReturnType<typeof deferred> }[] = [];
    let gate = true;
    const f = new InboxForwarder(db, (g) => {
      const done = deferred();
      sent.push({ key: key(g), ids: 'ids' in g ? g.ids : null, done });
      if (!gate) done.resolve();
      return done.promise;
    }, { holdPollMs: 50 });
    f.start();
    try {
      await enqueueWork(db, 'hubspot', [{ connection: 'default', entityType: 'contact', ids: ['1'] }]);
      f.wake();
      await waitFor('a round on its way', async () => sent.length === 1 || undefined, 5_000);
      let holding = true;
      const hold = holdSignals(db, 'hubspot', 'default', 30).then(() => (holding = false));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(holding, true, 'the hold waits while a signal to the workflow is on its way');
      gate = false;
      sent[0]!.done.resolve();
      await hold;
      await enqueueWork(db, 'hubspot', [{ connection: 'default', entityType: 'contact', ids: ['2'] }]);
      await enqueueWork(db, 'hubspot', [{ connection: '999', entityType: 'contact', ids: ['7'] }]);
      f.wake();
      await waitFor('the other portal\'s signal', async () => sent.some((s) => s.key === 'hubspot/999/contact') || undefined, 5_000);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(sent.map((s) => s.key), ['hubspot/default/contact', 'hubspot/999/contact'], 'nothing to the holding workflow');
      assert.equal(await count(db, "SELECT count(*) n FROM webhook_inbox WHERE connection = 'default'"), 1, 'its delivery kept');
      await releaseSignals(db, 'hubspot', 'default');
      // no wake: the forwarder looks again while rows wait for a hold
      await waitFor('forwarded once released', async () => sent.length === 3 || undefined, 5_000);
      assert.deepEqual([sent[2]!.key, sent[2]!.ids], ['hubspot/default/contact', ['2']]);
      await waitFor('inbox empty', async () => (await count(db, 'SELECT count(*) n FROM webhook_inbox')) === 0 || undefined, 5_000);
    } finally {
      sent.forEach((s) => s.done.resolve());
      await f.stop();
    }
  });

  test('a hold ends by itself when nobody releases it', async () => {
    await db.query('DELETE FROM webhook_inbox');
    const sent: string[] = [];
    const f = new InboxForwarder(db, async (g) => void sent.push(key(g)), { holdPollMs: 50 });
    await holdSignals(db, 'hubspot', 'default', 1);
    await enqueueWork(db, 'hubspot', [{ connection: 'default', entityType: 'deal', ids: ['3'] }]);
    f.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sent.length, 0);
      await waitFor('sent once the hold expired', async () => sent.length === 1 || undefined, 5_000);
    } finally {
      await f.stop();
      await releaseSignals(db, 'hubspot', 'default');
    }
  });

  test('a delivery naming two connections is kept as one row each; rows from before migration 011 are split the same way, in order', async () => {
    await db.query('DELETE FROM webhook_inbox');
    await enqueueWork(db, 'google_workspace', [
      { connection: 'ana@acme.test', entityType: 'calendar_event', ids: ['e1'] },
      { connection: 'bob@acme.test', entityType: 'drive_file', ids: ['f1'] },
      { connection: 'ana@acme.test', entityType: 'email_thread', ids: ['t1'] },
    ]);
    const rows = async () => (await db.query<{ connection: string; work: { entityType: string }[] }>('SELECT connection, work FROM webhook_inbox ORDER BY id')).rows.map((r) => [r.connection, r.work.map((w) => w.entityType)]);
    assert.deepEqual(await rows(), [['ana@acme.test', ['calendar_event', 'email_thread']], ['bob@acme.test', ['drive_file']]]);
    await db.query('DELETE FROM webhook_inbox');
    // as an API before migration 011 wrote them (the HubSpot work without a connection: the default)
    await db.query(`INSERT INTO webhook_inbox (system, work, attempts) VALUES
      ('google_workspace', '[{"connection":"bob@acme.test","entityType":"drive_file","ids":["f1"]},{"connection":"ana@acme.test","entityType":"calendar_event","ids":["e1"]}]', 2),
      ('hubspot', '[{"entityType":"contact","ids":["5"]}]', 0)`);
    await db.query(readFileSync(join(__dirname, '..', 'src', 'store', 'migrations', '011_webhook_hold.sql'), 'utf8'));
    const { rows: after } = await db.query<{ system: string; connection: string; attempts: number }>('SELECT system, connection, attempts FROM webhook_inbox ORDER BY id');
    assert.deepEqual(after.map((r) => [r.system, r.connection, r.attempts]), [['google_workspace', 'bob@acme.test', 2], ['google_workspace', 'ana@acme.test', 2], ['hubspot', 'default', 0]]);
  });
});
