/**
 * Failure types shared by connectors, activities and workflows (`ApplicationFailure.type`).
 * Workflows branch on these, never on message text or `instanceof`. No imports: workflow-safe.
 */
export const ErrorType = {
  RateLimited: 'RATE_LIMITED',
  Auth: 'AUTH_FAILED',
  NotConfigured: 'NOT_CONFIGURED',
  Upstream: 'UPSTREAM_ERROR',
  BadRequest: 'BAD_REQUEST',
  UnknownSystem: 'UNKNOWN_SYSTEM',
  /** a conflict resolution for a record with no open conflict */
  ConflictNotOpen: 'CONFLICT_NOT_OPEN',
  /** a resolution the external system or the store refused */
  InvalidResolution: 'INVALID_RESOLUTION',
  /** a resolve update that could not be applied */
  ResolutionFailed: 'RESOLUTION_FAILED',
} as const;
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Failures no retry can fix: the workflow reports them instead of retrying. */
export const NON_RETRYABLE_SYNC: string[] = [ErrorType.Auth, ErrorType.NotConfigured, ErrorType.BadRequest, ErrorType.UnknownSystem];
export const NON_RETRYABLE_CONFLICT: string[] = [
  ErrorType.ConflictNotOpen,
  ErrorType.InvalidResolution,
  ErrorType.BadRequest,
  ErrorType.Auth,
  ErrorType.NotConfigured,
];
