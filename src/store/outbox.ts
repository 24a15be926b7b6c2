/**
 * Transactional outbox: events are inserted in the same transaction as the change they describe,
 * then relayed to Redis (PUBLISH aurora:sync:<entity> plus XADD to a stream for consumers that must
 * not miss events). Redis being down delays events; rows stay unpublished until a relay succeeds.
 */
import type { Pool, PoolClient } from 'pg';
import type Redis from 'ioredis';

export type SyncAction = 'created' | 'updated' | 'deleted' | 'conflict' | 'resolved';

export interface SyncEvent {
  action: SyncAction;
  source: string;
  entity_type: string;
  entity_id: string;
  timestamp: string;
  /** extra fields: where the change went, the external id, versions */
  direction: 'pull' | 'push' | 'resolution';
  external_id: string | null;
  local_version?: number | null;
  external_version?: number | null;
}

export const channelFor = (type: string): string => `aurora:sync:${type}`;
export const EVENT_STREAM = 'aurora:sync:events';

export async function enqueueEvents(client: PoolClient, events: SyncEvent[]): Promise<void> {
  if (!events.length) return;
  await client.query(outboxInsertSql('$1'), [outboxRows(events)]);
}

/** The jsonb parameter of outboxInsertSql: events with their channel (and `from_row`, see there). */
export function outboxRows(events: (SyncEvent & { from_row?: boolean })[]): string {
  return JSON.stringify(events.map(({ from_row, ...payload }) => ({ channel: channelFor(payload.entity_type), payload, ...(from_row ? { from_row } : {}) })));
}

/**
 * `INSERT INTO sync_outbox` of the events in jsonb parameter `rows` (outboxRows), in their order.
 * `written`: a relation `(id, version, updated_at)` of local rows written by the same statement;
 * events marked `from_row` take their local_version from it.
 */
export function outboxInsertSql(rows: string, written?: string): string {
  if (!written) return `INSERT INTO sync_outbox (channel, payload) SELECT e->>'channel', e->'payload' FROM jsonb_array_elements(${rows}::jsonb) AS e`;
  return `INSERT INTO sync_outbox (channel, payload)
     SELECT e.v->>'channel', CASE WHEN w.id IS NULL THEN e.v->'payload' ELSE jsonb_set(e.v->'payload', '{local_version}', to_jsonb(w.version)) END
       FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS e(v, ord)
       LEFT JOIN ${written} w ON (e.v->>'from_row')::boolean AND w.id = e.v->'payload'->>'entity_id'
      ORDER BY e.ord`;
}

/**
 * Publishes unpublished outbox rows in id order, in batches, and marks them published. Rows are
 * locked while being relayed so concurrent relays never publish one twice. Returns the number
 * published; throws if Redis is unreachable (nothing is marked then, so delivery is at least once).
 */
export async function relayOutbox(pool: Pool, redis: Redis, batch = 500, maxBatches = 100, opts: { waitForLockMs?: number } = {}): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const client = await pool.connect();
    let n = 0;
    try {
      await client.query('BEGIN');
      // One relay at a time (worker timer and activity alike), so events go out in order. A relay
      // that must not leave its events to the next timer tick (a webhook fetch publishing what it
      // just committed) waits for the one running instead of giving way.
      let locked: boolean;
      if (opts.waitForLockMs) {
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(opts.waitForLockMs))}`);
        locked = await client.query('SELECT pg_advisory_xact_lock(804212)').then(
          () => true,
          (err: { code?: string }) => {
            if (err.code !== '55P03') throw err; // lock_not_available: the timer's relay goes on
            return false;
          },
        );
      } else {
        const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(804212) AS ok');
        locked = lock[0]!.ok;
      }
      if (!locked) {
        await client.query('ROLLBACK');
        return total;
      }
      const { rows } = await client.query<{ id: string; channel: string; payload: SyncEvent }>(
        `SELECT id, channel, payload FROM sync_outbox WHERE published_at IS NULL
         ORDER BY id LIMIT $1 FOR UPDATE`,
        [batch],
      );
      if (rows.length) {
        if (redis.status !== 'ready') throw new Error(`Redis is not connected (${redis.status})`);
        const pipe = redis.pipeline();
        for (const r of rows) {
          // event_id: the outbox row's id, unique and increasing per installation; a consumer that may
          // see an event twice (delivery is at least once) dedupes by it.
          const body = JSON.stringify({ ...r.payload, event_id: r.id });
          pipe.publish(r.channel, body);
          pipe.xadd(EVENT_STREAM, 'MAXLEN', '~', '100000', '*', 'channel', r.channel, 'event', body);
        }
        const results = await withTimeout(pipe.exec(), 10_000);
        const failed = results?.find(([err]) => err);
        if (!results || failed) throw failed?.[0] ?? new Error('Redis pipeline aborted');
        await client.query('UPDATE sync_outbox SET published_at = NOW() WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      }
      await client.query('COMMIT');
      n = rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    total += n;
    if (n < batch) break;
  }
  return total;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function pendingEvents(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM sync_outbox WHERE published_at IS NULL');
  return Number(rows[0]!.n);
}
