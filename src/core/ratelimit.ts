import type Redis from 'ioredis';

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

  /** Resolves when a request may be sent (requests are granted in FIFO order) with its release. */
  acquire(): Promise<Release> {
    const next = this.chain.then(() => this.waitForSlot());
    this.chain = next.then(() => undefined, () => undefined);
    return next;
  }

  pauseUntil(epochMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, epochMs);
  }

  private async waitForSlot(): Promise<Release> {
    for (;;) {
      const now = Date.now();
      while (this.stamps.length && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
      let waitMs = 0;
      if (this.pausedUntil > now) waitMs = this.pausedUntil - now;
      else if (this.stamps.length >= this.limit) waitMs = this.stamps[0]! + this.windowMs - now + 1;
      if (waitMs <= 0) {
        const stamp = { at: now };
        this.stamps.push(now);
        return () => this.restamp(stamp);
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

/** What the connectors need of a request budget. */
export interface RequestBudget {
  acquire(): Promise<Release>;
  pauseUntil(epochMs: number): void;
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
local now, window, limit, member = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local paused = redis.call('PTTL', pauseKey)
if paused > 0 then return paused end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now + 1)
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return 0
`;

/** A finished request's slot counts from now (only if it is still in the window). */
const RESTAMP = `
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
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

  async acquire(): Promise<Release> {
    for (;;) {
      let waitMs: number;
      const member = `${this.id}:${this.seq++}`;
      try {
        if (this.redis.status !== 'ready') throw new Error('redis not ready');
        waitMs = Number(await this.redis.eval(TAKE_SLOT, 2, this.key, `${this.key}:pause`, Date.now(), this.windowMs, this.limit, member));
      } catch {
        return this.local.acquire();
      }
      if (waitMs <= 0) {
        return () => {
          if (this.redis.status !== 'ready') return;
          this.redis.eval(RESTAMP, 1, this.key, Date.now(), member, this.windowMs).catch(() => undefined);
        };
      }
      await new Promise((r) => setTimeout(r, Math.min(waitMs, this.windowMs)));
    }
  }

  pauseUntil(epochMs: number): void {
    this.local.pauseUntil(epochMs);
    const ms = Math.ceil(epochMs - Date.now());
    if (ms > 0 && this.redis.status === 'ready') this.redis.set(`${this.key}:pause`, '1', 'PX', ms).catch(() => undefined);
  }
}
