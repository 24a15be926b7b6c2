/** Fault injection (latency, random 5xx, bursts) and request statistics, shared by every API module. */
import { backendError, faultError, type GoogleError } from './errors';
import type { FaultOptions, GoogleSandboxStats } from './types';

export class FaultState {
  latencyMs = 0;
  errorRate = 0;
  private burst: { status: 403 | 429 | 500 | 503; remaining: number; reason?: string } | undefined;

  constructor(private readonly random: () => number) {}

  /** Merges the given options into the current ones (omitted keys are left as they are). */
  set(f: FaultOptions): void {
    if (f.latencyMs !== undefined) this.latencyMs = Math.max(0, Number(f.latencyMs) || 0);
    if (f.errorRate !== undefined) this.errorRate = Math.min(1, Math.max(0, Number(f.errorRate) || 0));
    if (f.burst !== undefined) {
      const b = f.burst;
      if (b === null || b.count <= 0) this.burst = undefined;
      else {
        if (![403, 429, 500, 503].includes(b.status)) throw new Error('burst.status must be 403, 429, 500 or 503');
        this.burst = { status: b.status, remaining: Math.floor(b.count), reason: b.reason };
      }
    }
  }

  clear(): void {
    this.latencyMs = 0;
    this.errorRate = 0;
    this.burst = undefined;
  }

  /** Consumes one burst slot: the error to answer, if a burst is running. */
  takeBurst(): GoogleError | undefined {
    const b = this.burst;
    if (!b) return undefined;
    if (--b.remaining <= 0) this.burst = undefined;
    return faultError(b.status, b.reason);
  }

  /** Rolls the errorRate dice: a 500 or 503, or nothing. */
  roll5xx(): GoogleError | undefined {
    if (this.errorRate <= 0 || this.random() >= this.errorRate) return undefined;
    return backendError(this.random() < 0.5 ? 500 : 503);
  }

  describe(): { latencyMs: number; errorRate: number; burst: { status: number; remaining: number; reason?: string } | null } {
    return { latencyMs: this.latencyMs, errorRate: this.errorRate, burst: this.burst ? { ...this.burst } : null };
  }
}

function emptyStats(): GoogleSandboxStats {
  return { requests: 0, byUser: {}, rateLimited: 0, faulted: 0, byRoute: {}, tokenRequests: 0, sendUpdates: {}, quotaUnits: {} };
}

export class Stats {
  private s = emptyStats();

  request(routeKey: string): void {
    this.s.requests++;
    this.route(routeKey);
  }
  route(routeKey: string): void {
    this.s.byRoute[routeKey] = (this.s.byRoute[routeKey] ?? 0) + 1;
  }
  user(email: string): void {
    this.s.byUser[email] = (this.s.byUser[email] ?? 0) + 1;
  }
  token(): void {
    this.s.tokenRequests++;
    this.route('POST /token');
  }
  rateLimited(): void {
    this.s.rateLimited++;
  }
  faulted(): void {
    this.s.faulted++;
  }
  sendUpdates(value: string | undefined): void {
    const k = value ?? 'unset';
    this.s.sendUpdates[k] = (this.s.sendUpdates[k] ?? 0) + 1;
  }
  units(pool: string, user: string, n: number): void {
    const p = (this.s.quotaUnits[pool] ??= {});
    p[user] = (p[user] ?? 0) + n;
  }
  snapshot(): GoogleSandboxStats {
    const s = this.s;
    const quotaUnits = Object.fromEntries(Object.entries(s.quotaUnits).map(([k, v]) => [k, { ...v }]));
    return { ...s, byUser: { ...s.byUser }, byRoute: { ...s.byRoute }, sendUpdates: { ...s.sendUpdates }, quotaUnits };
  }
  reset(): void {
    this.s = emptyStats();
  }
}
