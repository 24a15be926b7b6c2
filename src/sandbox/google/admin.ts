/**
 * Admin HTTP API of the Google sandbox (no auth, no quotas, no faults, no latency): what the
 * `GoogleSandbox` object offers in-process, for other processes. JSON in and out; errors are
 * Google-shaped (unknown user or bad input: 400 invalid; unknown calendar or event: 404).
 * `:user` is an email, `:calendarId` a calendar id or `primary`.
 *
 *   GET    /_sandbox/google/health                                  {ok, url, tokenUrl}
 *   GET    /_sandbox/google/users                                   {users: [...]}
 *   POST   /_sandbox/google/users                 {email}           201 {email}
 *
 *   GET    /_sandbox/google/auth/service-account                   the service-account key JSON
 *   POST   /_sandbox/google/auth/oauth-client     {user, scopes?}   {client_id, client_secret, refresh_token}
 *   POST   /_sandbox/google/auth/token            {user}            {access_token, token_type}
 *   POST   /_sandbox/google/auth/revoke           {user}            204 (the user's tokens stop working)
 *
 *   GET    /_sandbox/google/calendar/:user/calendars                {items: CalendarInfo[]}
 *   POST   /_sandbox/google/calendar/:user/calendars                {id?, summary, description?, timeZone?, primary?} → 201 CalendarInfo
 *   POST   /_sandbox/google/calendar/:user/calendars/:calendarId/seed   {count, pastDays?, futureDays?} → 201 {count, ids}
 *   GET    /_sandbox/google/calendar/:user/calendars/:calendarId/events?includeCancelled=true   {items}
 *   GET    /_sandbox/google/calendar/:user/calendars/:calendarId/events/:eventId                 the event (cancelled too)
 *   -- act as the user in the Calendar UI (etag/updated/sequence change, push notifications go out):
 *   POST   /_sandbox/google/calendar/:user/calendars/:calendarId/events              Event JSON → 201 event
 *   PATCH  /_sandbox/google/calendar/:user/calendars/:calendarId/events/:eventId     patch JSON → event
 *   DELETE /_sandbox/google/calendar/:user/calendars/:calendarId/events/:eventId     204 (cancelled)
 *   POST   /_sandbox/google/calendar/:user/calendars/:calendarId/events/:eventId/move  {destination} → 204
 *   POST   /_sandbox/google/calendar/expire-sync-tokens           {user?, calendarId?} → 204
 *
 *   GET    /_sandbox/google/channels                                {items: ChannelInfo[], stats}
 *   GET    /_sandbox/google/faults                                  current faults
 *   PUT    /_sandbox/google/faults      {latencyMs?, errorRate?, burst?: {status, count, reason?}}  replace
 *   PATCH  /_sandbox/google/faults      (same)                      merge
 *   DELETE /_sandbox/google/faults                                  204
 *   GET    /_sandbox/google/stats                                   GoogleSandboxStats
 *   DELETE /_sandbox/google/stats                                   204
 *   DELETE /_sandbox/google/quotas                                  204 (empties the quota windows)
 *
 * Gmail's admin routes live under /_sandbox/google/gmail/ (see gmail/admin.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GoogleError, invalid, notFound, parseError } from './errors';
import { send } from './server';
import type { EventInput, FaultOptions, GoogleSandbox, NewCalendar } from './types';

type Params = Record<string, string>;

/** The JSON object body of an admin request ({} when empty). */
export function body(req: FastifyRequest): Record<string, unknown> {
  const raw = req.body;
  if (raw === undefined || raw === null || raw === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(String(raw));
  } catch {
    throw parseError();
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid('The body must be a JSON object.');
  return v as Record<string, unknown>;
}

export function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(`"${name}" is required (a string).`);
  return v;
}

function faultOptions(b: Record<string, unknown>): FaultOptions {
  const f: FaultOptions = {};
  if (b.latencyMs !== undefined) f.latencyMs = Number(b.latencyMs);
  if (b.errorRate !== undefined) f.errorRate = Number(b.errorRate);
  if (b.burst === null) f.burst = null;
  else if (b.burst !== undefined) {
    const x = (b.burst ?? {}) as Record<string, unknown>;
    const status = Number(x.status);
    if (status !== 403 && status !== 429 && status !== 500 && status !== 503) throw invalid('burst.status must be 403, 429, 500 or 503.');
    f.burst = { status, count: Number(x.count ?? 1) };
    if (typeof x.reason === 'string') f.burst.reason = x.reason;
  }
  return f;
}

export type AdminRoute = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, fn: (req: FastifyRequest, reply: FastifyReply) => unknown) => void;

/**
 * Registers admin routes: `fn`'s result is the JSON answer (200, or 201 when it set reply.code(201);
 * undefined = 204); a thrown GoogleError is answered as is, any other error as 400 invalid.
 */
export function adminRouter(app: FastifyInstance): AdminRoute {
  return (method, url, fn) => {
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        try {
          const out = await fn(req, reply);
          return send(reply, out === undefined ? { status: 204 } : { status: reply.statusCode === 201 ? 201 : 200, body: out });
        } catch (err) {
          const e = err instanceof GoogleError ? err : invalid(err instanceof Error ? err.message : String(err));
          return send(reply, { status: e.code, body: e.body() });
        }
      },
    });
  };
}

export function registerAdminRoutes(app: FastifyInstance, sb: GoogleSandbox, extra: { describeFaults(): unknown }): void {
  const P = '/_sandbox/google';
  const C = `${P}/calendar/:user/calendars/:calendarId`;
  const route = adminRouter(app);
  const p = (req: FastifyRequest): Params => req.params as Params;

  route('GET', `${P}/health`, () => ({ ok: true, url: sb.url, tokenUrl: sb.tokenUrl }));
  route('GET', `${P}/users`, () => ({ users: sb.users() }));
  route('POST', `${P}/users`, (req, reply) => {
    const email = str(body(req).email, 'email');
    sb.addUser(email);
    reply.code(201);
    return { email: email.trim().toLowerCase() };
  });

  route('GET', `${P}/auth/service-account`, () => sb.auth.serviceAccount());
  route('POST', `${P}/auth/oauth-client`, (req) => {
    const b = body(req);
    const scopes = Array.isArray(b.scopes) ? b.scopes.map(String) : undefined;
    return sb.auth.oauthClient(str(b.user, 'user'), scopes ? { scopes } : undefined);
  });
  route('POST', `${P}/auth/token`, (req) => ({ access_token: sb.auth.tokenFor(str(body(req).user, 'user')), token_type: 'Bearer' }));
  route('POST', `${P}/auth/revoke`, (req) => {
    sb.auth.revoke(str(body(req).user, 'user'));
    return undefined;
  });

  route('GET', `${P}/calendar/:user/calendars`, (req) => ({ items: sb.calendar.calendars(p(req).user!) }));
  route('POST', `${P}/calendar/:user/calendars`, (req, reply) => {
    const info = sb.calendar.addCalendar(p(req).user!, body(req) as unknown as NewCalendar);
    reply.code(201);
    return info;
  });
  route('POST', `${C}/seed`, (req, reply) => {
    const b = body(req);
    const opts = { pastDays: b.pastDays === undefined ? undefined : Number(b.pastDays), futureDays: b.futureDays === undefined ? undefined : Number(b.futureDays) };
    const events = sb.calendar.seed(p(req).user!, p(req).calendarId!, Number(b.count ?? 0), opts);
    reply.code(201);
    return { count: events.length, ids: events.map((e) => e.id) };
  });
  route('GET', `${C}/events`, (req) => {
    const includeCancelled = (req.query as Record<string, string | undefined>).includeCancelled === 'true';
    return { items: sb.calendar.list(p(req).user!, p(req).calendarId!, { includeCancelled }) };
  });
  route('GET', `${C}/events/:eventId`, (req) => {
    const ev = sb.calendar.get(p(req).user!, p(req).calendarId!, p(req).eventId!);
    if (!ev) throw notFound();
    return ev;
  });
  route('POST', `${C}/events`, (req, reply) => {
    const ev = sb.calendar.userInsert(p(req).user!, p(req).calendarId!, body(req) as EventInput);
    reply.code(201);
    return ev;
  });
  route('PATCH', `${C}/events/:eventId`, (req) => sb.calendar.userPatch(p(req).user!, p(req).calendarId!, p(req).eventId!, body(req) as EventInput));
  route('DELETE', `${C}/events/:eventId`, (req) => {
    sb.calendar.userCancel(p(req).user!, p(req).calendarId!, p(req).eventId!);
    return undefined;
  });
  route('POST', `${C}/events/:eventId/move`, (req) => {
    sb.calendar.userMove(p(req).user!, p(req).calendarId!, str(body(req).destination, 'destination'), p(req).eventId!);
    return undefined;
  });
  route('POST', `${P}/calendar/expire-sync-tokens`, (req) => {
    const b = body(req);
    sb.calendar.expireSyncTokens(b.user === undefined ? undefined : str(b.user, 'user'), b.calendarId === undefined ? undefined : str(b.calendarId, 'calendarId'));
    return undefined;
  });

  route('GET', `${P}/channels`, () => ({ items: sb.channels.active(), stats: sb.channels.stats }));
  route('GET', `${P}/faults`, () => extra.describeFaults());
  route('PUT', `${P}/faults`, (req) => {
    const f = faultOptions(body(req));
    sb.faults.clear();
    sb.faults.set(f);
    return extra.describeFaults();
  });
  route('PATCH', `${P}/faults`, (req) => {
    sb.faults.set(faultOptions(body(req)));
    return extra.describeFaults();
  });
  route('DELETE', `${P}/faults`, () => {
    sb.faults.clear();
    return undefined;
  });
  route('GET', `${P}/stats`, () => sb.stats);
  route('DELETE', `${P}/stats`, () => {
    sb.resetStats();
    return undefined;
  });
  route('DELETE', `${P}/quotas`, () => {
    sb.resetQuotas();
    return undefined;
  });
}
