/**
 * Per-user and per-project quotas over a rolling minute, as the Google API front end enforces them.
 * Each API has its own pool: Calendar counts requests (600 queries/min/user, 10,000/min/project by
 * default), Gmail counts units (a method costs 1–100 units; 15,000 units/min/user, 1,200,000/min
 * per project). A request whose cost does not fit is refused and consumes nothing.
 */
import { GoogleError, rateLimitError } from './errors';
import type { QuotaOptions } from './types';

const MINUTE_MS = 60_000;

/** The pool of routes that name none (Calendar's request quota). */
export const DEFAULT_POOL = 'default';

export interface QuotaConfig {
  enforce: boolean;
  perUserPerMinute: number;
  perProjectPerMinute: number;
  mode: NonNullable<QuotaOptions['mode']>;
  /** the service named in 'detailed' messages, e.g. gmail.googleapis.com */
  service?: string;
  /** the project number named in 'detailed' messages */
  projectNumber?: string;
}

export function quotaConfig(
  opt: boolean | QuotaOptions | undefined,
  defaults: { perUserPerMinute: number; perProjectPerMinute: number; mode: QuotaConfig['mode'] } = { perUserPerMinute: 600, perProjectPerMinute: 10_000, mode: '403' },
): QuotaConfig {
  const o = typeof opt === 'object' ? opt : {};
  return {
    enforce: opt !== false,
    perUserPerMinute: o.perUserPerMinute ?? defaults.perUserPerMinute,
    perProjectPerMinute: o.perProjectPerMinute ?? defaults.perProjectPerMinute,
    mode: o.mode ?? defaults.mode,
  };
}

/** Weighted timestamps in a sliding window (amortised O(1) push and prune). */
class Window {
  private times: number[] = [];
  private units: number[] = [];
  private head = 0;
  private sum = 0;

  total(now: number): number {
    const edge = now - MINUTE_MS;
    while (this.head < this.times.length && this.times[this.head]! <= edge) this.sum -= this.units[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.units = this.units.slice(this.head);
      this.head = 0;
    }
    return this.sum;
  }

  push(now: number, units: number): void {
    this.times.push(now);
    this.units.push(units);
    this.sum += units;
  }

  /** When `need` more units fit under `limit` (call right after `total(now)`). */
  freeAt(now: number, limit: number, need: number): number {
    let excess = this.sum + need - limit;
    for (let i = this.head; i < this.times.length && excess > 0; i++) {
      excess -= this.units[i]!;
      if (excess <= 0) return this.times[i]! + MINUTE_MS;
    }
    return now;
  }
}

interface Pool {
  config: QuotaConfig;
  project: Window;
  perUser: Map<string, Window>;
}

/** What a route costs, and from which pool. */
export interface QuotaCharge {
  pool?: string;
  units?: number;
}

export class QuotaLimiter {
  private readonly pools = new Map<string, Pool>();

  constructor(config: QuotaConfig) {
    this.addPool(DEFAULT_POOL, config);
  }

  /** The default pool's configuration. */
  get config(): QuotaConfig {
    return this.pools.get(DEFAULT_POOL)!.config;
  }

  addPool(name: string, config: QuotaConfig): void {
    if (this.pools.has(name)) throw new Error(`quota pool ${name} exists`);
    this.pools.set(name, { config, project: new Window(), perUser: new Map() });
  }

  /** Counts the request against `user`'s and the project's quota of the pool, or returns the refusal. */
  admit(user: string, now = Date.now(), charge: QuotaCharge = {}): GoogleError | undefined {
    const pool = this.pools.get(charge.pool ?? DEFAULT_POOL);
    if (!pool) throw new Error(`unknown quota pool ${charge.pool}`);
    const c = pool.config;
    if (!c.enforce) return undefined;
    const units = Math.max(1, charge.units ?? 1);
    let w = pool.perUser.get(user);
    if (!w) {
      w = new Window();
      pool.perUser.set(user, w);
    }
    if (pool.project.total(now) + units > c.perProjectPerMinute) return refusal(c, 'project', now);
    if (w.total(now) + units > c.perUserPerMinute) return refusal(c, 'user', w.freeAt(now, c.perUserPerMinute, units));
    pool.project.push(now, units);
    w.push(now, units);
    return undefined;
  }

  reset(): void {
    for (const p of this.pools.values()) {
      p.project = new Window();
      p.perUser.clear();
    }
  }
}

function refusal(c: QuotaConfig, which: 'user' | 'project', retryAt: number): GoogleError {
  switch (c.mode) {
    case '403':
      return rateLimitError(403);
    case '429':
      return rateLimitError(429);
    case 'mixed':
      return which === 'user' ? rateLimitError(403, 'userRateLimitExceeded') : rateLimitError(429);
    case 'detailed': {
      if (which === 'user') {
        // two spaces before "Retry", as Google writes it
        const message = `User-rate limit exceeded.  Retry after ${new Date(retryAt).toISOString()}`;
        return GoogleError.of(429, 'rateLimitExceeded', message, { status: 'RESOURCE_EXHAUSTED' });
      }
      const message =
        `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service '${c.service ?? 'googleapis.com'}' ` +
        `for consumer 'project_number:${c.projectNumber ?? '0'}'.`;
      return GoogleError.of(403, 'rateLimitExceeded', message, { domain: 'usageLimits', status: 'PERMISSION_DENIED' });
    }
  }
}
