/**
 * Push notification channels (`web_hook`), as Calendar's `events.watch` and Drive's
 * `changes.watch` open them and `channels.stop` closes them.
 *
 * Delivery follows Google's push guide: right after `watch`, a `sync` message (message number 1),
 * then one message per change of the watched resource (`exists` for Calendar, `change` for Drive's changes) — changes within
 * COALESCE_MS of each other become one message, and changes while a message is in flight or being
 * retried become one more message after it. Each message is a POST without a body carrying the
 * X-Goog-* headers. The receiver's 200/201/202/204/102 count as success; 500/502/503/504, timeouts
 * and connection errors are retried with exponential backoff (MAX_RETRIES times); anything else
 * fails the message. Expired channels stop silently. There is no signature: the channel token is
 * the receiver's only authenticity check.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GoogleError, invalid, required } from './errors';
import type { ChannelInfo, ChannelStats } from './types';

/** Calendar's default channel lifetime (params.ttl / expiration may shorten or lengthen it up to the cap). */
const DEFAULT_LIFETIME_MS = 7 * 24 * 3600_000;
const MAX_LIFETIME_MS = 30 * 24 * 3600_000;
const COALESCE_MS = 50;
const MAX_RETRIES = 3;
const RETRY_BASE_MS = 250;
const DELIVERY_TIMEOUT_MS = 5000;
const SUCCESS = new Set([200, 201, 202, 204, 102]);
const RETRYABLE = new Set([500, 502, 503, 504]);
const CHANNEL_ID_RE = /^[A-Za-z0-9\-_+/=]{1,64}$/;
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';

/** What a module tells the hub about the watched resource. */
export interface WatchedResource {
  /** internal key the module notifies on, e.g. `calendar:<calendarId>` */
  key: string;
  /** opaque id, stable per resource (the same for every channel on it) */
  resourceId: string;
  resourceUri: string;
  /** X-Goog-Resource-State of the change messages (default `exists`, Calendar's; Drive changes: `change`) */
  changeState?: string;
}

export interface ChannelResource {
  kind: 'api#channel';
  id: string;
  resourceId: string;
  resourceUri: string;
  token?: string;
  /** epoch ms as a string, as Google sends int64 values */
  expiration: string;
}

interface Channel extends ChannelInfo {
  key: string;
  changeState: string;
  /** the next message is the initial `sync` */
  syncPending: boolean;
  timer?: NodeJS.Timeout;
  inFlight: boolean;
  /** a change arrived while a message was scheduled or in flight: send one more afterwards */
  dirty: boolean;
  abort: AbortController;
}

type Outcome = 'ok' | 'retry' | 'fail' | 'aborted';

export class ChannelHub {
  private readonly channels = new Map<string, Channel>();
  private readonly counters = { sent: 0, failed: 0, retried: 0 };
  private waiters: Array<() => void> = [];

  constructor(
    private readonly opts: { requireHttps: boolean; projectNumber: string; random: () => number },
  ) {}

  /** Validates a watch request body and opens the channel; throws GoogleError. */
  open(user: string, rawBody: unknown, resource: WatchedResource): ChannelResource {
    const b = rawBody && typeof rawBody === 'object' && !Array.isArray(rawBody) ? (rawBody as Record<string, unknown>) : undefined;
    if (!b) throw required('Required');
    const id = b.id;
    if (typeof id !== 'string' || id === '') throw required('Required parameter: id', { location: 'id', locationType: 'other' });
    if (!CHANNEL_ID_RE.test(id)) throw invalid('Channel id must match [A-Za-z0-9\\-_\\+/=]+ and be at most 64 characters long.');
    if (b.type !== 'web_hook' && b.type !== 'webhook') throw invalid(`Unknown channel type: ${String(b.type ?? '')}`);
    const address = typeof b.address === 'string' ? b.address : '';
    let url: URL | undefined;
    try {
      url = new URL(address);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw invalid(`Invalid WebHook address: ${address}`);
    if (this.opts.requireHttps && url.protocol !== 'https:') {
      throw GoogleError.of(400, 'push.webhookUrlNotHttps', `WebHook callback must be HTTPS: ${address}`);
    }
    if (b.token !== undefined && b.token !== null && (typeof b.token !== 'string' || b.token.length > 256)) {
      throw invalid('Channel token must be a string of at most 256 characters.');
    }
    const existing = this.channels.get(id);
    if (existing && this.live(existing)) throw GoogleError.of(400, 'channelIdNotUnique', `Channel id ${id} not unique`);

    const now = Date.now();
    const params = b.params && typeof b.params === 'object' ? (b.params as Record<string, unknown>) : {};
    const ttl = params.ttl === undefined ? undefined : Number(params.ttl);
    if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) throw invalid(`Invalid value for params.ttl: ${String(params.ttl)}`);
    const requested = b.expiration === undefined || b.expiration === null ? undefined : Number(b.expiration);
    if (requested !== undefined && !Number.isFinite(requested)) throw invalid(`Invalid value for expiration: ${String(b.expiration)}`);
    let expiration = now + (ttl !== undefined ? ttl * 1000 : DEFAULT_LIFETIME_MS);
    if (requested !== undefined) expiration = Math.min(expiration, requested);
    expiration = Math.min(expiration, now + MAX_LIFETIME_MS);

    const ch: Channel = {
      id,
      key: resource.key,
      changeState: resource.changeState ?? 'exists',
      resourceId: resource.resourceId,
      resourceUri: resource.resourceUri,
      address,
      token: typeof b.token === 'string' ? b.token : undefined,
      expiration,
      user,
      messageNumber: 0,
      syncPending: true,
      inFlight: false,
      dirty: false,
      abort: new AbortController(),
    };
    if (existing) this.drop(existing);
    this.channels.set(id, ch);
    this.schedule(ch);
    const res: ChannelResource = { kind: 'api#channel', id, resourceId: ch.resourceId, resourceUri: ch.resourceUri, expiration: String(expiration) };
    if (ch.token !== undefined) res.token = ch.token;
    return res;
  }

  /** `channels.stop` body `{id, resourceId}`; an unknown pair is a 404. */
  stop(rawBody: unknown): void {
    const b = rawBody && typeof rawBody === 'object' ? (rawBody as Record<string, unknown>) : {};
    if (typeof b.id !== 'string' || b.id === '') throw required('Required parameter: id', { location: 'id', locationType: 'other' });
    if (typeof b.resourceId !== 'string' || b.resourceId === '') {
      throw required('Required parameter: resourceId', { location: 'resourceId', locationType: 'other' });
    }
    const ch = this.channels.get(b.id);
    if (!ch || !this.live(ch) || ch.resourceId !== b.resourceId) {
      throw GoogleError.of(404, 'notFound', `Channel '${b.id}' not found for project '${this.opts.projectNumber}'`);
    }
    this.drop(ch);
  }

  /** The watched resource changed (cheap: timers only). */
  notify(key: string): void {
    for (const ch of this.channels.values()) {
      if (ch.key !== key) continue;
      if (this.live(ch)) this.schedule(ch);
      else this.drop(ch);
    }
  }

  active(): ChannelInfo[] {
    const out: ChannelInfo[] = [];
    for (const ch of [...this.channels.values()]) {
      if (!this.live(ch)) {
        this.drop(ch);
        continue;
      }
      const info: ChannelInfo = {
        id: ch.id,
        resourceId: ch.resourceId,
        resourceUri: ch.resourceUri,
        address: ch.address,
        expiration: ch.expiration,
        user: ch.user,
        messageNumber: ch.messageNumber,
      };
      if (ch.token !== undefined) info.token = ch.token;
      out.push(info);
    }
    return out;
  }

  stats(): ChannelStats {
    return { ...this.counters, pending: this.pending() };
  }

  flush(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    for (const ch of [...this.channels.values()]) this.drop(ch);
  }

  // ---- delivery --------------------------------------------------------------------------------

  private live(ch: Channel): boolean {
    return this.channels.get(ch.id) === ch && Date.now() < ch.expiration;
  }

  private pending(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += (ch.timer || ch.inFlight ? 1 : 0) + (ch.dirty ? 1 : 0);
    return n;
  }

  private drop(ch: Channel): void {
    if (ch.timer) clearTimeout(ch.timer);
    ch.timer = undefined;
    ch.dirty = false;
    ch.abort.abort();
    if (this.channels.get(ch.id) === ch) this.channels.delete(ch.id);
    this.wakeIfIdle();
  }

  private schedule(ch: Channel): void {
    // a scheduled `exists` covers this change too; the `sync` message or one in flight does not
    if (ch.timer && !ch.syncPending) return;
    if (ch.timer || ch.inFlight) {
      ch.dirty = true;
      return;
    }
    ch.timer = setTimeout(() => {
      ch.timer = undefined;
      void this.deliver(ch);
    }, COALESCE_MS);
    ch.timer.unref();
  }

  private async deliver(ch: Channel): Promise<void> {
    if (!this.live(ch)) {
      this.drop(ch);
      return;
    }
    ch.inFlight = true;
    const state = ch.syncPending ? 'sync' : ch.changeState;
    ch.syncPending = false;
    const number = ++ch.messageNumber;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.post(ch, state, number);
      if (outcome === 'retry' && attempt < MAX_RETRIES && this.live(ch)) {
        this.counters.retried++;
        const delay = RETRY_BASE_MS * 2 ** attempt * (0.8 + 0.4 * this.opts.random());
        try {
          await sleep(delay, undefined, { signal: ch.abort.signal, ref: false });
        } catch {
          break; // stopped meanwhile
        }
        continue;
      }
      if (outcome === 'ok') this.counters.sent++;
      else if (outcome !== 'aborted') this.counters.failed++;
      break;
    }
    ch.inFlight = false;
    if (ch.dirty && this.live(ch)) {
      ch.dirty = false;
      this.schedule(ch);
    }
    this.wakeIfIdle();
  }

  private async post(ch: Channel, state: string, number: number): Promise<Outcome> {
    const headers: Record<string, string> = {
      'User-Agent': USER_AGENT,
      'X-Goog-Channel-ID': ch.id,
      'X-Goog-Channel-Expiration': new Date(ch.expiration).toUTCString(),
      'X-Goog-Resource-ID': ch.resourceId,
      'X-Goog-Resource-URI': ch.resourceUri,
      'X-Goog-Resource-State': state,
      'X-Goog-Message-Number': String(number),
    };
    if (ch.token !== undefined) headers['X-Goog-Channel-Token'] = ch.token;
    try {
      const res = await fetch(ch.address, {
        method: 'POST',
        headers,
        redirect: 'manual',
        signal: AbortSignal.any([ch.abort.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (SUCCESS.has(res.status)) return 'ok';
      return RETRYABLE.has(res.status) ? 'retry' : 'fail';
    } catch {
      return ch.abort.signal.aborted ? 'aborted' : 'retry'; // stopped, or a timeout / connection error
    }
  }

  private wakeIfIdle(): void {
    if (this.waiters.length === 0 || this.pending() > 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
