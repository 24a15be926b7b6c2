/**
 * Gmail's error bodies. gmail.googleapis.com is a newer surface than Calendar's: every error carries
 * the canonical `status` (NOT_FOUND, INVALID_ARGUMENT, ...), and most 400s have reason
 * `invalidArgument` (`failedPrecondition` for a service account without a mailbox, `invalid` for a
 * parameter that does not parse).
 */
import { GoogleError } from '../errors';

const NOT_FOUND = 'Requested entity was not found.';

/** 404 as Gmail sends it for an unknown message, thread, label, or an expired history id. */
export const gmailNotFound = (): GoogleError => GoogleError.of(404, 'notFound', NOT_FOUND, { status: 'NOT_FOUND' });

export const invalidArgument = (message: string): GoogleError => GoogleError.of(400, 'invalidArgument', message, { status: 'INVALID_ARGUMENT' });

/** A parameter value that does not parse (gRPC transcoding's wording). */
export const invalidValue = (field: string, type: string, value: string): GoogleError =>
  GoogleError.of(400, 'invalid', `Invalid value at '${field}' (${type}), "${value}"`, { status: 'INVALID_ARGUMENT' });

/** A service account calling Gmail as itself (no domain-wide delegation subject): it has no mailbox. */
export const failedPrecondition = (): GoogleError =>
  GoogleError.of(400, 'failedPrecondition', 'Precondition check failed.', { status: 'FAILED_PRECONDITION' });

/** `userId` names someone other than the token's user. */
export const delegationDenied = (principal: string): GoogleError =>
  GoogleError.of(403, 'forbidden', `Delegation denied for ${principal}`, { status: 'PERMISSION_DENIED' });

export const forbidden = (message: string): GoogleError => GoogleError.of(403, 'forbidden', message, { status: 'PERMISSION_DENIED' });

export const labelConflict = (): GoogleError => GoogleError.of(409, 'aborted', 'Label name exists or conflicts', { status: 'ABORTED' });

export const notImplemented = (method: string): GoogleError =>
  GoogleError.of(501, 'notImplemented', `The Google sandbox does not implement ${method} (sending mail is not part of sync).`, {
    status: 'UNIMPLEMENTED',
  });
