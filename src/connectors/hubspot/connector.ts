/**
 * HubSpot CRM connector over the real @hubspot/api-client (basePath points it at the sandbox in
 * the demo and tests). All requests go through one rate-limit budget per account (rolling 10 s
 * window, plus the 5/s search limit); 429s pause the budget for Retry-After; 5xx back off.
 */
import { Client } from '@hubspot/api-client';
import { ApplicationFailure } from '@temporalio/common';
import { normalizeValue, type Canonical } from '../../core/model';
import { RollingWindowLimiter, type RequestBudget } from '../../core/ratelimit';
import { keepAlive, patientSleep } from '../../core/progress';
import { readAhead } from '../../core/iter';
import { redactUpstream } from '../../log';
import {
  ErrorType,
  type ChangeCursor,
  type ChangePage,
  type Connector,
  type ExternalRecord,
  type WriteCreate,
  type WriteDelete,
  type WriteOutcome,
  type WriteUpdate,
} from '../types';
import { hubspotSpec } from './entities';
import {
  AURORA_ID_PROPERTY,
  hubspotMap,
  lastModifiedMs,
  readProperties,
  toExternalRecord,
  toHubSpotProperties,
  type HubSpotObject,
} from './mapping';

export interface HubSpotConnectorOptions {
  connection: string;
  accessToken: string;
  baseUrl: string;
  ratePer10s: number;
  searchPerSecond: number;
  searchLookbackMs: number;
  /** records per search page (HubSpot max 200) */
  searchPageSize?: number;
  /** attempts per request on 429/5xx/network errors before the activity's own retry takes over */
  maxAttempts?: number;
  /** called once per API request (metrics) */
  onRequest?: () => void;
  onRateLimited?: () => void;
  /** the account's request budgets, shared by all workers (default: this process only) */
  budgets?: { general: RequestBudget; search: RequestBudget };
}

/** Position in HubSpot's last-modified order. `ts` epoch ms; `seen` ids at exactly `ts` already applied. */
export interface HubSpotCursor extends ChangeCursor {
  ts: number;
  seen?: string[];
  /** draining many records that share `ts`, ordered by id, after `afterId` */
  tie?: boolean;
  afterId?: string | null;
  /** `ts` itself is done: continue strictly after it */
  pastTs?: boolean;
  /**
   * `id@lastmodified` of records already yielded within the lookback before `ts` (at most
   * KNOWN_MAX): a re-read of the lookback skips them, so an idle cycle costs one search and no
   * association reads; a record the index shows late (or changed again) is not among them.
   */
  known?: string[];
  /**
   * wall time of a search that read up to this cursor's `ts`: records the index did not show then
   * were modified within the lookback before it, so a run long after (an idle cycle) needs no
   * lookback at all. The last such search, or an earlier one already a lookback past `ts` (it
   * proves the same, and an idle cycle's cursor stays as it was: nothing to write)
   */
  at?: number;
}

const KNOWN_MAX = 500;

interface ApiErrorLike {
  code?: number;
  body?: unknown;
  headers?: Record<string, string>;
  message?: string;
}

/**
 * A HubSpot error as it is logged and stored: status, category and HubSpot's message with the
 * record's values taken out (redactUpstream: a 400 quotes the value it refused).
 */
function describe(err: ApiErrorLike): string {
  const body = err.body as { message?: string; category?: string } | undefined;
  const category = body && typeof body === 'object' && typeof body.category === 'string' && /^[A-Z_]{1,60}$/.test(body.category) ? ` ${body.category}` : '';
  if (body && typeof body === 'object' && body.message) return `HTTP ${err.code}${category}: ${redactUpstream(body.message)}`;
  return err.code ? `HTTP ${err.code}${category}` : redactUpstream(err.message ?? String(err));
}

// The SDK's typed per-object APIs share one shape; this is the part we use.
interface ObjectApis {
  basicApi: {
    getPage(limit?: number, after?: string, properties?: string[], pwh?: string[], assoc?: string[], archived?: boolean): Promise<{ results: HubSpotObject[]; paging?: { next?: { after: string } } }>;
  };
  batchApi: {
    read(body: unknown, archived?: boolean): Promise<{ results: HubSpotObject[]; errors?: unknown[] }>;
    upsert(body: unknown): Promise<{ results: (HubSpotObject & { _new?: boolean; new?: boolean })[]; errors?: BatchError[] }>;
    update(body: unknown): Promise<{ results: HubSpotObject[]; errors?: BatchError[] }>;
    archive(body: unknown): Promise<void>;
  };
  searchApi: { doSearch(body: unknown): Promise<{ total: number; results: HubSpotObject[]; paging?: unknown }> };
}
interface AssocApis {
  getPage(from: string, to: string, body: unknown): Promise<{ results: { _from?: { id: string }; from?: { id: string }; to: { toObjectId: number | string; associationTypes?: { typeId: number }[] }[] }[] }>;
  createDefault(from: string, to: string, body: unknown): Promise<unknown>;
  archive(from: string, to: string, body: unknown): Promise<void>;
}
interface BatchError {
  category?: string;
  message?: string;
  context?: Record<string, string[]>;
}

export class HubSpotConnector implements Connector {
  readonly system = 'hubspot';
  readonly connection: string;
  readonly batchSize = 100;
  private readonly client: Client;
  private readonly general: RequestBudget;
  private readonly search: RequestBudget;
  private readonly pageSize: number;
  private readonly maxAttempts: number;
  /** API calls made, by kind; read by metrics and the benchmark */
  readonly calls = { total: 0, search: 0, rateLimited: 0, retried: 0 };

  constructor(private readonly opts: HubSpotConnectorOptions) {
    this.connection = opts.connection;
    // numberOfApiCallRetries 0: retries are ours (they honour Retry-After and keep heartbeats going).
    this.client = new Client({ accessToken: opts.accessToken, basePath: opts.baseUrl, numberOfApiCallRetries: 0 });
    this.general = opts.budgets?.general ?? new RollingWindowLimiter(opts.ratePer10s, 10_000);
    this.search = opts.budgets?.search ?? new RollingWindowLimiter(opts.searchPerSecond, 1_000);
    this.pageSize = Math.min(200, opts.searchPageSize ?? 200);
    this.maxAttempts = opts.maxAttempts ?? 8;
  }

  private get assoc(): AssocApis {
    return this.client.crm.associations.v4.batchApi as unknown as AssocApis;
  }

  /** Reads the associations the canonical form carries (as HubSpot ids) for a page of records. */
  private async withAssociations(type: string, records: ExternalRecord[]): Promise<ExternalRecord[]> {
    const assocs = hubspotMap(type).associations;
    if (!assocs || !records.length) return records;
    const from = hubspotMap(type).objectType;
    for (const [field, a] of Object.entries(assocs)) {
      const found = new Map<string, { id: string; primary: boolean }[]>();
      // Association batch reads take up to 1,000 ids (listChanges hands over up to 1,000 records at once).
      for (let i = 0; i < records.length; i += ASSOC_READ_BATCH) {
        const inputs = records.slice(i, i + ASSOC_READ_BATCH).map((r) => ({ id: r.externalId }));
        const res = await this.call('general', () => this.assoc.getPage(from, a.to, { inputs }));
        for (const row of res.results ?? []) {
          const fromId = String((row._from ?? row.from)!.id);
          found.set(fromId, row.to.map((t) => ({ id: String(t.toObjectId), primary: (t.associationTypes ?? []).some((x) => x.typeId === a.primaryTypeId) })));
        }
      }
      for (const r of records) {
        const to = found.get(r.externalId) ?? [];
        if (hubspotSpec(type).fields[field] === 'ref') r.fields[field] = (to.find((t) => t.primary) ?? to[0])?.id ?? null;
        else r.fields[field] = normalizeValue('refs', to.map((t) => t.id));
      }
    }
    return records;
  }

  /**
   * Makes HubSpot's associations match the canonical ref fields (HubSpot ids) of written records:
   * archive the ones no longer wanted, create the missing ones (default type; primary when first).
   */
  private async writeAssociations(type: string, changes: { externalId: string; want: Canonical; had: Canonical | null }[]): Promise<void> {
    const assocs = hubspotMap(type).associations;
    if (!assocs || !changes.length) return;
    const from = hubspotMap(type).objectType;
    for (const [field, a] of Object.entries(assocs)) {
      // The SDK's models name the field `_from` (serialised as "from").
      const add: { _from: { id: string }; to: { id: string } }[] = [];
      const remove: { _from: { id: string }; to: { id: string }[] }[] = [];
      for (const c of changes) {
        const want = new Set((c.want[field] ?? '').split(',').filter(Boolean));
        const had = new Set((c.had?.[field] ?? '').split(',').filter(Boolean));
        const gone = [...had].filter((id) => !want.has(id));
        if (gone.length) remove.push({ _from: { id: c.externalId }, to: gone.map((id) => ({ id })) });
        for (const id of want) if (!had.has(id)) add.push({ _from: { id: c.externalId }, to: { id } });
      }
      for (let i = 0; i < remove.length; i += this.batchSize) {
        const inputs = remove.slice(i, i + this.batchSize);
        await this.call('general', () => this.assoc.archive(from, a.to, { inputs }));
      }
      for (let i = 0; i < add.length; i += this.batchSize) {
        const inputs = add.slice(i, i + this.batchSize);
        await this.call('general', () => this.assoc.createDefault(from, a.to, { inputs }), (code) => code === 400 || code === 404).catch(
          (err: ApiErrorLike) => {
            // A target that no longer exists in HubSpot: the association cannot be made; the rest stand.
            if (err.code !== 400 && err.code !== 404) throw err;
          },
        );
      }
    }
  }

  private apis(type: string): ObjectApis {
    return this.client.crm[hubspotMap(type).objectType] as unknown as ObjectApis;
  }

  /**
   * One API call under the shared budget, with 429/5xx handling. Other 4xx answers become
   * non-retryable failures, except the statuses the caller handles itself (`handles`).
   */
  private async call<T>(kind: 'general' | 'search', fn: () => Promise<T>, handles: (code: number) => boolean = () => false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // Each slot counts again from when its request is done (see core/ratelimit).
      const releaseSearch = kind === 'search' ? await this.search.acquire() : undefined;
      const release = await this.general.acquire();
      keepAlive();
      this.calls.total++;
      this.opts.onRequest?.();
      if (kind === 'search') this.calls.search++;
      try {
        return await fn().finally(() => {
          release();
          releaseSearch?.();
        });
      } catch (e) {
        const err = e as ApiErrorLike;
        const code = err.code;
        if (code === 429) {
          this.calls.rateLimited++;
          this.opts.onRateLimited?.();
          const body = (err.body ?? {}) as { policyName?: string };
          const headers = err.headers ?? {};
          const retryAfterS = Number(headers['retry-after'] ?? headers['Retry-After']);
          const waitMs = Number.isFinite(retryAfterS) && retryAfterS > 0
            ? retryAfterS * 1000
            : body.policyName === 'DAILY' ? 3_600_000 : body.policyName === 'SECONDLY' || kind === 'search' ? 1_000 : 10_000;
          if (body.policyName === 'DAILY' || attempt >= this.maxAttempts) {
            throw ApplicationFailure.create({
              type: ErrorType.RateLimited,
              message: `HubSpot rate limit (${body.policyName ?? 'unknown policy'}); retry in ${Math.round(waitMs / 1000)} s`,
              nextRetryDelay: waitMs,
            });
          }
          (kind === 'search' ? this.search : this.general).pauseUntil(Date.now() + waitMs);
          this.calls.retried++;
          continue;
        }
        if (code === 401 || code === 403) {
          throw ApplicationFailure.create({
            type: ErrorType.Auth,
            message: `HubSpot rejected the access token (${describe(err)}); check HUBSPOT_API_KEY`,
            nonRetryable: true,
          });
        }
        const transient = code === undefined || code >= 500 || code === 408;
        if (transient && attempt < this.maxAttempts) {
          this.calls.retried++;
          await patientSleep(Math.min(8_000, 200 * 2 ** (attempt - 1)) + Math.floor(Math.random() * 100));
          continue;
        }
        if (transient) {
          throw ApplicationFailure.create({ type: ErrorType.Upstream, message: `HubSpot unavailable: ${describe(err)}` });
        }
        if (code !== undefined && handles(code)) throw e;
        throw ApplicationFailure.create({ type: ErrorType.BadRequest, message: `HubSpot rejected the request: ${describe(err)}`, nonRetryable: true });
      }
    }
  }

  private readonly prepared = new Set<string>();

  /** Creates the engine's custom properties where missing (once per process and entity type). */
  async prepare(type: string): Promise<void> {
    if (this.prepared.has(type)) return;
    const objectType = hubspotMap(type).objectType;
    const wanted: { name: string; unique: boolean }[] = [{ name: AURORA_ID_PROPERTY, unique: true }];
    for (const prop of Object.values(hubspotMap(type).properties)) {
      if (prop.startsWith('aurora_')) wanted.push({ name: prop, unique: false });
    }
    for (const { name, unique } of wanted) {
      try {
        await this.call('general', () => this.client.crm.properties.coreApi.getByName(objectType, name), (c) => c === 404);
      } catch (e) {
        if ((e as ApiErrorLike).code !== 404) throw e;
        await this.call('general', () =>
          this.client.crm.properties.coreApi.create(objectType, {
            name,
            label: name === AURORA_ID_PROPERTY ? 'Aurora ID' : name,
            type: unique ? 'string' : 'number',
            fieldType: unique ? 'text' : 'number',
            groupName: objectType === 'contacts' ? 'contactinformation' : objectType === 'companies' ? 'companyinformation' : 'dealinformation',
            hasUniqueValue: unique,
          } as never),
          (c) => c === 409,
        ).catch((err: ApiErrorLike) => {
          if (err.code !== 409) throw err; // created meanwhile by another worker
        });
      }
    }
    this.prepared.add(type);
  }

  private searchBody(type: string, filters: object[], sortBy: string) {
    return { filterGroups: [{ filters }], sorts: [{ propertyName: sortBy, direction: 'ASCENDING' }], properties: readProperties(type), limit: this.pageSize, after: '0' };
  }

  /**
   * Incremental by last-modified, immune to the 10,000-result search cap (every query starts at
   * offset 0 and moves its lower bound instead) and to many records sharing one timestamp (those
   * are drained ordered by hs_object_id). A fresh run re-reads `searchLookbackMs` before the
   * cursor, because HubSpot's search index lags behind writes; unchanged records cost no writes.
   * Associations are read for up to 1,000 records at once (the batch read's limit): the search
   * pages (200 each) are held until they hold 1,000 records or the listing ends, then yielded as
   * they came, each with its own cursor, after one association read per association.
   */
  async *listChanges(type: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    let held: ChangePage[] = [];
    let records = 0;
    /** the held pages, their records' associations read (set in their fields) */
    const release = async (): Promise<ChangePage[]> => {
      const pages = held;
      held = [];
      records = 0;
      await this.withAssociations(type, pages.flatMap((p) => p.records));
      return pages;
    };
    // the next search pages are fetched meanwhile (up to a group ahead)
    const group = Math.ceil(ASSOC_READ_BATCH / this.pageSize);
    try {
      for await (const page of readAhead(this.searchPages(type, cursor, resume), group)) {
        // a group never passes one read's 1,000 ids, nor holds more pages than make 1,000 (their cursors go on)
        if (held.length && records + page.records.length > ASSOC_READ_BATCH) yield* await release();
        held.push(page);
        records += page.records.length;
        if (records >= ASSOC_READ_BATCH || held.length >= group) yield* await release();
      }
    } catch (err) {
      // A later search failed: the pages read before it still go on (and their cursors are kept).
      const pages = held.length ? await release().catch(() => []) : [];
      yield* pages;
      throw err;
    }
    if (held.length) yield* await release();
  }

  /** The search pages of listChanges, each with the cursor after it (associations not read yet). */
  private async *searchPages(type: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    const lm = hubspotMap(type).lastModified;
    const apis = this.apis(type);
    const prev = cursor as HubSpotCursor | null;
    let ts = 0;
    let seen = new Set<string>();
    let tie = false;
    let afterId: string | null = null;
    let pastTs = false;
    const known = new Map<string, number>((prev?.known ?? []).map((k) => [k, Number(k.slice(k.lastIndexOf('@') + 1))]));
    const isKnown = (r: HubSpotObject, stamp: number) => known.has(`${r.id}@${stamp}`);
    const remember = (rs: HubSpotObject[], stamps: number[]) => rs.forEach((r, i) => known.set(`${r.id}@${stamps[i]}`, stamps[i]!));
    // The lookback only matters for records modified within it before the last search: when that
    // search was long after `ts`, everything up to `ts` was in the index and the run continues exactly.
    const exact = prev !== null && (resume || (prev.at !== undefined && prev.at - this.opts.searchLookbackMs >= prev.ts));
    let searchedAt = prev?.at;
    if (prev && exact) {
      ts = prev.ts;
      seen = new Set(prev.seen ?? []);
      tie = Boolean(prev.tie);
      afterId = prev.afterId ?? null;
      pastTs = Boolean(prev.pastTs);
    } else if (prev) {
      ts = Math.max(0, prev.ts - this.opts.searchLookbackMs, prev.at !== undefined ? prev.at - this.opts.searchLookbackMs : 0);
    }
    const knownNow = (): string[] => {
      const floor = ts - this.opts.searchLookbackMs;
      return [...known].filter(([, at]) => at >= floor).sort((a, b) => b[1] - a[1]).slice(0, KNOWN_MAX).map(([k]) => k);
    };
    const here = (): HubSpotCursor => {
      const base: HubSpotCursor = tie ? { ts, tie, afterId } : pastTs ? { ts, pastTs } : { ts, seen: [...seen] };
      const k = this.opts.searchLookbackMs > 0 ? knownNow() : [];
      // An earlier search that already proves everything up to `ts` was in the index proves it for
      // a later one too: keeping its time leaves an idle cycle's cursor unchanged (nothing to write).
      const at = prev?.at !== undefined && prev.at - this.opts.searchLookbackMs >= ts ? prev.at : searchedAt;
      return { ...base, ...(k.length ? { known: k } : {}), ...(at !== undefined ? { at } : {}) };
    };

    for (;;) {
      if (tie) {
        const filters: object[] = [{ propertyName: lm, operator: 'EQ', value: String(ts) }];
        if (afterId) filters.push({ propertyName: 'hs_object_id', operator: 'GT', value: afterId });
        searchedAt = Date.now();
        const res = await this.call('search', () => apis.searchApi.doSearch(this.searchBody(type, filters, 'hs_object_id')));
        const fresh = res.results.filter((r) => !seen.has(String(r.id)) && !isKnown(r, ts));
        remember(fresh, fresh.map(() => ts));
        if (res.results.length) afterId = String(res.results[res.results.length - 1]!.id);
        const done = res.results.length < this.pageSize;
        if (done) {
          tie = false;
          pastTs = true;
          seen = new Set();
        }
        if (fresh.length || done) yield { records: fresh.map((r) => toExternalRecord(type, r)), cursor: here() };
        continue;
      }
      const op = pastTs ? 'GT' : 'GTE';
      searchedAt = Date.now();
      const res = await this.call('search', () =>
        apis.searchApi.doSearch(this.searchBody(type, [{ propertyName: lm, operator: op, value: String(ts) }], lm)),
      );
      if (res.results.length === 0) return;
      const stamps = res.results.map((r) => lastModifiedMs(type, r));
      const freshAt = res.results.map((r, i) => !(stamps[i] === ts && seen.has(String(r.id))) && !isKnown(r, stamps[i]!));
      const fresh = res.results.filter((_, i) => freshAt[i]);
      const first = stamps[0]!;
      const last = stamps[stamps.length - 1]!;
      const full = res.results.length >= this.pageSize;
      if (full && first === last) {
        // A whole page shares one timestamp: drain that timestamp by id, then continue after it.
        if (last !== ts) seen = new Set();
        ts = last;
        tie = true;
        afterId = null;
        pastTs = false;
        continue;
      }
      remember(fresh, stamps.filter((_, i) => freshAt[i]));
      const atLast = res.results.filter((_, i) => stamps[i] === last).map((r) => String(r.id));
      seen = last === ts ? new Set([...seen, ...atLast]) : new Set(atLast);
      ts = last;
      pastTs = false;
      yield { records: fresh.map((r) => toExternalRecord(type, r)), cursor: here() };
      if (!full) return;
    }
  }

  async readByIds(type: string, externalIds: string[], opts: { propertiesOnly?: ReadonlySet<string> } = {}): Promise<ExternalRecord[]> {
    const out: ExternalRecord[] = [];
    for (let i = 0; i < externalIds.length; i += this.batchSize) {
      const ids = externalIds.slice(i, i + this.batchSize);
      const res = await this.call('general', () =>
        this.apis(type).batchApi.read({ inputs: ids.map((id) => ({ id })), properties: readProperties(type), propertiesWithHistory: [] }),
      );
      out.push(...res.results.map((r) => toExternalRecord(type, r)));
    }
    // A property change cannot have changed associations: those records keep their synced ones,
    // and a fetch of only such records is one request per 100 instead of one more per association.
    const skip = opts.propertiesOnly;
    const assocFields = Object.keys(hubspotMap(type).associations ?? {});
    if (!skip?.size || !assocFields.length) return this.withAssociations(type, out);
    const kept = out.filter((r) => skip.has(r.externalId));
    for (const r of kept) r.kept = assocFields;
    await this.withAssociations(type, out.filter((r) => !skip.has(r.externalId)));
    return out;
  }

  async readArchived(type: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const out: ExternalRecord[] = [];
    for (let i = 0; i < externalIds.length; i += this.batchSize) {
      const ids = externalIds.slice(i, i + this.batchSize);
      const res = await this.call('general', () =>
        this.apis(type).batchApi.read({ inputs: ids.map((id) => ({ id })), properties: [AURORA_ID_PROPERTY], propertiesWithHistory: [] }, true),
      );
      out.push(...res.results.filter((r) => r.archived !== false).map((r) => ({ ...toExternalRecord(type, r), archived: true })));
    }
    return out;
  }

  private outcome(type: string, localId: string, obj: HubSpotObject, sent: Canonical, created?: boolean, changed?: string[]): WriteOutcome {
    const rec = toExternalRecord(type, obj);
    // HubSpot answers with the stored values of what we sent (it may normalise them); fields we did
    // not send keep our values, so a change HubSpot has and we have not pulled yet still shows as one.
    const fields: Canonical = { ...sent }; // associations: what we sent is what HubSpot now has
    for (const [field, prop] of Object.entries(hubspotMap(type).properties)) {
      if (changed && !changed.includes(field)) continue;
      if (prop in obj.properties) fields[field] = rec.fields[field] ?? null;
    }
    return { localId, ok: true, externalId: rec.externalId, fields, updatedAt: rec.updatedAt, created };
  }

  /** Runs a batch write; on a 4xx for the whole batch, isolates the bad inputs by retrying one by one. */
  private async isolate<I extends { localId: string }>(
    items: I[],
    run: (batch: I[]) => Promise<WriteOutcome[]>,
  ): Promise<WriteOutcome[]> {
    try {
      return await run(items);
    } catch (e) {
      const err = e as ApiErrorLike;
      if (err.code === undefined || err.code >= 500 || err.code === 429 || e instanceof ApplicationFailure) throw e;
      if (items.length === 1) return [{ localId: items[0]!.localId, ok: false, error: describe(err), notFound: err.code === 404 }];
      const out: WriteOutcome[] = [];
      for (const item of items) out.push(...(await this.isolate([item], run)));
      return out;
    }
  }

  async create(type: string, creates: WriteCreate[]): Promise<WriteOutcome[]> {
    const outcomes = await this.isolate(creates, async (batch) => {
      // Upsert keyed by the Aurora id: a create retried after a timeout finds the record it made.
      const res = await this.call('general', () =>
        this.apis(type).batchApi.upsert({
          inputs: batch.map((c) => ({
            id: c.localId,
            idProperty: AURORA_ID_PROPERTY,
            // HubSpot echoes this in per-input errors, so each error finds its record.
            objectWriteTraceId: c.localId,
            properties: { ...stripEmpty(toHubSpotProperties(type, c.fields)), [AURORA_ID_PROPERTY]: c.localId },
          })),
        }),
        isClientError,
      );
      const byAurora = new Map(res.results.map((r) => [r.properties[AURORA_ID_PROPERTY] ?? '', r]));
      return batch.map((c): WriteOutcome => {
        const r = byAurora.get(c.localId);
        if (r) return this.outcome(type, c.localId, r, c.fields, Boolean(r.new ?? r._new));
        return { localId: c.localId, ok: false, error: batchErrorFor(res.errors, c.localId) ?? 'HubSpot did not return the record' };
      });
    });
    // An upsert that found the record it made earlier (new: false) may already have some of them.
    const byLocal = new Map(creates.map((c) => [c.localId, c]));
    await this.writeAssociations(
      type,
      outcomes.flatMap((o) => (o.ok ? [{ externalId: o.externalId, want: byLocal.get(o.localId)!.fields, had: o.created === false ? (byLocal.get(o.localId)!.previous ?? null) : null }] : [])),
    );
    return outcomes;
  }

  async update(type: string, updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    const props = (u: WriteUpdate) => toHubSpotProperties(type, u.changed ? pick(u.fields, u.changed) : u.fields);
    // Only associations changed: nothing to send to the object itself.
    const refOnly = updates.filter((u) => Object.keys(props(u)).length === 0);
    const now = new Date().toISOString();
    const outcomes: WriteOutcome[] = refOnly.map((u) => ({ localId: u.localId, ok: true, externalId: u.externalId, fields: { ...u.fields }, updatedAt: now }));
    const withProps = updates.filter((u) => Object.keys(props(u)).length > 0);
    outcomes.push(...(withProps.length ? await this.isolate(withProps, async (batch) => {
      const res = await this.call(
        'general',
        () => this.apis(type).batchApi.update({ inputs: batch.map((u) => ({ id: u.externalId, properties: props(u) })) }),
        isClientError,
      );
      const byId = new Map(res.results.map((r) => [String(r.id), r]));
      return batch.map((u): WriteOutcome => {
        const r = byId.get(u.externalId);
        if (r) return this.outcome(type, u.localId, r, u.fields, undefined, u.changed);
        const error = batchErrorFor(res.errors, u.externalId) ?? 'HubSpot did not return the record';
        return { localId: u.localId, ok: false, error, notFound: /NOT_FOUND|not exist/i.test(error) };
      });
    }) : []));
    const byLocal = new Map(updates.map((u) => [u.localId, u]));
    await this.writeAssociations(
      type,
      outcomes.flatMap((o) => (o.ok ? [{ externalId: o.externalId, want: byLocal.get(o.localId)!.fields, had: byLocal.get(o.localId)!.previous ?? null }] : [])),
    );
    return outcomes;
  }

  async delete(type: string, deletes: WriteDelete[]): Promise<WriteOutcome[]> {
    if (!deletes.length) return [];
    await this.call('general', () => this.apis(type).batchApi.archive({ inputs: deletes.map((d) => ({ id: d.externalId })) }));
    const now = new Date().toISOString();
    return deletes.map((d) => ({ localId: d.localId, ok: true as const, externalId: d.externalId, fields: {}, updatedAt: now }));
  }
}

/** ids per association batch read (HubSpot's limit): listChanges hands on its search pages in groups of up to this many records */
export const ASSOC_READ_BATCH = 1000;

const isClientError = (code: number): boolean => code >= 400 && code < 500;

function pick(fields: Canonical, names: string[]): Canonical {
  return Object.fromEntries(names.filter((n) => n in fields).map((n) => [n, fields[n] ?? null]));
}

function stripEmpty(props: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== ''));
}

function batchErrorFor(errors: BatchError[] | undefined, id: string): string | undefined {
  for (const e of errors ?? []) {
    const ids = Object.values(e.context ?? {}).flat();
    if (ids.includes(id)) return `${e.category ?? 'ERROR'}: ${redactUpstream(e.message ?? '')}`.trim();
  }
  if (errors?.length === 1 && !errors[0]!.context) return `${errors[0]!.category ?? 'ERROR'}: ${redactUpstream(errors[0]!.message ?? '')}`;
  return undefined;
}
