/**
 * The shared HTTP core every API module (Calendar and Gmail now; Drive later) mounts its routes on.
 * Each API request goes through: stats → Bearer auth (401) → scope check (403) → fault burst →
 * quotas (403/429; the route's pool and unit cost) → random 5xx → handler → latency. Bodies are
 * parsed lazily by the handler, so bad JSON is Google's 400 parseError, and every answer is
 * `application/json; charset=UTF-8`.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type HTTPMethods } from 'fastify';
import type { Auth, Principal } from './auth';
import type { ChannelHub } from './channels';
import { backendError, GoogleError, insufficientScopes, invalid, notFound, parseError } from './errors';
import type { FaultState, Stats } from './faults';
import type { Prng } from './prng';
import { DEFAULT_POOL, type QuotaCharge, type QuotaLimiter } from './quota';

export type Query = Record<string, string | string[] | undefined>;

export interface ApiContext {
  req: FastifyRequest;
  principal: Principal;
  params: Record<string, string>;
  query: Query;
  /** the JSON body (undefined when empty); throws 400 parseError on bad JSON */
  json(): unknown;
  header(name: string): string | undefined;
}

export interface ApiResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ApiHandler = (ctx: ApiContext) => ApiResult | Promise<ApiResult>;

export interface RouteOptions {
  /** the quota pool and unit cost (default: the default pool, 1 unit per request) */
  quota?: QuotaCharge;
}

/** What the modules share. */
export interface Core {
  app: FastifyInstance;
  auth: Auth;
  quota: QuotaLimiter;
  faults: FaultState;
  stats: Stats;
  channels: ChannelHub;
  /** an independent deterministic stream derived from the sandbox's randomSeed */
  prng(salt: string): Prng;
  /** registers an API route; `scopes`: the token needs at least one of them */
  route(method: HTTPMethods, url: string, scopes: readonly string[], handler: ApiHandler, opts?: RouteOptions): void;
}

export const JSON_TYPE = 'application/json; charset=UTF-8';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A Fastify instance with Google's error conventions; bodies arrive as raw strings. */
export function createApp(logger: boolean): FastifyInstance {
  const app = Fastify({ logger, bodyLimit: 16 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, raw, done) => done(null, raw === '' ? undefined : raw));
  app.setErrorHandler((err, req, reply) => {
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'google sandbox error');
    const e = status >= 500 ? backendError(500) : status === 413 ? GoogleError.of(413, 'uploadTooLarge', 'Request Too Large') : invalid((err as Error).message);
    return send(reply, { status: e.code, body: e.body(), headers: e.headers });
  });
  app.setNotFoundHandler((_req, reply) => {
    const e = notFound();
    return send(reply, { status: 404, body: e.body() });
  });
  return app;
}

export function send(reply: FastifyReply, r: ApiResult): FastifyReply {
  reply.code(r.status);
  reply.header('cache-control', 'private, max-age=0, must-revalidate, no-transform');
  reply.header('vary', 'Origin, X-Origin, Referer');
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
  if (r.body === undefined || r.status === 204 || r.status === 304) return reply.send();
  reply.header('content-type', JSON_TYPE);
  return reply.send(JSON.stringify(r.body));
}

function errorResult(e: GoogleError): ApiResult {
  return { status: e.code, body: e.body(), headers: e.headers };
}

/** Builds the API pipeline (see the file comment) for `Core.route`. */
export function apiRouter(deps: Omit<Core, 'route' | 'prng'>): Core['route'] {
  const { app, auth, quota, faults, stats } = deps;

  async function pipeline(req: FastifyRequest, scopes: readonly string[], handler: ApiHandler, charge: QuotaCharge): Promise<ApiResult> {
    const who = auth.authenticate(req.headers.authorization);
    if (who instanceof GoogleError) return errorResult(who);
    stats.user(who.email);
    if (!scopes.some((s) => who.scopes.has(s))) return errorResult(insufficientScopes());
    const burst = faults.takeBurst();
    if (burst) {
      stats.faulted();
      if (burst.code === 403 || burst.code === 429) stats.rateLimited();
      return errorResult(burst);
    }
    const query = (req.query ?? {}) as Query;
    const quotaUser = qString(query, 'quotaUser') ?? who.email;
    const refused = quota.admit(quotaUser, Date.now(), charge);
    if (refused) {
      stats.rateLimited();
      return errorResult(refused);
    }
    stats.units(charge.pool ?? DEFAULT_POOL, quotaUser, charge.units ?? 1);
    const failure = faults.roll5xx();
    if (failure) {
      stats.faulted();
      return errorResult(failure);
    }
    const ctx: ApiContext = {
      req,
      principal: who,
      params: (req.params ?? {}) as Record<string, string>,
      query,
      json: () => {
        const raw = req.body;
        if (raw === undefined || raw === null) return undefined;
        try {
          return JSON.parse(String(raw)) as unknown;
        } catch {
          throw parseError();
        }
      },
      header: (name) => {
        const v = req.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
    };
    try {
      return await handler(ctx);
    } catch (err) {
      if (err instanceof GoogleError) return errorResult(err);
      req.log.error({ err }, 'google sandbox handler failed');
      return errorResult(backendError(500));
    }
  }

  return (method, url, scopes, handler, opts = {}) => {
    const charge = opts.quota ?? {};
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        stats.request(`${req.method} ${url}`);
        const res = await pipeline(req, scopes, handler, charge);
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        return send(reply, res);
      },
    });
  };
}

// ---- query helpers -----------------------------------------------------------------------------

export function qString(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Repeated parameters (`a=1&a=2`, what googleapis sends for arrays). */
export function qList(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Google's boolean parameters: true / false (anything else is a 400). */
export function qBool(q: Query, name: string): boolean | undefined {
  const v = qString(q, name);
  if (v === undefined || v === '') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(`Invalid value '${v}'. Values must be true or false.`, { location: name, locationType: 'parameter' });
}

export function qInt(q: Query, name: string, min: number, max: number): number | undefined {
  const v = qString(q, name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalid(`Invalid value '${v}'. Values must be within the range: [${min}, ${max}]`, { location: name, locationType: 'parameter' });
  }
  return n;
}
