/**
 * Ordered, overlapping writes of a stream of pages. A page arriving while the writes under way
 * leave room starts at once; pages arriving while they are all busy wait and go together, up to
 * `maxItems` records, as one write (one transaction instead of several). At most `concurrency`
 * writes run at once, each on its own connection, so Postgres works on more than one page at a
 * time. What follows a write (the cursor, the progress, deletions) is settled strictly in page
 * order, so a resumed position is never past a page not yet written.
 *
 * Writing two pages at once must not differ from writing them in turn. Pages overlap when one
 * names a record the other also names (`own` keys: external ids, Aurora ids, natural keys,
 * deletions) or points at one the other writes (`refs`: associations within the type, which only
 * resolve once the target's registry entry is committed). A page overlapping a write under way,
 * or the batch being gathered, waits for it; later pages wait behind it (order is kept).
 */
import { refFields, type Canonical, type EntitySpec } from './model';

export interface PageKeys {
  own: readonly string[];
  refs: readonly string[];
}

export interface PipelineOptions<T, R> {
  /** writes at once (1: one after another) */
  concurrency: number;
  /** the records a write gathers at most (a page larger than this goes alone) */
  maxItems: number;
  size(item: T): number;
  keys(item: T): PageKeys;
  write(items: T[]): Promise<R>;
  /** after a write, in order: bookkeeping of its pages (awaited before the next is settled) */
  settle(items: T[], result: R): Promise<void>;
}

interface Queued<T> {
  item: T;
  own: Set<string>;
  refs: readonly string[];
}

interface Running<T, R> {
  items: T[];
  own: Set<string>;
  done: Promise<R>;
  finished: boolean;
}

const overlaps = (a: { own: Set<string>; refs: readonly string[] }, own: Set<string>) => {
  for (const k of a.own) if (own.has(k)) return true;
  return a.refs.some((k) => own.has(k));
};

export class WritePipeline<T, R> {
  private readonly queued: Queued<T>[] = [];
  private readonly running: Running<T, R>[] = [];
  private queuedSize = 0;
  private failed = false;

  constructor(private readonly opts: PipelineOptions<T, R>) {}

  /** Takes a page; returns when there is room for the next (writes under way may still run). */
  async add(item: T): Promise<void> {
    // A write has failed: surface it now (after the ones before it), not after reading on.
    while (this.failed && this.running.length) await this.settleOldest();
    const { own, refs } = this.opts.keys(item);
    this.queued.push({ item, own: new Set(own), refs });
    this.queuedSize += this.opts.size(item);
    this.start();
    await this.settleFinished();
    // Reading on while the queue holds less than a write's worth; otherwise the oldest write first.
    while (this.queuedSize >= this.opts.maxItems && this.queued.length && this.running.length) {
      await this.settleOldest();
      this.start();
    }
  }

  /** Writes and settles everything taken; the first failure is thrown once the writes under way are done. */
  async drain(): Promise<void> {
    try {
      for (;;) {
        this.start();
        if (!this.running.length) break;
        await this.settleOldest();
      }
    } finally {
      await this.close();
    }
  }

  /** Waits for the writes under way (after a failure or when the reader stops early); nothing more starts. */
  async close(): Promise<void> {
    this.failed = true;
    this.queued.length = 0;
    this.queuedSize = 0;
    await Promise.allSettled(this.running.map((r) => r.done));
  }

  private start(): void {
    for (;;) {
      // A finished write waiting to be settled holds no slot and no keys: its transaction is committed.
      const busy = this.running.filter((r) => !r.finished);
      if (this.failed || !this.queued.length || busy.length >= Math.max(1, this.opts.concurrency)) return;
      const batch: Queued<T>[] = [];
      const own = new Set<string>();
      let size = 0;
      for (const q of this.queued) {
        const n = this.opts.size(q.item);
        if (batch.length && size + n > this.opts.maxItems) break;
        if (busy.some((r) => overlaps(q, r.own)) || overlaps(q, own)) break;
        batch.push(q);
        size += n;
        for (const k of q.own) own.add(k);
      }
      if (!batch.length) return; // the oldest page waits for a write it overlaps
      this.queued.splice(0, batch.length);
      this.queuedSize -= size;
      const items = batch.map((b) => b.item);
      const run: Running<T, R> = { items, own, done: this.opts.write(items), finished: false };
      run.done.then(
        () => {
          run.finished = true;
          this.start(); // a page waiting for room (or for this write) goes now, not at the next arrival
        },
        () => {
          run.finished = true;
          this.failed = true;
        },
      );
      this.running.push(run);
    }
  }

  private async settleFinished(): Promise<void> {
    while (this.running[0]?.finished) await this.settleOldest();
  }

  private async settleOldest(): Promise<void> {
    const run = this.running[0]!;
    let result: R;
    try {
      result = await run.done;
    } catch (err) {
      await this.close();
      throw err;
    }
    this.running.shift();
    await this.opts.settle(run.items, result);
  }
}

/**
 * The keys of records of a type: their `ids`, their natural key (spec.matchBy, lower-cased) as
 * `m:…`, and as refs the ids (prefixed with `refPrefix`) their associations within the type hold.
 */
export function recordKeys(spec: EntitySpec, records: readonly { ids: readonly string[]; fields: Canonical }[], refPrefix: string): PageKeys {
  const own: string[] = [];
  const refs: string[] = [];
  const selfRefs = refFields(spec).filter(([, target]) => target === spec.type).map(([f]) => f);
  for (const r of records) {
    own.push(...r.ids);
    const key = spec.matchBy ? (r.fields[spec.matchBy] ?? '').toLowerCase() : '';
    if (key) own.push(`m:${key}`);
    for (const f of selfRefs) for (const id of (r.fields[f] ?? '').split(',')) if (id) refs.push(refPrefix + id);
  }
  return { own, refs };
}
