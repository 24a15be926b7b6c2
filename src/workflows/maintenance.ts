/**
 * Scheduled maintenance, started by Temporal Schedules (src/schedules.ts), never by a loop:
 *   - `reconcileWorkflow`: a full listing of each entity type of one connection compared with the
 *     registry — what incremental feeds and webhooks missed (deletions never reported, changes made
 *     while a cursor was lost, registry rows whose record is gone) is repaired through the normal
 *     pull path (same conflict, echo and event rules) behind the mass-delete guard. Its result says
 *     what was checked and repaired, by kind, in the Temporal UI.
 *   - `renewChannelsWorkflow`: every connection's push channels and watches renewed well before they
 *     expire (and re-opened when missing), whether or not a sync cycle runs.
 * Both carry only ids; activities do the I/O.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_SYNC } from '../core/errors';
import type { ReconcileSummary, ReconcileWorkflowInput, RenewChannelsSummary, RenewChannelsWorkflowInput } from './definitions';

const listing = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE_SYNC },
});
const short = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_SYNC },
});

function reason(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : String(cause);
}

export async function reconcileWorkflow(input: ReconcileWorkflowInput): Promise<ReconcileSummary> {
  const { system, connection } = input;
  const startedAt = new Date().toISOString();
  const entities: ReconcileSummary['entities'] = {};
  for (const entityType of input.entityTypes) {
    try {
      const r = await listing.pullEntity({ system, connection, entityType, cursor: null, full: true });
      const c = r.counts;
      entities[entityType] = {
        checked: c.created + c.updated + c.unchanged + c.conflicts,
        created: c.created,
        updated: c.updated,
        deleted: c.deleted,
        heldDeletions: c.heldDeletions ?? 0,
        conflicts: c.conflicts,
        error: null,
      };
    } catch (err) {
      entities[entityType] = { checked: 0, created: 0, updated: 0, deleted: 0, heldDeletions: 0, conflicts: 0, error: reason(err) };
    }
  }
  const summary: ReconcileSummary = { system, connection, startedAt, finishedAt: new Date().toISOString(), entities };
  await short.recordReconciliation(summary);
  // A type that could not be reconciled fails the run (visible, and the schedule can pause on it).
  const failed = Object.entries(entities).filter(([, e]) => e.error);
  if (failed.length) {
    throw ApplicationFailure.create({
      type: 'RECONCILE_FAILED',
      message: `reconciliation of ${system}${connection === 'default' ? '' : ` ${connection}`} failed for ${failed.map(([t, e]) => `${t} (${e.error})`).join('; ')}`,
      nonRetryable: true,
      details: [summary],
    });
  }
  return summary;
}

export async function renewChannelsWorkflow(input: RenewChannelsWorkflowInput): Promise<RenewChannelsSummary> {
  const connections: RenewChannelsSummary['connections'] = {};
  for (const connection of input.connections) {
    const c = (connections[connection] = { renewed: 0, errors: 0 });
    for (const entityType of input.entityTypes) {
      try {
        const r = await short.renewChannels({ system: input.system, connection, entityType });
        c.renewed += r.renewed;
        c.errors += r.errors;
      } catch {
        c.errors++;
      }
    }
  }
  return { system: input.system, connections };
}
