/**
 * GraphQL over HTTP for the sandbox: parse → validate → execute with the `graphql` package
 * against the Fireflies schema subset, the resolvers reading the Store. Transport-level
 * failures answer like Apollo Server (Fireflies' server): HTTP 400 with
 * `extensions.code` GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED / BAD_USER_INPUT /
 * BAD_REQUEST; resolver errors (Fireflies' `invalid_arguments`, `object_not_found`, ...) are
 * HTTP 200 with `data` next to `errors`.
 */
import { execute, getOperationAST, GraphQLError, parse, validate, type DocumentNode } from 'graphql';
import { formatError, invalidArguments, notFound } from './errors';
import { actionItemsList, actionItemsText } from './generate';
import { firefliesSchema } from './schema';
import type { KeyRecord, Store, StoredTranscript, UserRecord } from './store';

export interface RequestContext {
  key: KeyRecord;
  owner: UserRecord;
  now: number;
}

export interface GraphQLHttpResult {
  status: number;
  body: Record<string, unknown>;
  /** root fields of the executed operation (for stats) */
  fields: string[];
}

const MAX_LIMIT = 50;
const MAX_SKIP = 5000;
const DAY_MS = 86_400_000;

// ---- views: what the resolvers hand graphql-js -------------------------------------------------

function userView(store: Store, u: UserRecord) {
  const mine = () => store.sorted().filter((t) => t.user_email === u.email);
  return {
    user_id: u.user_id,
    email: u.email,
    name: u.name,
    get num_transcripts() {
      return mine().length;
    },
    get recent_meeting() {
      return mine()[0]?.id ?? null;
    },
    get recent_transcript() {
      return mine()[0]?.id ?? null;
    },
    get minutes_consumed() {
      return Math.round(mine().reduce((s, t) => s + t.duration, 0) * 100) / 100;
    },
    is_admin: u.is_admin,
    integrations: ['google_calendar', 'google_meet', 'zoom'],
  };
}

function summaryView(t: StoredTranscript) {
  const s = t.summary;
  if (!s) return null;
  const list = t.summaryFormat === 'list';
  const text = s.action_items_raw ?? actionItemsText(s.action_items);
  return {
    action_items: list ? (s.action_items_raw !== undefined ? text.split('\n').filter((l) => l.trim() !== '') : actionItemsList(s.action_items)) : text,
    keywords: list ? [...s.keywords] : s.keywords.join(', '),
    outline: s.outline.join('\n'),
    overview: s.overview,
    shorthand_bullet: s.shorthand_bullet,
    notes: s.notes,
    gist: s.gist,
    bullet_gist: s.bullet_gist,
    short_summary: s.short_summary,
    short_overview: s.short_overview,
    meeting_type: s.meeting_type,
    topics_discussed: [...s.topics_discussed],
    transcript_chapters: [...s.transcript_chapters],
  };
}

function transcriptView(store: Store, t: StoredTranscript) {
  return {
    id: t.id,
    title: t.title,
    date: t.date,
    dateString: new Date(t.date).toISOString(),
    duration: t.duration,
    privacy: t.privacy,
    host_email: t.host_email,
    organizer_email: t.organizer_email,
    get user() {
      const u = store.users.get(t.user_email);
      return u ? userView(store, u) : null;
    },
    get fireflies_users() {
      return t.participants.filter((e) => store.users.has(e.toLowerCase()));
    },
    participants: t.participants,
    meeting_attendees: t.attendees.map((a) => ({ ...a, location: null })),
    speakers: t.speakers,
    get sentences() {
      return t.sentences.map((s) => ({ ...s, speaker_id: String(s.speaker_id) }));
    },
    get summary() {
      return summaryView(t);
    },
    transcript_url: t.transcript_url,
    audio_url: t.audio_url,
    video_url: t.video_url,
    meeting_link: t.meeting_link,
    calendar_id: t.calendar_id,
    cal_id: t.cal_id,
    calendar_type: t.calendar_type,
    meeting_info: { fred_joined: true, silent_meeting: false, summary_status: t.summary ? 'processed' : 'processing' },
    channels: t.channel_ids.map((id) => ({ id })),
  };
}

// ---- resolvers -------------------------------------------------------------------------------

interface TranscriptsArgs {
  title?: string | null;
  keyword?: string | null;
  scope?: 'title' | 'sentences' | 'all' | null;
  fromDate?: unknown;
  toDate?: unknown;
  limit?: number | null;
  skip?: number | null;
  host_email?: string | null;
  organizer_email?: string | null;
  participant_email?: string | null;
  user_id?: string | null;
  mine?: boolean | null;
  date?: number | null;
  organizers?: Array<string | null> | null;
  participants?: Array<string | null> | null;
  channel_id?: string | null;
}

const given = (v: unknown): boolean => v !== undefined && v !== null;
const lc = (s: string): string => s.trim().toLowerCase();

function parseDateArg(name: string, v: unknown): number | undefined {
  if (!given(v)) return undefined;
  const ms = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw invalidArguments([{ name, message: `${name} must be a Date instance`, type: 'isDate' }]);
  return ms;
}

function listTranscripts(store: Store, a: TranscriptsArgs, ctx: RequestContext) {
  const problems: Array<{ name: string; message: string; type: string }> = [];
  const limit = a.limit ?? MAX_LIMIT;
  const skip = a.skip ?? 0;
  if (limit > MAX_LIMIT) problems.push({ name: 'limit', message: `limit must not be greater than ${MAX_LIMIT}`, type: 'max' });
  if (limit < 0) problems.push({ name: 'limit', message: 'limit must not be less than 0', type: 'min' });
  if (skip > MAX_SKIP) problems.push({ name: 'skip', message: `skip must not be greater than ${MAX_SKIP}`, type: 'max' });
  if (skip < 0) problems.push({ name: 'skip', message: 'skip must not be less than 0', type: 'min' });
  if (problems.length) throw invalidArguments(problems);
  const exclusive = (['organizer_email', 'participant_email', 'user_id', 'mine'] as const).filter((k) => given(a[k]));
  if (exclusive.length > 1) {
    throw invalidArguments(
      exclusive.map((name) => ({ name, message: 'Only one of organizer_email, participant_email, user_id, mine can be used at a time', type: 'exclusiveFields' })),
      `Only one of the following arguments can be used at a time: organizer_email, participant_email, user_id, mine (got ${exclusive.join(', ')})`,
    );
  }
  if (given(a.title) && given(a.keyword)) {
    throw invalidArguments([{ name: 'title', message: 'title cannot be used together with keyword', type: 'exclusiveFields' }]);
  }
  const from = parseDateArg('fromDate', a.fromDate);
  const to = parseDateArg('toDate', a.toDate);

  let list = store.sorted();
  if (from !== undefined) list = list.filter((t) => t.date >= from);
  if (to !== undefined) list = list.filter((t) => t.date <= to);
  if (given(a.date)) {
    const day = Math.floor(a.date! / DAY_MS) * DAY_MS;
    list = list.filter((t) => t.date >= day && t.date < day + DAY_MS);
  }
  if (given(a.title)) {
    const q = lc(a.title!);
    list = list.filter((t) => t.title.toLowerCase().includes(q));
  }
  if (given(a.keyword) && a.keyword!.trim() !== '') {
    const q = lc(a.keyword!);
    const scope = a.scope ?? 'title';
    list = list.filter(
      (t) => ((scope === 'title' || scope === 'all') && t.title.toLowerCase().includes(q)) || ((scope === 'sentences' || scope === 'all') && t.sentences.some((s) => s.text.toLowerCase().includes(q))),
    );
  }
  if (given(a.host_email)) list = list.filter((t) => t.host_email === lc(a.host_email!) || t.organizer_email === lc(a.host_email!));
  if (given(a.organizer_email)) list = list.filter((t) => t.organizer_email === lc(a.organizer_email!));
  if (given(a.participant_email)) list = list.filter((t) => t.participants.some((p) => lc(p) === lc(a.participant_email!)));
  if (given(a.user_id)) {
    const u = store.userById(a.user_id!);
    list = u ? list.filter((t) => t.user_email === u.email) : [];
  }
  if (a.mine === true) list = list.filter((t) => t.user_email === ctx.owner.email || t.organizer_email === ctx.owner.email);
  if (a.organizers?.length) {
    const set = new Set(a.organizers.filter((x): x is string => !!x).map(lc));
    list = list.filter((t) => set.has(t.organizer_email));
  }
  if (a.participants?.length) {
    const set = new Set(a.participants.filter((x): x is string => !!x).map(lc));
    list = list.filter((t) => t.participants.some((p) => set.has(lc(p))));
  }
  if (given(a.channel_id)) list = list.filter((t) => t.channel_ids.includes(a.channel_id!));
  return list.slice(skip, skip + limit).map((t) => transcriptView(store, t));
}

function rootValue(store: Store) {
  return {
    transcripts: (a: TranscriptsArgs, ctx: RequestContext) => listTranscripts(store, a, ctx),
    transcript: (a: { id: string }) => {
      const t = store.transcripts.get(a.id);
      if (!t) throw notFound('Transcript');
      return transcriptView(store, t);
    },
    user: (a: { id?: string | null }, ctx: RequestContext) => {
      if (!given(a.id) || a.id === '') return userView(store, ctx.owner);
      const u = store.userById(a.id!);
      if (!u) throw notFound('User');
      return userView(store, u);
    },
    users: () => [...store.users.values()].map((u) => userView(store, u)),
  };
}

// ---- HTTP ------------------------------------------------------------------------------------

const documents = new Map<string, DocumentNode>();

function badRequest(message: string, code = 'BAD_REQUEST'): GraphQLHttpResult {
  return { status: 400, body: { errors: [{ message, extensions: { code } }] }, fields: [] };
}

/** Runs one GraphQL-over-HTTP POST: `rawBody` as received, `contentType` its header. */
export async function runGraphQL(store: Store, rawBody: string | undefined, contentType: string | undefined, ctx: RequestContext): Promise<GraphQLHttpResult> {
  if (!contentType || !/^application\/(graphql-response\+)?json\b/i.test(contentType.trim())) {
    return badRequest('POST body missing, invalid Content-Type, or JSON object has no keys.');
  }
  let body: unknown;
  try {
    body = rawBody === undefined || rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch (e) {
    return badRequest(`Unexpected token in JSON body: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
    return badRequest('POST body missing, invalid Content-Type, or JSON object has no keys.');
  }
  const { query, variables, operationName } = body as Record<string, unknown>;
  if (typeof query !== 'string' || query.trim() === '') {
    return badRequest('GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.');
  }
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return badRequest('`variables` in a POST body should be an object if provided.');
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    return badRequest('`operationName` in a POST body should be a string if provided.');
  }
  const schema = firefliesSchema();
  let document = documents.get(query);
  if (!document) {
    try {
      document = parse(query);
    } catch (e) {
      if (e instanceof GraphQLError) return { status: 400, body: { errors: [formatError(e, 'GRAPHQL_PARSE_FAILED')] }, fields: [] };
      throw e;
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0) return { status: 400, body: { errors: invalid.map((e) => formatError(e, 'GRAPHQL_VALIDATION_FAILED')) }, fields: [] };
    if (documents.size > 500) documents.clear();
    documents.set(query, document);
  }
  const op = getOperationAST(document, (operationName as string | undefined) ?? undefined);
  const fields = op ? op.selectionSet.selections.flatMap((s) => (s.kind === 'Field' ? [s.name.value] : [])) : [];
  const result = await execute({
    schema,
    document,
    rootValue: rootValue(store),
    contextValue: ctx,
    variableValues: (variables as Record<string, unknown> | null | undefined) ?? undefined,
    operationName: (operationName as string | null | undefined) ?? undefined,
  });
  if (!('data' in result) || result.data === undefined) {
    // request errors: bad variables, unknown / ambiguous operation
    const errors = (result.errors ?? []).map((e) => formatError(e, /Variable "\$/.test(e.message) ? 'BAD_USER_INPUT' : 'BAD_REQUEST'));
    return { status: 400, body: { errors }, fields: [] };
  }
  const out: Record<string, unknown> = { data: result.data };
  if (result.errors?.length) out.errors = result.errors.map((e) => formatError(e));
  return { status: 200, body: out, fields };
}

