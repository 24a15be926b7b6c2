/** Fault injection and request statistics. */
import type { FaultOptions, SandboxStats } from './types';

interface FailNext {
  route: RegExp | string;
  status: number;
  remaining: number;
  afterHandling: boolean;
}

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'burst' }
  | { kind: 'error5xx'; status: number }
  | { kind: 'failBefore'; status: number }
  | { kind: 'failAfter'; status: number };

export class FaultState {
  error5xxRate = 0;
  rateLimitBurst = 0;
  private failNext: FailNext | undefined;

  constructor(private readonly random: () => number = Math.random) {}

  /** Merges the given options into the current ones (omitted keys are left as they are). */
  set(f: FaultOptions): void {
    if (f.error5xxRate !== undefined) this.error5xxRate = Math.min(1, Math.max(0, f.error5xxRate));
    if (f.rateLimitBurst !== undefined) this.rateLimitBurst = Math.max(0, Math.floor(f.rateLimitBurst));
    if (f.failNext !== undefined) {
      this.failNext = f.failNext
        ? {
            route: f.failNext.route,
            status: f.failNext.status,
            remaining: f.failNext.count ?? 1,
            afterHandling: f.failNext.afterHandling ?? false,
          }
        : undefined;
    }
  }

  clear(): void {
    this.error5xxRate = 0;
    this.rateLimitBurst = 0;
    this.failNext = undefined;
  }

  /** Consumes a rate-limit burst slot, if any. */
  takeBurst(): boolean {
    if (this.rateLimitBurst <= 0) return false;
    this.rateLimitBurst--;
    return true;
  }

  /** Decides the injected failure for an admitted request identified by `"<METHOD> <path>"`. */
  decide(routeKey: string): FaultDecision {
    const fn = this.failNext;
    if (fn && fn.remaining > 0 && matches(fn.route, routeKey)) {
      fn.remaining--;
      if (fn.remaining <= 0) this.failNext = undefined;
      return fn.afterHandling ? { kind: 'failAfter', status: fn.status } : { kind: 'failBefore', status: fn.status };
    }
    if (this.error5xxRate > 0 && this.random() < this.error5xxRate) {
      const statuses = [500, 502, 503];
      return { kind: 'error5xx', status: statuses[Math.floor(this.random() * statuses.length)]! };
    }
    return { kind: 'none' };
  }

  describe(): Record<string, unknown> {
    return {
      error5xxRate: this.error5xxRate,
      rateLimitBurst: this.rateLimitBurst,
      failNext: this.failNext
        ? { ...this.failNext, route: this.failNext.route instanceof RegExp ? String(this.failNext.route) : this.failNext.route }
        : null,
    };
  }
}

function matches(route: RegExp | string, key: string): boolean {
  if (route instanceof RegExp) {
    route.lastIndex = 0;
    return route.test(key);
  }
  return key.includes(route);
}

export class Stats {
  private s: SandboxStats = { requests: 0, searchRequests: 0, rateLimited: 0, faulted: 0, byRoute: {} };

  request(routeKey: string, search: boolean): void {
    this.s.requests++;
    if (search) this.s.searchRequests++;
    this.s.byRoute[routeKey] = (this.s.byRoute[routeKey] ?? 0) + 1;
  }
  rateLimited(): void {
    this.s.rateLimited++;
  }
  faulted(): void {
    this.s.faulted++;
  }
  snapshot(): SandboxStats {
    return { ...this.s, byRoute: { ...this.s.byRoute } };
  }
  reset(): void {
    this.s = { requests: 0, searchRequests: 0, rateLimited: 0, faulted: 0, byRoute: {} };
  }
}
