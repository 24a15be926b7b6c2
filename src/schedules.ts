/**
 * The Temporal Schedules this engine relies on, created idempotently at worker start from the
 * configuration (never cron, never timers hidden in a loop):
 *   - `reconcile:<system>[:<connection>]` per connection, every RECONCILE_INTERVAL (default 24h):
 *     starts `reconcileWorkflow` (a full listing against the registry);
 *   - `renew-channels:<system>` per system with push channels or watches, every
 *     CHANNEL_RENEW_INTERVAL (default 6h): starts `renewChannelsWorkflow`.
 * Overlap SKIP (a reconciliation still running is not started twice), a catch-up window of one
 * interval (capped at a day), pause-on-failure for reconciliation (a failed one waits for an
 * operator: `schedules unpause`), memo and search attributes naming the system and connection.
 * Operable from our CLI (`schedules list|trigger|pause|unpause|backfill`), REST (`GET /api/schedules`,
 * token-protected writes) and `temporal schedule list|describe|trigger`.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from './config';
import { CONNECTORS, definitionOf } from './connectors/registry';
import { DEFAULT_CONNECTION } from './core/model';
import { systemConnections } from './deps';
import {
  reconcileScheduleId,
  renewScheduleId,
  SA_CONNECTION,
  SA_SYSTEM,
  type ReconcileWorkflowInput,
  type RenewChannelsWorkflowInput,
} from './workflows/definitions';

const DAY_MS = 86_400_000;

/**
 * The schedules this configuration wants, with their options. `channelSystems`: the systems whose
 * connectors open push channels or watches (a renewal schedule each); default every system with a
 * webhook endpoint.
 */
export function desiredSchedules(cfg: Config, channelSystems?: ReadonlySet<string>): ScheduleOptions[] {
  const prefix = cfg.temporal.workflowIdPrefix;
  const out: ScheduleOptions[] = [];
  for (const { def, connections } of systemConnections(cfg)) {
    if (!connections.length) continue;
    for (const connection of def.reconcile === false ? [] : connections) {
      const id = reconcileScheduleId(def.system, prefix, connection);
      const args: [ReconcileWorkflowInput] = [{ system: def.system, connection, entityTypes: def.entities.map((e) => e.type) }];
      const who = connection === DEFAULT_CONNECTION ? def.title : `${def.title} (${connection})`;
      out.push({
        scheduleId: id,
        spec: { intervals: [{ every: cfg.schedules.reconcileEveryMs }] },
        action: { type: 'startWorkflow', workflowType: 'reconcileWorkflow', workflowId: id, taskQueue: cfg.temporal.taskQueue, args },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.min(cfg.schedules.reconcileEveryMs, DAY_MS), pauseOnFailure: true },
        memo: { summary: `${who}: reconcile ${def.entities.map((e) => e.plural).join(', ')} against the registry` },
        typedSearchAttributes: [
          { key: SA_SYSTEM, value: def.system },
          { key: SA_CONNECTION, value: connection },
        ],
      });
    }
    if (def.webhooks && cfg.webhooks.pushChannels && (!channelSystems || channelSystems.has(def.system))) {
      const id = renewScheduleId(def.system, prefix);
      const args: [RenewChannelsWorkflowInput] = [{ system: def.system, connections, entityTypes: def.entities.map((e) => e.type) }];
      out.push({
        scheduleId: id,
        spec: { intervals: [{ every: cfg.schedules.renewChannelsEveryMs }] },
        action: { type: 'startWorkflow', workflowType: 'renewChannelsWorkflow', workflowId: id, taskQueue: cfg.temporal.taskQueue, args },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.min(cfg.schedules.renewChannelsEveryMs, DAY_MS), pauseOnFailure: false },
        memo: { summary: `${def.title}: renew push channels and watches of ${connections.length} connection(s) before they expire` },
        typedSearchAttributes: [{ key: SA_SYSTEM, value: def.system }],
      });
    }
  }
  return out;
}

/**
 * Creates each desired schedule, or brings an existing one to the configuration (interval, action,
 * policies) without touching its paused state or history: any number of workers may call it.
 */
export async function ensureSchedules(client: Client, cfg: Config, channelSystems?: ReadonlySet<string>): Promise<string[]> {
  const ids: string[] = [];
  for (const opts of desiredSchedules(cfg, channelSystems)) {
    try {
      await client.schedule.create(opts);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(opts.scheduleId).update((prev) => ({
        ...prev,
        spec: opts.spec,
        action: { ...opts.action, args: opts.action.args } as typeof prev.action,
        policies: { ...prev.policies, ...opts.policies, catchupWindow: Number(opts.policies?.catchupWindow ?? prev.policies.catchupWindow) },
      }));
    }
    ids.push(opts.scheduleId);
  }
  return ids;
}

export interface ScheduleView {
  id: string;
  workflow: string;
  system: string | null;
  connection: string | null;
  every: string;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; takenAt: string; workflowId: string | null }[];
  summary: string | null;
}

const intervalText = (ms: number): string => (ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);

/**
 * This installation's schedules (those with the configured id prefix). The list comes from
 * Temporal's visibility store; each one's state is then read with describe(), so a pause just made
 * shows at once.
 */
export async function listSchedules(client: Client, cfg: Config): Promise<ScheduleView[]> {
  const prefix = cfg.temporal.workflowIdPrefix;
  const ids: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(prefix) && /^(reconcile|renew-channels):/.test(s.scheduleId.slice(prefix.length))) ids.push(s.scheduleId);
  }
  const out: ScheduleView[] = [];
  for (const id of ids.sort()) {
    let d;
    try {
      d = await client.schedule.getHandle(id).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) continue; // deleted since it was listed
      throw err;
    }
    const [kind, system, ...conn] = id.slice(prefix.length).split(':');
    const every = d.spec.intervals?.[0]?.every;
    out.push({
      id,
      workflow: d.action.workflowType,
      system: system ?? null,
      connection: kind === 'reconcile' ? (conn.length ? conn.join(':') : DEFAULT_CONNECTION) : null,
      every: every !== undefined ? intervalText(Number(every)) : '?',
      paused: d.state.paused,
      note: d.state.note ?? null,
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      recentRuns: d.info.recentActions.slice(-5).map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: 'workflow' in a.action ? a.action.workflow.workflowId : null,
      })),
      summary: typeof d.memo?.summary === 'string' ? d.memo.summary : null,
    });
  }
  return out;
}

export class ScheduleInputError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404,
  ) {
    super(message);
    this.name = 'ScheduleInputError';
  }
}

/** The handle of one of this installation's schedules; a clear error for anything else. */
async function ownSchedule(client: Client, cfg: Config, id: unknown) {
  if (typeof id !== 'string' || !/^[\w.@:+-]{1,300}$/.test(id)) throw new ScheduleInputError('the schedule id is missing or not an id', 400);
  const full = id.startsWith(cfg.temporal.workflowIdPrefix) ? id : `${cfg.temporal.workflowIdPrefix}${id}`;
  const rest = full.slice(cfg.temporal.workflowIdPrefix.length);
  const [kind, system] = rest.split(':');
  if ((kind !== 'reconcile' && kind !== 'renew-channels') || !system || !definitionOf(system)) {
    throw new ScheduleInputError(`"${id}" is not one of this engine's schedules (reconcile:<system>[:<connection>] or renew-channels:<system>; systems: ${CONNECTORS.map((c) => c.system).join(', ')})`, 404);
  }
  const handle = client.schedule.getHandle(full);
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new ScheduleInputError(`no schedule "${id}" (is the worker running with this configuration?)`, 404);
    throw err;
  }
  return handle;
}

export async function triggerSchedule(client: Client, cfg: Config, id: unknown): Promise<void> {
  await (await ownSchedule(client, cfg, id)).trigger(ScheduleOverlapPolicy.SKIP);
}

export async function pauseSchedule(client: Client, cfg: Config, id: unknown, reason: unknown): Promise<void> {
  if (typeof reason !== 'string' || !reason.trim() || reason.length > 500) throw new ScheduleInputError('a pause needs a reason (1–500 characters)', 400);
  await (await ownSchedule(client, cfg, id)).pause(reason.trim());
}

export async function unpauseSchedule(client: Client, cfg: Config, id: unknown, note?: unknown): Promise<void> {
  await (await ownSchedule(client, cfg, id)).unpause(typeof note === 'string' && note.trim() ? note.trim().slice(0, 500) : 'unpaused by an operator');
}

/** Runs the actions the schedule would have taken between `from` and `to` (at most 31 days). */
export async function backfillSchedule(client: Client, cfg: Config, id: unknown, from: unknown, to: unknown): Promise<void> {
  const start = typeof from === 'string' ? new Date(from) : null;
  const end = typeof to === 'string' ? new Date(to) : null;
  if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new ScheduleInputError('backfill needs --from and --to as ISO times', 400);
  if (end <= start) throw new ScheduleInputError('backfill: --to must be after --from', 400);
  if (end.getTime() - start.getTime() > 31 * DAY_MS) throw new ScheduleInputError('backfill: at most 31 days at once', 400);
  await (await ownSchedule(client, cfg, id)).backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
}
