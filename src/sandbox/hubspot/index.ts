/**
 * HubSpot CRM v3/v4 sandbox emulator: a local HTTP server faithful enough to HubSpot (paths,
 * shapes, status codes, error bodies, rate limits, search lag and the 10k search cap) that code
 * working against it works against api.hubapi.com. Pass `sandbox.url` as `basePath` to
 * `@hubspot/api-client`.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { registerAdminRoutes } from './admin';
import { errorBody, HsError } from './errors';
import { FaultState, Stats } from './faults';
import { RateLimiter, rateConfig } from './ratelimit';
import { registerApiRoutes } from './routes';
import { SINGULAR } from './schema';
import { Store } from './store';
import type { HubSpotSandbox, ObjectType, SandboxOptions, SandboxRecord } from './types';
import { WebhookDispatcher } from './webhooks';

export type {
  FaultOptions,
  HubSpotSandbox,
  ObjectType,
  RateLimitOptions,
  SandboxOptions,
  SandboxRecord,
  SandboxStats,
  WebhookOptions,
  WebhookStats,
} from './types';
export { signatureV1, signatureV3, type WebhookEvent } from './webhooks';
export { OBJECT_TYPES } from './types';
export { createPrng, seedRealistic, type GenerateOptions } from './generate';
export { ASSOCIATION_TYPES } from './associations';

export async function startHubSpotSandbox(opts: SandboxOptions = {}): Promise<HubSpotSandbox> {
  const store = new Store({
    searchLagMs: Math.max(0, opts.searchLagMs ?? 0),
    strictEnumerations: opts.strictEnumerations ?? false,
    randomSeed: opts.randomSeed ?? 42,
  });
  const limiter = new RateLimiter(rateConfig(opts.rateLimits));
  const faults = new FaultState();
  const stats = new Stats();
  const host = opts.host ?? '127.0.0.1';
  const webhooks = new WebhookDispatcher((type, name) => store.schema[type].get(name));
  if (opts.webhooks) webhooks.configure(opts.webhooks);
  store.onChange = (c) => webhooks.record(c);

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 16 * 1024 * 1024 });

  // Tolerant JSON: empty bodies (DELETE, some SDK calls) are fine; bad JSON is a HubSpot-shaped 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, raw, done) => {
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new HsError(400, 'VALIDATION_ERROR', `Invalid input JSON : ${(e as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HsError) {
      return reply.code(err.status).header('content-type', 'application/json;charset=utf-8').send(JSON.stringify(err.body()));
    }
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'sandbox error');
    const body = status >= 500 ? errorBody('INTERNAL_ERROR', 'internal error') : errorBody('VALIDATION_ERROR', (err as Error).message);
    return reply.code(status).header('content-type', 'application/json;charset=utf-8').send(JSON.stringify(body));
  });

  app.setNotFoundHandler((req, reply) => {
    const body = errorBody('OBJECT_NOT_FOUND', `No route for ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).header('content-type', 'application/json;charset=utf-8').send(JSON.stringify(body));
  });

  registerApiRoutes(app, { store, limiter, faults, stats, latencyMs: Math.max(0, opts.latencyMs ?? 0), accessToken: opts.accessToken });

  const mustGet = (type: ObjectType, id: string) => {
    const rec = store.byId(type, id);
    if (!rec) throw new HsError(404, 'OBJECT_NOT_FOUND', `No ${SINGULAR[type]} with id ${id}`);
    return rec;
  };

  /** Validates like the API does, but keeps null (= remove the value) as the UI helpers allow it. */
  const userProps = (type: ObjectType, props: Record<string, string | null>): Record<string, string | null> => {
    const asInput: Record<string, string> = {};
    for (const [k, v] of Object.entries(props)) asInput[k] = v ?? '';
    const out: Record<string, string | null> = store.validate(type, asInput);
    for (const [k, v] of Object.entries(props)) if (v === null) out[k] = null;
    return out;
  };

  let url = '';
  let port = 0;
  const sandbox: HubSpotSandbox = {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    async close() {
      webhooks.close();
      await app.close();
    },
    seed(type, count, o) {
      return store.seed(type, count, o?.modifiedAt).map((r) => store.toSandboxRecord(r));
    },
    userCreate(type, properties) {
      return store.toSandboxRecord(store.create(type, userProps(type, properties), 'CRM_UI'));
    },
    userUpdate(type, id, properties) {
      const rec = mustGet(type, id);
      store.update(rec, userProps(type, properties), 'CRM_UI');
      return store.toSandboxRecord(rec);
    },
    userArchive(type, id) {
      const rec = store.byId(type, id, true);
      if (!rec) throw new HsError(404, 'OBJECT_NOT_FOUND', `No ${SINGULAR[type]} with id ${id}`);
      store.archive(rec, 'CRM_UI');
    },
    userAssociate(fromType, fromId, toType, toId) {
      mustGet(fromType, fromId);
      mustGet(toType, toId);
      if (store.addDefaultAssociation(fromType, fromId, toType, toId, 'CRM_UI').length === 0) {
        throw new HsError(400, 'VALIDATION_ERROR', `${SINGULAR[fromType]} and ${SINGULAR[toType]} cannot be associated`);
      }
    },
    get(type, id, o) {
      const rec = store.byId(type, id, o?.includeArchived ?? false);
      return rec ? store.toSandboxRecord(rec) : undefined;
    },
    list(type, o) {
      const out: SandboxRecord[] = [];
      for (const r of store.records(type)) if (!r.cur.archived || o?.includeArchived) out.push(store.toSandboxRecord(r));
      return out;
    },
    associations(fromType, fromId, toType) {
      return [...store.associationsOf(fromType, fromId, toType).entries()].filter(([, t]) => t.size > 0).map(([id]) => id);
    },
    faults: {
      set: (f) => faults.set(f),
      clear: () => faults.clear(),
    },
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    webhooks: {
      configure: (o) => webhooks.configure(o),
      flush: () => webhooks.flush(),
      stats: () => webhooks.stats(),
    },
  };

  registerAdminRoutes(app, sandbox, {
    resetRateLimits: () => limiter.reset(),
    describeFaults: () => faults.describe(),
    describeWebhooks: () => ({ options: webhooks.describe(), stats: webhooks.stats() }),
  });

  await app.listen({ port: opts.port ?? 0, host });
  port = (app.server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  url = `http://${urlHost}:${port}`;
  return sandbox;
}
