/**
 * Minimal structured logger: JSON lines on stderr, each with `ts`, `level` and `msg`. A line logged
 * inside a Temporal activity also carries `workflow_id`, `run_id`, `activity` and `attempt`; call
 * sites add `system`, `connection` and `entity_type` where they have them.
 *
 * Never pass secrets (tokens, keys, client secrets) or record content (names, emails of contacts,
 * phone numbers, subjects, bodies) at info level or above: ids and counts only.
 */
import { asyncLocalStorage } from '@temporalio/activity';
import type { Logger, LogLevel as SdkLevel, LogMetadata } from '@temporalio/common';

type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.LOG_LEVEL as Level) in order ? (process.env.LOG_LEVEL as Level) : 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

/** The running activity's ids, or nothing outside an activity (no throw: a look at its async-local store). */
function activityFields(): Record<string, unknown> | undefined {
  const info = asyncLocalStorage.getStore()?.info;
  if (!info) return undefined;
  return { workflow_id: info.workflowExecution?.workflowId, run_id: info.workflowExecution?.runId, activity: info.activityType, attempt: info.attempt };
}

function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (order[level] < order[threshold]) return;
  const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...activityFields(), ...fields });
  process.stderr.write(line + '\n');
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};

/**
 * A Postgres error message without the offending value: `invalid input syntax for type integer: "…"`
 * quotes the record's data at its end (identifiers elsewhere in a message stay).
 */
export function withoutValue(message: string): string {
  return message.replace(/: ".*"$/s, ': "…"');
}

/**
 * Error text from an external API, safe to log and to store (sync_registry.error_message,
 * sync_state.last_error, the workflows' status): status, category, error codes and property names
 * stay; quoted values, email addresses and phone-like numbers become `"…"`, `<email>`, `<phone>`,
 * and a JSON list in the text (HubSpot's `Property values were not valid: [...]`) keeps only its
 * identifying fields (name, error, code, category…), never its messages. Every connector's error
 * mapping runs its upstream messages through this, so nothing later (push outcomes, activity
 * failures, the SDK's "Activity failed" line) can quote a record; the logger applies it to error
 * fields once more. Idempotent.
 */
export function redactUpstream(text: string): string {
  if (!text) return text;
  const s = text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
  // An embedded JSON value (from the first [ or { that parses to the end, or to its last bracket).
  for (let i = 0, tries = 0; i < s.length && tries < 8; i++) {
    const c = s[i];
    if (c !== '[' && c !== '{') continue;
    tries++;
    const close = c === '[' ? ']' : '}';
    for (const end of [s.length, s.lastIndexOf(close) + 1]) {
      if (end <= i) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(s.slice(i, end));
      } catch {
        continue;
      }
      if (parsed === null || typeof parsed !== 'object') continue;
      return `${redactText(s.slice(0, i))}${JSON.stringify(safeJson(parsed) ?? {})}${redactUpstream(s.slice(end))}`;
    }
  }
  return redactText(s);
}

/** Fields of an upstream error object that identify, never quote: kept (their strings redacted too). */
const SAFE_ERROR_KEYS = new Set(['name', 'names', 'propertyName', 'property', 'field', 'error', 'code', 'category', 'subCategory', 'status', 'reason', 'domain', 'errorType', 'policyName', 'isValid', 'location', 'locationType', 'id', 'ids', 'objectType', 'type']);
/** ...and the ones holding more such objects */
const NESTED_ERROR_KEYS = new Set(['errors', 'error', 'context', 'details', 'extensions']);

function safeJson(v: unknown, depth = 0): unknown {
  if (depth > 6) return undefined;
  if (typeof v === 'string') return redactText(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => safeJson(x, depth + 1)).filter((x) => x !== undefined);
  if (typeof v !== 'object') return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const nested = x !== null && typeof x === 'object' && !(Array.isArray(x) && x.every((y) => y === null || typeof y !== 'object'));
    if (nested ? !NESTED_ERROR_KEYS.has(k) : !SAFE_ERROR_KEYS.has(k)) continue;
    const kept = safeJson(x, depth + 1);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}

/** a word naming a property: the quoted identifier after it is a name, not a value */
const NAMES_A_PROPERTY = /(?:propert(?:y|ies)(?:\s+named)?|field|parameter|column|attribute|key)\s*[:=]?\s*$/i;
const EMAIL = /[^\s@"'<>()[\]{},;:]+@[^\s@"'<>()[\]{},;:]+/g;
const PHONE = /(?<![\w.+-])(?:\+\d[\d ().-]{5,}\d|\(?\d{2,5}\)?[ .-]\d{2,6}(?:[ .-]\d{1,6}){0,3})(?![\w.-])/g;
const QUOTED = /(?<![\w\\])(["'\u201c\u2018])((?:(?!\1)[^\\\n]|\\.){0,300})(["'\u201d\u2019])(?!\w)/g;

function redactText(s: string): string {
  return s
    .replace(QUOTED, (m, _open: string, inner: string, _close: string, offset: number, all: string) => {
      if (inner === '…' || inner === '') return m;
      const keep = /^[A-Za-z_][\w.-]{0,100}$/.test(inner) && NAMES_A_PROPERTY.test(all.slice(Math.max(0, offset - 40), offset));
      return keep ? m : '"…"';
    })
    .replace(EMAIL, '<email>')
    .replace(PHONE, (m) => {
      const digits = m.replace(/\D/g, '').length;
      if (digits < 7 || digits > 15) return m;
      if (/^\(?\d{4}-\d{2}-\d{2}/.test(m) || /^\d{1,3}(\.\d{1,3}){3}$/.test(m)) return m; // a date, an IPv4 address
      return '<phone>';
    });
}

const SDK_LEVELS: Record<SdkLevel, Level> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
const SDK_SEVERITY: SdkLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
/** SDK metadata keys renamed to ours; `taskToken` (it can complete the activity) and payload-like objects are dropped. */
const SDK_KEYS: Record<string, string> = {
  workflowId: 'workflow_id',
  workflowRunId: 'run_id',
  runId: 'run_id',
  activityType: 'activity',
  activityId: 'activity_id',
  attempt: 'attempt',
  workflowType: 'workflow_type',
  taskQueue: 'task_queue',
  namespace: 'namespace',
  sdkComponent: 'sdk_component',
  durationMs: 'duration_ms',
  isLocal: 'is_local',
  state: 'state',
};

function sdkFields(meta: LogMetadata | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) {
    if (k === 'taskToken') continue;
    if (v instanceof Error) {
      out[k === 'err' ? 'error' : k] = v.message.slice(0, 1000);
      const type = (v as { type?: unknown }).type;
      if (typeof type === 'string') out.error_type = type;
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[SDK_KEYS[k] ?? k] = typeof v === 'string' ? v.slice(0, 1000) : v;
    }
  }
  return out;
}

/**
 * The Temporal SDK's logger (worker, activity and workflow lifecycle, Core's own lines): the same
 * JSON lines, at `level` and above, with ids but never payloads (only scalar metadata and error messages).
 */
export function sdkLogger(level: SdkLevel = 'WARN'): Logger {
  const min = SDK_SEVERITY.indexOf(level);
  const at = (l: SdkLevel) => (message: string, meta?: LogMetadata) => {
    if (SDK_SEVERITY.indexOf(l) >= min) emit(SDK_LEVELS[l], message, sdkFields(meta));
  };
  return { log: (l, message, meta) => at(l)(message, meta), trace: at('TRACE'), debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}
