/**
 * The emulated HubSpot API (/crm/v3 objects, batch, search, properties; /crm/v4 associations), each
 * request going through auth -> rate limits -> fault injection -> handler -> latency.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { assocType, defaultType, typesBetween, type AssocTypeDef } from './associations';
import {
  AUTH_INVALID_MESSAGE,
  AUTH_MISSING_MESSAGE,
  bodyForStatus,
  errorBody,
  HsError,
  rateLimitBody,
  validationError,
} from './errors';
import type { FaultState, Stats } from './faults';
import type { RateLimiter } from './ratelimit';
import {
  isPropType,
  makeCustomProperty,
  OBJECT_TYPE_ID,
  parseObjectType,
  publicProperty,
  SINGULAR,
} from './schema';
import { runSearch } from './search';
import { conflictMessage, type Rec, type Store } from './store';
import type { ObjectType } from './types';
import { selectProperties, viewRecord, viewSnapshot, type PublicObject } from './views';

export interface ApiContext {
  store: Store;
  limiter: RateLimiter;
  faults: FaultState;
  stats: Stats;
  latencyMs: number;
  accessToken?: string;
}

export interface Result {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Req = FastifyRequest;
type Handler = (req: Req) => Result | Promise<Result>;
type Query = Record<string, string | string[] | undefined>;

export const BATCH_MAX_INPUTS = 100;
/** Associations batch read takes up to 1,000 ids (HubSpot changelog, 2025-02-10). */
export const ASSOC_READ_MAX_INPUTS = 1000;
const LIST_MAX_LIMIT = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- request helpers ---------------------------------------------------------------------------

function params(req: Req): Record<string, string> {
  return req.params as Record<string, string>;
}

function query(req: Req): Query {
  return (req.query ?? {}) as Query;
}

/** Accepts `a&a` repetition (what the SDK sends) and comma-separated values. */
function qList(q: Query, name: string): string[] | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(','));
  return parts.map((s) => s.trim()).filter(Boolean);
}

function qString(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function qBool(q: Query, name: string): boolean {
  return qString(q, name)?.toLowerCase() === 'true';
}

function qInt(q: Query, name: string, fallback: number): number {
  const v = qString(q, name);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw validationError(`Invalid value for query parameter "${name}": ${v}`);
  return n;
}

function objectType(raw: string | undefined): ObjectType {
  const t = raw ? parseObjectType(raw) : undefined;
  if (!t) throw new HsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw ?? ''}`);
  return t;
}

function bodyObject(req: Req): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw validationError('Invalid input JSON: the request body must be a JSON object');
  return b as Record<string, unknown>;
}

function stringList(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw validationError(`Invalid input JSON: "${name}" must be an array of strings`);
  return v.map(String);
}

function batchInputs(req: Req, max = BATCH_MAX_INPUTS): unknown[] {
  const inputs = bodyObject(req).inputs;
  if (!Array.isArray(inputs)) throw validationError('Invalid input JSON: "inputs" must be an array');
  if (inputs.length > max) {
    throw validationError(`Batch input is limited to ${max} inputs, got ${inputs.length}.`, {
      context: { maxInputs: [String(max)], actualInputs: [String(inputs.length)] },
    });
  }
  return inputs;
}

function inputObject(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw validationError('Invalid input JSON: each input must be an object');
  return v as Record<string, unknown>;
}

function idOf(v: unknown): string {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  throw validationError('Invalid input JSON: "id" is required');
}

function checkIdProperty(store: Store, type: ObjectType, idProperty: unknown): string | undefined {
  if (idProperty === undefined || idProperty === null || idProperty === '' || idProperty === 'hs_object_id') return undefined;
  if (typeof idProperty !== 'string' || !store.isIdProperty(type, idProperty)) {
    throw validationError(`${String(idProperty)} is not a unique identifier property for ${type}; idProperty must name a property with unique values.`);
  }
  return idProperty;
}

function noDuplicates(ids: string[]): void {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  if (dup.size) throw validationError(`Duplicate IDs found in batch input: [${[...dup].join(', ')}]. IDs must be unique`);
}

function batchResponse(status: number, results: unknown[], errors: unknown[], startedAt: string, requestedAt?: string): Result {
  const body: Record<string, unknown> = { status: 'COMPLETE', results };
  if (requestedAt) body.requestedAt = requestedAt;
  body.startedAt = startedAt;
  body.completedAt = new Date().toISOString();
  if (errors.length) {
    body.numErrors = errors.length;
    body.errors = errors;
    return { status: 207, body };
  }
  return { status, body };
}

function notFound(id: string): HsError {
  return new HsError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', { context: { id: [id] } });
}

function json(reply: FastifyReply, r: Result): FastifyReply {
  reply.code(r.status);
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
  if (r.body === undefined || r.status === 204) return reply.send();
  reply.header('content-type', 'application/json;charset=utf-8');
  return reply.send(JSON.stringify(r.body));
}

// ---- the request pipeline ----------------------------------------------------------------------

function routeKey(req: Req): string {
  const pattern = req.routeOptions.url ?? req.url.split('?')[0]!;
  const p = params(req);
  const key = pattern.replace(/:(type|from|to)\b/g, (m, name: string) => {
    const t = p[name] ? parseObjectType(p[name]!) : undefined;
    return t ?? m;
  });
  return `${req.method} ${key}`;
}

function authenticate(ctx: ApiContext, req: Req): HsError | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S.*)$/i.exec(h.trim()) : null;
  if (!m) return new HsError(401, 'INVALID_AUTHENTICATION', AUTH_MISSING_MESSAGE);
  if (ctx.accessToken !== undefined && m[1]!.trim() !== ctx.accessToken) return new HsError(401, 'INVALID_AUTHENTICATION', AUTH_INVALID_MESSAGE);
  return undefined;
}

function errorResult(err: unknown): Result {
  if (err instanceof HsError) return { status: err.status, body: err.body() };
  return { status: 500, body: errorBody('INTERNAL_ERROR', 'internal error') };
}

function api(app: FastifyInstance, ctx: ApiContext, method: HTTPMethods, url: string, handler: Handler, search = false): void {
  app.route({
    method,
    url,
    handler: async (req, reply) => {
      const key = routeKey(req);
      ctx.stats.request(key, search);
      const res = await pipeline(ctx, req, handler, search);
      const headers = { 'X-HubSpot-Correlation-Id': correlationOf(res), ...res.headers };
      if (ctx.latencyMs > 0) await sleep(ctx.latencyMs);
      return json(reply, { ...res, headers });
    },
  });
}

function correlationOf(res: Result): string {
  const b = res.body as { correlationId?: unknown } | undefined;
  return typeof b?.correlationId === 'string' ? b.correlationId : randomUUID();
}

async function pipeline(ctx: ApiContext, req: Req, handler: Handler, search: boolean): Promise<Result> {
  const authErr = authenticate(ctx, req);
  if (authErr) return errorResult(authErr);

  if (ctx.faults.takeBurst()) {
    ctx.stats.rateLimited();
    ctx.stats.faulted();
    return { status: 429, body: rateLimitBody('TEN_SECONDLY_ROLLING'), headers: { ...ctx.limiter.headers(), 'Retry-After': '1' } };
  }
  const decision = ctx.limiter.admit(search);
  if (!decision.ok) {
    ctx.stats.rateLimited();
    return {
      status: 429,
      body: rateLimitBody(decision.policy),
      headers: { ...decision.headers, 'Retry-After': String(decision.retryAfterSeconds) },
    };
  }
  const rateHeaders = search ? {} : decision.headers;
  const fault = ctx.faults.decide(`${req.method} ${req.url.split('?')[0]}`);
  if (fault.kind === 'error5xx' || fault.kind === 'failBefore') {
    ctx.stats.faulted();
    return { status: fault.status, body: bodyForStatus(fault.status), headers: rateHeaders };
  }
  let res: Result;
  try {
    res = await handler(req);
  } catch (err) {
    res = errorResult(err);
    if (!(err instanceof HsError)) req.log.error({ err }, 'sandbox handler failed');
  }
  if (fault.kind === 'failAfter') {
    ctx.stats.faulted();
    return { status: fault.status, body: bodyForStatus(fault.status), headers: rateHeaders };
  }
  return { ...res, headers: { ...rateHeaders, ...res.headers } };
}

// ---- routes ------------------------------------------------------------------------------------

export function registerApiRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;
  const V3 = '/crm/v3/objects/:type';

  // -- basic -----------------------------------------------------------------------------------

  api(app, ctx, 'GET', V3, (req) => {
    const type = objectType(params(req).type);
    const q = query(req);
    const limit = qInt(q, 'limit', 10);
    if (limit < 1 || limit > LIST_MAX_LIMIT) throw validationError(`limit must be between 1 and ${LIST_MAX_LIMIT}, got ${limit}`);
    const afterRaw = qString(q, 'after');
    let start = 0;
    if (afterRaw !== undefined && afterRaw !== '') {
      const after = Number(afterRaw);
      if (!Number.isInteger(after) || after < 0) throw validationError(`Invalid value for query parameter "after": ${afterRaw}`);
      start = lowerBound(store.records(type), after);
    }
    const archived = qBool(q, 'archived');
    const opts = {
      properties: qList(q, 'properties'),
      propertiesWithHistory: qList(q, 'propertiesWithHistory'),
      associations: assocTargets(qList(q, 'associations')),
    };
    const recs = store.records(type);
    const results: PublicObject[] = [];
    let next: string | undefined;
    for (let i = start; i < recs.length; i++) {
      const r = recs[i]!;
      if (r.cur.archived !== archived) continue;
      if (results.length === limit) {
        next = r.id;
        break;
      }
      results.push(viewRecord(store, r, opts));
    }
    const body: Record<string, unknown> = { results };
    if (next !== undefined) {
      const link = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (k !== 'after' && v !== undefined) for (const x of [v].flat()) link.append(k, x);
      link.set('after', next);
      body.paging = { next: { after: next, link: `http://${req.headers.host ?? 'localhost'}/crm/v3/objects/${type}?${link}` } };
    }
    return { status: 200, body };
  });

  api(app, ctx, 'GET', `${V3}/:id`, (req) => {
    const type = objectType(params(req).type);
    const id = params(req).id!;
    const q = query(req);
    const idProperty = checkIdProperty(store, type, qString(q, 'idProperty'));
    const archived = qBool(q, 'archived');
    const rec = store.resolve(type, id, idProperty, archived);
    if (!rec || rec.cur.archived !== archived) throw notFound(id);
    return {
      status: 200,
      body: viewRecord(store, rec, {
        properties: qList(q, 'properties'),
        propertiesWithHistory: qList(q, 'propertiesWithHistory'),
        associations: assocTargets(qList(q, 'associations')),
      }),
    };
  });

  api(app, ctx, 'POST', V3, (req) => {
    const type = objectType(params(req).type);
    const body = bodyObject(req);
    const props = store.validate(type, body.properties);
    const assocs = parseCreateAssociations(store, type, body.associations);
    const rec = store.create(type, props, 'API');
    for (const a of assocs) store.addAssociation(type, rec.id, a.to, a.toId, a.typeIds);
    return { status: 201, body: viewRecord(store, rec, { allProperties: true }) };
  });

  api(app, ctx, 'PATCH', `${V3}/:id`, (req) => {
    const type = objectType(params(req).type);
    const id = params(req).id!;
    const idProperty = checkIdProperty(store, type, qString(query(req), 'idProperty'));
    const rec = store.resolve(type, id, idProperty);
    if (!rec) throw notFound(id);
    const props = store.validate(type, bodyObject(req).properties);
    store.update(rec, props, 'API');
    return { status: 200, body: viewRecord(store, rec, { allProperties: true }) };
  });

  api(app, ctx, 'DELETE', `${V3}/:id`, (req) => {
    const type = objectType(params(req).type);
    const rec = store.byId(type, params(req).id!);
    if (rec) store.archive(rec);
    return { status: 204 };
  });

  // -- batch -----------------------------------------------------------------------------------

  api(app, ctx, 'POST', `${V3}/batch/read`, (req) => {
    const startedAt = new Date().toISOString();
    const type = objectType(params(req).type);
    const body = bodyObject(req);
    const inputs = batchInputs(req);
    const idProperty = checkIdProperty(store, type, body.idProperty);
    const archived = qBool(query(req), 'archived');
    const opts = {
      properties: stringList(body.properties, 'properties'),
      propertiesWithHistory: stringList(body.propertiesWithHistory, 'propertiesWithHistory'),
    };
    const results: PublicObject[] = [];
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const input of inputs) {
      const id = idOf(inputObject(input).id);
      const rec = store.resolve(type, id, idProperty, archived);
      if (!rec || rec.cur.archived !== archived) {
        missing.push(id);
        continue;
      }
      if (seen.has(rec.id)) continue;
      seen.add(rec.id);
      results.push(viewRecord(store, rec, opts));
    }
    const errors = missing.length ? [notFoundBatchError(type, missing)] : [];
    return batchResponse(200, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V3}/batch/create`, (req) => {
    const startedAt = new Date().toISOString();
    const type = objectType(params(req).type);
    const inputs = batchInputs(req).map(inputObject);
    // validation failures reject the whole batch, before anything is written
    const prepared = inputs.map((i) => ({
      props: store.validate(type, i.properties),
      assocs: parseCreateAssociations(store, type, i.associations),
      objectWriteTraceId: typeof i.objectWriteTraceId === 'string' ? i.objectWriteTraceId : undefined,
    }));
    const results: PublicObject[] = [];
    const errors: unknown[] = [];
    for (const p of prepared) {
      const c = store.conflict(type, p.props);
      if (c) {
        errors.push(conflictEntry(type, c, p.objectWriteTraceId));
        continue;
      }
      const rec = store.create(type, p.props, 'API');
      for (const a of p.assocs) store.addAssociation(type, rec.id, a.to, a.toId, a.typeIds);
      const view = viewRecord(store, rec, { allProperties: true });
      if (p.objectWriteTraceId) view.objectWriteTraceId = p.objectWriteTraceId;
      results.push(view);
    }
    return batchResponse(201, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V3}/batch/update`, (req) => {
    const startedAt = new Date().toISOString();
    const type = objectType(params(req).type);
    const inputs = batchInputs(req).map(inputObject);
    const prepared = inputs.map((i) => ({
      id: idOf(i.id),
      idProperty: checkIdProperty(store, type, i.idProperty),
      props: store.validate(type, i.properties),
      objectWriteTraceId: typeof i.objectWriteTraceId === 'string' ? i.objectWriteTraceId : undefined,
    }));
    noDuplicates(prepared.map((p) => `${p.idProperty ?? ''}:${p.id}`.replace(/^:/, '')));
    const results: PublicObject[] = [];
    const errors: unknown[] = [];
    const missing: string[] = [];
    for (const p of prepared) {
      const rec = store.resolve(type, p.id, p.idProperty);
      if (!rec) {
        missing.push(p.id);
        continue;
      }
      const c = store.conflict(type, p.props, rec.id);
      if (c) {
        errors.push(conflictEntry(type, c, p.objectWriteTraceId));
        continue;
      }
      store.update(rec, p.props, 'API');
      const view = viewRecord(store, rec, { allProperties: true });
      if (p.objectWriteTraceId) view.objectWriteTraceId = p.objectWriteTraceId;
      results.push(view);
    }
    if (missing.length) errors.unshift(notFoundBatchError(type, missing));
    return batchResponse(200, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V3}/batch/upsert`, (req) => {
    const startedAt = new Date().toISOString();
    const type = objectType(params(req).type);
    const inputs = batchInputs(req).map(inputObject);
    const prepared = inputs.map((i) => {
      const idProperty = checkIdProperty(store, type, i.idProperty);
      if (!idProperty) throw validationError('idProperty is required for upsert and must name a property with unique values (e.g. email for contacts, or a custom unique property).');
      return {
        id: idOf(i.id),
        idProperty,
        props: store.validate(type, i.properties),
        objectWriteTraceId: typeof i.objectWriteTraceId === 'string' ? i.objectWriteTraceId : undefined,
      };
    });
    noDuplicates(prepared.map((p) => `${p.idProperty}:${p.id.trim().toLowerCase()}`));
    const results: PublicObject[] = [];
    const errors: unknown[] = [];
    for (const p of prepared) {
      const existing = store.byUnique(type, p.idProperty, p.id);
      if (existing) {
        const c = store.conflict(type, p.props, existing.id);
        if (c) {
          errors.push(conflictEntry(type, c, p.objectWriteTraceId));
          continue;
        }
        store.update(existing, p.props, 'API');
        const view = viewRecord(store, existing, { allProperties: true });
        view.new = false;
        if (p.objectWriteTraceId) view.objectWriteTraceId = p.objectWriteTraceId;
        results.push(view);
      } else {
        const props = { ...p.props, [p.idProperty]: p.id };
        const c = store.conflict(type, props);
        if (c) {
          errors.push(conflictEntry(type, c, p.objectWriteTraceId));
          continue;
        }
        const rec = store.create(type, props, 'API');
        const view = viewRecord(store, rec, { allProperties: true });
        view.new = true;
        if (p.objectWriteTraceId) view.objectWriteTraceId = p.objectWriteTraceId;
        results.push(view);
      }
    }
    return batchResponse(200, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V3}/batch/archive`, (req) => {
    const type = objectType(params(req).type);
    const ids = batchInputs(req).map((i) => idOf(inputObject(i).id));
    for (const id of ids) {
      const rec = store.byId(type, id);
      if (rec) store.archive(rec);
    }
    return { status: 204 };
  });

  // -- search ----------------------------------------------------------------------------------

  api(
    app,
    ctx,
    'POST',
    `${V3}/search`,
    (req) => {
      const type = objectType(params(req).type);
      const out = runSearch(store, type, req.body);
      const names = selectProperties(store, type, out.properties);
      const body: Record<string, unknown> = {
        total: out.total,
        results: out.hits.map((h) => viewSnapshot(h.id, h.snap, names)),
      };
      if (out.nextAfter !== undefined) body.paging = { next: { after: out.nextAfter, link: `?after=${out.nextAfter}` } };
      return { status: 200, body };
    },
    true,
  );

  // -- properties ------------------------------------------------------------------------------

  const PROPS = '/crm/v3/properties/:type';

  api(app, ctx, 'GET', PROPS, (req) => {
    const type = objectType(params(req).type);
    const archived = qBool(query(req), 'archived');
    const results = [...store.schema[type].values()].filter((d) => d.archived === archived).map(publicProperty);
    return { status: 200, body: { results } };
  });

  api(app, ctx, 'GET', `${PROPS}/:name`, (req) => {
    const type = objectType(params(req).type);
    const name = params(req).name!;
    const def = store.schema[type].get(name);
    if (!def || (def.archived && !qBool(query(req), 'archived'))) {
      throw new HsError(404, 'OBJECT_NOT_FOUND', `Unable to find property ${name} for object type ${OBJECT_TYPE_ID[type]}`);
    }
    return { status: 200, body: publicProperty(def) };
  });

  api(app, ctx, 'POST', PROPS, (req) => {
    const type = objectType(params(req).type);
    const b = bodyObject(req);
    const missing = ['name', 'label', 'type', 'fieldType', 'groupName'].filter((k) => typeof b[k] !== 'string' || b[k] === '');
    if (missing.length) throw validationError(`Invalid input JSON: missing required field(s): ${missing.join(', ')}`);
    const name = b.name as string;
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw validationError(`Property name ${name} is invalid: use lowercase letters, digits and underscores, starting with a letter.`);
    if (!isPropType(b.type)) throw validationError(`Invalid property type ${String(b.type)}`);
    const existing = store.schema[type].get(name);
    if (existing && !existing.archived) {
      throw new HsError(409, 'OBJECT_ALREADY_EXISTS', `Property named '${name}' already exists.`, { context: { name: [name] } });
    }
    const options = Array.isArray(b.options)
      ? b.options.map((o) => {
          const oo = inputObject(o);
          return { label: String(oo.label ?? oo.value ?? ''), value: String(oo.value ?? ''), hidden: Boolean(oo.hidden) };
        })
      : undefined;
    const def = makeCustomProperty({
      name,
      label: b.label as string,
      type: b.type,
      fieldType: b.fieldType as string,
      groupName: b.groupName as string,
      description: typeof b.description === 'string' ? b.description : undefined,
      hasUniqueValue: b.hasUniqueValue === true,
      options,
      displayOrder: typeof b.displayOrder === 'number' ? b.displayOrder : undefined,
    });
    store.schema[type].set(name, def);
    return { status: 201, body: publicProperty(def) };
  });

  api(app, ctx, 'PATCH', `${PROPS}/:name`, (req) => {
    const type = objectType(params(req).type);
    const name = params(req).name!;
    const def = store.schema[type].get(name);
    if (!def || def.archived) throw new HsError(404, 'OBJECT_NOT_FOUND', `Unable to find property ${name} for object type ${OBJECT_TYPE_ID[type]}`);
    const b = bodyObject(req);
    if (typeof b.label === 'string') def.label = b.label;
    if (typeof b.description === 'string') def.description = b.description;
    if (typeof b.groupName === 'string') def.groupName = b.groupName;
    if (typeof b.displayOrder === 'number') def.displayOrder = b.displayOrder;
    if (Array.isArray(b.options)) {
      def.options = b.options.map((o, i) => {
        const oo = inputObject(o);
        return { label: String(oo.label ?? oo.value ?? ''), value: String(oo.value ?? ''), displayOrder: i, hidden: Boolean(oo.hidden) };
      });
    }
    def.updatedAt = new Date().toISOString();
    return { status: 200, body: publicProperty(def) };
  });

  api(app, ctx, 'DELETE', `${PROPS}/:name`, (req) => {
    const type = objectType(params(req).type);
    const name = params(req).name!;
    const def = store.schema[type].get(name);
    if (def && def.hubspotDefined) throw validationError(`Property ${name} is a HubSpot-defined property and cannot be archived.`);
    if (def) def.archived = true;
    return { status: 204 };
  });

  // -- associations v4 ------------------------------------------------------------------------

  const V4 = '/crm/v4/objects/:from/:id/associations';

  api(app, ctx, 'PUT', `${V4}/default/:to/:toId`, (req) => {
    const startedAt = new Date().toISOString();
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    requirePair(from, to);
    requireObjects(store, from, p.id!, to, p.toId!);
    const created = store.addDefaultAssociation(from, p.id!, to, p.toId!);
    return batchResponse(200, created.map(defaultSpec), [], startedAt);
  });

  api(app, ctx, 'PUT', `${V4}/:to/:toId`, (req) => {
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    requirePair(from, to);
    const typeIds = parseAssociationSpecs(from, to, req.body);
    requireObjects(store, from, p.id!, to, p.toId!);
    store.addAssociation(from, p.id!, to, p.toId!, typeIds);
    return { status: 201, body: labelsBetween(store, from, p.id!, to, p.toId!) };
  });

  api(app, ctx, 'DELETE', `${V4}/:to/:toId`, (req) => {
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    store.removeAssociation(from, p.id!, to, p.toId!, { source: 'API' });
    return { status: 204 };
  });

  api(app, ctx, 'GET', `${V4}/:to`, (req) => {
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    const q = query(req);
    const limit = qInt(q, 'limit', 500);
    const after = qInt(q, 'after', 0);
    const all = associatedObjects(store, from, p.id!, to);
    const results = all.slice(after, after + limit);
    const body: Record<string, unknown> = { results };
    if (after + limit < all.length) body.paging = { next: { after: String(after + limit), link: `?after=${after + limit}` } };
    return { status: 200, body };
  });

  const V4B = '/crm/v4/associations/:from/:to';

  api(app, ctx, 'GET', `${V4B}/labels`, (req) => {
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    return {
      status: 200,
      body: { results: typesBetween(from, to).map((t) => ({ category: 'HUBSPOT_DEFINED', typeId: t.typeId, label: t.label })) },
    };
  });

  api(app, ctx, 'POST', `${V4B}/batch/read`, (req) => {
    const startedAt = new Date().toISOString();
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of batchInputs(req, ASSOC_READ_MAX_INPUTS)) {
      const id = idOf(inputObject(input).id);
      const objs = store.byId(from, id) ? associatedObjects(store, from, id, to) : [];
      if (objs.length === 0) {
        errors.push({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
          message: `No ${SINGULAR[to]} is associated with ${SINGULAR[from]} ${id}.`,
          context: { fromObjectId: [id], fromObjectType: [SINGULAR[from]], toObjectType: [SINGULAR[to]] },
        });
        continue;
      }
      results.push({ from: { id }, to: objs });
    }
    return batchResponse(200, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V4B}/batch/create`, (req) => {
    const startedAt = new Date().toISOString();
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    requirePair(from, to);
    const inputs = batchInputs(req).map((i) => {
      const o = inputObject(i);
      return { fromId: idOf(inputObject(o.from).id), toId: idOf(inputObject(o.to).id), typeIds: parseAssociationSpecs(from, to, o.types) };
    });
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const i of inputs) {
      const missing = missingObjects(store, from, i.fromId, to, i.toId);
      if (missing) {
        errors.push(missingEntry(missing));
        continue;
      }
      store.addAssociation(from, i.fromId, to, i.toId, i.typeIds);
      results.push(labelsBetween(store, from, i.fromId, to, i.toId));
    }
    return batchResponse(201, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V4B}/batch/associate/default`, (req) => {
    const startedAt = new Date().toISOString();
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    requirePair(from, to);
    const inputs = batchInputs(req).map((i) => {
      const o = inputObject(i);
      return { fromId: idOf(inputObject(o.from).id), toId: idOf(inputObject(o.to).id) };
    });
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const i of inputs) {
      const missing = missingObjects(store, from, i.fromId, to, i.toId);
      if (missing) {
        errors.push(missingEntry(missing));
        continue;
      }
      results.push(...store.addDefaultAssociation(from, i.fromId, to, i.toId).map(defaultSpec));
    }
    return batchResponse(200, results, errors, startedAt);
  });

  api(app, ctx, 'POST', `${V4B}/batch/archive`, (req) => {
    const p = params(req);
    const from = objectType(p.from);
    const to = objectType(p.to);
    for (const input of batchInputs(req)) {
      const o = inputObject(input);
      const fromId = idOf(inputObject(o.from).id);
      const tos = Array.isArray(o.to) ? o.to : [o.to];
      for (const t of tos) store.removeAssociation(from, fromId, to, idOf(inputObject(t).id), { source: 'API' });
    }
    return { status: 204 };
  });
}

// ---- association helpers -----------------------------------------------------------------------

function assocTargets(names: string[] | undefined): ObjectType[] | undefined {
  if (!names) return undefined;
  const out: ObjectType[] = [];
  for (const n of names) {
    const t = parseObjectType(n);
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

function requirePair(from: ObjectType, to: ObjectType): void {
  if (!defaultType(from, to)) {
    throw validationError(`There are no association types between ${SINGULAR[from]} and ${SINGULAR[to]} in this emulator.`);
  }
}

function missingObjects(store: Store, from: ObjectType, fromId: string, to: ObjectType, toId: string): { type: ObjectType; id: string } | undefined {
  if (!store.byId(from, fromId)) return { type: from, id: fromId };
  if (!store.byId(to, toId)) return { type: to, id: toId };
  return undefined;
}

function missingEntry(m: { type: ObjectType; id: string }): Record<string, unknown> {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `No ${SINGULAR[m.type]} with id ${m.id} exists.`,
    context: { objectType: [SINGULAR[m.type]], id: [m.id] },
  };
}

function requireObjects(store: Store, from: ObjectType, fromId: string, to: ObjectType, toId: string): void {
  const m = missingObjects(store, from, fromId, to, toId);
  if (m) throw new HsError(404, 'OBJECT_NOT_FOUND', `No ${SINGULAR[m.type]} with id ${m.id} exists.`, { context: { id: [m.id] } });
}

/** `[{associationCategory, associationTypeId}]` -> type ids valid for the pair. */
function parseAssociationSpecs(from: ObjectType, to: ObjectType, raw: unknown): number[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw validationError('Invalid input JSON: expected a non-empty array of {associationCategory, associationTypeId}');
  }
  return raw.map((s) => {
    const o = inputObject(s);
    const typeId = Number(o.associationTypeId);
    const def = assocType(typeId);
    if (o.associationCategory !== 'HUBSPOT_DEFINED' || !def || def.from !== from || def.to !== to) {
      throw validationError(
        `associationTypeId ${String(o.associationTypeId)} (${String(o.associationCategory)}) is not a valid association type from ${SINGULAR[from]} to ${SINGULAR[to]}.`,
      );
    }
    return typeId;
  });
}

function parseCreateAssociations(store: Store, type: ObjectType, raw: unknown): Array<{ to: ObjectType; toId: string; typeIds: number[] }> {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw validationError('Invalid input JSON: "associations" must be an array');
  return raw.map((a) => {
    const o = inputObject(a);
    const toId = idOf(inputObject(o.to).id);
    const types = Array.isArray(o.types) ? o.types : [];
    const defs: AssocTypeDef[] = types.map((t) => {
      const tt = inputObject(t);
      const def = assocType(Number(tt.associationTypeId));
      if (!def || def.from !== type || tt.associationCategory !== 'HUBSPOT_DEFINED') {
        throw validationError(`associationTypeId ${String(tt.associationTypeId)} is not a valid association type from ${SINGULAR[type]}.`);
      }
      return def;
    });
    if (defs.length === 0) throw validationError('Invalid input JSON: each association needs at least one type');
    const to = defs[0]!.to;
    if (defs.some((d) => d.to !== to)) throw validationError('All types of one association must target the same object type');
    if (!store.byId(to, toId)) {
      throw validationError(`${SINGULAR[to].toUpperCase()}=${toId} is not valid for association; the object does not exist.`);
    }
    return { to, toId, typeIds: defs.map((d) => d.typeId) };
  });
}

function associatedObjects(store: Store, from: ObjectType, fromId: string, to: ObjectType): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [toId, typeIds] of store.associationsOf(from, fromId, to)) {
    if (typeIds.size === 0) continue;
    const types = [...typeIds]
      .map((t) => assocType(t)!)
      .sort((a, b) => Number(b.primary) - Number(a.primary) || a.typeId - b.typeId)
      .map((t) => ({ category: 'HUBSPOT_DEFINED', typeId: t.typeId, label: t.label }));
    out.push({ toObjectId: Number(toId), associationTypes: types });
  }
  return out;
}

function labelsBetween(store: Store, from: ObjectType, fromId: string, to: ObjectType, toId: string): Record<string, unknown> {
  const ids = store.associationsOf(from, fromId, to).get(toId) ?? new Set<number>();
  return {
    fromObjectTypeId: OBJECT_TYPE_ID[from],
    fromObjectId: Number(fromId),
    toObjectTypeId: OBJECT_TYPE_ID[to],
    toObjectId: Number(toId),
    labels: [...ids].map((t) => assocType(t)?.label).filter((l): l is string => typeof l === 'string'),
  };
}

function defaultSpec(c: { def: AssocTypeDef; fromId: string; toId: string }): Record<string, unknown> {
  return {
    from: { id: c.fromId },
    to: { id: c.toId },
    associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: c.def.typeId },
  };
}

/** The per-batch error HubSpot reports for ids that do not exist (or are archived). */
function notFoundBatchError(type: ObjectType, missing: string[]): Record<string, unknown> {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `Could not get some ${SINGULAR[type].toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids: missing },
  };
}

function conflictEntry(type: ObjectType, c: { property: string; value: string; existingId: string }, traceId?: string): Record<string, unknown> {
  const e: Record<string, unknown> = {
    status: 'error',
    category: 'CONFLICT',
    message: conflictMessage(type, c),
    context: { existingId: [c.existingId], propertyName: [c.property] },
  };
  if (traceId) e.context = { ...(e.context as object), objectWriteTraceId: [traceId] };
  return e;
}

/** First index in `recs` (ascending numeric ids) whose id >= `id`. */
function lowerBound(recs: readonly Rec[], id: number): number {
  let lo = 0;
  let hi = recs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Number(recs[mid]!.id) < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

