/**
 * Admin HTTP API of the Fireflies sandbox (no auth, no rate limits, no faults, no latency): what
 * the `FirefliesSandbox` object offers in-process, for other processes. JSON in and out; errors
 * are `{error: message}` with 400 (bad input) or 404 (unknown key / transcript).
 *
 *   GET    /_sandbox/fireflies/health                                {ok, url, graphql}
 *   GET    /_sandbox/fireflies/keys                                  {items: ApiKeyInfo[]}
 *   POST   /_sandbox/fireflies/keys             {key, plan, email, name?, limit?, windowMs?}  201 ApiKeyInfo
 *   PATCH  /_sandbox/fireflies/keys/:key        {plan?, limit?, windowMs?}                    ApiKeyInfo
 *   DELETE /_sandbox/fireflies/keys/:key                             204 (the key stops working)
 *   GET    /_sandbox/fireflies/users                                 {items}
 *
 *   GET    /_sandbox/fireflies/transcripts                           {items: SandboxTranscript[]} newest first
 *   GET    /_sandbox/fireflies/transcripts/:id                       SandboxTranscript
 *   POST   /_sandbox/fireflies/transcripts/seed {count, ...SeedOptions}                     201 {count, ids}
 *   POST   /_sandbox/fireflies/transcripts      {...TranscriptInput, notify?, summarizeAfterMs?}  201 SandboxTranscript
 *   POST   /_sandbox/fireflies/transcripts/:id/summarize  {summary?, summaryFormat?, changeActionItems?, notify?}  SandboxTranscript
 *   DELETE /_sandbox/fireflies/transcripts/:id                       204
 *
 *   GET    /_sandbox/fireflies/webhooks                              {options, stats, deliveries}
 *   PUT    /_sandbox/fireflies/webhooks         {url, secret?, version?, maxAttempts?, retryBaseMs?, timeoutMs?} | null
 *   POST   /_sandbox/fireflies/webhooks/flush                        waits for pending deliveries
 *   GET    /_sandbox/fireflies/faults                                current faults
 *   PUT    /_sandbox/fireflies/faults           {latencyMs?, error5xxRate?, rateLimitBurst?, burstRetryAfterSeconds?, failNext?}  replace
 *   PATCH  /_sandbox/fireflies/faults           (same)                merge
 *   DELETE /_sandbox/fireflies/faults                                204
 *   GET    /_sandbox/fireflies/stats                                 FirefliesSandboxStats
 *   DELETE /_sandbox/fireflies/stats                                 204
 *   DELETE /_sandbox/fireflies/rate-limits                           204 (every key's window — the daily counter too — starts over)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FaultOptions, FirefliesSandbox, Plan, SeedOptions, SummarizeOptions, TranscriptInput, WebhookOptions } from './types';

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function body(req: FastifyRequest): Record<string, unknown> | null {
  const raw = req.body;
  if (raw === undefined || raw === null || raw === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(String(raw));
  } catch {
    throw new AdminError(400, 'The body is not valid JSON.');
  }
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AdminError(400, 'The body must be a JSON object.');
  return v as Record<string, unknown>;
}

const obj = (req: FastifyRequest): Record<string, unknown> => body(req) ?? {};

export function registerAdminRoutes(app: FastifyInstance, sb: FirefliesSandbox, extra: { describeFaults(): unknown; describeWebhooks(): unknown }): void {
  const P = '/_sandbox/fireflies';
  const route = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, fn: (req: FastifyRequest, reply: FastifyReply) => unknown) => {
    app.route({
      method,
      url: P + url,
      handler: async (req, reply) => {
        try {
          const out = await fn(req, reply);
          if (out === undefined) return reply.code(204).send();
          return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(out));
        } catch (e) {
          const status = e instanceof AdminError ? e.status : 400;
          return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ error: (e as Error).message }));
        }
      },
    });
  };
  const param = (req: FastifyRequest, name: string): string => decodeURIComponent((req.params as Record<string, string>)[name] ?? '');
  const mustTranscript = (id: string) => {
    const t = sb.transcripts.get(id);
    if (!t) throw new AdminError(404, `No transcript ${id}`);
    return t;
  };

  route('GET', '/health', () => ({ ok: true, url: sb.url, graphql: `${sb.url}/graphql` }));

  route('GET', '/keys', () => ({ items: sb.keys.list() }));
  route('POST', '/keys', (req, reply) => {
    const b = obj(req);
    if (typeof b.key !== 'string') throw new AdminError(400, '"key" is required (a string).');
    const info = sb.keys.add(b.key, {
      plan: b.plan as Plan,
      email: b.email as string,
      name: typeof b.name === 'string' ? b.name : undefined,
      limit: typeof b.limit === 'number' ? b.limit : undefined,
      windowMs: typeof b.windowMs === 'number' ? b.windowMs : undefined,
      admin: typeof b.admin === 'boolean' ? b.admin : undefined,
    });
    reply.code(201);
    return info;
  });
  route('PATCH', '/keys/:key', (req) => {
    const key = param(req, 'key');
    if (!sb.keys.list().some((k) => k.key === key)) throw new AdminError(404, `No API key ${key}`);
    const b = obj(req);
    const o: Record<string, unknown> = {};
    for (const f of ['plan', 'limit', 'windowMs', 'admin']) if (f in b) o[f] = b[f] === null ? undefined : b[f];
    return sb.keys.update(key, o);
  });
  route('DELETE', '/keys/:key', (req) => {
    if (!sb.keys.remove(param(req, 'key'))) throw new AdminError(404, `No API key ${param(req, 'key')}`);
    return undefined;
  });
  route('GET', '/users', () => ({ items: sb.users() }));

  route('GET', '/transcripts', () => ({ items: sb.transcripts.list() }));
  route('GET', '/transcripts/:id', (req) => mustTranscript(param(req, 'id')));
  route('POST', '/transcripts/seed', (req, reply) => {
    const b = obj(req);
    const count = Number(b.count ?? 0);
    const { count: _c, ...opts } = b;
    const ids = sb.transcripts.seed(count, opts as SeedOptions).map((t) => t.id);
    reply.code(201);
    return { count: ids.length, ids };
  });
  route('POST', '/transcripts', (req, reply) => {
    const b = obj(req);
    const { notify, summarizeAfterMs, ...input } = b;
    const t = sb.transcripts.add(input as TranscriptInput, {
      notify: notify === true,
      summarizeAfterMs: typeof summarizeAfterMs === 'number' ? summarizeAfterMs : undefined,
    });
    reply.code(201);
    return t;
  });
  route('POST', '/transcripts/:id/summarize', (req) => {
    const id = param(req, 'id');
    mustTranscript(id);
    return sb.transcripts.summarize(id, obj(req) as SummarizeOptions);
  });
  route('DELETE', '/transcripts/:id', (req) => {
    if (!sb.transcripts.remove(param(req, 'id'))) throw new AdminError(404, `No transcript ${param(req, 'id')}`);
    return undefined;
  });

  route('GET', '/webhooks', () => extra.describeWebhooks());
  route('PUT', '/webhooks', (req) => {
    sb.webhooks.configure(body(req) as WebhookOptions | null);
    return extra.describeWebhooks();
  });
  route('POST', '/webhooks/flush', async () => {
    await sb.webhooks.flush();
    return extra.describeWebhooks();
  });

  route('GET', '/faults', () => extra.describeFaults());
  route('PUT', '/faults', (req) => {
    sb.faults.clear();
    sb.faults.set(obj(req) as FaultOptions);
    return extra.describeFaults();
  });
  route('PATCH', '/faults', (req) => {
    sb.faults.set(obj(req) as FaultOptions);
    return extra.describeFaults();
  });
  route('DELETE', '/faults', () => {
    sb.faults.clear();
    return undefined;
  });

  route('GET', '/stats', () => sb.stats);
  route('DELETE', '/stats', () => {
    sb.resetStats();
    return undefined;
  });
  route('DELETE', '/rate-limits', () => {
    sb.resetRateLimits();
    return undefined;
  });
}
