/** HubSpot-shaped error bodies. */
import { randomUUID } from 'node:crypto';

export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  subCategory?: string;
  context?: Record<string, string[]>;
  errors?: Array<{ message: string; code?: string; context?: Record<string, string[]>; in?: string }>;
  [key: string]: unknown;
}

/** An error that the routes turn into a HubSpot error response. */
export class HsError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'category' | 'correlationId'>> = {},
  ) {
    super(message);
    this.name = 'HsError';
  }

  body(): HubSpotErrorBody {
    return { status: 'error', message: this.message, correlationId: randomUUID(), category: this.category, ...this.extra };
  }
}

export function errorBody(category: string, message: string, extra: Record<string, unknown> = {}): HubSpotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

/** One entry of the `Property values were not valid: [...]` list. */
export interface PropertyValidationError {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage?: string;
}

export function propertyValidationError(problems: PropertyValidationError[]): HsError {
  const list = problems.map((p) => ({ ...p, localizedErrorMessage: p.localizedErrorMessage ?? p.message }));
  return new HsError(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(list)}`, {
    errors: problems.map((p) => ({ message: p.message, code: p.error, context: { propertyName: [p.name] } })),
  });
}

export function validationError(message: string, extra: HsError['extra'] = {}): HsError {
  return new HsError(400, 'VALIDATION_ERROR', message, extra);
}

export const AUTH_MISSING_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';
export const AUTH_INVALID_MESSAGE =
  'The access token provided is invalid or expired. Check the token or generate a new one.';

export type RatePolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';

export function rateLimitBody(policy: RatePolicy): Record<string, string> {
  const message =
    policy === 'DAILY'
      ? 'You have reached your daily limit.'
      : policy === 'SECONDLY'
        ? 'You have reached your secondly limit.'
        : 'You have reached your ten_secondly_rolling limit.';
  return {
    status: 'error',
    message,
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: policy,
    requestId: randomUUID(),
  };
}

/** Body for an injected or generic error with the given HTTP status. */
export function bodyForStatus(status: number): Record<string, unknown> {
  if (status === 429) return rateLimitBody('TEN_SECONDLY_ROLLING');
  if (status >= 500) return errorBody('INTERNAL_ERROR', 'internal error');
  const category =
    status === 401
      ? 'INVALID_AUTHENTICATION'
      : status === 403
        ? 'MISSING_SCOPES'
        : status === 404
          ? 'OBJECT_NOT_FOUND'
          : status === 409
            ? 'CONFLICT'
            : 'VALIDATION_ERROR';
  return errorBody(category, `Injected error ${status}`);
}
