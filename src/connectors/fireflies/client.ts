/**
 * Fireflies' GraphQL API over fetch: `POST <FIREFLIES_API_URL>` with the bearer key, one
 * request per call, each under the key's budget. Refusals come in two forms — HTTP 429 with
 * Retry-After, or HTTP 200 with `errors[].extensions.code = "too_many_requests"` and
 * `metadata.retryAfter` (epoch ms) — and both pause the budget; a short pause is waited out, a
 * long one is handed back to the caller (it defers). Transient failures (5xx, network) back off
 * and retry a few times. Thin: no sync logic here.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import { redactUpstream } from '../../log';
import { patientSleep } from '../../core/progress';
import type { FirefliesBudget, Purpose } from './budget';
import type { FfTranscript } from './mapping';

/** The Transcript fields the engine stores (one selection for the list and for one transcript). */
const TRANSCRIPT_FIELDS = `
  id title date dateString duration privacy host_email organizer_email participants
  meeting_attendees { displayName email name }
  speakers { id name }
  sentences { index speaker_name speaker_id text start_time end_time }
  summary { action_items keywords outline overview short_summary topics_discussed }
  transcript_url meeting_link calendar_id
  meeting_info { summary_status }`;

export const LIST_QUERY = `query AuroraTranscripts($fromDate: DateTime, $toDate: DateTime, $limit: Int, $skip: Int) {
  transcripts(fromDate: $fromDate, toDate: $toDate, limit: $limit, skip: $skip) {${TRANSCRIPT_FIELDS}
  }
}`;
export const ONE_QUERY = `query AuroraTranscript($id: String!) {
  transcript(id: $id) {${TRANSCRIPT_FIELDS}
  }
}`;

/** The budget is spent (or Fireflies refused for long): nothing was sent; try again at `until`. */
export class Deferred {
  constructor(readonly until: number) {}
}

/** Waits up to this long for a refusal's retry time inside a request; longer ones defer. */
const MAX_INLINE_WAIT_MS = 60_000;
const MAX_ATTEMPTS = 5;

interface GqlError {
  message?: string;
  code?: string;
  extensions?: { code?: string; status?: number; metadata?: { retryAfter?: number } };
}

export interface FirefliesClientStats {
  requests: number;
  rateLimited: number;
  retried: number;
  deferred: number;
}

function parseBody<T>(text: string): { data?: T | null; errors?: GqlError[] } | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as { data?: T | null; errors?: GqlError[] }) : null;
  } catch {
    return null;
  }
}

export class FirefliesClient {
  readonly stats: FirefliesClientStats = { requests: 0, rateLimited: 0, retried: 0, deferred: 0 };

  constructor(
    private readonly opts: {
      url: string;
      apiKey: string;
      budget: FirefliesBudget;
      onRequest?: () => void;
      onRateLimited?: () => void;
      fetch?: typeof fetch;
    },
  ) {}

  /** One page of the listing, newest first. */
  async list(vars: { fromDate: string | null; toDate: string | null; limit: number; skip: number }, purpose: Purpose = 'poll'): Promise<{ transcripts: FfTranscript[]; at: number } | Deferred> {
    const r = await this.request<{ transcripts: Array<FfTranscript | null> | null }>(LIST_QUERY, vars, purpose);
    if (r instanceof Deferred) return r;
    return { transcripts: (r.data?.transcripts ?? []).filter((t): t is FfTranscript => Boolean(t?.id)), at: r.at };
  }

  /** One transcript (null: Fireflies does not have it, or not for this key). */
  async transcript(id: string, purpose: Purpose): Promise<{ transcript: FfTranscript | null; at: number } | Deferred> {
    const r = await this.request<{ transcript: FfTranscript | null }>(ONE_QUERY, { id }, purpose, ['object_not_found']);
    if (r instanceof Deferred) return r;
    return { transcript: r.data?.transcript ?? null, at: r.at };
  }

  private async request<T>(query: string, variables: Record<string, unknown>, purpose: Purpose, tolerated: string[] = []): Promise<{ data: T | null; at: number } | Deferred> {
    const { budget } = this.opts;
    const doFetch = this.opts.fetch ?? fetch;
    for (let attempt = 1; ; attempt++) {
      const grant = await budget.take(purpose);
      if (!grant.ok) {
        if (grant.until - Date.now() <= MAX_INLINE_WAIT_MS) {
          await patientSleep(Math.max(0, grant.until - Date.now()));
          continue;
        }
        this.stats.deferred++;
        return new Deferred(grant.until);
      }
      const at = Date.now();
      this.stats.requests++;
      this.opts.onRequest?.();
      let res: Response;
      let text: string;
      try {
        res = await doFetch(this.opts.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(60_000),
        });
        text = await res.text();
      } catch (err) {
        grant.done();
        if (attempt < MAX_ATTEMPTS) {
          this.stats.retried++;
          await patientSleep(Math.min(8_000, 250 * 2 ** (attempt - 1)));
          continue;
        }
        throw ApplicationFailure.create({ type: ErrorType.Upstream, message: `Fireflies unreachable: ${(err as Error).message}` });
      }
      grant.done();
      await budget.observe(res.headers).catch(() => undefined);
      const body = parseBody<T>(text);
      const errors = body?.errors ?? [];
      const code = (e: GqlError) => e.extensions?.code ?? e.code;
      const limited = errors.find((e) => code(e) === 'too_many_requests');
      if (res.status === 429 || limited) {
        this.stats.rateLimited++;
        this.opts.onRateLimited?.();
        const retryAfterS = Number(res.headers.get('retry-after'));
        const retryAt = Number(limited?.extensions?.metadata?.retryAfter) || (Number.isFinite(retryAfterS) && retryAfterS >= 0 ? Date.now() + retryAfterS * 1000 : Date.now() + 60_000);
        await budget.pauseUntil(retryAt);
        if (retryAt - Date.now() > MAX_INLINE_WAIT_MS || attempt >= MAX_ATTEMPTS) {
          this.stats.deferred++;
          return new Deferred(retryAt);
        }
        this.stats.retried++;
        await patientSleep(Math.max(0, retryAt - Date.now()));
        continue;
      }
      const auth = errors.find((e) => code(e) === 'auth_failed');
      if (res.status === 401 || res.status === 403 || auth) {
        throw ApplicationFailure.create({
          type: ErrorType.Auth,
          message: `Fireflies rejected the API key (${auth?.message ?? `HTTP ${res.status}`}); check FIREFLIES_API_KEY`,
          nonRetryable: true,
        });
      }
      const internal = errors.some((e) => /^INTERNAL_SERVER_ERROR$/i.test(code(e) ?? ''));
      if (res.status >= 500 || internal || body === null) {
        if (attempt < MAX_ATTEMPTS) {
          this.stats.retried++;
          await patientSleep(Math.min(8_000, 250 * 2 ** (attempt - 1)));
          continue;
        }
        throw ApplicationFailure.create({ type: ErrorType.Upstream, message: `Fireflies unavailable: HTTP ${res.status}${errors[0]?.message ? ` ${redactUpstream(errors[0].message)}` : ''}` });
      }
      const fatal = errors.filter((e) => !tolerated.includes(code(e) ?? ''));
      if (res.status >= 400 || fatal.length) {
        const e = fatal[0] ?? errors[0];
        throw ApplicationFailure.create({
          type: ErrorType.BadRequest,
          message: `Fireflies refused the query: HTTP ${res.status} ${code(e ?? {}) ?? ''} ${redactUpstream(e?.message ?? '')}`.trim(),
          nonRetryable: true,
        });
      }
      return { data: body.data ?? null, at };
    }
  }
}
