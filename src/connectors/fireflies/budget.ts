/**
 * Fireflies' request budget per API key, shared by every worker through Redis.
 *
 * - A daily plan (Free/Pro: 50 a day) is a counter per UTC day that is never passed: a request
 *   takes a unit first; when none is left the caller defers (the pull ends early with its
 *   position in the cursor and `deferredUntil`) instead of waiting or failing. The response
 *   headers (`X-RateLimit-Remaining`, `-Reset`) correct the counter when Fireflies has counted
 *   more (another client of the same key), and a refusal pauses everyone until its retry time.
 * - A per-minute plan (Business/Enterprise: 60 a minute) is the engine's shared rolling window
 *   (ctx.budget): a request waits for its slot, at most a minute.
 *
 * Webhook fetches may use the units the polling leaves alone (FIREFLIES_WEBHOOK_RESERVE).
 */
import type Redis from 'ioredis';
import type { RequestBudget } from '../../core/ratelimit';
import { DAY_MS } from './config';

export type Purpose = 'poll' | 'webhook';
/** A unit taken (call `done` when the request is answered), or the time the next one is available. */
export type Grant = { ok: true; done: () => void } | { ok: false; until: number };

const TAKE_DAILY = `
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, paused} end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return {0, -1} end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, used + 1}
`;
/** Raises the day's counter to what the server says was used (never lowers it). */
const OBSERVE_DAILY = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > used then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
`;

export class FirefliesBudget {
  constructor(
    private readonly opts: {
      redis: Redis;
      /** Redis key prefix of this account (a hash of the key, never the key) */
      prefix: string;
      limit: number;
      window: 'day' | 'minute';
      webhookReserve: number;
      /** the per-minute plan's shared rolling window */
      minute: RequestBudget;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private dayKey(now = this.now()): string {
    return `${this.opts.prefix}:day:${new Date(now).toISOString().slice(0, 10)}`;
  }
  private get pauseKey(): string {
    return `${this.opts.prefix}:pause`;
  }
  /** the next midnight UTC: when the daily counter starts again */
  nextDay(now = this.now()): number {
    return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  }

  async take(purpose: Purpose): Promise<Grant> {
    const { redis, window, limit, webhookReserve } = this.opts;
    if (window === 'minute') {
      const paused = await redis.pttl(this.pauseKey);
      if (paused > 60_000) return { ok: false, until: this.now() + paused };
      const release = await this.opts.minute.acquire();
      return { ok: true, done: release };
    }
    const allowed = purpose === 'webhook' ? limit : limit - webhookReserve;
    const [ok, n] = (await redis.eval(TAKE_DAILY, 2, this.dayKey(), this.pauseKey, allowed, 2 * DAY_MS)) as [number, number];
    if (ok === 1) return { ok: true, done: () => undefined };
    return { ok: false, until: n > 0 ? this.now() + n : this.nextDay() };
  }

  /** Units of today's budget spent (daily plans). */
  async used(): Promise<number> {
    return Number((await this.opts.redis.get(this.dayKey())) ?? 0);
  }

  /** Everyone waits until then (a refusal's retry time). */
  async pauseUntil(epochMs: number): Promise<void> {
    const ms = Math.ceil(epochMs - this.now());
    if (ms <= 0) return;
    this.opts.minute.pauseUntil(epochMs);
    await this.opts.redis.set(this.pauseKey, '1', 'PX', ms);
  }

  /** Takes what the response headers say about the key's window into account. */
  async observe(headers: Headers): Promise<void> {
    if (this.opts.window !== 'day') return;
    const remaining = Number(headers.get('x-ratelimit-remaining-api') ?? headers.get('x-ratelimit-remaining'));
    const limit = Number(headers.get('x-ratelimit-limit-api') ?? headers.get('x-ratelimit-limit'));
    const reset = Number(headers.get('x-ratelimit-reset-api') ?? headers.get('x-ratelimit-reset'));
    if (!Number.isFinite(remaining) || !Number.isFinite(limit) || headers.get('x-ratelimit-remaining') === null) return;
    const used = Math.max(0, limit - remaining);
    if (used > 0) await this.opts.redis.eval(OBSERVE_DAILY, 1, this.dayKey(), used, 2 * DAY_MS);
    if (remaining <= 0 && Number.isFinite(reset) && reset > 0) {
      // The header is in whole seconds, rounded up: a reset that lands on the next midnight UTC
      // (the daily counter's own restart) means exactly that midnight, not up to a second after.
      const at = this.now() + reset * 1000;
      const midnight = this.nextDay();
      await this.pauseUntil(at >= midnight - 1000 && at <= midnight + 2000 ? midnight : at);
    }
  }
}
