/**
 * The Fireflies connector of one API key (connection `default`): pull-only.
 *
 * `transcript`: an incremental listing by meeting date — `transcripts(fromDate, toDate, limit,
 * skip)` newest first, every field the engine stores in the same request, so one request brings
 * up to 50 whole transcripts — that starts `FIREFLIES_OVERLAP_MINUTES` before the previous
 * listing (a transcript appears, or its summary finishes, after the meeting's date). The budget
 * is spent in order of value: transcripts webhooks asked for that could not be fetched at once,
 * then new transcripts, then summaries still processing that the overlap no longer covers, then
 * the sweep: one page of the older transcripts every `FIREFLIES_SWEEP_MINUTES`, walking back
 * from the overlap to the backfill horizon and starting over, so that one dated before the
 * overlap that became visible late (an old recording uploaded, a meeting shared later) arrives
 * without a webhook. When the budget is spent the pull stops early — its position in the cursor,
 * `deferredUntil` saying when it goes on — and the cycle succeeds.
 *
 * `action_item`: no request of its own. Each transcript read records its items in the ledger
 * (Redis); this pull reads what changed there since its cursor: the items, and as deletions the
 * ids a re-summary dropped.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import { contentHash } from '../../core/hash';
import { DEFAULT_CONNECTION } from '../../core/model';
import type { ChangeCursor, ChangePage, Connector, ExternalRecord, WriteOutcome } from '../types';
import { transcriptOfItem } from './action-items';
import { Deferred, type FirefliesClient } from './client';
import { FIREFLIES_SYSTEM, type FirefliesConfig } from './config';
import { ACTION_ITEM, TRANSCRIPT } from './entities';
import type { ItemLedger, LedgerEntry } from './ledger';
import { summaryReady, toActionItemRecords, toTranscriptRecord, type FfTranscript } from './mapping';
import type Redis from 'ioredis';

/** Fireflies refuses a `skip` above this. */
const MAX_SKIP = 5000;
/** A summary still processing after this long is not asked for again (Fireflies gave up on it). */
const PENDING_MAX_AGE_MS = 7 * 86_400_000;
const MAX_PENDING = 500;
/** A pending summary is asked for again after 15 min, then 30, 60… at most every 6 h. */
const pendingDelay = (tries: number): number => Math.min(6 * 3_600_000, 15 * 60_000 * 2 ** tries);
const LEDGER_PAGE = 100;

/** A listing's fixed window (epoch ms; `from` null: from the beginning) and its offset. */
type Pass = { from: number | null; to: number; skip: number };

/** The transcript feed's position (JSON: workflow state and sync_state.cursor). */
export interface TranscriptCursor {
  /** epoch ms: the `toDate` of the last finished listing */
  watermark: number | null;
  /** a listing under way: its fixed window and how far it got */
  pass: Pass | null;
  /** transcripts whose summary was still processing when read; asked again from `next` on (backing off) */
  pending: Array<{ id: string; date: number; next?: number; tries?: number }>;
  /** the sweep of older transcripts: when its next page is due (epoch ms), and how far its round got */
  sweep?: { next: number; pass: Pass | null };
  /** the budget was spent: the listing goes on then (ISO) */
  deferredUntil?: string;
  /** requests this pull made (the status shows them) */
  requests?: number;
}

function passOf(p: unknown): Pass | null {
  const x = p as Partial<Pass> | null | undefined;
  return x && typeof x.to === 'number' && typeof x.skip === 'number' ? { from: typeof x.from === 'number' ? x.from : null, to: x.to, skip: x.skip } : null;
}

function transcriptCursor(c: ChangeCursor | null): TranscriptCursor {
  const watermark = typeof c?.watermark === 'number' ? c.watermark : null;
  const pass = passOf(c?.pass);
  const pending = Array.isArray(c?.pending) ? (c.pending as TranscriptCursor['pending']).filter((x) => typeof x?.id === 'string' && typeof x.date === 'number') : [];
  const sw = c?.sweep as TranscriptCursor['sweep'] | undefined;
  const sweep = sw && typeof sw.next === 'number' ? { next: sw.next, pass: passOf(sw.pass) } : undefined;
  return { watermark, pass, pending, ...(sweep ? { sweep } : {}) };
}

/**
 * A listing's window after a page of it: null when the page was its last (short), else the next
 * offset — or, where offset paging would pass Fireflies' 5,000, the window narrowed to what is
 * older than this page, from offset 0.
 */
function advance(pass: Pass, page: FfTranscript[], size: number): Pass | null {
  if (page.length < size) return null;
  if (pass.skip + 2 * size > MAX_SKIP) return { ...pass, to: Math.min(...page.map(dateOf)), skip: 0 };
  return { ...pass, skip: pass.skip + size };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const dateOf = (t: FfTranscript): number => (typeof t.date === 'number' ? t.date : Date.parse(t.dateString ?? '')) || 0;

export class FirefliesConnector implements Connector {
  readonly system = FIREFLIES_SYSTEM;
  readonly connection = DEFAULT_CONNECTION;
  readonly batchSize = 50;

  constructor(
    private readonly cfg: FirefliesConfig,
    readonly client: FirefliesClient,
    private readonly ledger: ItemLedger,
    private readonly redis: Redis,
    /** Redis key of the transcripts webhooks asked for that are still to fetch */
    private readonly wantedKey: string,
  ) {}

  private ready(): void {
    // The budget and the ledger live in Redis: without it nothing is sent (and nothing is lost).
    if (this.redis.status !== 'ready') {
      throw ApplicationFailure.create({ type: ErrorType.Upstream, message: 'Redis is unavailable: the Fireflies request budget and action-item ledger live there; retrying' });
    }
  }

  private typeOf(entityType: string): 'transcript' | 'action_item' {
    if (entityType === 'transcript' || entityType === 'action_item') return entityType;
    throw ApplicationFailure.create({ type: ErrorType.BadRequest, message: `fireflies has no entity type "${entityType}"`, nonRetryable: true });
  }

  /** transcripts this process read a moment ago (a webhook's items need no second request) */
  private readonly justRead = new Map<string, number>();

  /** Records a transcript's action items in the ledger and answers its record. */
  private async take(t: FfTranscript, at: number): Promise<ExternalRecord> {
    const updatedAt = iso(at);
    this.justRead.set(t.id, at);
    for (const [id, when] of this.justRead) if (at - when > 60_000) this.justRead.delete(id);
    const items = toActionItemRecords(t, updatedAt).map((r) => ({ id: r.externalId, fields: r.fields }));
    if (summaryReady(t)) await this.ledger.record(t.id, at, items, contentHash({ items: JSON.stringify(items) }));
    return toTranscriptRecord(t, updatedAt);
  }

  listChanges(entityType: string, cursor: ChangeCursor | null): AsyncIterable<ChangePage> {
    this.ready();
    return this.typeOf(entityType) === 'transcript' ? this.transcripts(cursor) : this.actionItems(cursor);
  }

  private async *transcripts(cursor: ChangeCursor | null): AsyncGenerator<ChangePage> {
    const state = transcriptCursor(cursor);
    let requests = 0;
    const snapshot = (extra: Partial<TranscriptCursor> = {}): ChangeCursor => ({ ...state, pending: [...state.pending], requests, ...extra }) as unknown as ChangeCursor;
    const deferred = (d: Deferred): ChangePage => ({ records: [], cursor: snapshot({ deferredUntil: iso(d.until) }) });
    /** `swept`: read by the sweep, which neither restarts a pending summary's backoff nor takes on one too old to wait for */
    const notePending = (t: FfTranscript, tries = 0, swept = false) => {
      const had = state.pending.find((p) => p.id === t.id);
      state.pending = state.pending.filter((p) => p.id !== t.id);
      if (summaryReady(t)) return;
      if (swept && had) return void state.pending.push(had);
      if (swept && Date.now() - dateOf(t) >= PENDING_MAX_AGE_MS) return;
      if (state.pending.length < MAX_PENDING) state.pending.push({ id: t.id, date: dateOf(t), next: Date.now() + pendingDelay(tries), tries });
    };

    // 1. Transcripts webhooks named that could not be fetched then (the budget was spent).
    for (const id of await this.redis.smembers(this.wantedKey)) {
      const r = await this.client.transcript(id, 'poll');
      if (r instanceof Deferred) return yield deferred(r);
      requests++;
      await this.redis.srem(this.wantedKey, id);
      if (!r.transcript) continue;
      notePending(r.transcript);
      yield { records: [await this.take(r.transcript, r.at)], cursor: snapshot() };
    }

    // 2. New transcripts: the listing, from the overlap before the last one (or the backfill window).
    if (!state.pass) {
      const from = state.watermark !== null ? state.watermark - this.cfg.overlapMs : this.cfg.backfillDays ? Date.now() - this.cfg.backfillDays * 86_400_000 : null;
      state.pass = { from, to: Date.now(), skip: 0 };
    }
    const size = this.cfg.pageSize;
    const listPage = async (pass: Pass, swept = false) => {
      const r = await this.client.list({ fromDate: pass.from === null ? null : iso(pass.from), toDate: iso(pass.to), limit: size, skip: pass.skip });
      if (r instanceof Deferred) return r;
      requests++;
      const records: ExternalRecord[] = [];
      for (const t of r.transcripts) {
        notePending(t, 0, swept);
        records.push(await this.take(t, r.at));
      }
      return { records, next: advance(pass, r.transcripts, size) };
    };
    while (state.pass) {
      const pass: Pass = state.pass;
      const r = await listPage(pass);
      if (r instanceof Deferred) return yield deferred(r);
      state.pass = r.next;
      if (!r.next) state.watermark = pass.to;
      yield { records: r.records, cursor: snapshot() };
    }

    // 3. Summaries still processing that the next listing's overlap will not see again.
    const windowStart = (state.watermark ?? 0) - this.cfg.overlapMs;
    const now = Date.now();
    state.pending = state.pending.filter((p) => now - p.date < PENDING_MAX_AGE_MS);
    for (const p of state.pending.filter((x) => x.date < windowStart && (x.next ?? 0) <= now)) {
      const r = await this.client.transcript(p.id, 'poll');
      if (r instanceof Deferred) return yield deferred(r);
      requests++;
      state.pending = state.pending.filter((x) => x.id !== p.id);
      if (!r.transcript) continue;
      notePending(r.transcript, (p.tries ?? 0) + 1);
      yield { records: [await this.take(r.transcript, r.at)], cursor: snapshot() };
    }

    // 4. The sweep: one page of what is older than the overlap, when due (the first one an
    //    interval after the listing caught up: it has just read everything).
    if (this.cfg.sweepMs > 0 && state.watermark !== null) {
      if (!state.sweep) {
        state.sweep = { next: now + this.cfg.sweepMs, pass: null };
      } else if (state.sweep.next <= now) {
        const pass = state.sweep.pass ?? { from: this.cfg.backfillDays ? now - this.cfg.backfillDays * 86_400_000 : null, to: windowStart, skip: 0 };
        const r = await listPage(pass, true);
        // No budget left for it: the listing itself is done, so nothing is deferred; the page is still due next time.
        if (r instanceof Deferred) return yield { records: [], cursor: snapshot() };
        state.sweep = { next: now + this.cfg.sweepMs, pass: r.next };
        return yield { records: r.records, cursor: snapshot() };
      }
    }
    if (requests) yield { records: [], cursor: snapshot() };
  }

  private async *actionItems(cursor: ChangeCursor | null): AsyncGenerator<ChangePage> {
    let seq = typeof cursor?.seq === 'number' ? cursor.seq : 0;
    for (;;) {
      const { entries, last } = await this.ledger.changedSince(seq, LEDGER_PAGE);
      if (last === seq) return;
      seq = last;
      yield { ...itemsOf(entries), cursor: { seq } };
    }
  }

  async readByIds(entityType: string, externalIds: string[]): Promise<ExternalRecord[]> {
    this.ready();
    const ids = [...new Set(externalIds)];
    if (this.typeOf(entityType) === 'transcript') {
      const out: ExternalRecord[] = [];
      for (const id of ids) {
        const r = await this.client.transcript(id, 'webhook');
        if (r instanceof Deferred) {
          // Not now: the next listing fetches it first.
          await this.redis.sadd(this.wantedKey, id);
          continue;
        }
        if (r.transcript) out.push(await this.take(r.transcript, r.at));
      }
      return out;
    }
    // Action items by id, or every item of a transcript named by its id (what a webhook gives).
    const entries = await this.entriesFor(ids);
    const wanted = new Set(ids);
    return [...entries.values()].flatMap((e) => itemRecords(e).filter((r) => wanted.has(r.externalId) || wanted.has(e.transcriptId)));
  }

  /** Items a re-summary dropped, among these ids (or of these transcripts): they are tombstoned. */
  async readArchived(entityType: string, externalIds: string[]): Promise<ExternalRecord[]> {
    if (this.typeOf(entityType) !== 'action_item') return [];
    const entries = await this.ledger.get([...new Set(externalIds.map((id) => transcriptOfItem(id) ?? id))]);
    const wanted = new Set(externalIds);
    return [...entries.values()].flatMap((e) =>
      e.gone
        .filter((id) => wanted.has(id) || wanted.has(e.transcriptId))
        .map((id) => ({ externalId: id, fields: {}, updatedAt: e.at, auroraId: null, archived: true, archivedAt: e.at })),
    );
  }

  /** Ledger entries of these items' transcripts; a transcript not read yet is fetched now. */
  private async entriesFor(ids: string[]): Promise<Map<string, LedgerEntry>> {
    const transcriptIds = [...new Set(ids.map((id) => transcriptOfItem(id) ?? id))];
    const entries = await this.ledger.get(transcriptIds);
    const missing = transcriptIds.filter((id) => !entries.has(id) && !(Date.now() - (this.justRead.get(id) ?? 0) < 60_000));
    if (missing.length) {
      await this.readByIds(TRANSCRIPT.type, missing);
      for (const [k, v] of await this.ledger.get(missing)) entries.set(k, v);
    }
    return entries;
  }

  private refuse = async (): Promise<WriteOutcome[]> => {
    throw ApplicationFailure.create({ type: ErrorType.BadRequest, message: 'Fireflies is pull-only: the engine never writes to it', nonRetryable: true });
  };
  create = this.refuse;
  update = this.refuse;
  delete = this.refuse;
}

function itemRecords(e: LedgerEntry): ExternalRecord[] {
  return e.items.map((it) => ({ externalId: it.id, fields: it.fields, updatedAt: e.at, auroraId: null, archived: false }));
}

function itemsOf(entries: LedgerEntry[]): Pick<ChangePage, 'records' | 'deletions'> {
  return {
    records: entries.flatMap(itemRecords),
    deletions: entries.flatMap((e) => e.gone.map((externalId) => ({ externalId, deletedAt: e.at }))),
  };
}
