/**
 * The Fireflies sandbox, exercised with plain fetch GraphQL requests shaped exactly like the
 * official Node SDK's (firefliesai/fireflies-node-sdk: POST {query, variables}, Content-Type
 * application/json, Authorization: Bearer <key>; its getTranscript / getTranscripts /
 * getTranscriptSummary / getUser queries) and the docs' examples for what the SDK lacks
 * (fromDate/toDate). Every test starts its own sandbox on a random port.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseActionItemsText, startFirefliesSandbox, type FirefliesSandbox, type FirefliesSandboxOptions } from '../src/sandbox/fireflies/index';

const KEY = 'ff-test-key-business';
const ANA = 'ana@acme.test';

async function withSandbox(opts: FirefliesSandboxOptions, fn: (sb: FirefliesSandbox) => Promise<void>): Promise<void> {
  const sb = await startFirefliesSandbox({ ...opts, keys: [{ key: KEY, plan: 'business', email: ANA }, ...(opts.keys ?? [])] });
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

interface GqlError {
  message: string;
  code?: string;
  friendly?: boolean;
  path?: string[];
  extensions: { code: string; status?: number; metadata?: Record<string, unknown> };
}
interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: GqlError[] };
}

/** What FirefliesSDK.executeGraphQL sends: axios.post('', {query, variables}) with its default headers. */
async function gql<T = Record<string, any>>(sb: FirefliesSandbox, key: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse<T>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (key !== undefined) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(`${sb.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<T>['body'] };
}

// --- the SDK's queries, verbatim in shape (generateGraphQLFilter joins the field list with spaces) ---
const filter = (fields: string[]) => fields.join(' ');

const SDK_GET_TRANSCRIPT = (fields: string[]) => `
      query Transcript($transcriptId: String!) {
        transcript(id: $transcriptId) {
          ${filter(fields)}
        }
      }
    `;

const SDK_GET_TRANSCRIPTS = (fields: string[]) => `
      query Transcripts(
            $title: String
            $date: Float
            $limit: Int
            $skip: Int
            $hostEmail: String
            $participantEmail: String
            $userId: String
            $mine: Boolean          
        ) {
        transcripts(
            title: $title
            date: $date
            limit: $limit
            skip: $skip
            host_email: $hostEmail
            participant_email: $participantEmail
            user_id: $userId
            mine: $mine
        ) {
          ${filter(fields)}
        }
      }
    `;

/** SDK getTranscripts(params) sends {...params, hostEmail, organizerEmail, participantEmail, userId}. */
const sdkTranscriptsVariables = (p: Record<string, unknown>) => ({
  ...p,
  hostEmail: p.host_email,
  organizerEmail: p.organizer_email,
  participantEmail: p.participant_email,
  userId: p.user_id,
});

const SDK_GET_SUMMARY = `
      query Transcript($transcriptId: String!) {
        transcript(id: $transcriptId) {
          summary {
            keywords
            action_items
            outline
            shorthand_bullet
            overview
            bullet_gist
            gist
            short_summary
            short_overview
            meeting_type
            topics_discussed
            transcript_chapters
          }
        }
      }
    `;

const SDK_GET_USER = (fields: string[]) => `
      query User($userId: String) {
        user(id: $userId) {
          ${filter(fields)}
        }
      }
    `;

/** The docs' incremental listing (the SDK has no fromDate/toDate). */
const BY_DATE = `query Transcripts($fromDate: DateTime, $toDate: DateTime, $limit: Int, $skip: Int) {
  transcripts(fromDate: $fromDate, toDate: $toDate, limit: $limit, skip: $skip) { id title date dateString }
}`;

const HOUR = 3600_000;

function addDated(sb: FirefliesSandbox, n: number, base: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(sb.transcripts.add({ title: `Meeting ${i}`, date: base + i * HOUR, sentences: 40 }).id);
  return ids;
}

test('auth: a missing or unknown key is auth_failed (HTTP 200 by default, 401 when configured); a removed key stops working', async () => {
  await withSandbox({}, async (sb) => {
    for (const key of [undefined, 'not-a-key']) {
      const r = await gql(sb, key, SDK_GET_USER(['user_id', 'email']));
      assert.equal(r.status, 200);
      assert.equal(r.body.data, null);
      const e = r.body.errors![0]!;
      assert.equal(e.code, 'auth_failed');
      assert.equal(e.extensions.code, 'auth_failed');
      assert.equal(e.extensions.status, 401);
      assert.equal(e.friendly, true);
      assert.equal(r.headers.get('x-ratelimit-limit'), null, 'no quota is reported to an unknown caller');
    }
    assert.equal(sb.stats.unauthorized, 2);
    assert.equal(sb.stats.requests, 0);

    const ok = await gql<{ user: { email: string } }>(sb, KEY, SDK_GET_USER(['user_id', 'email', 'name']), {});
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data!.user.email, ANA);
    assert.ok(sb.keys.remove(KEY));
    assert.equal((await gql(sb, KEY, SDK_GET_USER(['email']))).body.errors![0]!.code, 'auth_failed');
  });
  await withSandbox({ authFailureStatus: 401 }, async (sb) => {
    const r = await gql(sb, 'wrong', '{ user { email } }');
    assert.equal(r.status, 401);
    assert.equal(r.body.errors![0]!.extensions.code, 'auth_failed');
  });
});

test('transcripts: newest first, paged by limit/skip (the SDK getAllMeetingIds loop), filtered by fromDate/toDate', async () => {
  await withSandbox({}, async (sb) => {
    const base = Date.UTC(2026, 5, 1, 9);
    const ids = addDated(sb, 12, base); // ids[11] is the newest
    // the SDK's loop: limit 50 until a short page
    const all = await gql<{ transcripts: Array<{ id: string; date: number }> }>(sb, KEY, SDK_GET_TRANSCRIPTS(['id', 'date']), sdkTranscriptsVariables({ limit: 50, skip: 0 }));
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.data!.transcripts.map((t) => t.id), [...ids].reverse());
    assert.equal(typeof all.body.data!.transcripts[0]!.date, 'number');

    const pages: string[][] = [];
    for (let skip = 0; ; skip += 5) {
      const r = await gql<{ transcripts: Array<{ id: string }> }>(sb, KEY, SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ limit: 5, skip }));
      pages.push(r.body.data!.transcripts.map((t) => t.id));
      if (r.body.data!.transcripts.length < 5) break;
    }
    assert.deepEqual(pages.map((p) => p.length), [5, 5, 2]);
    assert.deepEqual(pages.flat(), [...ids].reverse());

    // fromDate/toDate (inclusive), ISO DateTime as the docs show
    const from = new Date(base + 3 * HOUR).toISOString();
    const to = new Date(base + 7 * HOUR).toISOString();
    const win = await gql<{ transcripts: Array<{ id: string; dateString: string }> }>(sb, KEY, BY_DATE, { fromDate: from, toDate: to, limit: 2, skip: 1 });
    assert.deepEqual(win.body.data!.transcripts.map((t) => t.id), [ids[6], ids[5]]);
    assert.equal(win.body.data!.transcripts[0]!.dateString, new Date(base + 6 * HOUR).toISOString());
    const bad = await gql(sb, KEY, BY_DATE, { fromDate: 'yesterday' });
    assert.equal(bad.body.errors![0]!.code, 'invalid_arguments');
    assert.deepEqual((bad.body.errors![0]!.extensions.metadata!.fields as Array<{ name: string }>).map((f) => f.name), ['fromDate']);

    // no limit: Fireflies' default page of 50
    assert.equal((await gql<{ transcripts: unknown[] }>(sb, KEY, '{ transcripts { id } }')).body.data!.transcripts.length, 12);
  });
});

test('transcripts: limit above 50 (and skip above 5000) is refused with invalid_arguments', async () => {
  await withSandbox({}, async (sb) => {
    sb.transcripts.seed(3);
    const r = await gql(sb, KEY, SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ limit: 51 }));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { transcripts: null });
    const e = r.body.errors![0]!;
    assert.equal(e.code, 'invalid_arguments');
    assert.equal(e.extensions.status, 400);
    assert.deepEqual(e.path, ['transcripts']);
    assert.deepEqual(e.extensions.metadata!.fields, [{ name: 'limit', message: 'limit must not be greater than 50', constraints: [{ type: 'max', message: 'limit must not be greater than 50' }] }]);
    const s = await gql(sb, KEY, '{ transcripts(skip: 5001) { id } }');
    assert.match(s.body.errors![0]!.message, /Invalid argument/);
    assert.equal((await gql<{ transcripts: unknown[] }>(sb, KEY, '{ transcripts(limit: 50) { id } }')).body.data!.transcripts.length, 3);
  });
});

test('transcripts: only one of organizer_email | participant_email | user_id | mine at a time', async () => {
  await withSandbox({}, async (sb) => {
    const ben = 'ben@acme.test';
    const a = sb.transcripts.add({ organizer_email: ANA, attendees: [{ email: ANA }, { email: 'hank.scorpio@globex.com' }], sentences: 40 });
    const b = sb.transcripts.add({ organizer_email: ben, attendees: [{ email: ben }, { email: 'katrin.vogel@umbrella-corp.de' }], sentences: 40 });
    const two = await gql(sb, KEY, SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ participant_email: 'x@y.z', mine: true }));
    assert.equal(two.body.errors![0]!.code, 'invalid_arguments');
    assert.match(two.body.errors![0]!.message, /Only one of/);
    assert.deepEqual(two.body.data, { transcripts: null });
    const three = await gql(sb, KEY, '{ transcripts(organizer_email: "ana@acme.test", user_id: "u", mine: false) { id } }');
    assert.equal(three.body.errors![0]!.code, 'invalid_arguments');

    const ids = async (q: string, v: Record<string, unknown> = {}) => (await gql<{ transcripts: Array<{ id: string }> }>(sb, KEY, q, v)).body.data!.transcripts.map((t) => t.id);
    assert.deepEqual(await ids(SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ participant_email: 'katrin.vogel@umbrella-corp.de' })), [b.id]);
    assert.deepEqual(await ids(SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ mine: true })), [a.id]);
    assert.deepEqual(await ids('{ transcripts(organizer_email: "ben@acme.test") { id } }'), [b.id]);
    assert.deepEqual(await ids('{ transcripts(organizers: ["ana@acme.test", "ben@acme.test"], participants: ["hank.scorpio@globex.com"]) { id } }'), [a.id]);
    const user = await gql<{ user: { user_id: string } }>(sb, KEY, SDK_GET_USER(['user_id']));
    assert.deepEqual(await ids(SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ user_id: user.body.data!.user.user_id })), [a.id]);
  });
});

test('transcript(id): sentences, speakers, attendees and a summary; an unknown id is object_not_found', async () => {
  await withSandbox({}, async (sb) => {
    const seeded = sb.transcripts.seed(8, { pendingShare: 0, listFormatCount: 0 });
    const id = seeded[0]!.id;
    const fields = [
      'id', 'title', 'date', 'dateString', 'duration', 'privacy', 'host_email', 'organizer_email', 'participants',
      'meeting_attendees { displayName email name }', 'speakers { id name }',
      'sentences { index speaker_name speaker_id text raw_text start_time end_time ai_filters { task pricing metric question date_and_time text_cleanup sentiment } }',
      'summary { action_items keywords outline overview short_summary topics_discussed meeting_type }',
      'transcript_url', 'meeting_link', 'calendar_id', 'cal_id', 'calendar_type', 'meeting_info { summary_status }', 'user { email }',
    ];
    const r = await gql<{ transcript: any }>(sb, KEY, SDK_GET_TRANSCRIPT(fields), { transcriptId: id });
    assert.equal(r.status, 200);
    assert.equal(r.body.errors, undefined);
    const t = r.body.data!.transcript;
    assert.equal(t.id, id);
    assert.equal(t.dateString, new Date(t.date).toISOString());
    assert.ok(t.meeting_attendees.length >= 2 && t.meeting_attendees.length <= 8, `attendees: ${t.meeting_attendees.length}`);
    assert.ok(t.participants.includes(t.organizer_email));
    assert.ok(t.sentences.length >= 40 && t.sentences.length <= 300, `sentences: ${t.sentences.length}`);
    const speakerIds = new Map<string, string>(t.speakers.map((s: { id: number; name: string }) => [String(s.id), s.name]));
    let prevEnd = 0;
    t.sentences.forEach((s: any, i: number) => {
      assert.equal(s.index, i);
      assert.equal(typeof s.speaker_id, 'string', 'speaker_id is a GraphQL ID');
      assert.equal(speakerIds.get(s.speaker_id), s.speaker_name);
      assert.ok(s.start_time >= prevEnd && s.end_time > s.start_time, `sentence ${i} timing`);
      prevEnd = s.end_time;
      assert.ok(['positive', 'neutral', 'negative'].includes(s.ai_filters.sentiment));
    });
    assert.ok(prevEnd <= t.duration * 60, 'the speech fits the duration (minutes)');
    assert.ok(t.sentences.some((s: any) => s.ai_filters.question));
    assert.ok(t.sentences.some((s: any) => s.raw_text !== s.text), 'raw text keeps fillers');
    assert.equal(t.meeting_info.summary_status, 'processed');
    assert.equal(typeof t.summary.overview, 'string');
    assert.equal(typeof t.summary.action_items, 'string');
    assert.ok(Array.isArray(t.summary.topics_discussed));
    assert.match(t.transcript_url, new RegExp(`^https://app\\.fireflies\\.ai/view/.+::${id}$`));
    assert.match(t.meeting_link ?? 'https://meet.google.com/x', /^https:\/\/(meet\.google\.com|acme\.zoom\.us)\//);
    assert.equal(t.user.email, t.organizer_email);
    // some seeded meetings are linked to a Google Calendar event
    assert.ok(seeded.some((s) => s.calendar_id && /^[0-9a-v]{26}$/.test(s.calendar_id) && s.calendar_type === 'google'));

    const missing = await gql(sb, KEY, SDK_GET_TRANSCRIPT(['id', 'title']), { transcriptId: 'nope' });
    assert.deepEqual(missing.body.data, { transcript: null });
    assert.equal(missing.body.errors![0]!.code, 'object_not_found');
    assert.deepEqual(missing.body.errors![0]!.extensions, { code: 'object_not_found', status: 404, metadata: { objectType: 'Transcript' } });
  });
});

test('summary: null while processing, present once summarized; a re-summarisation changes the action items', async () => {
  await withSandbox({}, async (sb) => {
    const t = sb.transcripts.add({ summary: null, attendees: [{ email: ANA }, { email: 'janet.price@globex.com' }, { email: 'marcus.bell@globex.com' }] });
    const q = `query Transcript($transcriptId: String!) { transcript(id: $transcriptId) { id meeting_info { summary_status } summary { action_items overview } } }`;
    const before = await gql<{ transcript: any }>(sb, KEY, q, { transcriptId: t.id });
    assert.equal(before.body.data!.transcript.summary, null);
    assert.equal(before.body.data!.transcript.meeting_info.summary_status, 'processing');
    const listed = await gql<{ transcripts: any[] }>(sb, KEY, '{ transcripts { id summary { overview } } }');
    assert.deepEqual(listed.body.data!.transcripts, [{ id: t.id, summary: null }], 'a transcript is listed before its summary is ready');

    sb.transcripts.summarize(t.id);
    const first = await gql<{ transcript: any }>(sb, KEY, SDK_GET_SUMMARY, { transcriptId: t.id });
    const s1 = first.body.data!.transcript.summary;
    assert.equal(typeof s1.action_items, 'string');
    assert.ok(s1.overview.length > 40);
    assert.ok(s1.keywords.length > 0);

    sb.transcripts.summarize(t.id);
    const s2 = (await gql<{ transcript: any }>(sb, KEY, SDK_GET_SUMMARY, { transcriptId: t.id })).body.data!.transcript.summary;
    assert.notEqual(s2.action_items, s1.action_items);
    const items = (text: string) => parseActionItemsText(text).flatMap((g) => g.items.map((i) => `${g.assignee}: ${i.text}`));
    const gone = items(s1.action_items).filter((i) => !items(s2.action_items).includes(i));
    assert.ok(gone.length >= 1, 'at least one item disappeared (the engine must tombstone it)');
    assert.equal(s2.overview, s1.overview, 'the prose stays');
    assert.equal(sb.transcripts.get(t.id)!.summaryVersion, 2);

    // a summary that finishes on its own a little later
    const later = sb.transcripts.add({ summary: null }, { summarizeAfterMs: 30 });
    assert.equal(sb.transcripts.get(later.id)!.summary, null);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(sb.transcripts.get(later.id)!.summary_status, 'processed');

    // explicit action items, verbatim text
    const text = '**Ana**\nSend the MSA to Globex (03:15)\nBook the security review\n\n**Janet Price**\nShare the SSO metadata (12:01)';
    sb.transcripts.summarize(t.id, { summary: { action_items: text } });
    const s3 = (await gql<{ transcript: any }>(sb, KEY, SDK_GET_SUMMARY, { transcriptId: t.id })).body.data!.transcript.summary;
    assert.equal(s3.action_items, text);
  });
});

test("summary: action_items and keywords as Fireflies' text (grouped under **Name**, (mm:ss) or not) or the SDK's list", async () => {
  await withSandbox({}, async (sb) => {
    const groups = [
      { assignee: 'Ana', items: [{ text: 'Send the proposal to Globex by Friday', at: 754 }, { text: 'Loop in legal' }] },
      { assignee: 'Hank Scorpio', items: [{ text: 'Confirm the budget with finance', at: 1805 }] },
    ];
    const text = sb.transcripts.add({ summary: { action_items: groups, keywords: ['Pricing', 'SSO'] } });
    const list = sb.transcripts.add({ summary: { action_items: groups, keywords: ['Pricing', 'SSO'] }, summaryFormat: 'list' });
    const get = async (id: string) => (await gql<{ transcript: any }>(sb, KEY, SDK_GET_SUMMARY, { transcriptId: id })).body.data!.transcript.summary;
    const st = await get(text.id);
    assert.equal(st.action_items, '**Ana**\nSend the proposal to Globex by Friday (12:34)\nLoop in legal\n\n**Hank Scorpio**\nConfirm the budget with finance (30:05)');
    assert.equal(st.keywords, 'Pricing, SSO');
    const sl = await get(list.id);
    assert.deepEqual(sl.action_items, ['**Ana**', 'Send the proposal to Globex by Friday (12:34)', 'Loop in legal', '**Hank Scorpio**', 'Confirm the budget with finance (30:05)']);
    assert.deepEqual(sl.keywords, ['Pricing', 'SSO']);
    assert.deepEqual(parseActionItemsText(st.action_items), groups);

    // seeding: grouped text with and without timestamps, and one list
    const seeded = sb.transcripts.seed(30, { pendingShare: 0 });
    assert.equal(seeded.filter((t) => t.summaryFormat === 'list').length, 1);
    const texts = seeded.filter((t) => t.summaryFormat === 'text').map((t) => t.summary!.action_items_text);
    assert.ok(texts.every((x) => /^\*\*[^*]+\*\*\n/.test(x)), 'grouped under **Name**');
    assert.ok(texts.some((x) => /\(\d{2}:\d{2}\)$/m.test(x)), 'some items carry (mm:ss)');
    assert.ok(texts.some((x) => x.split('\n').some((l) => l && !l.startsWith('**') && !/\(\d{2}:\d{2}\)$/.test(l))), 'some do not');
    const lid = seeded.find((t) => t.summaryFormat === 'list')!.id;
    assert.ok(Array.isArray((await get(lid)).action_items));
  });
});

test('GraphQL errors: unknown field / argument → 400 GRAPHQL_VALIDATION_FAILED; bad syntax → GRAPHQL_PARSE_FAILED; bad variables → BAD_USER_INPUT', async () => {
  await withSandbox({}, async (sb) => {
    const r = await gql(sb, KEY, SDK_GET_TRANSCRIPT(['id', 'no_such_field']), { transcriptId: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.body.data, undefined);
    assert.equal(r.body.errors![0]!.message, 'Cannot query field "no_such_field" on type "Transcript".');
    assert.equal(r.body.errors![0]!.extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.ok(Array.isArray((r.body.errors![0] as unknown as { locations: unknown[] }).locations));
    const arg = await gql(sb, KEY, '{ transcripts(cursor: "x") { id } }');
    assert.equal(arg.status, 400);
    assert.match(arg.body.errors![0]!.message, /Unknown argument "cursor"/);
    const syntax = await gql(sb, KEY, '{ transcripts { id ');
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.errors![0]!.extensions.code, 'GRAPHQL_PARSE_FAILED');
    const vars = await gql(sb, KEY, SDK_GET_TRANSCRIPTS(['id']), { limit: 'ten' });
    assert.equal(vars.status, 400);
    assert.equal(vars.body.errors![0]!.extensions.code, 'BAD_USER_INPUT');
    const noVar = await gql(sb, KEY, SDK_GET_TRANSCRIPT(['id']), {});
    assert.equal(noVar.status, 400);
    // an SDK-style request with extra variables the query does not declare is fine
    const extra = await gql(sb, KEY, SDK_GET_TRANSCRIPTS(['id']), sdkTranscriptsVariables({ limit: 1, organizer_email: 'ana@acme.test' }));
    assert.equal(extra.status, 200);
    assert.deepEqual(extra.body.data, { transcripts: [] });
    // wrong content type, as Apollo answers
    const res = await fetch(`${sb.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(res.status, 400);
  });
});

test('rate limits: free plan 50 per day, refused as HTTP 200 too_many_requests with metadata.retryAfter (epoch ms) and the headers', async () => {
  await withSandbox({ keys: [{ key: 'free-key', plan: 'free', email: 'ben@acme.test' }] }, async (sb) => {
    const now = Date.now();
    const midnight = Math.floor(now / 86_400_000) * 86_400_000 + 86_400_000;
    for (let i = 1; i <= 50; i++) {
      const r = await gql(sb, 'free-key', '{ user { email } }');
      assert.equal(r.status, 200);
      assert.equal(r.body.errors, undefined, `request ${i}`);
      assert.equal(r.headers.get('x-ratelimit-limit'), '50');
      assert.equal(r.headers.get('x-ratelimit-remaining'), String(50 - i));
      assert.equal(r.headers.get('x-ratelimit-remaining-api'), String(50 - i));
    }
    const refused = await gql(sb, 'free-key', '{ user { email } }');
    assert.equal(refused.status, 200);
    assert.equal(refused.body.data, null);
    const e = refused.body.errors![0]!;
    assert.equal(e.code, 'too_many_requests');
    assert.equal(e.extensions.code, 'too_many_requests');
    assert.equal(e.extensions.status, 429);
    assert.equal(e.extensions.metadata!.retryAfter, midnight, 'the daily window reopens at midnight UTC');
    assert.match(e.message, /^Too many requests\. Please retry after .+ GMT \(UTC\)$/);
    assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
    const reset = Number(refused.headers.get('x-ratelimit-reset'));
    assert.ok(Math.abs(reset - (midnight - Date.now()) / 1000) < 3, `reset ${reset} s`);
    assert.equal(refused.headers.get('retry-after'), null, 'Retry-After only on a 429');
    // the business key is not affected; stats per key
    assert.equal((await gql(sb, KEY, '{ user { email } }')).headers.get('x-ratelimit-limit'), '60');
    assert.deepEqual(sb.stats.byKey['free-key'], { requests: 51, rateLimited: 1 });
    assert.equal(sb.keys.list().find((k) => k.key === 'free-key')!.used, 50);
    // an admin reset of the daily counter
    sb.resetRateLimits();
    assert.equal((await gql(sb, 'free-key', '{ user { email } }')).headers.get('x-ratelimit-remaining'), '49');
  });
});

test('rate limits: business plan 60 per minute refused as HTTP 429 with Retry-After; a fault burst of 429s; plan changes', async () => {
  await withSandbox({ rateLimits: { refusal: 'http429' } }, async (sb) => {
    for (let i = 0; i < 60; i++) assert.equal((await gql(sb, KEY, '{ user { email } }')).status, 200);
    const r = await gql(sb, KEY, '{ user { email } }');
    assert.equal(r.status, 429);
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(r.headers.get('x-ratelimit-limit'), '60');
    assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(r.body.errors![0]!.extensions.code, 'too_many_requests');
    assert.ok(Math.abs((r.body.errors![0]!.extensions.metadata!.retryAfter as number) - (Date.now() + retryAfter * 1000)) < 2000);

    sb.resetRateLimits();
    sb.faults.set({ rateLimitBurst: 2, burstRetryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const b = await gql(sb, KEY, '{ user { email } }');
      assert.equal(b.status, 429);
      assert.equal(b.headers.get('retry-after'), '3');
    }
    assert.equal((await gql(sb, KEY, '{ user { email } }')).status, 200);
    assert.equal(sb.stats.rateLimited, 3);

    sb.keys.update(KEY, { plan: 'free' });
    assert.equal((await gql(sb, KEY, '{ user { email } }')).headers.get('x-ratelimit-limit'), '50');
  });
  await withSandbox({ rateLimits: false }, async (sb) => {
    sb.keys.update(KEY, { limit: 1 });
    await gql(sb, KEY, '{ user { email } }');
    const r = await gql(sb, KEY, '{ user { email } }');
    assert.equal(r.status, 200);
    assert.equal(r.body.errors, undefined, 'rateLimits: false never refuses');
  });
});

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
}

async function receiver(statuses: number[] = [], otherwise = 200): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = statuses.shift() ?? otherwise;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/fireflies`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const hmac = (secret: string, raw: string) => createHmac('sha256', secret).update(raw).digest('hex');

test('webhooks v2: meeting.transcribed and meeting.summarized, X-Hub-Signature sha256=<HMAC of the raw body>', async () => {
  const rx = await receiver();
  const secret = 'whsec-0123456789abcd';
  try {
    await withSandbox({ webhooks: { url: rx.url, secret } }, async (sb) => {
      const t = sb.transcripts.add({ summary: null, client_reference_id: 'aurora-42' }, { notify: true });
      await sb.webhooks.flush();
      sb.transcripts.summarize(t.id);
      await sb.webhooks.flush();
      assert.equal(rx.got.length, 2);
      const [a, b] = rx.got as [Received, Received];
      for (const r of rx.got) {
        assert.equal(r.headers['x-hub-signature'], `sha256=${hmac(secret, r.raw)}`);
        assert.equal(r.headers['user-agent'], 'Fireflies-Webhook/1.0');
        assert.match(String(r.headers['content-type']), /^application\/json/);
      }
      const ea = JSON.parse(a.raw) as Record<string, unknown>;
      assert.deepEqual(Object.keys(ea).sort(), ['client_reference_id', 'event', 'meeting_id', 'timestamp']);
      assert.equal(ea.event, 'meeting.transcribed');
      assert.equal(ea.meeting_id, t.id);
      assert.equal(ea.client_reference_id, 'aurora-42');
      assert.ok(Math.abs((ea.timestamp as number) - Date.now()) < 10_000);
      assert.equal((JSON.parse(b.raw) as { event: string }).event, 'meeting.summarized');
      assert.deepEqual(sb.webhooks.stats, { sent: 2, delivered: 2, failed: 0, attempts: 2, pending: 0 });
      assert.throws(() => sb.webhooks.configure({ url: rx.url, secret: 'short' }), /16 to 32/);

      // seeding with notify: one transcribed per transcript, one summarized per ready summary
      rx.got.length = 0;
      const seeded = sb.transcripts.seed(4, { notify: true, pendingShare: 0.5 });
      await sb.webhooks.flush();
      const events = rx.got.map((r) => JSON.parse(r.raw) as { event: string; meeting_id: string });
      assert.equal(events.filter((e) => e.event === 'meeting.transcribed').length, 4);
      assert.equal(events.filter((e) => e.event === 'meeting.summarized').length, seeded.filter((s) => s.summary).length);
    });
  } finally {
    await rx.close();
  }
});

test('webhooks v1: {meetingId, eventType}, bare-hex x-hub-signature; retried with backoff on 500 until 2xx', async () => {
  const rx = await receiver([500, 500]);
  const secret = 'v1-secret-abcdefgh';
  try {
    await withSandbox({ webhooks: { url: rx.url, secret, version: 'v1', retryBaseMs: 20 } }, async (sb) => {
      const t = sb.transcripts.add({}, { notify: true });
      await sb.webhooks.flush();
      assert.equal(rx.got.length, 3, 'two 500s, then delivered');
      for (const r of rx.got) {
        assert.equal(r.headers['x-hub-signature'], hmac(secret, r.raw));
        assert.deepEqual(JSON.parse(r.raw), { meetingId: t.id, eventType: 'Transcription completed' });
      }
      assert.deepEqual(sb.webhooks.stats, { sent: 1, delivered: 1, failed: 0, attempts: 3, pending: 0 });
      assert.deepEqual(sb.webhooks.deliveries().map((d) => [d.state, d.attempts, d.lastStatus]), [['delivered', 3, 200]]);
      // v1 has no summary event
      sb.transcripts.summarize(t.id);
      await sb.webhooks.flush();
      assert.equal(rx.got.length, 3);
    });
  } finally {
    await rx.close();
  }
  // a receiver that never answers 2xx: the event fails after maxAttempts
  const down = await receiver([], 503);
  try {
    await withSandbox({ webhooks: { url: down.url, version: 'v2', retryBaseMs: 10, maxAttempts: 3 } }, async (sb) => {
      sb.transcripts.add({}, { notify: true });
      await sb.webhooks.flush();
      assert.equal(down.got.length, 6, 'transcribed and summarized, 3 attempts each');
      assert.equal(down.got[0]!.headers['x-hub-signature'], undefined, 'no secret, no signature');
      assert.equal(sb.webhooks.stats.failed, 2, 'transcribed + summarized both failed');
    });
  } finally {
    await down.close();
  }
  // a receiver that never answers: each attempt times out
  const hang = createServer(() => undefined);
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/hook`;
    await withSandbox({ webhooks: { url, version: 'v1', timeoutMs: 50, retryBaseMs: 5, maxAttempts: 2 } }, async (sb) => {
      sb.transcripts.add({}, { notify: true });
      await sb.webhooks.flush();
      assert.deepEqual(sb.webhooks.stats, { sent: 1, delivered: 0, failed: 1, attempts: 2, pending: 0 });
      assert.equal(sb.webhooks.deliveries()[0]!.lastStatus, 0);
    });
  } finally {
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  }
});

test('faults, admin HTTP API and deterministic seeding', async () => {
  await withSandbox({}, async (sb) => {
    sb.faults.set({ failNext: { status: 503, count: 1 } });
    const res = await fetch(`${sb.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ user { email } }' }) });
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    await res.text();
    sb.faults.set({ error5xxRate: 1 });
    assert.ok([500, 502, 503, 504].includes((await fetch(`${sb.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"query":"{ users { email } }"}' })).status));
    sb.faults.clear();
    assert.equal(sb.stats.faulted, 2);
    sb.faults.set({ latencyMs: 150 });
    const t0 = Date.now();
    assert.equal((await gql(sb, KEY, '{ user { email } }')).status, 200);
    assert.ok(Date.now() - t0 >= 140, 'latency is added');
    sb.faults.clear();

    const admin = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${sb.url}/_sandbox/fireflies${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, json: r.status === 204 ? null : ((await r.json()) as any) };
    };
    assert.equal((await admin('POST', '/keys', { key: 'k2', plan: 'pro', email: 'carla.mendes@acme.test' })).status, 201);
    const seeded = await admin('POST', '/transcripts/seed', { count: 3, pendingShare: 1 });
    assert.equal(seeded.status, 201);
    assert.equal(seeded.json.ids.length, 3);
    const id = seeded.json.ids[0] as string;
    assert.equal((await admin('GET', `/transcripts/${id}`)).json.summary, null);
    const summarized = await admin('POST', `/transcripts/${id}/summarize`, { summaryFormat: 'list' });
    assert.equal(summarized.json.summary_status, 'processed');
    const viaApi = await gql<{ transcript: any }>(sb, 'k2', SDK_GET_SUMMARY, { transcriptId: id });
    assert.ok(Array.isArray(viaApi.body.data!.transcript.summary.action_items));
    assert.equal((await admin('DELETE', `/transcripts/${id}`)).status, 204);
    assert.equal((await admin('GET', `/transcripts/${id}`)).status, 404);
    assert.equal((await admin('POST', '/transcripts', { title: 'Globex / Acme: QBR', attendees: [{ email: ANA }, { email: 'hank.scorpio@globex.com' }] })).json.title, 'Globex / Acme: QBR');
    assert.equal((await admin('PUT', '/faults', { rateLimitBurst: 1 })).json.rateLimitBurst, 1);
    assert.equal((await gql(sb, 'k2', '{ user { email } }')).body.errors![0]!.code, 'too_many_requests');
    assert.equal((await admin('GET', '/stats')).json.rateLimited, 1);
    assert.equal((await admin('DELETE', '/rate-limits')).status, 204);
    assert.equal((await admin('POST', '/keys', { key: 'k3', plan: 'gold', email: 'x@y.z' })).status, 400);
  });

  // the same seed and clock give the same data; attendees come from the shared pools
  const now = Date.UTC(2026, 10, 2, 12);
  const a = await startFirefliesSandbox({ randomSeed: 7 });
  const b = await startFirefliesSandbox({ randomSeed: 7 });
  try {
    const sa = a.transcripts.seed(10, { now });
    const sbb = b.transcripts.seed(10, { now });
    assert.deepEqual(sa, sbb);
    const emails = new Set(sa.flatMap((t) => t.participants));
    assert.ok([...emails].some((e) => e.endsWith('@acme.test')));
    assert.ok([...emails].some((e) => /@(globex\.com|initech\.io|umbrella-corp\.de|hooli\.co\.jp|wayne\.co\.uk|soylent\.ca)$/.test(e)));
    assert.ok(sa.every((t) => t.date < now && t.date > now - 123 * 86_400_000));
    assert.ok(sa.every((t) => t.meeting_attendees.length >= 2 && t.meeting_attendees.length <= 8));

    // transcripts of given Google Calendar events, and extra (HubSpot / Aurora) people invited now and then
    const start = Date.UTC(2026, 10, 20, 15);
    const fromCal = a.transcripts.seed(2, {
      now,
      calendarEvents: [{ id: 'evt0123456789abcdefghijklm', summary: 'Globex / Acme: Pricing review', start, end: start + 1800_000, organizer: ANA, attendees: ['hank.scorpio@globex.com'] }],
    });
    assert.equal(fromCal[0]!.calendar_id, 'evt0123456789abcdefghijklm');
    assert.equal(fromCal[0]!.cal_id, 'evt0123456789abcdefghijklm@google.com');
    assert.equal(fromCal[0]!.title, 'Globex / Acme: Pricing review');
    assert.equal(fromCal[0]!.date, start);
    assert.deepEqual(fromCal[0]!.participants, [ANA, 'hank.scorpio@globex.com']);
    const withPeople = a.transcripts.seed(40, { now, people: [{ email: 'local1@aurora.example', name: 'Local One' }] });
    assert.ok(withPeople.some((t) => t.participants.includes('local1@aurora.example')));
  } finally {
    await a.close();
    await b.close();
  }
});
