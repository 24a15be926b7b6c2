/**
 * Admin HTTP API under /_sandbox/ (no auth, not rate limited, no latency): lets other processes
 * act as a HubSpot user (seed, create, edit, archive, associate) and control faults and stats.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HsError } from './errors';
import { parseObjectType } from './schema';
import type { FaultOptions, HubSpotSandbox, ObjectType, WebhookOptions } from './types';

function type(raw: unknown): ObjectType {
  const t = typeof raw === 'string' ? parseObjectType(raw) : undefined;
  if (!t) throw new HsError(400, 'VALIDATION_ERROR', `Unknown object type: ${String(raw)} (use contacts, companies or deals)`);
  return t;
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

function props(v: unknown): Record<string, string | null> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new HsError(400, 'VALIDATION_ERROR', '"properties" must be an object');
  const out: Record<string, string | null> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = x === null ? null : String(x);
  return out;
}

/** Parses FaultOptions from JSON: `failNext.route` is a substring, or a RegExp source when `failNext.regex` is true. */
export function parseFaults(raw: Record<string, unknown>): FaultOptions {
  const out: FaultOptions = {};
  if (typeof raw.error5xxRate === 'number') out.error5xxRate = raw.error5xxRate;
  if (typeof raw.rateLimitBurst === 'number') out.rateLimitBurst = raw.rateLimitBurst;
  const fn = raw.failNext as Record<string, unknown> | null | undefined;
  if (fn && typeof fn === 'object') {
    if (typeof fn.route !== 'string' || typeof fn.status !== 'number') {
      throw new HsError(400, 'VALIDATION_ERROR', 'failNext needs {route: string, status: number}');
    }
    out.failNext = {
      route: fn.regex === true ? new RegExp(fn.route) : fn.route,
      status: fn.status,
      count: typeof fn.count === 'number' ? fn.count : undefined,
      afterHandling: fn.afterHandling === true,
    };
  }
  return out;
}

export function registerAdminRoutes(
  app: FastifyInstance,
  sb: HubSpotSandbox,
  extra: { resetRateLimits(): void; describeFaults(): unknown; describeWebhooks(): unknown },
): void {
  const wrap =
    (fn: (req: FastifyRequest, reply: FastifyReply) => unknown) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const out = await fn(req, reply);
        if (reply.sent) return reply;
        if (out === undefined) return reply.code(204).send();
        return reply.header('content-type', 'application/json;charset=utf-8').send(JSON.stringify(out));
      } catch (err) {
        if (err instanceof HsError) {
          return reply.code(err.status).header('content-type', 'application/json;charset=utf-8').send(JSON.stringify(err.body()));
        }
        throw err;
      }
    };

  app.get('/_sandbox/health', wrap(() => ({ ok: true, url: sb.url })));

  app.post(
    '/_sandbox/seed',
    wrap((req, reply) => {
      const b = body(req);
      const count = Number(b.count ?? 0);
      if (!Number.isInteger(count) || count < 0 || count > 1_000_000) throw new HsError(400, 'VALIDATION_ERROR', 'count must be an integer 0..1000000');
      const modifiedAt = typeof b.modifiedAt === 'string' || typeof b.modifiedAt === 'number' ? new Date(b.modifiedAt) : undefined;
      const t = type(b.type);
      const recs = sb.seed(t, count, modifiedAt ? { modifiedAt } : undefined);
      reply.code(201);
      return { type: t, count: recs.length, firstId: recs[0]?.id ?? null, lastId: recs[recs.length - 1]?.id ?? null };
    }),
  );

  app.get(
    '/_sandbox/objects/:type',
    wrap((req) => {
      const p = req.params as Record<string, string>;
      const q = req.query as Record<string, string | undefined>;
      const results = sb.list(type(p.type), { includeArchived: q.archived === 'true' });
      return { total: results.length, results };
    }),
  );

  app.get(
    '/_sandbox/objects/:type/:id',
    wrap((req) => {
      const p = req.params as Record<string, string>;
      const rec = sb.get(type(p.type), p.id!, { includeArchived: true });
      if (!rec) throw new HsError(404, 'OBJECT_NOT_FOUND', `No ${p.type} with id ${p.id}`);
      return rec;
    }),
  );

  app.post(
    '/_sandbox/objects/:type',
    wrap((req, reply) => {
      const p = req.params as Record<string, string>;
      const properties = props(body(req).properties);
      const clean: Record<string, string> = {};
      for (const [k, v] of Object.entries(properties)) if (v !== null) clean[k] = v;
      reply.code(201);
      return sb.userCreate(type(p.type), clean);
    }),
  );

  app.patch(
    '/_sandbox/objects/:type/:id',
    wrap((req) => {
      const p = req.params as Record<string, string>;
      return sb.userUpdate(type(p.type), p.id!, props(body(req).properties));
    }),
  );

  app.delete(
    '/_sandbox/objects/:type/:id',
    wrap((req) => {
      const p = req.params as Record<string, string>;
      sb.userArchive(type(p.type), p.id!);
      return undefined;
    }),
  );

  app.put(
    '/_sandbox/associations',
    wrap((req) => {
      const b = body(req);
      sb.userAssociate(type(b.fromType), String(b.fromId), type(b.toType), String(b.toId));
      return undefined;
    }),
  );

  app.get(
    '/_sandbox/associations/:fromType/:fromId/:toType',
    wrap((req) => {
      const p = req.params as Record<string, string>;
      return { ids: sb.associations(type(p.fromType), p.fromId!, type(p.toType)) };
    }),
  );

  app.put(
    '/_sandbox/faults',
    wrap((req) => {
      const b = body(req);
      sb.faults.clear();
      sb.faults.set(parseFaults(b));
      return extra.describeFaults();
    }),
  );
  app.patch(
    '/_sandbox/faults',
    wrap((req) => {
      sb.faults.set(parseFaults(body(req)));
      return extra.describeFaults();
    }),
  );
  app.get('/_sandbox/faults', wrap(() => extra.describeFaults()));
  app.delete(
    '/_sandbox/faults',
    wrap(() => {
      sb.faults.clear();
      return undefined;
    }),
  );

  // Webhooks: PUT the options (JSON object) or null / an empty body to turn them off.
  app.put(
    '/_sandbox/webhooks',
    wrap((req) => {
      const b = req.body;
      if (b !== undefined && b !== null && (typeof b !== 'object' || Array.isArray(b))) {
        throw new HsError(400, 'VALIDATION_ERROR', 'Body must be the webhook options object, or null to turn webhooks off');
      }
      try {
        sb.webhooks.configure((b ?? null) as WebhookOptions | null);
      } catch (e) {
        throw new HsError(400, 'VALIDATION_ERROR', (e as Error).message);
      }
      return extra.describeWebhooks();
    }),
  );
  app.get('/_sandbox/webhooks', wrap(() => extra.describeWebhooks()));
  app.post(
    '/_sandbox/webhooks/flush',
    wrap(async () => {
      await sb.webhooks.flush();
      return extra.describeWebhooks();
    }),
  );

  app.get('/_sandbox/stats', wrap(() => sb.stats()));
  app.delete(
    '/_sandbox/stats',
    wrap(() => {
      sb.resetStats();
      return undefined;
    }),
  );
  app.delete(
    '/_sandbox/rate-limits',
    wrap(() => {
      extra.resetRateLimits();
      return undefined;
    }),
  );
}
