/**
 * Per-key rate limits by plan (docs: fundamentals/limits): Free/Pro 50 requests per day,
 * Business/Enterprise 60 per minute. A daily window ends at midnight UTC; any other window is
 * fixed, starting at the key's first request in it. Every response carries the state of the
 * key's window: `X-RateLimit-Limit`, `-Remaining`, `-Reset` (seconds), repeated with the `-api`
 * suffix as Fireflies does per window (the official SDK reads both).
 */
import type { KeyRecord } from './store';
import type { Plan, RateLimitOptions, RateWindow } from './types';

export const DAY_MS = 86_400_000;

export const DEFAULT_PLAN_WINDOWS: Record<Plan, RateWindow> = {
  free: { limit: 50, windowMs: DAY_MS },
  pro: { limit: 50, windowMs: DAY_MS },
  business: { limit: 60, windowMs: 60_000 },
  enterprise: { limit: 60, windowMs: 60_000 },
};

export interface RateConfig {
  enabled: boolean;
  refusal: 'graphql' | 'http429';
  plans: Record<Plan, RateWindow>;
}

export function rateConfig(o: boolean | RateLimitOptions | undefined): RateConfig {
  const opts = typeof o === 'object' && o !== null ? o : {};
  const plans = { ...DEFAULT_PLAN_WINDOWS };
  for (const [plan, w] of Object.entries(opts.plans ?? {}) as Array<[Plan, RateWindow]>) {
    if (!(plan in plans)) throw new Error(`rateLimits.plans: unknown plan ${plan}`);
    if (!Number.isInteger(w.limit) || w.limit < 0 || !(w.windowMs >= 1)) throw new Error(`rateLimits.plans.${plan} needs {limit >= 0, windowMs >= 1}`);
    plans[plan] = { limit: w.limit, windowMs: w.windowMs };
  }
  const refusal = opts.refusal ?? 'graphql';
  if (refusal !== 'graphql' && refusal !== 'http429') throw new Error("rateLimits.refusal must be 'graphql' or 'http429'");
  return { enabled: o !== false, refusal, plans };
}

interface Window {
  start: number;
  end: number;
  count: number;
  limit: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** seconds until the window resets */
  resetSeconds: number;
  /** epoch ms the window resets (when a refused request may be retried) */
  retryAt: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(readonly config: RateConfig) {}

  windowOf(k: KeyRecord): RateWindow {
    const plan = this.config.plans[k.plan];
    return { limit: k.limit ?? plan.limit, windowMs: k.windowMs ?? plan.windowMs };
  }

  /** Counts a request for `k` (unless refused) and says whether it is admitted. */
  take(k: KeyRecord, now = Date.now()): RateDecision {
    const w = this.current(k, now);
    const allowed = !this.config.enabled || w.count < w.limit;
    if (allowed) w.count++;
    return this.decision(w, allowed, now);
  }

  /** The state of `k`'s window without counting (for a forced refusal). */
  peek(k: KeyRecord, now = Date.now()): RateDecision {
    return this.decision(this.current(k, now), false, now);
  }

  /** used, resetsAt of a key's current window */
  usage(k: KeyRecord, now = Date.now()): { used: number; resetsAt: number | null } {
    const w = this.windows.get(k.key);
    if (!w || now >= w.end) return { used: 0, resetsAt: null };
    return { used: w.count, resetsAt: w.end };
  }

  forget(key: string): void {
    this.windows.delete(key);
  }

  reset(): void {
    this.windows.clear();
  }

  private current(k: KeyRecord, now: number): Window {
    const { limit, windowMs } = this.windowOf(k);
    let w = this.windows.get(k.key);
    if (!w || now >= w.end) {
      const start = windowMs === DAY_MS ? Math.floor(now / DAY_MS) * DAY_MS : now;
      w = { start, end: start + windowMs, count: 0, limit };
      this.windows.set(k.key, w);
    }
    w.limit = limit; // a plan change applies to the running window
    return w;
  }

  private decision(w: Window, allowed: boolean, now: number): RateDecision {
    return {
      allowed,
      limit: w.limit,
      remaining: Math.max(0, w.limit - w.count),
      resetSeconds: Math.max(0, Math.ceil((w.end - now) / 1000)),
      retryAt: w.end,
    };
  }
}

export function rateHeaders(d: Pick<RateDecision, 'limit' | 'remaining' | 'resetSeconds'>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const suffix of ['', '-api']) {
    h[`x-ratelimit-limit${suffix}`] = String(d.limit);
    h[`x-ratelimit-remaining${suffix}`] = String(d.remaining);
    h[`x-ratelimit-reset${suffix}`] = String(d.resetSeconds);
  }
  return h;
}
