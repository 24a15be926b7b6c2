/**
 * Outgoing webhooks, as a HubSpot app subscription delivers them: CRM changes become events
 * (`contact.creation`, `contact.propertyChange`, `contact.deletion`, `contact.associationChange`,
 * likewise company.* and deal.*), collected for `batchWindowMs`, POSTed as JSON arrays of at most
 * `maxBatch` events, signed (v3 HMAC + v1 digest), retried with randomised exponential backoff.
 *
 * Recording an event is a push into an array; all network work happens on (unref'd) timers.
 */
import { createHash, createHmac } from 'node:crypto';
import { SINGULAR, type PropDef } from './schema';
import type { SourceType, StoreChange } from './store';
import type { ObjectType, WebhookOptions, WebhookStats } from './types';

/** The HubSpot user the UI helpers act as (`sourceId: "userId:<id>"`). */
export const SANDBOX_USER_ID = 123;
export const DEFAULT_PORTAL_ID = 62515;
export const DEFAULT_APP_ID = 1234567;
const REQUEST_TIMEOUT_MS = 5000;
/** HubSpot's default concurrency limit for a subscription's target URL. */
const MAX_CONCURRENT_REQUESTS = 10;
/** a Retry-After larger than this is capped (HubSpot gives up retrying after about a day) */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

const SUBSCRIPTION_KINDS = ['creation', 'deletion', 'propertyChange', 'associationChange'] as const;

/** Stable subscription ids, one per subscription type (contact.creation -> 1000001, ...). */
const SUBSCRIPTION_IDS: Record<string, number> = {};
(['contacts', 'companies', 'deals'] as const).forEach((t, i) =>
  SUBSCRIPTION_KINDS.forEach((k, j) => {
    SUBSCRIPTION_IDS[`${SINGULAR[t]}.${k}`] = 1_000_001 + i * 10 + j;
  }),
);

export function subscriptionId(subscriptionType: string): number {
  return SUBSCRIPTION_IDS[subscriptionType] ?? 0;
}

export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  sourceId: string;
  propertyName?: string;
  propertyValue?: string;
  associationType?: string;
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
}

interface Resolved {
  targetUrl: string;
  clientSecret: string;
  appId: number;
  portalId: number;
  batchWindowMs: number;
  maxBatch: number;
  maxAttempts: number;
  retryBaseMs: number;
  signatureUri: string;
}

interface Batch {
  events: WebhookEvent[];
  /** 0-based number of the next attempt */
  attempt: number;
}

/** HubSpot decodes these in the URI before signing (request-validation docs). */
const URI_DECODE: Array<[RegExp, string]> = [
  [/%3A/gi, ':'], [/%2F/gi, '/'], [/%3F/gi, '?'], [/%40/gi, '@'], [/%21/gi, '!'], [/%24/gi, '$'],
  [/%27/gi, "'"], [/%28/gi, '('], [/%29/gi, ')'], [/%2A/gi, '*'], [/%2C/gi, ','], [/%3B/gi, ';'],
];

export function signatureV3(clientSecret: string, method: string, uri: string, rawBody: string, timestamp: number | string): string {
  const decoded = URI_DECODE.reduce((u, [re, ch]) => u.replace(re, ch), uri);
  return createHmac('sha256', clientSecret).update(`${method}${decoded}${rawBody}${timestamp}`, 'utf8').digest('base64');
}

export function signatureV1(clientSecret: string, rawBody: string): string {
  return createHash('sha256').update(clientSecret + rawBody, 'utf8').digest('hex');
}

/** Validates options (throws Error with a readable message) and fills in the defaults. */
export function resolveWebhookOptions(o: WebhookOptions): Resolved {
  if (!o || typeof o !== 'object') throw new Error('webhook options must be an object (or null to turn webhooks off)');
  if (typeof o.targetUrl !== 'string' || !/^https?:\/\//i.test(o.targetUrl)) throw new Error('webhooks.targetUrl must be an http(s) URL');
  try {
    new URL(o.targetUrl);
  } catch {
    throw new Error(`webhooks.targetUrl is not a valid URL: ${o.targetUrl}`);
  }
  if (typeof o.clientSecret !== 'string' || o.clientSecret === '') throw new Error('webhooks.clientSecret must be a non-empty string');
  const num = (name: keyof WebhookOptions, def: number, min: number, integer = true): number => {
    const v = o[name];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      throw new Error(`webhooks.${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
    }
    return v;
  };
  if (o.signatureUri !== undefined && typeof o.signatureUri !== 'string') throw new Error('webhooks.signatureUri must be a string');
  return {
    targetUrl: o.targetUrl,
    clientSecret: o.clientSecret,
    appId: num('appId', DEFAULT_APP_ID, 0),
    portalId: num('portalId', DEFAULT_PORTAL_ID, 0),
    batchWindowMs: num('batchWindowMs', 100, 0, false),
    maxBatch: num('maxBatch', 100, 1),
    maxAttempts: num('maxAttempts', 10, 1),
    retryBaseMs: num('retryBaseMs', 1000, 0, false),
    signatureUri: o.signatureUri ?? o.targetUrl,
  };
}

export class WebhookDispatcher {
  private cfg: Resolved | undefined;
  /** events waiting for the batch window to close */
  private queue: WebhookEvent[] = [];
  /** batches ready to be sent (first attempt or a retry whose delay has passed) */
  private ready: Batch[] = [];
  private inFlight = 0;
  private windowTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Map<NodeJS.Timeout, Batch>();
  private abort = new AbortController();
  private nextEventId = Date.now() * 1000;
  private readonly counters = { sent: 0, delivered: 0, failed: 0, attempts: 0 };
  private pendingEvents = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly propDef: (type: ObjectType, name: string) => PropDef | undefined,
    private readonly random: () => number = Math.random,
  ) {}

  get enabled(): boolean {
    return this.cfg !== undefined;
  }

  /** New options (pending events are then delivered with them), or null: off, pending events dropped (counted as failed). */
  configure(o: WebhookOptions | null): void {
    if (o === null || o === undefined) {
      this.cfg = undefined;
      this.dropAll();
      return;
    }
    this.cfg = resolveWebhookOptions(o);
    // events recorded under the old options go out with the new ones
    if (this.queue.length > 0 && !this.windowTimer) this.cut();
    this.pump();
  }

  /** The current options (client secret masked), or null when off. */
  describe(): Record<string, unknown> | null {
    return this.cfg ? { ...this.cfg, clientSecret: '***' } : null;
  }

  stats(): WebhookStats {
    return { ...this.counters, pending: this.pendingEvents };
  }

  /** Store listener: turns a change into an event. Cheap (no I/O). */
  record(c: StoreChange): void {
    const cfg = this.cfg;
    if (!cfg) return;
    const subscriptionType = `${SINGULAR[c.type]}.${c.kind}`;
    const ev: WebhookEvent = {
      eventId: this.nextEventId++,
      subscriptionId: subscriptionId(subscriptionType),
      portalId: cfg.portalId,
      appId: cfg.appId,
      occurredAt: c.at,
      subscriptionType,
      attemptNumber: 0,
      objectId: Number(c.id),
      changeSource: changeSource(c.source),
      sourceId: c.source === 'CRM_UI' ? `userId:${SANDBOX_USER_ID}` : `app:${cfg.appId}`,
    };
    if (c.kind === 'propertyChange') {
      ev.propertyName = c.name;
      ev.propertyValue = this.webhookValue(c.type, c.name, c.value);
    } else if (c.kind === 'associationChange') {
      ev.associationType = `${SINGULAR[c.type].toUpperCase()}_TO_${SINGULAR[c.toType].toUpperCase()}`;
      ev.fromObjectId = Number(c.id);
      ev.toObjectId = Number(c.toId);
      ev.associationRemoved = c.removed;
      ev.isPrimaryAssociation = c.primary;
    }
    this.queue.push(ev);
    this.counters.sent++;
    this.pendingEvents++;
    if (!this.windowTimer) {
      this.windowTimer = setTimeout(() => {
        this.windowTimer = undefined;
        this.cut();
      }, cfg.batchWindowMs);
      this.windowTimer.unref();
    }
  }

  /**
   * Sends the queued events now (no waiting for the batch window) and resolves once every event
   * recorded so far is delivered or has failed; retries keep their backoff (use a small
   * `retryBaseMs` in tests). Resolves at once when webhooks are off, and on close().
   */
  async flush(): Promise<void> {
    if (this.windowTimer) {
      clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
    }
    this.cut();
    if (this.pendingEvents === 0 || !this.cfg) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Stops timers and aborts deliveries in flight; pending events are dropped. */
  close(): void {
    this.cfg = undefined;
    this.dropAll();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** HubSpot reports date and datetime values as epoch-millisecond strings in webhooks. */
  private webhookValue(type: ObjectType, name: string, value: string): string {
    if (value === '') return value;
    const t = this.propDef(type, name)?.type;
    if (t !== 'datetime' && t !== 'date') return value;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? value : String(ms);
  }

  /** Closes the batch window: splits the queue into batches of at most maxBatch events. */
  private cut(): void {
    const cfg = this.cfg;
    if (!cfg || this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    for (let i = 0; i < q.length; i += cfg.maxBatch) this.ready.push({ events: q.slice(i, i + cfg.maxBatch), attempt: 0 });
    this.pump();
  }

  private pump(): void {
    while (this.cfg && this.inFlight < MAX_CONCURRENT_REQUESTS && this.ready.length > 0) {
      const batch = this.ready.shift()!;
      this.inFlight++;
      void this.send(batch, this.cfg).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(batch: Batch, cfg: Resolved): Promise<void> {
    const signal = this.abort.signal;
    const attempt = batch.attempt;
    const rawBody = JSON.stringify(batch.events.map((e) => ({ ...e, attemptNumber: attempt })));
    const timestamp = Date.now();
    this.counters.attempts++;
    let retryAfterMs: number | undefined;
    let ok = false;
    try {
      const res = await fetch(cfg.targetUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)',
          'X-HubSpot-Signature-v3': signatureV3(cfg.clientSecret, 'POST', cfg.signatureUri, rawBody, timestamp),
          'X-HubSpot-Request-Timestamp': String(timestamp),
          'X-HubSpot-Signature': signatureV1(cfg.clientSecret, rawBody),
          'X-HubSpot-Signature-Version': 'v1',
        },
        body: rawBody,
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      ok = res.status >= 200 && res.status < 300;
      if (res.status === 429) retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      await res.body?.cancel().catch(() => undefined);
    } catch {
      ok = false; // connection error, timeout, or aborted by close()
    }
    if (signal.aborted) return; // closed / turned off meanwhile: already dropped
    if (ok) {
      this.settle(batch, 'delivered');
      return;
    }
    batch.attempt++;
    if (batch.attempt >= cfg.maxAttempts) {
      this.settle(batch, 'failed');
      return;
    }
    const backoff = cfg.retryBaseMs * 2 ** attempt * (0.8 + 0.4 * this.random());
    const delay = retryAfterMs !== undefined ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) : backoff;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.ready.push(batch);
      this.pump();
    }, delay);
    timer.unref();
    this.retryTimers.set(timer, batch);
  }

  private settle(batch: Batch, how: 'delivered' | 'failed'): void {
    this.counters[how] += batch.events.length;
    this.pendingEvents -= batch.events.length;
    if (this.pendingEvents <= 0) this.wake();
  }

  private dropAll(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    for (const t of this.retryTimers.keys()) clearTimeout(t);
    this.retryTimers.clear();
    this.abort.abort();
    this.abort = new AbortController();
    this.counters.failed += this.pendingEvents;
    this.pendingEvents = 0;
    this.queue = [];
    this.ready = [];
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

function changeSource(source: SourceType): string {
  switch (source) {
    case 'CRM_UI':
      return 'CRM_UI';
    case 'IMPORT':
      return 'IMPORT';
    default:
      return 'INTEGRATION';
  }
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unparsable. */
function parseRetryAfter(v: string | null): number | undefined {
  if (v === null || v.trim() === '') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
