/**
 * The long-lived sync workflow of one external system (`sync:<system>`): every SYSTEM interval on a
 * durable timer, or early on a `trigger` signal / `syncNow` update, it pulls then pushes each entity
 * type through activities, carrying only cursors and counts. One entity type failing never stops the
 * others. History stays bounded by continue-as-new.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, NON_RETRYABLE_SYNC } from '../core/errors';
import { DEFAULT_CONNECTION } from '../core/model';
import {
  DEFAULT_FORCE_CONTINUE_AT_EVENTS,
  MAX_WEBHOOK_IDS,
  gatherWebhookIds,
  SA_STATUS,
  webhookSignal,
  configureSignal,
  statusQuery,
  syncNowUpdate,
  triggerSignal,
  type CycleSummary,
  type EntityStatus,
  type SyncSettings,
  type SyncWorkflowInput,
  type TriggerRequest,
} from './definitions';

type EntityType = string;
const NON_RETRYABLE = NON_RETRYABLE_SYNC;

/** Long page loops: heartbeat per page; a retry resumes from the heartbeated cursor. */
function pageLoopActivities(heartbeatTimeoutSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: heartbeatTimeoutSeconds * 1000,
    // A retry resumes from the heartbeated page, so retrying is cheap: at most 10 s between attempts
    // (a killed worker's page loop goes on about 10 s after its heartbeat times out, not minutes).
    // The limit stays, but high: each worker kill costs one attempt, and 30 kills in one loop is not
    // an accident; a type whose API keeps failing still gives way (after about 5 minutes of retries)
    // so the other types and the next cycle run — which resumes from the cursor saved per page.
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 30, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}
/** Fetching the records webhooks named: a few batch reads. */
const shortPages = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});
/** Short bookkeeping calls (Postgres, Redis). */
const shortCall = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});


/** How long a webhook stream must pause before the workflow continues-as-new. */
const QUIET_BEFORE_CONTINUE_MS = 250;
/** Continue-as-new even without a pause once the history is this long (Temporal's hard limit is 50k). */
const FORCE_CONTINUE_AT_EVENTS = 30_000;
/**
 * How long a run forced to close under a stream (patch `continue-as-new-signals-held`) holds the
 * webhook inbox's signals at most; its next run releases them at once.
 */
const HOLD_SIGNALS_SECONDS = 30;

function blankStatus(): EntityStatus {
  return { lastCycleAt: null, lastSuccessAt: null, lastPull: null, lastPush: null, lastWebhook: null, cursor: null, lastError: null };
}

function describeFailure(err: unknown): string {
  let e: unknown = err;
  if (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return e.type ? `${e.type}: ${e.message}` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** The ApplicationFailure type of an activity failure (ErrorType), if any. */
function failureType(err: unknown): string | undefined {
  const e = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
}

/** Plural names a trigger may use, for workflows started before inputs carried them. */
const pluralOf = (t: string): string => (/[^aeiou]y$/.test(t) ? `${t.slice(0, -1)}ies` : `${t}s`);

export async function syncWorkflow(input: SyncWorkflowInput): Promise<void> {
  const { system, entityTypes } = input;
  const connection = input.connection ?? DEFAULT_CONNECTION;
  const aliases: Record<string, EntityType> = input.entityAliases ?? Object.fromEntries(entityTypes.map((t) => [pluralOf(t), t]));
  const state = input.state ?? { cursors: {}, status: {}, cycles: 0, pending: [] };
  const webhookIds: Record<string, string[]> = state.webhookIds ?? {};
  const propertyOnly: Record<string, Set<string>> = Object.fromEntries(Object.entries(state.webhookPropertyOnly ?? {}).map(([t, ids]) => [t, new Set(ids)]));
  const hasWebhookWork = () => Object.values(webhookIds).some((ids) => ids.length > 0);
  const settings: SyncSettings = {
    intervalSeconds: input.intervalSeconds,
    heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds ?? 30,
    cyclesPerRun: input.cyclesPerRun ?? 200,
  };
  let reconfigured = false;
  for (const t of entityTypes) state.status[t] ??= blankStatus();
  let syncing = false;
  let nextCycleAt: string | null = null;
  let cyclesThisRun = 0;
  const completed = new Map<string, CycleSummary>();

  /** The entity type a trigger names (singular or plural); undefined = all; null = not one of ours. */
  const entityOf = (req?: TriggerRequest): EntityType | undefined | null => {
    if (req?.entityType === undefined || req.entityType === null) return undefined;
    const name = String(req.entityType).toLowerCase();
    const t = entityTypes.includes(name) ? name : aliases[name];
    return t && entityTypes.includes(t) ? t : null;
  };
  const accept = (req?: TriggerRequest): TriggerRequest => ({ entityType: entityOf(req) ?? undefined, requestId: req?.requestId });
  let rejectedTriggers = 0;

  setHandler(triggerSignal, (req) => {
    // A signal cannot answer: an unknown entity type is ignored (and counted in the status), not widened to all.
    if (entityOf(req) === null) {
      rejectedTriggers++;
      return;
    }
    state.pending.push(accept(req));
  });
  setHandler(
    syncNowUpdate,
    async (req) => {
      const requestId = req?.requestId ?? uuid4();
      state.pending.push({ ...accept(req), requestId });
      await condition(() => completed.has(requestId));
      return completed.get(requestId)!;
    },
    {
      validator: (req) => {
        if (entityOf(req) === null) {
          throw new Error(`unknown entity type "${String(req.entityType)}" for ${system}; expected one of ${entityTypes.join(', ')}`);
        }
      },
    },
  );
  setHandler(webhookSignal, (change) => {
    const type = change?.entityType ? entityOf({ entityType: change.entityType }) : undefined;
    if (!type || !entityTypes.includes(type) || !Array.isArray(change.ids)) return;
    const list = (webhookIds[type] ??= []);
    gatherWebhookIds(list, (propertyOnly[type] ??= new Set()), change);
    if (list.length > MAX_WEBHOOK_IDS) {
      // Too many to fetch one by one: an incremental pull of that type covers them.
      webhookIds[type] = [];
      propertyOnly[type] = new Set();
      state.pending.push({ entityType: type });
    }
  });
  setHandler(configureSignal, (next) => {
    const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1;
    if (!next || !ok(next.intervalSeconds) || !ok(next.heartbeatTimeoutSeconds) || !ok(next.cyclesPerRun)) return;
    if (next.intervalSeconds === settings.intervalSeconds && next.heartbeatTimeoutSeconds === settings.heartbeatTimeoutSeconds && next.cyclesPerRun === settings.cyclesPerRun) return;
    Object.assign(settings, next);
    reconfigured = true;
  });
  setHandler(statusQuery, () => ({
    system,
    state: syncing ? 'syncing' : 'idle',
    cycles: state.cycles,
    nextCycleAt,
    rejectedTriggers,
    entities: state.status,
  }));

  /** Pulls then pushes one entity type; answers the failure type that stopped it, if any. */
  async function syncEntity(type: EntityType): Promise<string | undefined> {
    const st = (state.status[type] ??= blankStatus());
    st.lastCycleAt = new Date().toISOString();
    const pageLoop = pageLoopActivities(settings.heartbeatTimeoutSeconds);
    const errors: string[] = [];
    let failed: string | undefined;
    try {
      const pulled = await pageLoop.pullEntity({ system, connection, entityType: type, cursor: state.cursors[type] ?? null });
      state.cursors[type] = pulled.cursor;
      st.cursor = pulled.cursor;
      st.lastPull = { ...pulled.counts };
    } catch (err) {
      errors.push(`pull: ${describeFailure(err)}`);
      failed = failureType(err);
    }
    // Local changes still go out when the pull failed, unless the system refused the credentials.
    if (failed !== ErrorType.Auth) {
      try {
        st.lastPush = { ...(await pageLoop.pushEntity({ system, connection, entityType: type })) };
      } catch (err) {
        errors.push(`push: ${describeFailure(err)}`);
        failed ??= failureType(err);
      }
    }
    const error = errors.length ? errors.join('; ') : null;
    if (!error) st.lastSuccessAt = new Date().toISOString();
    st.lastError = error;
    try {
      await shortCall.recordOutcome({ system, connection, entityType: type, error });
    } catch {
      // bookkeeping only; the status query still has it
    }
    return failed;
  }

  // A new workflow syncs at once (unless asked not to); a continued one waits for its timer.
  async function fetchWebhookRecords(): Promise<void> {
    // Every type's ids are taken at once, so records named together are fetched in dependency
    // order (a transcript before its action items) even when a signal lands between two fetches.
    const taken = patched('webhook-ids-taken-together') ? new Map(entityTypes.map((t) => [t, (webhookIds[t] ?? []).splice(0)])) : null;
    for (const type of entityTypes) {
      const ids = taken ? taken.get(type)! : (webhookIds[type] ?? []).splice(0);
      if (!ids.length) continue;
      const po = propertyOnly[type];
      const only = po?.size ? ids.filter((id) => po.delete(id)) : [];
      const st = (state.status[type] ??= blankStatus());
      try {
        const counts = await shortPages.pullByIds({ system, connection, entityType: type, ids, ...(only.length ? { propertyOnly: only } : {}) });
        st.lastWebhook = { at: new Date().toISOString(), ...counts };
      } catch (err) {
        // Not lost: the next incremental pull reads these records anyway.
        st.lastError = `webhook fetch: ${describeFailure(err)}`;
      }
    }
  }

  /** One cycle: pulls then pushes the types the batch of requests names (all when one names none). */
  async function runCycle(batch: TriggerRequest[]): Promise<void> {
    nextCycleAt = null;
    const types =
      batch.length === 0 || batch.some((r) => !r.entityType)
        ? entityTypes
        : entityTypes.filter((t) => batch.some((r) => r.entityType === t));

    syncing = true;
    upsertSearchAttributes([{ key: SA_STATUS, value: 'syncing' }]);
    let authFailure: string | null = null;
    for (const type of types) {
      if (authFailure) {
        // Rejected credentials fail every entity type alike: say so once, retry at the next cycle.
        state.status[type]!.lastError = authFailure;
        continue;
      }
      if ((await syncEntity(type)) === ErrorType.Auth) authFailure = state.status[type]?.lastError ?? 'credentials rejected';
    }
    try {
      await shortCall.publishEvents();
    } catch {
      // Redis down: events stay in the outbox and go out with a later relay.
    }
    syncing = false;
    state.cycles++;
    cyclesThisRun++;
    const failed = types.filter((t) => state.status[t]?.lastError);
    upsertSearchAttributes([{ key: SA_STATUS, value: failed.length ? 'error' : 'idle' }]);
    upsertMemo({
      summary: `${system}: cycle ${state.cycles} at ${new Date().toISOString()}; ${
        failed.length ? `errors in ${failed.join(', ')}` : 'all entity types synced'
      }`,
    });
    const summary: CycleSummary = { requestId: '', entities: Object.fromEntries(types.map((t) => [t, state.status[t]!])) };
    for (const r of batch) if (r.requestId) completed.set(r.requestId, { ...summary, requestId: r.requestId });
  }

  /**
   * The property-only ids still waiting, for the next run (undefined when none, which drops the key:
   * the shape of runs before it, and no stale list carried over from this run's input).
   */
  const webhookPropertyOnlyState = (): { webhookPropertyOnly: Record<string, string[]> | undefined } => {
    const waiting = Object.entries(propertyOnly).filter(([, ids]) => ids.size > 0);
    return { webhookPropertyOnly: waiting.length ? Object.fromEntries(waiting.map(([t, ids]) => [t, [...ids]])) : undefined };
  };
  const continueRun = async (): Promise<never> => {
    await condition(allHandlersFinished);
    return continueAsNew<typeof syncWorkflow>({ ...input, ...settings, state: { ...state, pending: state.pending, webhookIds, ...webhookPropertyOnlyState() } });
  };
  const cycleDue = () => workflowInfo().continueAsNewSuggested || cyclesThisRun >= settings.cyclesPerRun;

  if (state.signalsHeld) {
    // The run before held the webhook inbox's signals while it closed: they may come now.
    delete state.signalsHeld;
    void shortCall.releaseWebhookSignals({ system, connection }).catch(() => undefined);
  }

  let runNow = !input.state && input.runImmediately !== false;
  // Scheduled cycles keep their own clock, carried across continue-as-new, so a webhook stream can
  // neither postpone nor starve them; and the records webhooks name are fetched alongside a running
  // cycle instead of after it.
  if (patched('webhooks-alongside-cycles')) {
    let fetching = false;
    let closing = false;
    const webhookLane = async (): Promise<void> => {
      for (;;) {
        await condition(() => !closing && hasWebhookWork());
        fetching = true;
        try {
          await fetchWebhookRecords();
        } finally {
          fetching = false;
        }
      }
    };
    void webhookLane();
    const intervalMs = () => settings.intervalSeconds * 1000;
    let dueAt = runNow ? Date.now() : (state.dueAt ?? Date.now() + intervalMs());
    let quietPatch: boolean | undefined;
    let forceSooner = false;
    /** Continue-as-new waits for a quiet moment where webhooks stream in (decided once per run). */
    const quietFirst = (): boolean => {
      if (quietPatch === undefined) {
        quietPatch = patched('continue-as-new-in-a-quiet-moment');
        // decided with it, once per run (runs before the patch keep waiting up to 30,000 events)
        if (quietPatch) forceSooner = patched('continue-as-new-forced-sooner');
      }
      return quietPatch;
    };
    const forced = () => workflowInfo().historyLength > (forceSooner ? (input.forceContinueAtEvents ?? DEFAULT_FORCE_CONTINUE_AT_EVENTS) : FORCE_CONTINUE_AT_EVENTS);
    const laneIdle = () => !hasWebhookWork() && !fetching;
    /**
     * Continue-as-new once the webhook lane is between fetches (its ids not fetched yet go along).
     * A signal landing while the run closes makes the server refuse the close (and, signals coming
     * fast, refuse signals for a while): seconds of stall in a webhook stream. So, unless the history
     * is getting long, only in a quiet moment: no ids waiting, no fetch running, none coming for
     * QUIET_BEFORE_CONTINUE_MS. Answers false when it did not close.
     */
    const closeRun = async (): Promise<boolean> => {
      let held = false;
      if (quietFirst() && !forced()) {
        if (!laneIdle()) return false;
        if (await condition(() => !laneIdle() || state.pending.length > 0 || reconfigured, QUIET_BEFORE_CONTINUE_MS)) return false;
      } else if (quietFirst() && patched('continue-as-new-signals-held')) {
        // Forced, the stream not pausing: the server would refuse the close while signals land
        // and replay the long history after each refusal (seconds of stall). So the webhook inbox
        // holds this workflow's signals (the deliveries are kept, not refused) until the next run.
        try {
          await shortCall.holdWebhookSignals({ system, connection, seconds: HOLD_SIGNALS_SECONDS });
          held = true;
        } catch {
          // Postgres unreachable: close as before, signals and all
        }
      }
      closing = true;
      await condition(() => !fetching);
      // A syncNow that came in meanwhile is answered by this run.
      if (state.pending.some((r) => r.requestId)) {
        closing = false;
        if (held) await shortCall.releaseWebhookSignals({ system, connection }).catch(() => undefined);
        return false;
      }
      state.dueAt = dueAt;
      if (held) state.signalsHeld = true;
      return continueRun();
    };
    for (;;) {
      if (state.pending.length === 0 && Date.now() < dueAt) {
        reconfigured = false;
        nextCycleAt = new Date(dueAt).toISOString();
        const quiet = quietFirst();
        const closeDue = () => (quiet ? cycleDue() && (laneIdle() || forced()) : workflowInfo().continueAsNewSuggested);
        await condition(() => state.pending.length > 0 || reconfigured || closeDue(), dueAt - Date.now());
        if (state.pending.length === 0 && Date.now() < dueAt) {
          if (reconfigured) dueAt = Date.now() + intervalMs(); // new settings: wait the new interval
          else if (closeDue()) await closeRun();
          continue;
        }
      }
      await runCycle(state.pending.splice(0));
      dueAt = Date.now() + intervalMs();
      if (!state.pending.some((r) => r.requestId) && cycleDue()) await closeRun();
    }
  }

  for (;;) {
    if (!runNow && state.pending.length === 0) {
      reconfigured = false;
      if (!hasWebhookWork()) {
        nextCycleAt = new Date(Date.now() + settings.intervalSeconds * 1000).toISOString();
        const woken = await condition(() => state.pending.length > 0 || reconfigured || hasWebhookWork(), settings.intervalSeconds * 1000);
        if (woken && state.pending.length === 0 && !hasWebhookWork()) continue; // new settings: wait again
      }
      if (state.pending.length === 0 && hasWebhookWork()) {
        // Webhooks named records: fetch exactly those, now, without a full cycle.
        await fetchWebhookRecords();
        if (workflowInfo().continueAsNewSuggested && !state.pending.some((r) => r.requestId)) {
          // Continue-as-new in a quiet moment: a signal arriving while the run closes makes the server
          // refuse the close and the task is retried, which stalls a busy webhook stream. Forced
          // only when the history gets long.
          const busy = await condition(() => hasWebhookWork() || state.pending.length > 0, QUIET_BEFORE_CONTINUE_MS);
          if (!busy || workflowInfo().historyLength > FORCE_CONTINUE_AT_EVENTS) await continueRun();
        }
        continue;
      }
    }
    runNow = false;
    await runCycle(state.pending.splice(0));
    if (!state.pending.some((r) => r.requestId) && cycleDue()) await continueRun();
  }
}
