/**
 * Google errors and backoff, shared by every Google product (Calendar now; Gmail and Drive later).
 *
 * Every API request of a connection goes through `GoogleRequester.call`: the connection's request
 * budget, then the request, and on failure Google's recommended truncated exponential backoff
 * (min(2^n s + up to 1 s of jitter, 32 s)) for 403/429 quota refusals and 5xx, with waits that keep
 * the activity's heartbeat alive. gaxios' own retries are switched off (`retry: false` on the API
 * clients), so attempts are not multiplied. What is left becomes an ApplicationFailure of one of
 * the shared ErrorTypes, or — for the 4xx answers the caller handles per record — a sanitised
 * GoogleApiError. Raw GaxiosErrors never leave this module: their `config` carries the request,
 * and for a refresh the refresh token (gaxios' redactor leaves that field alone).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import { keepAlive, patientSleep } from '../../core/progress';
import type { Release, RequestBudget } from '../../core/ratelimit';
import { redactUpstream } from '../../log';

/** Quota refusals: 403 or 429 with these reasons (and every 429). */
export const RATE_LIMIT_REASONS: ReadonlySet<string> = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

/** 403s about one record (not the connection's credentials): handled like other 4xx. */
const RECORD_403_REASONS: ReadonlySet<string> = new Set([
  'forbiddenForNonOrganizer',
  'requiredAccessLevel',
  'cannotChangeOrganizer',
  'cannotChangeOrganizerOfInstance',
  'eventTypeRestriction',
]);

export const MAX_BACKOFF_MS = 32_000;

/** A failed Google request, reduced to what is safe to show and to branch on. */
export interface GoogleFailure {
  /** HTTP status; undefined for a network error */
  status?: number;
  /** `errors[0].reason` of an API error, or the OAuth `error` of a token exchange */
  reason?: string;
  /** Google's message (API error message or OAuth error_description) without record values (redactUpstream), or the network error code */
  message: string;
  /** the token endpoint answered (the access token could not be obtained) */
  oauth: boolean;
}

export type FailureKind = 'rate' | 'transient' | 'auth' | 'client';

/** A 4xx answer the caller asked to handle itself (per record): status, reason and message only. */
export class GoogleApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'GoogleApiError';
  }
  describe(): string {
    return `HTTP ${this.status}${this.reason ? ` ${this.reason}` : ''}: ${this.message}`;
  }
}

export const isGoogleApiError = (e: unknown): e is GoogleApiError => e instanceof GoogleApiError;

interface GaxiosLike {
  config?: unknown;
  code?: unknown;
  status?: number;
  response?: { status?: number; data?: unknown };
}

/** The failure of a request made through gaxios; null for anything else (a bug: rethrown as is). */
export function googleFailure(err: unknown): GoogleFailure | null {
  if (!err || typeof err !== 'object' || !('config' in err)) return null;
  const e = err as GaxiosLike;
  const status = e.response?.status ?? e.status;
  if (status === undefined) {
    return { message: typeof e.code === 'string' ? e.code : 'network error', oauth: false };
  }
  const data = e.response?.data as
    | { error?: string | { message?: string; errors?: { reason?: string; message?: string }[]; status?: string }; error_description?: string }
    | string
    | undefined;
  if (data && typeof data === 'object' && typeof data.error === 'string') {
    return { status, reason: data.error, message: redactUpstream(String(data.error_description ?? data.error)), oauth: true };
  }
  if (data && typeof data === 'object' && data.error && typeof data.error === 'object') {
    const first = data.error.errors?.[0];
    return { status, reason: first?.reason ?? data.error.status, message: redactUpstream(String(data.error.message ?? first?.message ?? `HTTP ${status}`)), oauth: false };
  }
  return { status, message: `HTTP ${status}`, oauth: false };
}

export function classifyFailure(f: GoogleFailure): FailureKind {
  const s = f.status;
  if (s === undefined) return 'transient';
  if (s >= 500 || s === 408) return 'transient';
  if (s === 429 || (s === 403 && f.reason !== undefined && RATE_LIMIT_REASONS.has(f.reason))) return 'rate';
  if (f.oauth) return 'auth';
  if (s === 401) return 'auth';
  if (s === 403) return f.reason !== undefined && RECORD_403_REASONS.has(f.reason) ? 'client' : 'auth';
  return 'client';
}

/** Google's truncated exponential backoff after the n-th failure (0-based). */
export function backoffMs(n: number, random: () => number = Math.random, baseMs = 1_000): number {
  return Math.min(baseMs * 2 ** n + Math.floor(random() * baseMs), MAX_BACKOFF_MS);
}

const label = (f: GoogleFailure): string =>
  `${f.status === undefined ? 'network error' : `HTTP ${f.status}`}${f.reason ? ` ${f.reason}` : ''}: ${f.message}`;

export interface RequesterOptions {
  /** the connection's user (named in failures) */
  user: string;
  /** the connection's request budget (per user, shared by every worker) */
  budget: RequestBudget;
  /** what an operator should check when the credentials are refused */
  authAdvice: string;
  onRequest?: () => void;
  onRateLimited?: () => void;
  /** attempts per request on quota refusals, 5xx and network errors (default 6: waits of ~1, 2, 4, 8, 16 s) */
  maxAttempts?: number;
  /** first backoff step (default 1 s, as Google recommends) */
  backoffBaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** counters to add to (shared by a connection's products); default a fresh set */
  calls?: RequesterCalls;
}

export interface RequesterCalls {
  total: number;
  rateLimited: number;
  retried: number;
}

export class GoogleRequester {
  /** counters read by tests and metrics */
  readonly calls: RequesterCalls;
  private readonly maxAttempts: number;

  constructor(private readonly opts: RequesterOptions) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 6);
    this.calls = opts.calls ?? { total: 0, rateLimited: 0, retried: 0 };
  }

  get user(): string {
    return this.opts.user;
  }

  /** Waits for a slot of the budget; a long wait keeps the surrounding activity's heartbeat alive. */
  private async slot(units: number): Promise<Release> {
    const timer = setInterval(keepAlive, 5_000);
    try {
      return await this.opts.budget.acquire(units);
    } finally {
      clearInterval(timer);
      keepAlive();
    }
  }

  /**
   * One API request with Google's backoff. `what` names it in failures (e.g. "events.list of
   * <calendar>"); `handles` picks the 4xx answers the caller deals with (thrown as GoogleApiError);
   * `units` is the request's cost in the budget's unit (Gmail's per-method quota units; default 1).
   */
  async call<T>(
    service: string,
    what: string,
    fn: () => Promise<{ data: T }>,
    handles: (e: GoogleApiError) => boolean = () => false,
    units = 1,
  ): Promise<T> {
    const sleep = this.opts.sleep ?? patientSleep;
    for (let attempt = 1; ; attempt++) {
      const release = await this.slot(units);
      this.calls.total++;
      this.opts.onRequest?.();
      let failure: GoogleFailure;
      try {
        return (await fn()).data;
      } catch (err) {
        const f = googleFailure(err);
        if (!f) throw err;
        failure = f;
      } finally {
        release();
      }
      const kind = classifyFailure(failure);
      if (kind === 'rate' || kind === 'transient') {
        const wait = backoffMs(attempt - 1, Math.random, this.opts.backoffBaseMs);
        if (kind === 'rate') {
          this.calls.rateLimited++;
          this.opts.onRateLimited?.();
          // Every request of this user (other activities, other workers) waits too.
          this.opts.budget.pauseUntil(Date.now() + wait);
        }
        if (attempt < this.maxAttempts) {
          this.calls.retried++;
          await sleep(wait);
          continue;
        }
        throw ApplicationFailure.create({
          type: kind === 'rate' ? ErrorType.RateLimited : ErrorType.Upstream,
          message:
            kind === 'rate'
              ? `${service} refused ${what} for ${this.opts.user} as over quota (${label(failure)}) ${attempt} times; backing off`
              : `${service} unavailable for ${what} of ${this.opts.user} after ${attempt} attempts (${label(failure)})`,
          nextRetryDelay: MAX_BACKOFF_MS,
        });
      }
      if (kind === 'auth') {
        const where = failure.oauth ? 'the token endpoint refused' : `${service} refused`;
        throw ApplicationFailure.create({
          type: ErrorType.Auth,
          message: `Google auth failed for ${this.opts.user}: ${where} ${what} (${label(failure)}); ${this.opts.authAdvice}`,
          nonRetryable: true,
        });
      }
      const apiError = new GoogleApiError(failure.status!, failure.reason, failure.message);
      if (handles(apiError)) throw apiError;
      throw ApplicationFailure.create({
        type: ErrorType.BadRequest,
        message: `${service} rejected ${what} for ${this.opts.user}: ${apiError.describe()}`,
        nonRetryable: true,
      });
    }
  }
}
