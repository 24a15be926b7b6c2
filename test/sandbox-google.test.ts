/**
 * The Google sandbox (Calendar v3), exercised through the real googleapis client and the real
 * google-auth-library (OAuth2 refresh flow, service-account JWT flow), plus raw fetch where the
 * exact wire shape matters. Every test starts its own sandbox on a random port.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Gaxios, GaxiosError } from 'gaxios';
import { JWT, OAuth2Client } from 'google-auth-library';
import { google, type calendar_v3 } from 'googleapis';
import { GOOGLE_TOKEN_URL, SCOPE, startGoogleSandbox, type GoogleSandbox, type GoogleSandboxOptions } from '../src/sandbox/google/index';

const ANA = 'ana@acme.test';
const BEN = 'ben@acme.test';

async function withSandbox(opts: GoogleSandboxOptions, fn: (sb: GoogleSandbox) => Promise<void>): Promise<void> {
  const sb = await startGoogleSandbox({ users: [ANA, BEN], ...opts });
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

/**
 * googleapis types its `auth` option with the google-auth-library copy nested under
 * googleapis-common (10.5); the clients here are the top-level 10.9 ones, structurally the same.
 */
function calendarApi(auth: OAuth2Client, sb: GoogleSandbox): calendar_v3.Calendar {
  return google.calendar({ version: 'v3', auth: auth as never, rootUrl: sb.url });
}

/** A Calendar client for a bare access token (no refresh: a 401 surfaces). */
function calendarWithToken(sb: GoogleSandbox, token: string): calendar_v3.Calendar {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: token });
  return calendarApi(auth, sb);
}

const calendarFor = (sb: GoogleSandbox, user: string) => calendarWithToken(sb, sb.auth.tokenFor(user));

async function gaxiosError(p: Promise<unknown>): Promise<GaxiosError<{ error: { code: number; message: string; status?: string; errors: Array<Record<string, string>> } }>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GaxiosError, `expected a GaxiosError, got ${String(e)}`);
    return e as GaxiosError<{ error: { code: number; message: string; status?: string; errors: Array<Record<string, string>> } }>;
  }
  assert.fail('expected the call to fail');
}

const reasonOf = (e: GaxiosError<{ error: { errors: Array<Record<string, string>> } }>) => e.response?.data.error.errors[0]?.reason;

async function raw(sb: GoogleSandbox, method: string, path: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, sb.url), { method, headers, body: opts.body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Lists every page; returns the items and the pages' tokens. */
async function listAll(cal: calendar_v3.Calendar, params: calendar_v3.Params$Resource$Events$List) {
  const items: calendar_v3.Schema$Event[] = [];
  const pages: Array<{ nextPageToken?: string | null; nextSyncToken?: string | null; count: number }> = [];
  let pageToken = params.pageToken;
  for (;;) {
    const res = await cal.events.list({ ...params, pageToken });
    items.push(...(res.data.items ?? []));
    pages.push({ nextPageToken: res.data.nextPageToken, nextSyncToken: res.data.nextSyncToken, count: res.data.items?.length ?? 0 });
    if (!res.data.nextPageToken) return { items, pages, nextSyncToken: res.data.nextSyncToken ?? undefined };
    pageToken = res.data.nextPageToken;
  }
}

const timed = (startIso: string, minutes: number, timeZone?: string) => {
  const end = new Date(Date.parse(startIso) + minutes * 60_000).toISOString().replace('.000Z', 'Z');
  return timeZone ? { start: { dateTime: startIso, timeZone }, end: { dateTime: end, timeZone } } : { start: { dateTime: startIso }, end: { dateTime: end } };
};

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A push receiver: records every notification; `answers` are the statuses to reply with, in turn (then 200). */
async function receiver(answers: number[] = []) {
  const messages: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      messages.push({ headers: req.headers, body });
      res.statusCode = answers.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  return { url, messages, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// ---- auth ----------------------------------------------------------------------------------------

test('OAuth2 refresh-token flow with the real OAuth2Client; bad refresh tokens are invalid_grant', async () => {
  await withSandbox({}, async (sb) => {
    const creds = sb.auth.oauthClient(ANA);
    const auth = new OAuth2Client({ clientId: creds.client_id, clientSecret: creds.client_secret, endpoints: { oauth2TokenUrl: sb.tokenUrl } });
    auth.setCredentials({ refresh_token: creds.refresh_token });
    const cal = calendarApi(auth, sb);

    const list = await cal.calendarList.list();
    assert.equal(list.status, 200);
    assert.equal((list.headers as unknown as Headers).get('content-type'), 'application/json; charset=UTF-8');
    assert.equal(list.data.kind, 'calendar#calendarList');
    assert.deepEqual(list.data.items?.map((c) => [c.id, c.primary, c.accessRole]), [[ANA, true, 'owner']]);
    const primary = await cal.calendars.get({ calendarId: 'primary' });
    assert.equal(primary.data.id, ANA);
    assert.equal(sb.stats.tokenRequests, 1, 'one refresh, the token is then reused');
    assert.equal(sb.stats.byUser[ANA], 2);
    assert.ok((auth.credentials.expiry_date ?? 0) > Date.now() + 3500_000);

    const bad = new OAuth2Client({ clientId: creds.client_id, clientSecret: creds.client_secret, endpoints: { oauth2TokenUrl: sb.tokenUrl } });
    bad.setCredentials({ refresh_token: 'not-a-token' });
    const e = await gaxiosError(bad.getAccessToken());
    assert.equal(e.status, 400);
    assert.deepEqual(e.response?.data, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } as never);
    const wrongSecret = new OAuth2Client({ clientId: creds.client_id, clientSecret: 'nope', endpoints: { oauth2TokenUrl: sb.tokenUrl } });
    wrongSecret.setCredentials({ refresh_token: creds.refresh_token });
    assert.equal((await gaxiosError(wrongSecret.getAccessToken())).status, 401);

    // revoking ends the access token and the refresh token
    sb.auth.revoke(ANA);
    const revoked = await gaxiosError(cal.calendarList.list());
    assert.equal(revoked.status, 401);
    assert.equal((await gaxiosError(auth.refreshAccessToken())).status, 400);
  });
});

test('service-account JWT flow: real JWT client, token request rewritten to the sandbox by a Gaxios transporter', async () => {
  await withSandbox({}, async (sb) => {
    const key = sb.auth.serviceAccount();
    assert.equal(key.type, 'service_account');
    assert.match(key.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(key.token_uri, sb.tokenUrl);
    const tokenRequests: string[] = [];
    // gtoken posts to Google's hard-coded token URL; the interceptor sends it to the sandbox instead
    const transporter = new Gaxios();
    transporter.interceptors.request.add({
      resolved: async (config) => {
        if (String(config.url) === GOOGLE_TOKEN_URL) {
          tokenRequests.push(String(config.url));
          config.url = new URL(sb.tokenUrl);
        }
        return config;
      },
    });
    const jwt = new JWT({ email: key.client_email, key: key.private_key, scopes: [SCOPE.calendar], subject: BEN, transporter });
    const cal = calendarApi(jwt, sb);
    const res = await cal.calendarList.list();
    assert.deepEqual(res.data.items?.map((c) => c.id), [BEN], 'the token acts for the impersonated user');
    assert.equal(tokenRequests.length, 1);
    assert.equal(sb.stats.tokenRequests, 1);

    // a user outside the domain cannot be impersonated; an unknown one of the domain is invalid_grant
    const outsider = new JWT({ email: key.client_email, key: key.private_key, scopes: [SCOPE.calendar], subject: 'eve@evil.test', transporter });
    const e = await gaxiosError(outsider.authorize());
    assert.equal(e.status, 401);
    assert.equal((e.response?.data as unknown as { error: string }).error, 'unauthorized_client');
    const ghost = new JWT({ email: key.client_email, key: key.private_key, scopes: [SCOPE.calendar], subject: 'ghost@acme.test', transporter });
    assert.equal(((await gaxiosError(ghost.authorize())).response?.data as unknown as { error: string }).error, 'invalid_grant');

    // a token for calendar.readonly cannot write
    const ro = new JWT({ email: key.client_email, key: key.private_key, scopes: [SCOPE.calendarReadonly], subject: BEN, transporter });
    const roCal = calendarApi(ro, sb);
    await roCal.events.list({ calendarId: 'primary' });
    const denied = await gaxiosError(roCal.events.insert({ calendarId: 'primary', requestBody: { summary: 'x', ...timed('2026-03-02T10:00:00Z', 30) } }));
    assert.equal(denied.status, 403);
    assert.equal(reasonOf(denied), 'insufficientPermissions');
  });
});

test('401 for unknown tokens (Google body and WWW-Authenticate); other users calendars are 404', async () => {
  await withSandbox({}, async (sb) => {
    const e = await gaxiosError(calendarWithToken(sb, 'ya29.bogus').events.list({ calendarId: 'primary' }));
    assert.equal(e.status, 401);
    assert.equal(e.response?.headers.get('www-authenticate'), 'Bearer realm="https://accounts.google.com/"');
    assert.deepEqual(e.response?.data.error.errors[0], {
      message: 'Invalid Credentials',
      domain: 'global',
      reason: 'authError',
      location: 'Authorization',
      locationType: 'header',
    });
    assert.equal(e.response?.data.error.status, 'UNAUTHENTICATED');
    assert.match(e.response?.data.error.message ?? '', /^Request had invalid authentication credentials\./);
    const missing = await raw(sb, 'GET', 'calendar/v3/users/me/calendarList');
    assert.equal(missing.status, 401);

    const ben = calendarFor(sb, BEN);
    for (const p of [ben.calendars.get({ calendarId: ANA }), ben.events.list({ calendarId: ANA })]) {
      const nf = await gaxiosError(p);
      assert.equal(nf.status, 404);
      assert.deepEqual(nf.response?.data, { error: { errors: [{ domain: 'global', reason: 'notFound', message: 'Not Found' }], code: 404, message: 'Not Found' } });
    }
    assert.equal((await ben.calendarList.list()).data.items?.length, 1);

    // the wire: JSON everywhere, Google-shaped 404s for unknown paths, parseError for bad JSON
    const token = sb.auth.tokenFor(ANA);
    const unknown = await raw(sb, 'GET', 'calendar/v3/nothing/here', { token });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('content-type'), 'application/json; charset=UTF-8');
    const bad = await raw(sb, 'POST', 'calendar/v3/calendars/primary/events', { token, body: '{"summary": ' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: { errors: [{ domain: 'global', reason: 'parseError', message: 'Parse Error' }], code: 400, message: 'Parse Error' } });
  });
});

// ---- events: sync ------------------------------------------------------------------------------

test('full list with paging and nextSyncToken, then incremental sync of UI edits, cancels and changes made while paging', async () => {
  await withSandbox({}, async (sb) => {
    sb.calendar.seed(ANA, 'primary', 60);
    const visible = sb.calendar.list(ANA, 'primary').map((e) => e.id);
    assert.ok(visible.length < 60, 'some seeded events are cancelled');
    const cal = calendarFor(sb, ANA);

    // page 1, then changes while paging, then the rest
    const first = await cal.events.list({ calendarId: 'primary', maxResults: 20 });
    assert.ok(first.data.nextPageToken && !first.data.nextSyncToken);
    assert.equal(first.data.kind, 'calendar#events');
    assert.equal(first.data.accessRole, 'owner');
    assert.equal(first.data.timeZone, 'UTC');
    const early = first.data.items![0]!.id!;
    const late = visible[visible.length - 1]!;
    sb.calendar.userPatch(ANA, 'primary', early, { summary: 'edited while paging (returned already)' });
    sb.calendar.userPatch(ANA, 'primary', late, { summary: 'edited while paging (not yet returned)' });
    const insertedWhilePaging = sb.calendar.userInsert(ANA, 'primary', { summary: 'created while paging', ...timed('2026-05-04T09:00:00Z', 30) });
    const rest = await listAll(cal, { calendarId: 'primary', maxResults: 20, pageToken: first.data.nextPageToken });
    const fullIds = [...first.data.items!.map((e) => e.id!), ...rest.items.map((e) => e.id!)];
    for (const p of rest.pages.slice(0, -1)) assert.ok(p.nextPageToken && !p.nextSyncToken, 'nextSyncToken only on the last page');
    const last = rest.pages[rest.pages.length - 1]!;
    assert.ok(last.nextSyncToken && !last.nextPageToken);
    assert.ok(!fullIds.includes(insertedWhilePaging.id) && !fullIds.includes(late), 'changes after the first page wait for the next sync');
    assert.equal(new Set(fullIds).size, fullIds.length, 'no duplicates across pages');
    assert.deepEqual(new Set([...fullIds, late]), new Set(visible));

    // UI edits after the full sync
    const toEdit = visible[3]!;
    const toCancel = visible[4]!;
    sb.calendar.userPatch(ANA, 'primary', toEdit, { location: 'Room 42' });
    sb.calendar.userCancel(ANA, 'primary', toCancel);
    const added = sb.calendar.userInsert(ANA, 'primary', { summary: 'Added in the UI', ...timed('2026-05-05T09:00:00Z', 30) });

    const inc = await cal.events.list({ calendarId: 'primary', syncToken: last.nextSyncToken! });
    const changed = new Map(inc.data.items!.map((e) => [e.id!, e]));
    assert.deepEqual(new Set(changed.keys()), new Set([early, late, insertedWhilePaging.id, toEdit, toCancel, added.id]));
    assert.equal(changed.get(toEdit)!.location, 'Room 42');
    assert.deepEqual(Object.keys(changed.get(toCancel)!).sort(), ['etag', 'id', 'kind', 'status']);
    assert.equal(changed.get(toCancel)!.status, 'cancelled');
    assert.ok(inc.data.nextSyncToken && !inc.data.nextPageToken);

    // nothing changed: empty page, the same token back
    const quiet = await cal.events.list({ calendarId: 'primary', syncToken: inc.data.nextSyncToken! });
    assert.deepEqual(quiet.data.items, []);
    assert.equal(quiet.data.nextSyncToken, inc.data.nextSyncToken);

    // 410 once tokens are expired; syncToken + timeMin is a 400; a page token belongs to its query
    sb.calendar.expireSyncTokens(ANA);
    const gone = await gaxiosError(cal.events.list({ calendarId: 'primary', syncToken: quiet.data.nextSyncToken! }));
    assert.equal(gone.status, 410);
    assert.deepEqual(gone.response?.data, {
      error: {
        errors: [{ domain: 'calendar', reason: 'fullSyncRequired', message: 'Sync token is no longer valid, a full sync is required.' }],
        code: 410,
        message: 'Sync token is no longer valid, a full sync is required.',
      },
    });
    const restricted = await gaxiosError(cal.events.list({ calendarId: 'primary', syncToken: quiet.data.nextSyncToken!, timeMin: '2026-01-01T00:00:00Z' }));
    assert.equal(restricted.status, 400);
    const one = await cal.events.list({ calendarId: 'primary', maxResults: 1 });
    const otherQuery = await gaxiosError(cal.events.list({ calendarId: 'primary', pageToken: one.data.nextPageToken!, maxResults: 1, q: 'standup' }));
    assert.equal(otherQuery.status, 400);
    assert.equal((await cal.events.list({ calendarId: 'primary', pageToken: one.data.nextPageToken!, maxResults: 5 })).data.items?.length, 5, 'maxResults may change');
  });
});

test('list filters: timeMin/timeMax, showDeleted, q, iCalUID, extended properties, orderBy startTime', async () => {
  await withSandbox({}, async (sb) => {
    sb.calendar.addCalendar(ANA, { primary: true, summary: 'Ana', timeZone: 'Europe/Berlin' });
    const cal = calendarFor(sb, ANA);
    const a = sb.calendar.userInsert(ANA, 'primary', { summary: 'Alpha review', ...timed('2026-03-02T09:00:00Z', 60), extendedProperties: { private: { auroraId: 'a-1' } } });
    const b = sb.calendar.userInsert(ANA, 'primary', { summary: 'Beta offsite', start: { date: '2026-03-10' }, end: { date: '2026-03-13' } });
    const c = sb.calendar.userInsert(ANA, 'primary', { summary: 'Gamma call', ...timed('2026-02-01T08:00:00Z', 30) });
    sb.calendar.userCancel(ANA, 'primary', c.id);

    // rendered in the calendar's zone, with an offset
    assert.equal((await cal.events.get({ calendarId: 'primary', eventId: a.id })).data.start?.dateTime, '2026-03-02T10:00:00+01:00');
    const window = await cal.events.list({ calendarId: 'primary', timeMin: '2026-03-01T00:00:00Z', timeMax: '2026-03-11T00:00:00Z' });
    assert.deepEqual(window.data.items?.map((e) => e.id), [a.id, b.id]);
    assert.equal((await cal.events.list({ calendarId: 'primary', timeMin: '2026-03-02T09:30:00Z', timeMax: '2026-03-03T00:00:00Z' })).data.items?.length, 1);
    assert.deepEqual((await cal.events.list({ calendarId: 'primary', q: 'offsite' })).data.items?.map((e) => e.id), [b.id]);
    assert.deepEqual((await cal.events.list({ calendarId: 'primary', iCalUID: `${a.id}@google.com` })).data.items?.map((e) => e.id), [a.id]);
    assert.deepEqual((await cal.events.list({ calendarId: 'primary', privateExtendedProperty: ['auroraId=a-1'] })).data.items?.map((e) => e.id), [a.id]);
    const all = await cal.events.list({ calendarId: 'primary', showDeleted: true });
    assert.deepEqual(all.data.items?.map((e) => [e.id, e.status]), [[a.id, 'confirmed'], [b.id, 'confirmed'], [c.id, 'cancelled']]);
    const ordered = await cal.events.list({ calendarId: 'primary', singleEvents: true, orderBy: 'startTime', showDeleted: true });
    assert.deepEqual(ordered.data.items?.map((e) => e.id), [c.id, a.id, b.id]);
    assert.equal((await gaxiosError(cal.events.list({ calendarId: 'primary', orderBy: 'startTime' }))).status, 400);
    const empty = await gaxiosError(cal.events.list({ calendarId: 'primary', timeMin: '2026-03-02T00:00:00Z', timeMax: '2026-03-01T00:00:00Z' }));
    assert.equal(reasonOf(empty), 'timeRangeEmpty');
    // If-None-Match: 304 is a success for googleapis
    const got = await cal.events.get({ calendarId: 'primary', eventId: a.id });
    const again = await cal.events.get({ calendarId: 'primary', eventId: a.id }, { headers: { 'If-None-Match': got.data.etag! } });
    assert.equal(again.status, 304);
  });
});

// ---- events: writes ----------------------------------------------------------------------------

test('insert with a client id: 409 on retry, 400 for bad ids and bad times; sendUpdates is recorded', async () => {
  await withSandbox({}, async (sb) => {
    const cal = calendarFor(sb, ANA);
    const body = { id: 'aurora0contact0001', summary: 'Kickoff', ...timed('2026-04-01T15:00:00Z', 45, 'America/New_York'), attendees: [{ email: 'x@globex.com' }] };
    const created = await cal.events.insert({ calendarId: 'primary', sendUpdates: 'none', requestBody: body });
    assert.equal(created.status, 200);
    const ev = created.data;
    assert.equal(ev.id, 'aurora0contact0001');
    assert.equal(ev.kind, 'calendar#event');
    assert.match(ev.etag!, /^"\d+"$/);
    assert.equal(ev.iCalUID, 'aurora0contact0001@google.com');
    assert.equal(ev.sequence, 0);
    assert.deepEqual(ev.organizer, { email: ANA, self: true });
    assert.deepEqual(ev.reminders, { useDefault: true });
    assert.deepEqual(ev.start, { dateTime: '2026-04-01T15:00:00Z', timeZone: 'America/New_York' });
    assert.deepEqual(ev.attendees, [{ email: 'x@globex.com', responseStatus: 'needsAction' }]);
    assert.match(ev.created!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const k of ['description', 'location', 'recurrence', 'transparency', 'visibility']) assert.ok(!(k in ev), `${k} is omitted`);

    const dup = await gaxiosError(cal.events.insert({ calendarId: 'primary', sendUpdates: 'none', requestBody: body }));
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.response?.data.error.errors[0], { domain: 'global', reason: 'duplicate', message: 'The requested identifier already exists.' });
    const badId = await gaxiosError(cal.events.insert({ calendarId: 'primary', requestBody: { ...body, id: 'Not_Base32hex!' } }));
    assert.equal(badId.status, 400);
    assert.equal(badId.response?.data.error.message, 'Invalid resource id value.');
    const noEnd = await gaxiosError(cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'x', start: { dateTime: '2026-04-01T15:00:00Z' } } }));
    assert.equal(reasonOf(noEnd), 'required');
    assert.equal(noEnd.response?.data.error.message, 'Missing end time.');
    const backwards = await gaxiosError(cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'x', start: { dateTime: '2026-04-01T15:00:00Z' }, end: { dateTime: '2026-04-01T14:00:00Z' } } }));
    assert.equal(reasonOf(backwards), 'timeRangeEmpty');
    const recurringNoZone = await gaxiosError(cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'x', ...timed('2026-04-01T15:00:00Z', 30), recurrence: ['RRULE:FREQ=WEEKLY'] } }));
    assert.equal(recurringNoZone.response?.data.error.message, 'Missing time zone definition for start time.');

    // a Meet conference is created only with conferenceDataVersion=1
    const meet = await cal.events.insert({
      calendarId: 'primary',
      conferenceDataVersion: 1,
      sendUpdates: 'all',
      requestBody: { summary: 'With Meet', ...timed('2026-04-02T15:00:00Z', 30), conferenceData: { createRequest: { requestId: 'r1', conferenceSolutionKey: { type: 'hangoutsMeet' } } } },
    });
    assert.match(meet.data.hangoutLink!, /^https:\/\/meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    assert.equal(meet.data.conferenceData?.entryPoints?.[0]?.entryPointType, 'video');

    assert.deepEqual(sb.stats.sendUpdates, { none: 2, unset: 4, all: 1 });
    assert.equal(sb.stats.byRoute['POST /calendar/v3/calendars/:calendarId/events'], 7);
  });
});

test('patch: If-Match good and bad (412), merge semantics, sequence, all-day switch, organizer-only fields', async () => {
  await withSandbox({}, async (sb) => {
    const cal = calendarFor(sb, ANA);
    const created = (
      await cal.events.insert({
        calendarId: 'primary',
        requestBody: { summary: 'Demo', ...timed('2026-04-01T15:00:00Z', 30), extendedProperties: { private: { a: '1' } } },
      })
    ).data;
    const patched = await cal.events.patch(
      { calendarId: 'primary', eventId: created.id!, sendUpdates: 'none', requestBody: { description: 'agenda', extendedProperties: { private: { b: '2' } } } },
      { headers: { 'If-Match': created.etag! } },
    );
    assert.notEqual(patched.data.etag, created.etag);
    assert.equal(patched.data.summary, 'Demo');
    assert.deepEqual(patched.data.extendedProperties, { private: { a: '1', b: '2' } }, 'objects merge');
    assert.equal(patched.data.sequence, 0, 'no time change, no new sequence');
    assert.ok(Date.parse(patched.data.updated!) > Date.parse(created.updated!));

    const stale = await gaxiosError(cal.events.patch({ calendarId: 'primary', eventId: created.id!, requestBody: { summary: 'lost update' } }, { headers: { 'If-Match': created.etag! } }));
    assert.equal(stale.status, 412);
    assert.deepEqual(stale.response?.data, {
      error: {
        errors: [{ domain: 'global', reason: 'conditionNotMet', message: 'Precondition Failed', locationType: 'header', location: 'If-Match' }],
        code: 412,
        message: 'Precondition Failed',
      },
    });

    const moved = await cal.events.patch({ calendarId: 'primary', eventId: created.id!, requestBody: { start: { dateTime: '2026-04-01T16:00:00Z' }, end: { dateTime: '2026-04-01T16:30:00Z' } } });
    assert.equal(moved.data.sequence, 1, 'a time change raises the sequence');
    const both = await gaxiosError(cal.events.patch({ calendarId: 'primary', eventId: created.id!, requestBody: { start: { date: '2026-04-01' }, end: { date: '2026-04-02' } } }));
    assert.equal(both.response?.data.error.message, 'Invalid start time.');
    const allDay = await cal.events.patch({
      calendarId: 'primary',
      eventId: created.id!,
      requestBody: { start: { date: '2026-04-01', dateTime: null }, end: { date: '2026-04-02', dateTime: null } },
    });
    assert.deepEqual([allDay.data.start, allDay.data.end], [{ date: '2026-04-01' }, { date: '2026-04-02' }]);
    const cleared = await cal.events.patch({ calendarId: 'primary', eventId: created.id!, requestBody: { description: null } });
    assert.ok(!('description' in cleared.data), 'null clears');

    // PUT replaces: what is not sent is gone
    const put = await cal.events.update({ calendarId: 'primary', eventId: created.id!, requestBody: { summary: 'Replaced', ...timed('2026-04-03T10:00:00Z', 30) } }, { headers: { 'If-Match': cleared.data.etag! } });
    assert.equal(put.data.summary, 'Replaced');
    assert.ok(!put.data.extendedProperties);

    // an invitation (organizer elsewhere): the attendee may answer, not reschedule
    const seeded = sb.calendar.seed(ANA, 'primary', 80);
    const invite = seeded.find((e) => e.status === 'confirmed' && !e.organizer.self && !e.guestsCanModify)!;
    assert.ok(invite, 'the seed has invitations');
    const answer = (invite.attendees ?? []).map((a) => (a.self ? { ...a, responseStatus: 'accepted' as const } : a));
    await cal.events.patch({ calendarId: 'primary', eventId: invite.id, requestBody: { attendees: answer, colorId: '5' } });
    const reschedule = await gaxiosError(cal.events.patch({ calendarId: 'primary', eventId: invite.id, requestBody: { summary: 'mine now' } }));
    assert.equal(reschedule.status, 403);
    assert.equal(reasonOf(reschedule), 'forbiddenForNonOrganizer');
  });
});

test('delete twice (204 then 410 deleted), get still answers, patch status confirmed restores; move leaves a cancelled copy', async () => {
  await withSandbox({}, async (sb) => {
    const cal = calendarFor(sb, ANA);
    const ev = (await cal.events.insert({ calendarId: 'primary', requestBody: { id: 'gone0001', summary: 'To delete', ...timed('2026-04-01T15:00:00Z', 30) } })).data;
    const del = await cal.events.delete({ calendarId: 'primary', eventId: ev.id!, sendUpdates: 'none' });
    assert.equal(del.status, 204);
    const again = await gaxiosError(cal.events.delete({ calendarId: 'primary', eventId: ev.id! }));
    assert.equal(again.status, 410);
    assert.deepEqual(again.response?.data.error.errors[0], { domain: 'global', reason: 'deleted', message: 'Resource has been deleted' });
    const got = await cal.events.get({ calendarId: 'primary', eventId: ev.id! });
    assert.equal(got.data.status, 'cancelled');
    assert.equal(got.data.summary, 'To delete');
    assert.equal((await gaxiosError(cal.events.insert({ calendarId: 'primary', requestBody: { id: 'gone0001', summary: 'again', ...timed('2026-04-01T15:00:00Z', 30) } }))).status, 409);
    assert.equal((await gaxiosError(cal.events.get({ calendarId: 'primary', eventId: 'never0001' }))).status, 404);

    const restored = await cal.events.patch({ calendarId: 'primary', eventId: ev.id!, requestBody: { status: 'confirmed' } });
    assert.equal(restored.data.status, 'confirmed');
    assert.equal(sb.calendar.get(ANA, 'primary', ev.id!)?.status, 'confirmed');

    // move to a secondary calendar: the source's feed gets a cancelled copy
    const team = sb.calendar.addCalendar(ANA, { summary: 'Team', timeZone: 'Asia/Tokyo' });
    const full = await listAll(cal, { calendarId: 'primary' });
    const movedRes = await cal.events.move({ calendarId: 'primary', eventId: ev.id!, destination: team.id });
    assert.equal(movedRes.data.organizer?.email, team.id);
    assert.equal(movedRes.data.start?.dateTime, '2026-04-02T00:00:00+09:00');
    const feed = await cal.events.list({ calendarId: 'primary', syncToken: full.nextSyncToken! });
    assert.deepEqual(feed.data.items?.map((e) => [e.id, e.status]), [[ev.id, 'cancelled']]);
    assert.deepEqual((await cal.events.list({ calendarId: team.id })).data.items?.map((e) => e.id), [ev.id]);
    assert.equal((await gaxiosError(calendarFor(sb, BEN).events.move({ calendarId: 'primary', eventId: ev.id!, destination: team.id }))).status, 404);
  });
});

// ---- quotas and faults -------------------------------------------------------------------------

test('quotas: 403 rateLimitExceeded and 429 RESOURCE_EXHAUSTED bodies, per user, no Retry-After', async () => {
  await withSandbox({ quotas: { perUserPerMinute: 3 } }, async (sb) => {
    const ana = calendarFor(sb, ANA);
    for (let i = 0; i < 3; i++) await ana.calendarList.list();
    const e = await gaxiosError(ana.calendarList.list());
    assert.equal(e.status, 403);
    assert.deepEqual(e.response?.data, {
      error: { errors: [{ domain: 'usageLimits', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' }], code: 403, message: 'Rate Limit Exceeded', status: 'PERMISSION_DENIED' },
    });
    assert.equal(e.response?.headers.get('retry-after'), null);
    await calendarFor(sb, BEN).calendarList.list(); // another user has their own budget
    assert.equal(sb.stats.rateLimited, 1);
  });
  await withSandbox({ quotas: { perUserPerMinute: 1, mode: '429' } }, async (sb) => {
    const ana = calendarFor(sb, ANA);
    await ana.calendarList.list();
    const e = await gaxiosError(ana.calendarList.list({}, { retry: false }));
    assert.equal(e.status, 429);
    assert.equal(reasonOf(e), 'rateLimitExceeded');
    assert.equal(e.response?.data.error.status, 'RESOURCE_EXHAUSTED');
  });
  await withSandbox({ quotas: { perUserPerMinute: 1, perProjectPerMinute: 2, mode: 'mixed' } }, async (sb) => {
    await calendarFor(sb, ANA).calendarList.list();
    assert.equal(reasonOf(await gaxiosError(calendarFor(sb, ANA).calendarList.list())), 'userRateLimitExceeded');
    await calendarFor(sb, BEN).calendarList.list();
    const project = await gaxiosError(calendarFor(sb, BEN).calendarList.list({}, { retry: false }));
    assert.equal(project.status, 429);
  });
});

test('faults: bursts answer Google-shaped errors (gaxios retries GET on 503), latency applies', async () => {
  await withSandbox({}, async (sb) => {
    const cal = calendarFor(sb, ANA);
    sb.faults.set({ burst: { status: 503, count: 2 } });
    const res = await cal.events.list({ calendarId: 'primary' });
    assert.equal(res.status, 200, 'two 503s, then the third attempt succeeds');
    assert.equal(sb.stats.faulted, 2);
    sb.faults.set({ burst: { status: 403, count: 1, reason: 'quotaExceeded' } });
    const q = await gaxiosError(cal.events.list({ calendarId: 'primary' }));
    assert.equal(reasonOf(q), 'quotaExceeded');
    assert.equal(q.response?.data.error.message, 'Calendar usage limits exceeded.');
    sb.faults.set({ latencyMs: 150 });
    const t0 = Date.now();
    await cal.calendarList.list();
    assert.ok(Date.now() - t0 >= 140);
    sb.faults.clear();
  });
});

// ---- push channels -----------------------------------------------------------------------------

test('watch: sync then coalesced exists notifications with the channel headers; retries; channels.stop stops them', async () => {
  const rx = await receiver();
  try {
    await withSandbox({}, async (sb) => {
      const cal = calendarFor(sb, ANA);
      const watch = await cal.events.watch({ calendarId: 'primary', requestBody: { id: 'chan-1', type: 'web_hook', address: rx.url, token: 'tok-123' } });
      const ch = watch.data;
      assert.equal(ch.kind, 'api#channel');
      assert.equal(ch.id, 'chan-1');
      assert.equal(ch.token, 'tok-123');
      assert.ok(ch.resourceId);
      assert.equal(ch.resourceUri, 'https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json');
      const lifetime = Number(ch.expiration) - Date.now();
      assert.ok(lifetime > 6.9 * 86_400_000 && lifetime <= 7 * 86_400_000, 'default lifetime 7 days');
      await sb.channels.flush();
      assert.equal(rx.messages.length, 1);
      const sync = rx.messages[0]!.headers;
      assert.equal(sync['x-goog-resource-state'], 'sync');
      assert.equal(sync['x-goog-message-number'], '1');
      assert.equal(sync['x-goog-channel-id'], 'chan-1');
      assert.equal(sync['x-goog-channel-token'], 'tok-123');
      assert.equal(sync['x-goog-resource-id'], ch.resourceId);
      assert.equal(sync['x-goog-resource-uri'], ch.resourceUri);
      assert.equal(sync['x-goog-channel-expiration'], new Date(Number(ch.expiration)).toUTCString());
      assert.equal(rx.messages[0]!.body, '');

      // a burst of changes: one message
      const ev = sb.calendar.userInsert(ANA, 'primary', { summary: 'x', ...timed('2026-04-01T15:00:00Z', 30) });
      sb.calendar.userPatch(ANA, 'primary', ev.id, { summary: 'y' });
      await cal.events.patch({ calendarId: 'primary', eventId: ev.id, requestBody: { summary: 'z' } });
      await sb.channels.flush();
      assert.deepEqual(rx.messages.map((m) => [m.headers['x-goog-resource-state'], m.headers['x-goog-message-number']]), [['sync', '1'], ['exists', '2']]);

      const dup = await gaxiosError(cal.events.watch({ calendarId: 'primary', requestBody: { id: 'chan-1', type: 'web_hook', address: rx.url } }));
      assert.equal(reasonOf(dup), 'channelIdNotUnique');
      assert.deepEqual(sb.channels.active().map((c) => [c.id, c.user, c.messageNumber]), [['chan-1', ANA, 2]]);

      // changes to another calendar do not notify this channel
      sb.calendar.userInsert(BEN, 'primary', { summary: 'other', ...timed('2026-04-01T15:00:00Z', 30) });
      await sb.channels.flush();
      assert.equal(rx.messages.length, 2);

      const stop = await cal.channels.stop({ requestBody: { id: 'chan-1', resourceId: ch.resourceId } });
      assert.equal(stop.status, 204);
      sb.calendar.userPatch(ANA, 'primary', ev.id, { summary: 'after stop' });
      await sb.channels.flush();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(rx.messages.length, 2, 'no notification after channels.stop');
      assert.equal((await gaxiosError(cal.channels.stop({ requestBody: { id: 'chan-1', resourceId: ch.resourceId } }))).status, 404);
      assert.deepEqual(sb.channels.stats, { sent: 2, failed: 0, retried: 0, pending: 0 });
    });
  } finally {
    await rx.close();
  }

  // a receiver answering 503 once gets the same message again; https is required when configured
  const flaky = await receiver([503]);
  try {
    await withSandbox({ requireHttpsWebhooks: true }, async (sb) => {
      const cal = calendarFor(sb, ANA);
      const refused = await gaxiosError(cal.events.watch({ calendarId: 'primary', requestBody: { id: 'c2', type: 'web_hook', address: flaky.url } }));
      assert.equal(refused.status, 400);
      assert.equal(reasonOf(refused), 'push.webhookUrlNotHttps');
    });
    await withSandbox({}, async (sb) => {
      await calendarFor(sb, ANA).events.watch({ calendarId: 'primary', requestBody: { id: 'c3', type: 'web_hook', address: flaky.url, params: { ttl: '3600' } } });
      assert.ok(sb.channels.active()[0]!.expiration - Date.now() <= 3600_000);
      await sb.channels.flush();
      assert.deepEqual(flaky.messages.map((m) => m.headers['x-goog-message-number']), ['1', '1']);
      assert.deepEqual(sb.channels.stats, { sent: 1, failed: 0, retried: 1, pending: 0 });
    });
  } finally {
    await flaky.close();
  }
});

// ---- seeding and admin -------------------------------------------------------------------------

test('seed: deterministic by randomSeed, a realistic mix; seeding does not notify or count', async () => {
  const summaries: string[][] = [];
  for (let i = 0; i < 2; i++) {
    await withSandbox({ randomSeed: 7 }, async (sb) => {
      const events = sb.calendar.seed(ANA, 'primary', 150);
      summaries.push(events.map((e) => `${e.id} ${e.summary}`));
      assert.equal(events.length, 150);
      const zones = new Set(events.flatMap((e) => [e.start.timeZone]).filter(Boolean));
      for (const z of ['America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'UTC']) assert.ok(zones.has(z), `zone ${z}`);
      assert.ok(events.some((e) => e.start.date && e.end.date), 'all-day');
      assert.ok(events.some((e) => e.start.date && Date.parse(e.end.date!) - Date.parse(e.start.date!) > 86_400_000), 'multi-day');
      assert.ok(events.some((e) => e.recurrence?.some((r) => r.startsWith('RRULE:FREQ=WEEKLY'))), 'weekly');
      assert.ok(events.some((e) => e.recurrence?.some((r) => r.startsWith('RRULE:FREQ=DAILY'))), 'daily');
      assert.ok(events.some((e) => e.recurrence?.some((r) => r.startsWith('EXDATE'))), 'EXDATE');
      // modified and cancelled instances are stored as exceptions of their master, as Google keeps them
      const exceptions = events.filter((e) => e.recurringEventId);
      assert.ok(exceptions.some((e) => e.status === 'cancelled') && exceptions.some((e) => e.status === 'confirmed'));
      for (const ex of exceptions) {
        const master = events.find((e) => e.id === ex.recurringEventId)!;
        assert.ok(master.recurrence && ex.originalStartTime?.dateTime && ex.id.startsWith(`${master.id}_`));
        assert.equal(ex.iCalUID, master.iCalUID);
      }
      assert.ok(events.some((e) => e.status === 'tentative') && events.some((e) => e.status === 'cancelled'));
      assert.ok(events.some((e) => e.hangoutLink));
      assert.ok(events.some((e) => e.attendees?.some((a) => !a.email.endsWith('@acme.test'))), 'external attendees');
      assert.ok(events.some((e) => e.reminders.overrides?.length));
      const responses = new Set(events.flatMap((e) => e.attendees ?? []).map((a) => a.responseStatus));
      assert.equal(responses.size, 4);
      const now = Date.now();
      assert.ok(events.some((e) => Date.parse(e.start.dateTime ?? e.start.date!) < now - 30 * 86_400_000));
      assert.ok(events.some((e) => Date.parse(e.start.dateTime ?? e.start.date!) > now + 30 * 86_400_000));
      assert.ok(events.every((e) => Date.parse(e.created) <= Date.parse(e.updated) && Date.parse(e.updated) <= now));
      assert.equal(sb.stats.requests, 0);
    });
  }
  assert.deepEqual(summaries[0], summaries[1]);
});

test('admin HTTP API: users, seed, act as the user, expire sync tokens, faults, stats', async () => {
  await withSandbox({}, async (sb) => {
    const P = '_sandbox/google';
    const post = (path: string, body: unknown) => raw(sb, 'POST', `${P}/${path}`, { body: JSON.stringify(body) });
    assert.equal((await post('users', { email: 'Cleo@acme.test' })).status, 201);
    assert.deepEqual((await raw(sb, 'GET', `${P}/users`)).body, { users: [ANA, BEN, 'cleo@acme.test'] });
    const seeded = await post('calendar/cleo@acme.test/calendars/primary/seed', { count: 5 });
    assert.equal(seeded.status, 201);
    const ids = seeded.body!.ids as string[];
    const ui = await post('calendar/cleo@acme.test/calendars/primary/events', { summary: 'From the UI', start: { date: '2026-06-01' }, end: { date: '2026-06-02' } });
    assert.equal(ui.status, 201);
    const patched = await raw(sb, 'PATCH', `${P}/calendar/cleo@acme.test/calendars/primary/events/${ui.body!.id as string}`, { body: '{"summary":"Edited"}' });
    assert.equal((patched.body as { summary: string }).summary, 'Edited');
    assert.equal((await raw(sb, 'DELETE', `${P}/calendar/cleo@acme.test/calendars/primary/events/${ids[0]!}`)).status, 204);
    const events = await raw(sb, 'GET', `${P}/calendar/cleo@acme.test/calendars/primary/events?includeCancelled=true`);
    assert.equal((events.body!.items as unknown[]).length, 6);
    assert.equal((await post('calendar/expire-sync-tokens', { user: 'cleo@acme.test' })).status, 204);
    assert.equal((await post('calendar/nobody@acme.test/calendars/primary/seed', { count: 1 })).status, 400);
    const key = await raw(sb, 'GET', `${P}/auth/service-account`);
    assert.equal(key.body!.client_email, sb.auth.serviceAccount().client_email);
    assert.equal((await raw(sb, 'PUT', `${P}/faults`, { body: '{"burst":{"status":500,"count":1}}' })).status, 200);
    const token = sb.auth.tokenFor('cleo@acme.test');
    assert.equal((await raw(sb, 'GET', 'calendar/v3/users/me/calendarList', { token })).status, 500);
    const stats = await raw(sb, 'GET', `${P}/stats`);
    assert.equal(stats.body!.faulted, 1);
    assert.equal((stats.body!.byUser as Record<string, number>)['cleo@acme.test'], 1);
  });
});
