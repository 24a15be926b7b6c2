/**
 * Hands the webhook inbox to the sync workflows. A delivery is answered once its work is committed
 * to `webhook_inbox` (src/store/inbox.ts), so the answer never waits for Temporal: under load a
 * signal's round trip was most of the answer time (p50 30 ms, p99 100 ms on 2 cores), and while
 * Temporal is unreachable deliveries are still accepted instead of failing back to their senders.
 *
 * The forwarder drains the inbox in rounds: it locks the oldest rows (SKIP LOCKED: several API
 * processes share one inbox), gathers them per workflow and entity type into one signal each
 * (`groupInbox`: a group commit, as deliveries arriving during a round go out together in the next),
 * signals the workflows at once (each one's signals in order) and deletes the rows whose every group
 * Temporal accepted. A workflow whose signal failed backs off on its own (retryMs doubling up to
 * maxRetryMs): its rows stay (attempts, last_error) and are left out of the rounds until then,
 * so one workflow refusing signals holds up no other. A workflow holding its signals while its run
 * closes (`holdSignals`) is left out the same way; while its rows wait the forwarder looks again
 * every holdPollMs. Rows left by a stopped API are found by the sweep. Delivery is at least once:
 * a signal repeated after a crash between the signal and the delete names ids the workflow fetches
 * again, which changes nothing.
 */
import type { Pool } from 'pg';
import type { SyncTarget } from '../../temporal';
import { gatherWebhookIds } from '../../workflows/definitions';
import { claimInbox, heldRowsWaiting, inboxKey, settleInbox, type InboxRow } from '../../store/inbox';
import { DEFAULT_CONNECTION } from '../../core/model';
import { log } from '../../log';

export type InboxGroup =
  | { target: SyncTarget; entityType: string; ids: string[]; propertyOnly?: string[]; rows: string[] }
  | { target: SyncTarget; entityType: string; incremental: true; rows: string[] };

/**
 * Pure: one signal per (system, connection, entity type, kind) for these rows, in the order first
 * seen; ids each once, property-only while every delivery naming an id says so (`gatherWebhookIds`).
 */
export function groupInbox(rows: readonly Omit<InboxRow, 'connection'>[]): InboxGroup[] {
  const groups = new Map<string, { target: SyncTarget; entityType: string; incremental: boolean; ids: string[]; only: Set<string>; rows: Set<string> }>();
  for (const row of rows) {
    for (const w of row.work) {
      const incremental = !('ids' in w);
      const key = JSON.stringify([row.system, w.connection ?? '', w.entityType, incremental]);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { target: { system: row.system, connection: w.connection }, entityType: w.entityType, incremental, ids: [], only: new Set(), rows: new Set() }));
      g.rows.add(row.id);
      if ('ids' in w) gatherWebhookIds(g.ids, g.only, w);
    }
  }
  return [...groups.values()].map((g) =>
    g.incremental
      ? { target: g.target, entityType: g.entityType, incremental: true as const, rows: [...g.rows] }
      : { target: g.target, entityType: g.entityType, ids: g.ids, ...(g.only.size ? { propertyOnly: [...g.only] } : {}), rows: [...g.rows] },
  );
}

export interface ForwarderOptions {
  /** rows per round */
  batch?: number;
  /** a sweep for rows nobody woke the forwarder for (another API's, or this one's before a restart) */
  sweepMs?: number;
  /** a workflow's first retry after a failed signal; doubles up to maxRetryMs */
  retryMs?: number;
  maxRetryMs?: number;
  /** how often to look again while rows wait for a workflow holding its signals */
  holdPollMs?: number;
}

export class InboxForwarder {
  private running = false;
  private again = false;
  /** workflows (inboxKey) backing off after a failed signal: when to try again, and the next delay */
  private readonly backoff = new Map<string, { until: number; delay: number }>();
  private sweep?: NodeJS.Timeout;
  private later?: NodeJS.Timeout;
  private laterAt = Infinity;
  private idle: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly opts: Required<ForwarderOptions>;

  constructor(
    private readonly db: Pool,
    private readonly send: (group: InboxGroup) => Promise<void>,
    opts: ForwarderOptions = {},
  ) {
    this.opts = { batch: 2_000, sweepMs: 5_000, retryMs: 500, maxRetryMs: 30_000, holdPollMs: 200, ...opts };
  }

  /** Starts the sweep and forwards what is waiting now. */
  start(): void {
    this.sweep = setInterval(() => this.wake(), this.opts.sweepMs);
    this.sweep.unref();
    this.wake();
  }

  /** Forward soon: now, or after the round on its way. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.drain().finally(() => {
      this.running = false;
    });
  }

  /** Stops the timers and waits for a round on its way (rows not forwarded stay in the inbox). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    clearTimeout(this.later);
    await this.idle;
  }

  /** Wakes the forwarder in `ms` (or sooner, if already due sooner). */
  private wakeIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.stopped || at >= this.laterAt) return;
    clearTimeout(this.later);
    this.laterAt = at;
    this.later = setTimeout(() => {
      this.laterAt = Infinity;
      this.wake();
    }, ms);
    this.later.unref();
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      let outcome: 'empty' | 'more';
      try {
        outcome = await this.round();
      } catch (err) {
        // Postgres itself: the rows (if any) stay; the sweep tries again.
        log.warn('webhook inbox: could not forward', { error: err instanceof Error ? err.message : String(err) });
        return;
      }
      if (this.stopped) return;
      if (outcome === 'more' || this.again) continue;
      const now = Date.now();
      const retries = [...this.backoff.values()].filter((b) => b.until > now).map((b) => b.until - now);
      if (retries.length) this.wakeIn(Math.max(0, Math.min(...retries)));
      if (await heldRowsWaiting(this.db).catch(() => false)) this.wakeIn(this.opts.holdPollMs);
      // a wake that came while we looked: another round, or it would wait for the sweep
      if (!this.again || this.stopped) return;
    }
  }

  private async round(): Promise<'empty' | 'more'> {
    const now = Date.now();
    const skip = [...this.backoff].filter(([, b]) => b.until > now).map(([k]) => k);
    const c = await this.db.connect();
    try {
      await c.query('BEGIN');
      const rows = await claimInbox(c, this.opts.batch, skip);
      if (!rows.length) {
        await c.query('COMMIT');
        return 'empty';
      }
      const groups = groupInbox(rows);
      // Workflows at once; a workflow's signals one after the other, in the order the work named
      // them (a Fireflies transcript before its action items: the workflow fetches in the order
      // its signals land, and sent together the items' signal could land first). After a failed
      // one, that workflow's later ones wait for its retry.
      const byWorkflow = new Map<string, InboxGroup[]>();
      for (const g of groups) {
        const k = inboxKey(g.target.system, g.target.connection ?? DEFAULT_CONNECTION);
        (byWorkflow.get(k) ?? byWorkflow.set(k, []).get(k)!).push(g);
      }
      const failedRows = new Set<string>();
      const failed: string[] = [];
      let error: string | undefined;
      await Promise.all(
        [...byWorkflow].map(async ([key, mine]) => {
          for (const [i, g] of mine.entries()) {
            try {
              await this.send(g);
            } catch (err) {
              for (const later of mine.slice(i)) for (const id of later.rows) failedRows.add(id);
              error ??= err instanceof Error ? err.message : String(err);
              failed.push(key);
              return;
            }
          }
          this.backoff.delete(key);
        }),
      );
      const done = rows.map((r) => r.id).filter((id) => !failedRows.has(id));
      await settleInbox(c, done, [...failedRows], error);
      await c.query('COMMIT');
      if (failed.length) {
        const delays = failed.map((key) => {
          const delay = this.backoff.get(key)?.delay ?? this.opts.retryMs;
          this.backoff.set(key, { until: Date.now() + delay, delay: Math.min(delay * 2, this.opts.maxRetryMs) });
          return delay;
        });
        log.warn('webhook inbox: signals not accepted; kept for a retry', { rows: failedRows.size, workflows: failed.length, retry_in_ms: Math.min(...delays), error });
      }
      return rows.length === this.opts.batch ? 'more' : 'empty';
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}
