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
