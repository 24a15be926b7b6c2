/**
 * The generic engine with a system it has never heard of: a connector defined in this file (an
 * in-memory change feed) over a table created here. Proves that pages carry upserts and deletions
 * together, that a pull-only type is never pushed and its local edits are reported, and that the
 * engine needs nothing beyond the connector's definition. Real Postgres and Redis; no Temporal
 * (the activities are called as the workflow would).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config';
import { activitySettings, createActivities } from '../src/activities';
import type { ChangeCursor, ChangePage, Connector, ConnectorDefinition, ExternalDeletion, ExternalRecord, WriteOutcome } from '../src/connectors/types';
import { DEFAULT_CONNECTION, type EntitySpec } from '../src/core/model';
import { createRedis } from '../src/deps';
import { createMetrics } from '../src/metrics';
import { createPool } from '../src/store/db';
import { migrate } from '../src/store/migrate';
import { syncStatus } from '../src/store/status';
import { baseEnv, count, freshDatabase } from './helpers';

const NOTE: EntitySpec = { type: 'note', plural: 'notes', table: 'memo_notes', fields: { title: 'text', body: 'text', pinned: 'boolean', tags: 'json' }, direction: 'pull-only' };

/** An external system as a list of changes: each record version or deletion gets the next sequence number. */
class MemoSystem implements Connector {
  readonly system = 'memo';
  readonly connection = DEFAULT_CONNECTION;
  readonly batchSize = 10;
  writes = 0;
  private log: ({ seq: number } & ({ rec: ExternalRecord } | { del: ExternalDeletion }))[] = [];
  private seq = 0;
  put(id: string, fields: ExternalRecord['fields']) {
    this.log.push({ seq: ++this.seq, rec: { externalId: id, fields, updatedAt: new Date().toISOString(), auroraId: null, archived: false } });
  }
  get lastSeq() {
    return this.seq;
  }
  remove(id: string) {
    this.log.push({ seq: ++this.seq, del: { externalId: id } });
  }
  /** list in pages of this many changes (each with its cursor), not all in one */
  pageSize = 0;
  async *listChanges(_type: string, cursor: ChangeCursor | null): AsyncIterable<ChangePage> {
    const from = Number(cursor?.seq ?? 0);
    const changes = this.log.filter((c) => c.seq > from);
    for (let i = 0; this.pageSize && i < changes.length; i += this.pageSize) {
      const part = changes.slice(i, i + this.pageSize);
      yield {
        records: part.flatMap((c) => ('rec' in c ? [c.rec] : [])),
        deletions: part.flatMap((c) => ('del' in c ? [c.del] : [])),
        cursor: { seq: part[part.length - 1]!.seq },
      };
    }
    if (this.pageSize) return;
    // One page with both kinds, as Calendar, Gmail and Drive report them.
    yield {
      records: changes.flatMap((c) => ('rec' in c ? [c.rec] : [])),
      deletions: changes.flatMap((c) => ('del' in c ? [c.del] : [])),
      cursor: { seq: this.seq },
    };
  }
  async readByIds(): Promise<ExternalRecord[]> {
    return [];
  }
  private refuse = async (): Promise<WriteOutcome[]> => {
    this.writes++;
    throw new Error('a pull-only system is never written to');
  };
  create = this.refuse;
  update = this.refuse;
  delete = this.refuse;
}

const memo = new MemoSystem();
const definition: ConnectorDefinition = {
  system: 'memo',
  title: 'Memo',
  entities: [NOTE],
  parseConfig: () => ({}),
  connections: () => ({ connections: [DEFAULT_CONNECTION] }),
  create: () => memo,
};

describe('a new system through the generic engine', () => {
  const dbReady = freshDatabase();
  after(async () => (await dbReady).drop());

  test('inline deletions, and a pull-only type: never pushed, local edits reported, the external side wins', async () => {
    const database = await dbReady;
    const cfg = loadConfig({ ...baseEnv(), POSTGRES_DB: database.name });
    const db = createPool(cfg.postgres, 2);
    const redis = createRedis(cfg.redis);
    try {
      await migrate(db);
      await db.query(`CREATE TABLE memo_notes (id TEXT PRIMARY KEY, title TEXT, body TEXT, pinned BOOLEAN, tags JSONB,
        version INTEGER NOT NULL DEFAULT 1, updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), deleted_at TIMESTAMPTZ)`);
      await db.query(`SELECT aurora_track_table('memo_notes')`);
      const acts = createActivities({
        db, redis, metrics: createMetrics(), settings: activitySettings(cfg), definitions: [definition],
        connectors: { get: () => memo, configured: () => new Map([['memo', [DEFAULT_CONNECTION]]]) },
      });
      const input = { system: 'memo', entityType: 'notes', cursor: null };

      memo.put('n1', { title: 'Kickoff', body: 'agenda', pinned: 'true', tags: '["a","b"]' });
      memo.put('n2', { title: 'Retro', body: null, pinned: 'false', tags: null });
      memo.put('n3', { title: 'Gone soon', body: null, pinned: null, tags: null });
      const first = await acts.pullEntity(input);
      assert.equal(first.counts.created, 3);
      const { rows } = await db.query('SELECT id, title, pinned, tags FROM memo_notes ORDER BY title');
      assert.deepEqual(rows.map((r) => [r.title, r.pinned, r.tags]), [['Gone soon', null, null], ['Kickoff', true, ['a', 'b']], ['Retro', false, null]], 'kinds stored as their SQL types');

      // One page: an update and a deletion together.
      memo.put('n2', { title: 'Retro', body: 'went well', pinned: 'false', tags: null });
      memo.remove('n3');
      const second = await acts.pullEntity({ ...input, cursor: first.cursor });
      assert.equal(second.counts.updated, 1);
      assert.equal(second.counts.deleted, 1);
      assert.ok((await db.query("SELECT deleted_at FROM memo_notes WHERE title = 'Gone soon'")).rows[0].deleted_at);

      // Pull-only: a local edit is not sent, and is reported.
      await db.query("UPDATE memo_notes SET title = 'Kickoff (edited in Aurora)' WHERE title = 'Kickoff'");
      const pushed = await acts.pushEntity({ system: 'memo', entityType: 'note' });
      assert.equal(pushed.ignoredLocalEdits, 1);
      assert.equal(pushed.created + pushed.updated + pushed.deleted, 0);
      assert.equal(memo.writes, 0, 'the external system was never written to');
      const status = (await syncStatus(db, [definition])).memo!.notes!;
      assert.equal(status.direction, 'pull-only');
      assert.equal(status.local_edits_not_pushed, 1);

      // The external side changes it: its values win; Aurora's are kept on record.
      memo.put('n1', { title: 'Kickoff', body: 'agenda v2', pinned: 'true', tags: '["a","b"]' });
      await acts.pullEntity({ ...input, cursor: second.cursor });
      const n1 = (await db.query("SELECT m.title, m.body, r.last_resolution FROM memo_notes m JOIN sync_registry r ON r.local_id = m.id WHERE r.external_id = 'n1'")).rows[0];
      assert.equal(n1.title, 'Kickoff');
      assert.equal(n1.body, 'agenda v2');
      assert.equal(n1.last_resolution.policy, 'pull-only');
      assert.equal(n1.last_resolution.local.values.title, 'Kickoff (edited in Aurora)');
      assert.equal((await acts.pushEntity({ system: 'memo', entityType: 'note' })).ignoredLocalEdits, 0);
      assert.equal(await count(db, "SELECT count(*) n FROM sync_outbox WHERE channel = 'aurora:sync:note'"), 6, 'created ×3, updated, deleted, updated');

      // Pages written at once (2 writes, 12 records a write at most) give what writing them in turn
      // gives: a record changed again two pages later, or deleted, waits for the write that created it.
      const paged = createActivities({
        db, redis, metrics: createMetrics(), settings: { ...activitySettings(cfg), pullWrites: { concurrency: 2, maxItems: 12 } }, definitions: [definition],
        connectors: { get: () => memo, configured: () => new Map([['memo', [DEFAULT_CONNECTION]]]) },
      });
      memo.pageSize = 5;
      const start = await db.query<{ n: string }>("SELECT count(*) n FROM sync_outbox WHERE channel = 'aurora:sync:note'");
      for (let i = 0; i < 30; i++) {
        memo.put(`p${i}`, { title: `page note ${i}`, body: 'v1', pinned: null, tags: null });
        if (i % 5 === 4) memo.put(`p${i - 2}`, { title: `page note ${i - 2}`, body: 'v2', pinned: null, tags: null }); // the next page changes one of this one
        if (i === 20) memo.remove('p11');
      }
      const cycle = await paged.pullEntity(input); // from the stored cursor
      assert.deepEqual([cycle.counts.created, cycle.counts.updated, cycle.counts.deleted, cycle.counts.failed], [30, 6, 1, 0]);
      const notes = (await db.query<{ external_id: string; body: string; deleted: boolean; n: string }>(
        `SELECT r.external_id, m.body, m.deleted_at IS NOT NULL AS deleted, count(*) OVER (PARTITION BY r.external_id) n
           FROM sync_registry r JOIN memo_notes m ON m.id = r.local_id WHERE r.external_system = 'memo' AND r.external_id LIKE 'p%'`,
      )).rows;
      assert.equal(notes.length, 30, 'one registry entry and one row per record');
      assert.ok(notes.every((n) => n.n === '1'));
      const byId = new Map(notes.map((n) => [n.external_id, n]));
      for (let i = 0; i < 30; i++) assert.equal(byId.get(`p${i}`)!.body, i % 5 === 2 ? 'v2' : 'v1', `p${i}: its latest version`);
      assert.ok(byId.get('p11')!.deleted && !byId.get('p12')!.deleted);
      const events = Number((await db.query<{ n: string }>("SELECT count(*) n FROM sync_outbox WHERE channel = 'aurora:sync:note'")).rows[0]!.n) - Number(start.rows[0]!.n);
      assert.equal(events, 30 + 6 + 1, '30 created, 6 updated, 1 deleted');
      assert.equal((await db.query("SELECT cursor FROM sync_state WHERE external_system = 'memo'")).rows[0]?.cursor?.seq, memo.lastSeq, 'the cursor at the last change');
    } finally {
      memo.pageSize = 0;
      redis.disconnect();
      await db.end();
    }
  });
});
