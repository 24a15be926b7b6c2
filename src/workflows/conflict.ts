/**
 * One workflow per conflicted record (`conflict:<system>:<entity_type>:<local_id>`): it holds the
 * conflict until a person resolves it (signal or update `resolve`), a deadline resolves it by
 * last-write-wins, or it is resolved elsewhere (an operator retry); the decision is applied by an
 * activity and the result is the workflow's result, shown in the Temporal Web UI.
 */
import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, NON_RETRYABLE_CONFLICT } from '../core/errors';
import {
  detailsQuery,
  refreshSignal,
  resolveSignal,
  resolveUpdate,
  SA_ENTITY_TYPE,
  SA_STATUS,
  SA_SYSTEM,
  validateResolution,
  type ConflictDetails,
  type ConflictResult,
  type ConflictWorkflowInput,
  type ResolutionInput,
} from './definitions';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_CONFLICT },
});

function message(err: unknown): string {
  const e = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return e instanceof Error ? e.message : String(e);
}

export async function conflictWorkflow(input: ConflictWorkflowInput): Promise<ConflictResult> {
  const { system, entityType, localId } = input;
  let details: ConflictDetails | null = null;
  let refresh = true;
  let pending: ResolutionInput | null = null;
  let result: ConflictResult | null = null;
  let attempts = 0;
  let lastFailure: string | null = null;
  const rejected: string[] = [];
  const deadline = input.autoResolveAfterMs ? Date.now() + input.autoResolveAfterMs : null;

  setHandler(refreshSignal, () => {
    refresh = true;
  });
  setHandler(resolveSignal, (resolution) => {
    // A signal cannot answer: invalid input is recorded (see the details query) and changes nothing.
    const error = result || pending ? 'this conflict is already resolved' : details ? validateResolution(resolution, details) : 'the conflict is still loading';
    if (error) rejected.push(error);
    else pending = resolution;
  });
  setHandler(
    resolveUpdate,
    async (resolution) => {
      const before = attempts;
      pending = resolution;
      await condition(() => attempts > before);
      if (!result) throw ApplicationFailure.create({ type: ErrorType.ResolutionFailed, message: lastFailure ?? 'not applied' });
      return result;
    },
    {
      validator: (resolution) => {
        if (result || pending) throw new Error('this conflict is already resolved');
        if (!details) throw new Error('the conflict is still loading; try again in a moment');
        const error = validateResolution(resolution, details);
        if (error) throw new Error(error);
      },
    },
  );
  setHandler(detailsQuery, () => ({
    id: workflowInfo().workflowId,
    status: result ? 'resolved' : pending ? 'resolving' : 'open',
    details,
    result,
    rejected,
    autoResolveAt: deadline ? new Date(deadline).toISOString() : null,
  }));

  upsertSearchAttributes([
    { key: SA_SYSTEM, value: system },
    { key: SA_ENTITY_TYPE, value: entityType },
    { key: SA_STATUS, value: 'open' },
  ]);

  while (!result) {
    if (refresh) {
      refresh = false;
      details = await acts.loadConflictDetails({ system, entityType, localId });
      if (!details || details.status !== 'conflict') {
        result = { outcome: 'closed', summary: 'no open conflict for this record any more (resolved elsewhere)', at: new Date().toISOString() };
        attempts++; // answers a resolve update that was waiting
        break;
      }
      upsertMemo({ summary: `${system} ${entityType} ${localId}: ${details.fields.join(', ') || 'changed on both sides'}` });
    }
    if (pending) {
      const resolution: ResolutionInput = pending;
      try {
        result = await acts.resolveConflict({ system, entityType, localId, resolution });
      } catch (err) {
        lastFailure = message(err);
        rejected.push(`could not apply: ${lastFailure}`);
        pending = null;
        refresh = true;
      }
      attempts++;
      continue;
    }
    const woken = deadline
      ? await condition(() => refresh || pending !== null, Math.max(1, deadline - Date.now()))
      : (await condition(() => refresh || pending !== null), true);
    if (!woken) pending = { choice: 'last-write-wins', resolvedBy: 'policy (CONFLICT_AUTO_RESOLVE_AFTER)', byPolicy: true };
  }

  upsertSearchAttributes([{ key: SA_STATUS, value: 'resolved' }]);
  upsertMemo({ summary: result.summary });
  await condition(allHandlersFinished);
  return result;
}
