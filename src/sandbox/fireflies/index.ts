/**
 * Fireflies.ai sandbox: a stateful local emulator of the Fireflies GraphQL API
 * (`POST https://api.fireflies.ai/graphql`) faithful enough — schema subset, argument rules,
 * error shapes, per-plan rate limits in both refusal forms, signed webhooks v1/v2 — that code
 * working against it works against Fireflies.
 *
 *   const ff = await startFirefliesSandbox({ keys: [{ key: 'k', plan: 'business', email: 'ana@acme.test' }] });
 *   ff.transcripts.seed(50);
 *   await fetch(`${ff.url}/graphql`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
 *     body: JSON.stringify({ query: '{ transcripts(limit: 5) { id title } }' }) });
 *
 * Each request: Bearer auth (auth_failed) → rate-limit burst fault / the key's window
 * (too_many_requests) → injected 5xx → GraphQL. Latency is added before everything.
 * Admin API under /_sandbox/fireflies/ (see admin.ts).
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply } from 'fastify';
import { createPrng } from '../google/prng';
import { registerAdminRoutes } from './admin';
import { authFailed, tooManyRequests } from './errors';
import { FaultState, Stats } from './faults';
import { runGraphQL } from './graphql';
import { RateLimiter, rateConfig, rateHeaders } from './ratelimit';
import { Store, type KeyRecord } from './store';
import type { ApiKeyInfo, FirefliesSandbox, FirefliesSandboxOptions } from './types';
import { WebhookDispatcher } from './webhooks';

export type * from './types';
export { PLANS } from './types';
export { hmacHex } from './webhooks';
export { actionItemsText, actionItemsList, parseActionItemsText, mmss } from './generate';
export { DEFAULT_PLAN_WINDOWS } from './ratelimit';
export { SDL } from './schema';

const JSON_TYPE = 'application/json; charset=utf-8';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function send(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}): FastifyReply {
  reply.code(status);
  for (const [k, v] of Object.entries(headers)) reply.header(k, v);
  reply.header('content-type', JSON_TYPE);
  return reply.send(JSON.stringify(body));
}

/** A load balancer's 502/503/504 page, or Fireflies' 500 JSON. */
function sendFault(reply: FastifyReply, status: number): FastifyReply {
  if (status === 500) {
    return send(reply, 500, { data: null, errors: [{ message: 'Internal server error', friendly: false, code: 'INTERNAL_SERVER_ERROR', extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 } }] });
  }
  const text = { 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' }[status] ?? 'Error';
  return reply.code(status).header('content-type', 'text/html').send(`<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`);
}

export async function startFirefliesSandbox(opts: FirefliesSandboxOptions = {}): Promise<FirefliesSandbox> {
  const seed = opts.randomSeed ?? 42;
  const domain = (opts.domain ?? 'acme.test').trim().toLowerCase();
  const host = opts.host ?? '127.0.0.1';
  const authStatus = opts.authFailureStatus ?? 200;
  if (authStatus !== 200 && authStatus !== 401) throw new Error('authFailureStatus must be 200 or 401');

  const store = new Store(domain, seed);
  const limiter = new RateLimiter(rateConfig(opts.rateLimits));
  const faults = new FaultState(createPrng(seed, 'faults').next);
  const stats = new Stats();
  const webhooks = new WebhookDispatcher(createPrng(seed, 'webhooks').next);
  if (opts.webhooks) webhooks.configure(opts.webhooks);
  store.onEvent = (e) => webhooks.emit(e.kind === 'transcribed' ? 'meeting.transcribed' : 'meeting.summarized', e.transcript.id, e.transcript.client_reference_id);
  for (const k of opts.keys ?? []) store.addKey(k.key, k);

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 16 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, raw, done) => done(null, raw === '' ? undefined : raw));
  app.setErrorHandler((err, req, reply) => {
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'fireflies sandbox error');
    return send(reply, status, { errors: [{ message: status >= 500 ? 'Internal server error' : (err as Error).message, extensions: { code: status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  });
  app.setNotFoundHandler((req, reply) => send(reply, 404, { errors: [{ message: `Cannot ${req.method} ${req.url.split('?')[0]}`, extensions: { code: 'NOT_FOUND' } }] }));

  const refuse = (reply: FastifyReply, key: KeyRecord, retryAt: number, headers: Record<string, string>) => {
    stats.rateLimited(key.key);
    const body = { errors: [tooManyRequests(retryAt).toJSON()], data: null };
    if (limiter.config.refusal === 'http429') {
      return send(reply, 429, body, { ...headers, 'retry-after': String(Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))) });
    }
    return send(reply, 200, body, headers);
  };

  app.post('/graphql', async (req, reply) => {
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const header = req.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim() : undefined;
    const key = token ? store.keys.get(token) : undefined;
    if (!key) {
      stats.unauthorized();
      return send(reply, authStatus, { data: null, errors: [authFailed(!token).toJSON()] });
    }
    stats.request(key.key);
    const now = Date.now();
    if (faults.takeBurst()) {
      const w = limiter.peek(key, now);
      const retryAt = now + faults.burstRetryAfterSeconds * 1000;
      return refuse(reply, key, retryAt, rateHeaders({ limit: w.limit, remaining: 0, resetSeconds: faults.burstRetryAfterSeconds }));
    }
    const d = limiter.take(key, now);
    const headers = rateHeaders(d);
    if (!d.allowed) return refuse(reply, key, d.retryAt, headers);
    const fault = faults.take5xx();
    if (fault !== undefined) {
      stats.faulted();
      for (const [k, v] of Object.entries(headers)) reply.header(k, v);
      return sendFault(reply, fault);
    }
    const owner = store.ensureUser(key.email);
    const result = await runGraphQL(store, req.body as string | undefined, req.headers['content-type'], { key, owner, now });
    for (const f of result.fields) stats.field(f);
    return send(reply, result.status, result.body, headers);
  });
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/graphql',
    handler: (_req, reply) => send(reply, 405, { errors: [{ message: 'Only POST requests are supported on /graphql.', extensions: { code: 'METHOD_NOT_ALLOWED' } }] }, { allow: 'POST' }),
  });

  const keyInfo = (k: KeyRecord): ApiKeyInfo => {
    const w = limiter.windowOf(k);
    const u = limiter.usage(k);
    return { key: k.key, plan: k.plan, email: k.email, userId: store.ensureUser(k.email).user_id, limit: w.limit, windowMs: w.windowMs, used: u.used, resetsAt: u.resetsAt };
  };

  let url = '';
  let port = 0;
  const sandbox: FirefliesSandbox = {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    async close() {
      webhooks.close();
      store.close();
      await app.close();
    },
    keys: {
      add: (key, o) => keyInfo(store.addKey(key, o)),
      update: (key, o) => keyInfo(store.updateKey(key, o)),
      remove: (key) => {
        limiter.forget(key);
        return store.keys.delete(key);
      },
      list: () => [...store.keys.values()].map(keyInfo),
    },
    transcripts: {
      seed: (n, o) => store.seed(n, o).map((t) => store.toSandbox(t)),
      add: (t, o) => store.toSandbox(store.add(t, o)),
      summarize: (id, o) => store.toSandbox(store.summarize(id, o)),
      remove: (id) => store.remove(id),
      get: (id) => {
        const t = store.transcripts.get(id);
        return t ? store.toSandbox(t) : undefined;
      },
      list: () => store.sorted().map((t) => store.toSandbox(t)),
    },
    webhooks: {
      configure: (o) => webhooks.configure(o),
      get stats() {
        return webhooks.stats();
      },
      deliveries: () => webhooks.deliveries(),
      flush: () => webhooks.flush(),
    },
    faults: {
      set: (f) => faults.set(f),
      clear: () => faults.clear(),
    },
    get stats() {
      return stats.snapshot();
    },
    resetStats: () => stats.reset(),
    resetRateLimits: () => limiter.reset(),
    users: () => [...store.users.values()].map((u) => ({ user_id: u.user_id, email: u.email, name: u.name })),
  };

  registerAdminRoutes(app, sandbox, {
    describeFaults: () => faults.describe(),
    describeWebhooks: () => ({ options: webhooks.describe(), stats: webhooks.stats(), deliveries: webhooks.deliveries() }),
  });

  await app.listen({ port: opts.port ?? 0, host });
  port = (app.server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  url = `http://${urlHost}:${port}`;
  return sandbox;
}
