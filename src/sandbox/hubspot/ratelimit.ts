/** HubSpot's per-account API limits: rolling 10 s window, daily cap, search requests per second. */
import type { RatePolicy } from './errors';
import type { RateLimitOptions } from './types';

export interface RateConfig {
  enforce: boolean;
  perTenSeconds: number;
  searchPerSecond: number;
  daily: number;
}

export const DEFAULT_RATE: Omit<RateConfig, 'enforce'> = { perTenSeconds: 100, searchPerSecond: 5, daily: 250_000 };

export function rateConfig(opt: boolean | RateLimitOptions | undefined): RateConfig {
  if (opt === false) return { enforce: false, ...DEFAULT_RATE };
  if (opt === true || opt === undefined) return { enforce: true, ...DEFAULT_RATE };
  return {
    enforce: true,
    perTenSeconds: opt.perTenSeconds ?? DEFAULT_RATE.perTenSeconds,
    searchPerSecond: opt.searchPerSecond ?? DEFAULT_RATE.searchPerSecond,
    daily: opt.daily ?? DEFAULT_RATE.daily,
  };
}

/** Timestamps in a sliding window (amortised O(1) push/prune). */
class Window {
  private items: number[] = [];
  private head = 0;
  constructor(private readonly spanMs: number) {}

  prune(now: number): void {
    const edge = now - this.spanMs;
    while (this.head < this.items.length && this.items[this.head]! <= edge) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  count(now: number): number {
    this.prune(now);
    return this.items.length - this.head;
  }
  push(now: number): void {
    this.items.push(now);
  }
  /** ms until the oldest entry leaves the window */
  msUntilFree(now: number): number {
    this.prune(now);
    const oldest = this.items[this.head];
    return oldest === undefined ? 0 : oldest + this.spanMs - now;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export type RateDecision =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; policy: RatePolicy; retryAfterSeconds: number; headers: Record<string, string> };

function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

export class RateLimiter {
  private readonly tenSecond = new Window(10_000);
  private readonly oneSecond = new Window(1_000);
  private readonly search = new Window(1_000);
  private day = utcDay(Date.now());
  private dailyCount = 0;

  constructor(readonly config: RateConfig) {}

  /** Admits (and counts) a request or rejects it; rejected requests do not consume budget. */
  admit(isSearch: boolean, now = Date.now()): RateDecision {
    const day = utcDay(now);
    if (day !== this.day) {
      this.day = day;
      this.dailyCount = 0;
    }
    const c = this.config;
    if (c.enforce) {
      if (this.dailyCount >= c.daily) {
        const midnight = Date.parse(`${day}T00:00:00.000Z`) + 86_400_000;
        return { ok: false, policy: 'DAILY', retryAfterSeconds: Math.max(1, Math.ceil((midnight - now) / 1000)), headers: this.headers(now) };
      }
      if (this.tenSecond.count(now) >= c.perTenSeconds) {
        const wait = this.tenSecond.msUntilFree(now);
        return { ok: false, policy: 'TEN_SECONDLY_ROLLING', retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)), headers: this.headers(now) };
      }
      if (isSearch && this.search.count(now) >= c.searchPerSecond) {
        const wait = this.search.msUntilFree(now);
        return { ok: false, policy: 'SECONDLY', retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)), headers: this.headers(now) };
      }
    }
    this.dailyCount++;
    this.tenSecond.push(now);
    this.oneSecond.push(now);
    if (isSearch) this.search.push(now);
    return { ok: true, headers: this.headers(now) };
  }

  /** Current X-HubSpot-RateLimit-* headers (remaining values after the counted requests). */
  headers(now = Date.now()): Record<string, string> {
    const c = this.config;
    const secondly = Math.max(1, Math.ceil(c.perTenSeconds / 10));
    return {
      'X-HubSpot-RateLimit-Daily': String(c.daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, c.daily - this.dailyCount)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
      'X-HubSpot-RateLimit-Max': String(c.perTenSeconds),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, c.perTenSeconds - this.tenSecond.count(now))),
      'X-HubSpot-RateLimit-Secondly': String(secondly),
      'X-HubSpot-RateLimit-Secondly-Remaining': String(Math.max(0, secondly - this.oneSecond.count(now))),
    };
  }

  reset(): void {
    this.tenSecond.clear();
    this.oneSecond.clear();
    this.search.clear();
    this.dailyCount = 0;
  }
}
