/** Fault injection (latency, random 5xx, a failing run, a burst of rate-limit refusals) and request statistics. */
import type { FaultOptions, FirefliesSandboxStats } from './types';

const STATUSES_5XX = [500, 502, 503, 504];

export class FaultState {
  latencyMs = 0;
  error5xxRate = 0;
  rateLimitBurst = 0;
  burstRetryAfterSeconds = 1;
  private failNext: { status: number; remaining: number } | undefined;

  constructor(private readonly random: () => number) {}

  /** Merges the given options into the current ones (omitted keys are left as they are). */
  set(f: FaultOptions): void {
    if (f.latencyMs !== undefined) this.latencyMs = Math.max(0, Number(f.latencyMs) || 0);
    if (f.error5xxRate !== undefined) this.error5xxRate = Math.min(1, Math.max(0, Number(f.error5xxRate) || 0));
    if (f.rateLimitBurst !== undefined) this.rateLimitBurst = Math.max(0, Math.floor(Number(f.rateLimitBurst) || 0));
    if (f.burstRetryAfterSeconds !== undefined) this.burstRetryAfterSeconds = Math.max(0, Math.floor(Number(f.burstRetryAfterSeconds) || 0));
    if (f.failNext !== undefined) {
      if (f.failNext === null) this.failNext = undefined;
      else {
        if (!STATUSES_5XX.includes(f.failNext.status)) throw new Error(`failNext.status must be one of ${STATUSES_5XX.join(', ')}`);
        this.failNext = { status: f.failNext.status, remaining: Math.max(1, Math.floor(f.failNext.count ?? 1)) };
      }
    }
  }

  clear(): void {
    this.latencyMs = 0;
    this.error5xxRate = 0;
    this.rateLimitBurst = 0;
    this.burstRetryAfterSeconds = 1;
    this.failNext = undefined;
  }

  takeBurst(): boolean {
    if (this.rateLimitBurst <= 0) return false;
    this.rateLimitBurst--;
    return true;
  }

  /** The injected 5xx for this request, if any. */
  take5xx(): number | undefined {
    const fn = this.failNext;
    if (fn) {
      if (--fn.remaining <= 0) this.failNext = undefined;
      return fn.status;
    }
    if (this.error5xxRate > 0 && this.random() < this.error5xxRate) return STATUSES_5XX[Math.floor(this.random() * 3)]!;
    return undefined;
  }

  describe(): Record<string, unknown> {
    return {
      latencyMs: this.latencyMs,
      error5xxRate: this.error5xxRate,
      rateLimitBurst: this.rateLimitBurst,
      burstRetryAfterSeconds: this.burstRetryAfterSeconds,
      failNext: this.failNext ? { status: this.failNext.status, count: this.failNext.remaining } : null,
    };
  }
}

function empty(): FirefliesSandboxStats {
  return { requests: 0, unauthorized: 0, rateLimited: 0, faulted: 0, byKey: {}, byField: {} };
}

export class Stats {
  private s = empty();

  request(key: string): void {
    this.s.requests++;
    (this.s.byKey[key] ??= { requests: 0, rateLimited: 0 }).requests++;
  }
  unauthorized(): void {
    this.s.unauthorized++;
  }
  rateLimited(key: string): void {
    this.s.rateLimited++;
    (this.s.byKey[key] ??= { requests: 0, rateLimited: 0 }).rateLimited++;
  }
  faulted(): void {
    this.s.faulted++;
  }
  field(name: string): void {
    this.s.byField[name] = (this.s.byField[name] ?? 0) + 1;
  }
  snapshot(): FirefliesSandboxStats {
    return structuredClone(this.s);
  }
  reset(): void {
    this.s = empty();
  }
}
