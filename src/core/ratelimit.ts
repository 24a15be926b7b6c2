import type Redis from 'ioredis';
import { noteDraw } from './progress';

/**
 * Rolling-window request budgets: at most `limit` requests per `windowMs`, shared by every caller
 * (pull, push and webhook fetches alike) so throughput approaches the documented limit without
 * tripping it. `pauseUntil` lets a 429's Retry-After stop everyone.
 *
 * A slot is stamped when it is taken and stamped again when the request has finished (`release`):
 * the server counts a request when it arrives, which is some event-loop delay after the slot was
 * taken but always before the answer is back, so counting the window from the answer can never
 * let one request too many reach the server within a window.
 */
/** Slack added to a window (2.5%, at least 25 ms), so a slot freed here is also free at the server. */
export const windowWithMargin = (windowMs: number): number => windowMs + Math.max(25, Math.round(windowMs * 0.025));

export class RollingWindowLimiter implements RequestBudget {
  private readonly stamps: number[] = [];
  private pausedUntil = 0;
  private chain: Promise<void> = Promise.resolve();

  private readonly windowMs: number;

  constructor(
    private readonly limit: number,
    windowMs: number,
  ) {
    this.windowMs = windowWithMargin(windowMs);
  }

  /**
   * Resolves when a request costing `units` (default 1: budgets counted in requests; Gmail counts
   * quota units per method) may be sent, granted in FIFO order, with its release.
   */
  acquire(units = 1): Promise<Release> {
    const cost = unitsOf(units, this.limit);
    const next = this.chain.then(() => this.waitForSlot(cost));
    this.chain = next.then(() => undefined, () => undefined);
    return next;
  }

  pauseUntil(epochMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, epochMs);
  }

  remaining(): Promise<number> {
    const now = Date.now();
    if (this.pausedUntil > now) return Promise.resolve(0);
    return Promise.resolve(Math.max(0, this.limit - this.stamps.filter((at) => at > now - this.windowMs).length));
  }

  private async waitForSlot(units: number): Promise<Release> {
    for (;;) {
      const now = Date.now();
      while (this.stamps.length && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
      let waitMs = 0;
      if (this.pausedUntil > now) waitMs = this.pausedUntil - now;
      // the stamp whose expiry makes room for `units` more
      else if (this.stamps.length + units > this.limit) waitMs = this.stamps[this.stamps.length + units - this.limit - 1]! + this.windowMs - now + 1;
      if (waitMs <= 0) {
        const taken = Array.from({ length: units }, () => ({ at: now }));
        for (let k = 0; k < units; k++) this.stamps.push(now);
        return () => {
          for (const stamp of taken) this.restamp(stamp);
        };
      }
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }

  /** Moves a slot's stamp to now (the request is done), keeping the stamps in order. */
  private restamp(stamp: { at: number }): void {
    const i = this.stamps.indexOf(stamp.at);
    if (i < 0) return; // already out of the window
    this.stamps.splice(i, 1);
    const now = Date.now();
    let j = this.stamps.length;
    while (j > 0 && this.stamps[j - 1]! > now) j--;
    this.stamps.splice(j, 0, now);
    stamp.at = now;
  }
}

/** Called when the request a slot was taken for has finished (answered or failed). */
export type Release = () => void;

/** A cost in units, at least 1 and never more than the whole budget (which could never be granted). */
const unitsOf = (units: number, limit: number): number => Math.min(Math.max(1, Math.ceil(units)), limit);

/** What the connectors need of a request budget. */
export interface RequestBudget {
  /** a slot for one request costing `units` of the budget (default 1) */
  acquire(units?: number): Promise<Release>;
  pauseUntil(epochMs: number): void;
  /** units that could be taken now without waiting (0 while paused); for metrics */
  remaining?(): Promise<number>;
}

/** `budget`, with every slot taken noted against `name` in the running activity's progress (core/progress `drawn`). */
export function drawnAs(name: string, budget: RequestBudget): RequestBudget {
  return {
    acquire: (units = 1) => {
      noteDraw(name, units);
      return budget.acquire(units);
    },
    pauseUntil: (epochMs) => budget.pauseUntil(epochMs),
    ...(budget.remaining ? { remaining: () => budget.remaining!() } : {}),
  };
}

/**
 * Two budgets at once (e.g. a user's and the whole project's): a request takes a slot of each, the
 * inner one only once the outer has granted, and a pause stops both.
 */
export function jointBudget(outer: RequestBudget, inner: RequestBudget): RequestBudget {
  return {
    async acquire(units = 1) {
      const a = await outer.acquire(units);
      try {
        const b = await inner.acquire(units);
        return () => {
          b();
          a();
        };
      } catch (e) {
        a();
        throw e;
      }
    },
    pauseUntil(epochMs) {
      outer.pauseUntil(epochMs);
      inner.pauseUntil(epochMs);
    },
  };
}

/** Runs one request under a budget: takes a slot, and stamps it again when the request is done. */
export async function withSlot<T>(budget: RequestBudget, fn: () => Promise<T>): Promise<T> {
  const release = await budget.acquire();
  try {
    return await fn();
  } finally {
    release();
  }
}


/**
 * Sliding-window budget: trim timestamps older than the window; if a pause is set or the window is
 * full, answer how long to wait; else take a slot. Atomic in Redis, so every worker shares it.
 */
const TAKE_SLOT = `
local key, pauseKey = KEYS[1], KEYS[2]
local now, window, limit, member, units = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local paused = redis.call('PTTL', pauseKey)
if paused > 0 then return paused end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used + units > limit then
  local freeing = redis.call('ZRANGE', key, used + units - limit - 1, used + units - limit - 1, 'WITHSCORES')
  return math.max(1, tonumber(freeing[2]) + window - now + 1)
end
for i = 1, units do
  redis.call('ZADD', key, now, member .. '#' .. i)
end
redis.call('PEXPIRE', key, window)
return 0
`;

/** A finished request's slots count from now (those still in the window). */
const RESTAMP = `
local kept = 0
for i = 1, tonumber(ARGV[4]) do
  local m = ARGV[2] .. '#' .. i
  if redis.call('ZSCORE', KEYS[1], m) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], m)
    kept = 1
  end
end
if kept == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 0
`;

/**
 * One budget per account shared by every worker through Redis (ARCHITECTURE: "rate limits are a
 * budget"). While Redis is unreachable it falls back to a per-process window, so syncing goes on.
 */
export class SharedWindowLimiter implements RequestBudget {
  private readonly local: RollingWindowLimiter;
  private seq = 0;
  private readonly id = Math.random().toString(36).slice(2);

  private readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly limit: number,
    windowMs: number,
  ) {
    this.local = new RollingWindowLimiter(limit, windowMs);
    // A request counts from when the server sees it, a little after the slot was taken.
    this.windowMs = windowWithMargin(windowMs);
  }

  async acquire(units = 1): Promise<Release> {
    const cost = unitsOf(units, this.limit);
    for (;;) {
      let waitMs: number;
      const member = `${this.id}:${this.seq++}`;
      try {
        if (this.redis.status !== 'ready') throw new Error('redis not ready');
        waitMs = Number(await this.redis.eval(TAKE_SLOT, 2, this.key, `${this.key}:pause`, Date.now(), this.windowMs, this.limit, member, cost));
      } catch {
        return this.local.acquire(cost);
      }
      if (waitMs <= 0) {
        return () => {
          if (this.redis.status !== 'ready') return;
          this.redis.eval(RESTAMP, 1, this.key, Date.now(), member, this.windowMs, cost).catch(() => undefined);
        };
      }
      await new Promise((r) => setTimeout(r, Math.min(waitMs, this.windowMs)));
    }
  }

  async remaining(): Promise<number> {
    if (this.redis.status !== 'ready') return this.local.remaining();
    const now = Date.now();
    const [paused, used] = await Promise.all([this.redis.pttl(`${this.key}:pause`), this.redis.zcount(this.key, `(${now - this.windowMs}`, '+inf')]);
    return paused > 0 ? 0 : Math.max(0, this.limit - used);
  }

  pauseUntil(epochMs: number): void {
    this.local.pauseUntil(epochMs);
    const ms = Math.ceil(epochMs - Date.now());
    if (ms > 0 && this.redis.status === 'ready') this.redis.set(`${this.key}:pause`, '1', 'PX', ms).catch(() => undefined);
  }
}
