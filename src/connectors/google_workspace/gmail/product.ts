/**
 * Gmail two-way for one mailbox:
 *   - labels (`email_label`): labels.list every cycle (1 unit; Gmail's history has no label
 *     changes), deletions found against the ids of the last listing; user labels created
 *     (idempotently: a 409 for an existing name adopts that label), patched and deleted; system
 *     labels never written;
 *   - threads (`email`): a full listing (threads.list + threads.get) from the profile's historyId,
 *     then history.list from the stored historyId re-reading only the threads it names (404 on an
 *     expired start → CursorExpiredError → the engine's full resync); local edits become
 *     threads.modify / threads.trash / threads.untrash with only the label changes made in Aurora
 *     since the last sync;
 *   - users.watch per mailbox (GMAIL_PUBSUB_TOPIC) through the engine's push-channel upkeep.
 * Every request is priced in Gmail's quota units against the mailbox's shared budget.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { gmail_v1 } from 'googleapis/build/src/apis/gmail';
import { ErrorType } from '../../../core/errors';
import { contentHash } from '../../../core/hash';
import { canonicalize, type Canonical } from '../../../core/model';
import {
  CursorExpiredError,
  type ChangeCursor,
  type ChangePage,
  type ExternalDeletion,
  type ExternalRecord,
  type OpenChannelRequest,
  type PushChannel,
  type WriteCreate,
  type WriteDelete,
  type WriteOutcome,
  type WriteUpdate,
} from '../../types';
import { isGoogleApiError, type GoogleApiError } from '../errors';
import type { GoogleProduct, GoogleSession } from '../session';
import { GmailClient } from './client';
import type { GmailConfig } from './config';
import { EMAIL, EMAIL_LABEL, EMAIL_LABEL_TYPE, EMAIL_TYPE } from './entities';
import { afterThreadWrite, InvalidEmailChangeError, threadChange, toEmailRecord, toLabelBody, toLabelFields, toLabelRecord, type GmailLabel, type GmailThread } from './mapping';

/**
 * Position in a mailbox's thread feed. `historyId`: where the next incremental read starts (the
 * last complete run's end). `at`: an unfinished run — a full listing's next threads.list page
 * (`full`, with the historyId taken before it began) or the next history.list page.
 */
export interface ThreadCursor extends ChangeCursor {
  v: 1;
  historyId?: string;
  at?: { full?: boolean; historyId: string; pageToken: string };
}

/** The label ids of the last labels.list (deletions are the ids that went missing), and a hash of its content. */
export interface LabelCursor extends ChangeCursor {
  v: 1;
  ids: string[];
  /** the last listing's labels and fields: an unchanged listing yields nothing (a quiet cycle locks no row) */
  hash?: string;
}

export function parseThreadCursor(cursor: ChangeCursor | null): ThreadCursor | null {
  if (!cursor) return null;
  const c = cursor as Partial<ThreadCursor>;
  const historyId = typeof c.historyId === 'string' && /^\d+$/.test(c.historyId) ? c.historyId : undefined;
  const at =
    c.at && typeof c.at === 'object' && typeof c.at.historyId === 'string' && typeof c.at.pageToken === 'string' && c.at.pageToken
      ? { historyId: c.at.historyId, pageToken: c.at.pageToken, ...(c.at.full ? { full: true } : {}) }
      : undefined;
  return { v: 1, ...(historyId ? { historyId } : {}), ...(at ? { at } : {}) };
}

const isSystemLabel = (id: string, fields?: Canonical | null): boolean => fields?.label_type === 'system' || !id.startsWith('Label_');

/** Every record of a write Gmail does not take, failed with the reason. */
const refuse = (items: { localId: string }[], why: string): WriteOutcome[] => items.map((i) => ({ localId: i.localId, ok: false, error: `Gmail: ${why}` }));

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class GmailProduct implements GoogleProduct {
  readonly entityTypes = [EMAIL_LABEL_TYPE, EMAIL_TYPE] as const;
  private readonly client: GmailClient;
  /** the channel id of the watch this process opened last (a replaced one is not stopped: one watch per mailbox) */
  private watching?: string;

  constructor(
    private readonly session: GoogleSession,
    private readonly cfg: GmailConfig,
  ) {
    this.client = new GmailClient(session, cfg);
  }

  private get user(): string {
    return this.session.user;
  }

  // ---- change feeds ------------------------------------------------------------------------------

  listChanges(type: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    return type === EMAIL_LABEL_TYPE ? this.labelChanges(cursor) : this.threadChanges(cursor, resume);
  }

  private async *labelChanges(cursor: ChangeCursor | null): AsyncIterable<ChangePage> {
    const last = cursor && Array.isArray((cursor as Partial<LabelCursor>).ids) ? (cursor as LabelCursor) : null;
    const prev = last?.ids ?? null;
    const labels = (await this.client.listLabels()).labels ?? [];
    const now = new Date().toISOString();
    const records = labels.filter((l) => l.id).map((l) => toLabelRecord(l, now));
    const ids = records.map((r) => r.externalId).sort();
    // Labels carry no modification time: the listing's own hash tells whether anything changed since the last one.
    const hash = contentHash(Object.fromEntries(records.map((r) => [r.externalId, contentHash(r.fields)])));
    const out: LabelCursor = { v: 1, ids, hash };
    if (last?.hash === hash) {
      yield { records: [], cursor: out };
      return;
    }
    const current = new Set(ids);
    const deletions: ExternalDeletion[] = (prev ?? []).filter((id) => !current.has(id)).map((externalId) => ({ externalId, deletedAt: now }));
    yield deletions.length ? { records, deletions, cursor: out } : { records, cursor: out };
  }

  /** The threads with these ids, read concurrently; ids Gmail no longer has come back as `gone`. */
  private async readThreads(ids: readonly string[]): Promise<{ records: ExternalRecord[]; gone: string[] }> {
    const now = new Date().toISOString();
    const got = await mapLimit(ids, this.cfg.readConcurrency, async (id) => {
      try {
        // 404: gone; 400 "Invalid id value": an id Gmail could never have issued (a corrupt or foreign registry row) is gone too.
        return await this.client.getThread(id, this.cfg.syncBodies, (e) => e.status === 404 || (e.status === 400 && /invalid id value/i.test(e.message)));
      } catch (e) {
        if (isGoogleApiError(e)) return null;
        throw e;
      }
    });
    const records: ExternalRecord[] = [];
    const gone: string[] = [];
    got.forEach((t, i) => {
      if (t?.id && t.messages?.length) records.push(toEmailRecord(t, this.cfg.syncBodies, now));
      else gone.push(ids[i]!);
    });
    return { records, gone };
  }

  private async *threadChanges(cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    const prev = parseThreadCursor(cursor);
    const at = resume ? prev?.at : undefined;
    if (at?.full || !prev?.historyId) {
      yield* this.fullListing(at?.full ? at : undefined);
      return;
    }
    yield* this.history(at ?? { historyId: prev.historyId, pageToken: '' });
  }

  private async *fullListing(at?: { historyId: string; pageToken: string }): AsyncIterable<ChangePage> {
    // The historyId is taken first: whatever changes while the listing runs is in the history after it.
    const historyId = at?.historyId ?? String((await this.client.profile()).historyId ?? '');
    if (!/^\d+$/.test(historyId)) {
      throw ApplicationFailure.create({ type: ErrorType.Upstream, message: `Gmail gave no historyId for ${this.user}` });
    }
    let pageToken = at?.pageToken || undefined;
    for (;;) {
      const page = await this.client.listThreads(pageToken);
      const ids = [...new Set((page.threads ?? []).map((t) => t.id).filter((id): id is string => Boolean(id)))];
      const { records } = await this.readThreads(ids);
      const next = page.nextPageToken ?? undefined;
      const cursor: ThreadCursor = next ? { v: 1, at: { full: true, historyId, pageToken: next } } : { v: 1, historyId };
      yield { records, cursor };
      if (!next) return;
      pageToken = next;
    }
  }

  private async *history(from: { historyId: string; pageToken: string }): AsyncIterable<ChangePage> {
    const start = from.historyId;
    let pageToken = from.pageToken || undefined;
    const seen = new Set<string>();
    for (;;) {
      let page: gmail_v1.Schema$ListHistoryResponse;
      try {
        page = await this.client.listHistory(start, pageToken, (e) => e.status === 404 || (Boolean(pageToken) && e.status === 400));
      } catch (e) {
        if (!isGoogleApiError(e)) throw e;
        if (e.status === 404) throw new CursorExpiredError(`Gmail history of ${this.user} from ${start} is no longer available: ${e.describe()}`);
        // a page token of an interrupted run that is no longer valid: read the history again from its start
        pageToken = undefined;
        continue;
      }
      const ids: string[] = [];
      for (const h of page.history ?? []) {
        const refs = [
          ...(h.messages ?? []),
          ...(h.messagesAdded ?? []).map((x) => x.message),
          ...(h.messagesDeleted ?? []).map((x) => x.message),
          ...(h.labelsAdded ?? []).map((x) => x.message),
          ...(h.labelsRemoved ?? []).map((x) => x.message),
        ];
        for (const m of refs) {
          const t = m?.threadId;
          if (t && !seen.has(t)) {
            seen.add(t);
            ids.push(t);
          }
        }
      }
      const { records, gone } = await this.readThreads(ids);
      const next = page.nextPageToken ?? undefined;
      const end = String(page.historyId ?? start);
      const cursor: ThreadCursor = next ? { v: 1, historyId: start, at: { historyId: start, pageToken: next } } : { v: 1, historyId: end };
      const deletions = gone.map((externalId): ExternalDeletion => ({ externalId }));
      yield deletions.length ? { records, deletions, cursor } : { records, cursor };
      if (!next) return;
      pageToken = next;
    }
  }

  // ---- reads -------------------------------------------------------------------------------------

  async readByIds(type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    if (type === EMAIL_LABEL_TYPE) {
      const want = new Set(externalIds);
      const now = new Date().toISOString();
      return ((await this.client.listLabels()).labels ?? []).filter((l) => l.id && want.has(l.id)).map((l) => toLabelRecord(l, now));
    }
    return (await this.readThreads(externalIds)).records;
  }

  async readArchived(type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const now = new Date().toISOString();
    let gone: string[];
    if (type === EMAIL_LABEL_TYPE) {
      const have = new Set(((await this.client.listLabels()).labels ?? []).map((l) => l.id));
      gone = externalIds.filter((id) => !have.has(id));
    } else {
      gone = (await this.readThreads(externalIds)).gone;
    }
    const spec = type === EMAIL_LABEL_TYPE ? EMAIL_LABEL : EMAIL;
    return gone.map((externalId) => ({ externalId, fields: canonicalize(spec, {}), updatedAt: now, auroraId: null, archived: true, archivedAt: now }));
  }

  // ---- writes ------------------------------------------------------------------------------------

  /** One write per record; a 4xx or a value Gmail cannot take fails that record only. */
  private async each<I extends { localId: string }>(items: I[], write: (item: I) => Promise<WriteOutcome>): Promise<WriteOutcome[]> {
    const out: WriteOutcome[] = [];
    for (const item of items) {
      try {
        out.push(await write(item));
      } catch (e) {
        if (isGoogleApiError(e)) out.push({ localId: item.localId, ok: false, error: `Gmail: ${e.describe()}`, notFound: e.status === 404 });
        else if (e instanceof InvalidEmailChangeError) out.push({ localId: item.localId, ok: false, error: `Gmail: ${e.message}` });
        else throw e;
      }
    }
    return out;
  }

  private labelWritten(localId: string, l: GmailLabel, created?: boolean): WriteOutcome {
    const out: WriteOutcome = { localId, ok: true, externalId: l.id!, fields: toLabelFields(l), updatedAt: new Date().toISOString() };
    if (created !== undefined) out.created = created;
    return out;
  }

  async create(type: string, creates: WriteCreate[]): Promise<WriteOutcome[]> {
    if (type === EMAIL_TYPE) return refuse(creates, 'threads are not created by the sync (sending mail is not part of it); a thread appears when mail arrives');
    const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
    return this.each(creates, async (c) => {
      if (c.fields.label_type === 'system') throw new InvalidEmailChangeError('system labels are Gmail\'s own: they are never created');
      const body = toLabelBody(c.fields);
      try {
        return this.labelWritten(c.localId, await this.client.createLabel(body, clientError), true);
      } catch (e) {
        if (!isGoogleApiError(e) || e.status !== 409) throw e;
        // A label with this name exists: a retried create that reached Gmail before, or the same
        // label made on both sides. Either way it is this record's label.
        const name = body.name!.toLowerCase();
        const existing = ((await this.client.listLabels()).labels ?? []).find((l) => l.name?.toLowerCase() === name && l.type !== 'system');
        if (!existing) throw e;
        return this.labelWritten(c.localId, existing, false);
      }
    });
  }

  async update(type: string, updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    const clientError = (e: GoogleApiError) => e.status >= 400 && e.status < 500;
    if (type === EMAIL_LABEL_TYPE) {
      return this.each(updates, async (u) => {
        if (isSystemLabel(u.externalId, u.previous)) throw new InvalidEmailChangeError(`${u.externalId} is a system label: read-only`);
        const changed = u.changed?.filter((f) => f !== 'label_type');
        const body = toLabelBody(u.fields, changed ?? Object.keys(EMAIL_LABEL.fields).filter((f) => f !== 'label_type'));
        if (Object.keys(body).length === 0) return { localId: u.localId, ok: true, externalId: u.externalId, fields: u.fields, updatedAt: new Date().toISOString() };
        return this.labelWritten(u.localId, await this.client.patchLabel(u.externalId, body, clientError));
      });
    }
    return this.each(updates, async (u) => {
      const change = threadChange(u.fields, u.previous, u.changed);
      let answer: gmail_v1.Schema$Thread | undefined;
      if (change.trash !== undefined) answer = await this.client.trashThread(u.externalId, change.trash, clientError);
      if (change.add.length || change.remove.length) answer = await this.client.modifyThread(u.externalId, change.add, change.remove, clientError);
      // Only the changes sent are known to be ours: the thread's fields keep the local values, so a
      // change Gmail made meanwhile still shows as one at the next pull. Its messages' labels are
      // Gmail's answer to the write (taken into the row, not pulled back later as a change).
      return { localId: u.localId, ok: true, externalId: u.externalId, fields: afterThreadWrite(u.fields, answer), updatedAt: new Date().toISOString() };
    });
  }

  async delete(type: string, deletes: WriteDelete[]): Promise<WriteOutcome[]> {
    if (type === EMAIL_TYPE) return refuse(deletes, 'threads are not deleted by the sync; set trashed = true to move one to the trash');
    return this.each(deletes, async (d) => {
      if (isSystemLabel(d.externalId)) throw new InvalidEmailChangeError(`${d.externalId} is a system label: never deleted`);
      try {
        await this.client.deleteLabel(d.externalId, (e) => e.status === 404);
      } catch (e) {
        if (!isGoogleApiError(e)) throw e; // 404: gone already
      }
      return { localId: d.localId, ok: true, externalId: d.externalId, fields: {}, updatedAt: new Date().toISOString() };
    });
  }

  // ---- users.watch (through the engine's push-channel upkeep) --------------------------------------

  async watchableResources(type: string): Promise<string[]> {
    return type === EMAIL_TYPE && this.cfg.topic ? [this.user] : [];
  }

  async openChannel(_type: string, req: OpenChannelRequest): Promise<PushChannel> {
    if (!this.cfg.topic) {
      throw ApplicationFailure.create({ type: ErrorType.NotConfigured, message: 'GMAIL_PUBSUB_TOPIC is not set', nonRetryable: true });
    }
    // Gmail has one watch per mailbox: calling it again renews it. Notifications come through the
    // Pub/Sub push subscription, not to `req.address`.
    const res = await this.client.watch(this.cfg.topic);
    const expiration = Number(res.expiration);
    this.watching = req.channelId;
    return {
      channelId: req.channelId,
      resourceId: `gmail-watch:${this.user}`,
      resource: req.resource,
      expiresAt: new Date(Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now() + 7 * 86_400_000).toISOString(),
    };
  }

  async stopChannel(_type: string, channel: PushChannel): Promise<void> {
    // A channel replaced by a renewal is the same watch: stopping it would end the renewed one.
    if (this.watching && this.watching !== channel.channelId) return;
    await this.client.stop();
    this.watching = undefined;
  }
}
