/**
 * Outgoing webhooks, as Fireflies sends them (docs: graphql-api/webhooks, webhooks-v2):
 *
 *   v2: POST {"event":"meeting.transcribed"|"meeting.summarized","timestamp":<ms>,"meeting_id":"…","client_reference_id"?:"…"}
 *       X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>   (omitted without a secret)
 *       User-Agent: Fireflies-Webhook/1.0
 *   v1: POST {"meetingId":"…","eventType":"Transcription completed","clientReferenceId"?:"…"}
 *       x-hub-signature: <hex HMAC-SHA256(secret, raw body)>           (bare hex, no prefix)
 *
 * v1 knows one event (transcription completed); a summary becoming ready is v2's
 * `meeting.summarized` only. A delivery not answered 2xx within the timeout (10 s) is retried
 * with exponential backoff. All network work is on unref'd timers; recording is a push.
 */
import { createHmac } from 'node:crypto';
import type { WebhookDelivery, WebhookOptions, WebhookStats, WebhookVersion } from './types';

interface Resolved {
  url: string;
  secret?: string;
  version: WebhookVersion;
  maxAttempts: number;
  retryBaseMs: number;
  timeoutMs: number;
}

interface Delivery extends WebhookDelivery {
  cfg: Resolved;
}

export type WebhookEventName = 'meeting.transcribed' | 'meeting.summarized';

const MAX_LOG = 200;

export function hmacHex(secret: string, rawBody: string): string {
  return createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}

export function resolveWebhookOptions(o: WebhookOptions): Resolved {
  if (!o || typeof o !== 'object') throw new Error('webhook options must be an object (or null to turn webhooks off)');
  if (typeof o.url !== 'string' || !/^https?:\/\//i.test(o.url)) throw new Error('webhooks.url must be an http(s) URL');
  try {
    new URL(o.url);
  } catch {
    throw new Error(`webhooks.url is not a valid URL: ${o.url}`);
  }
  if (o.secret !== undefined && o.secret !== null && (typeof o.secret !== 'string' || o.secret.length < 16 || o.secret.length > 32)) {
    throw new Error('webhooks.secret must be 16 to 32 characters (Fireflies: Settings → Developer settings)');
  }
  const version = o.version ?? 'v2';
  if (version !== 'v1' && version !== 'v2') throw new Error("webhooks.version must be 'v1' or 'v2'");
  const num = (v: number | undefined, def: number, min: number, name: string): number => {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`webhooks.${name} must be a number >= ${min}`);
    return v;
  };
  return {
    url: o.url,
    secret: o.secret ?? undefined,
    version,
    maxAttempts: Math.floor(num(o.maxAttempts, 4, 1, 'maxAttempts')),
    retryBaseMs: num(o.retryBaseMs, 1000, 0, 'retryBaseMs'),
    timeoutMs: num(o.timeoutMs, 10_000, 1, 'timeoutMs'),
  };
}

export class WebhookDispatcher {
  private cfg: Resolved | undefined;
  private readonly log: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private abort = new AbortController();
  private readonly counters = { sent: 0, delivered: 0, failed: 0, attempts: 0 };
  private pending = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly random: () => number) {}

  configure(o: WebhookOptions | null): void {
    if (o === null || o === undefined) {
      this.cfg = undefined;
      this.dropAll();
      return;
    }
    this.cfg = resolveWebhookOptions(o);
  }

  describe(): Record<string, unknown> | null {
    return this.cfg ? { ...this.cfg, secret: this.cfg.secret ? '***' : null } : null;
  }

  stats(): WebhookStats {
    return { ...this.counters, pending: this.pending };
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map(({ cfg: _cfg, ...d }) => ({ ...d }));
  }

  /** Queues the event for `meetingId` (no-op when webhooks are off, or v1 and not a transcription). */
  emit(event: WebhookEventName, meetingId: string, clientReferenceId: string | null): void {
    const cfg = this.cfg;
    if (!cfg) return;
    if (cfg.version === 'v1' && event !== 'meeting.transcribed') return;
    const body =
      cfg.version === 'v2'
        ? JSON.stringify({ event, timestamp: Date.now(), meeting_id: meetingId, ...(clientReferenceId ? { client_reference_id: clientReferenceId } : {}) })
        : JSON.stringify({ meetingId, eventType: 'Transcription completed', ...(clientReferenceId ? { clientReferenceId } : {}) });
    const d: Delivery = { event: cfg.version === 'v2' ? event : 'Transcription completed', meetingId, body, attempts: 0, lastStatus: null, state: 'pending', cfg };
    this.log.push(d);
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG);
    this.counters.sent++;
    this.pending++;
    this.later(d, 0);
  }

  /** Resolves once every queued event is delivered or failed (retries keep their backoff). */
  async flush(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.cfg = undefined;
    this.dropAll();
  }

  private later(d: Delivery, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.send(d);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private async send(d: Delivery): Promise<void> {
    const cfg = d.cfg;
    const signal = this.abort.signal;
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'Fireflies-Webhook/1.0' };
    if (cfg.secret) {
      const hex = hmacHex(cfg.secret, d.body);
      if (cfg.version === 'v2') headers['X-Hub-Signature'] = `sha256=${hex}`;
      else headers['x-hub-signature'] = hex;
    }
    d.attempts++;
    this.counters.attempts++;
    let status = 0;
    try {
      const res = await fetch(cfg.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(cfg.timeoutMs)]),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
    } catch {
      status = 0; // connection error, timeout, or aborted by close()
    }
    if (signal.aborted || d.state !== 'pending') return;
    d.lastStatus = status;
    if (status >= 200 && status < 300) return this.settle(d, 'delivered');
    if (d.attempts >= cfg.maxAttempts) return this.settle(d, 'failed');
    this.later(d, cfg.retryBaseMs * 2 ** (d.attempts - 1) * (0.8 + 0.4 * this.random()));
  }

  private settle(d: Delivery, how: 'delivered' | 'failed'): void {
    d.state = how;
    this.counters[how]++;
    this.pending--;
    if (this.pending <= 0) this.wake();
  }

  private dropAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.abort.abort();
    this.abort = new AbortController();
    for (const d of this.log) if (d.state === 'pending') d.state = 'failed';
    this.counters.failed += this.pending;
    this.pending = 0;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
