/**
 * Per-user and per-project request quotas over a rolling minute, as the Google API front end
 * enforces them (Calendar: 600 queries/min/user, 10,000/min/project by default). Refused requests
 * do not consume quota.
 */
import { GoogleError, rateLimitError } from './errors';
import type { QuotaOptions } from './types';

const MINUTE_MS = 60_000;

export interface QuotaConfig {
  enforce: boolean;
  perUserPerMinute: number;
  perProjectPerMinute: number;
  mode: '403' | '429' | 'mixed';
}

export function quotaConfig(opt: boolean | QuotaOptions | undefined): QuotaConfig {
  const o = typeof opt === 'object' ? opt : {};
  return {
    enforce: opt !== false,
    perUserPerMinute: o.perUserPerMinute ?? 600,
    perProjectPerMinute: o.perProjectPerMinute ?? 10_000,
    mode: o.mode ?? '403',
  };
}

/** Timestamps in a sliding window (amortised O(1) push and prune). */
class Window {
  private items: number[] = [];
  private head = 0;

  count(now: number): number {
    const edge = now - MINUTE_MS;
    while (this.head < this.items.length && this.items[this.head]! <= edge) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return this.items.length - this.head;
  }

  push(now: number): void {
    this.items.push(now);
  }
}

export class QuotaLimiter {
  private project = new Window();
  private perUser = new Map<string, Window>();

  constructor(readonly config: QuotaConfig) {}

  /** Counts the request against `user`'s and the project's quota, or returns the refusal. */
  admit(user: string, now = Date.now()): GoogleError | undefined {
    const c = this.config;
    if (!c.enforce) return undefined;
    let w = this.perUser.get(user);
    if (!w) {
      w = new Window();
      this.perUser.set(user, w);
    }
    if (this.project.count(now) >= c.perProjectPerMinute) return rateLimitError(c.mode === '403' ? 403 : 429);
    if (w.count(now) >= c.perUserPerMinute) {
      return c.mode === 'mixed' ? rateLimitError(403, 'userRateLimitExceeded') : rateLimitError(c.mode === '403' ? 403 : 429);
    }
    this.project.push(now);
    w.push(now);
    return undefined;
  }

  reset(): void {
    this.project = new Window();
    this.perUser.clear();
  }
}
