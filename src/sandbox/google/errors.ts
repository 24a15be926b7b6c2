/**
 * Google-shaped error bodies, shared by every emulated API (Calendar now; Gmail and Drive later).
 *
 * The APIs on www.googleapis.com answer `{"error":{"errors":[{domain, reason, message, location?,
 * locationType?}], "code", "message", "status"?}}`. The canonical `status` (UNAUTHENTICATED,
 * PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...) is present on the auth and quota errors of the newer
 * front end and absent on most API-specific Calendar errors (410 fullSyncRequired, 412, 404, ...).
 * The OAuth token endpoint has its own shape, `{error, error_description}` (see `OAuthError`).
 */

export interface ErrorItem {
  domain: string;
  reason: string;
  message: string;
  location?: string;
  locationType?: string;
}

export interface GoogleErrorBody {
  error: { errors: ErrorItem[]; code: number; message: string; status?: string };
}

/** An API error; the pipeline turns it into the response (status, Google body, extra headers). */
export class GoogleError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly items: ErrorItem[],
    readonly status?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GoogleError';
  }

  static of(
    code: number,
    reason: string,
    message: string,
    opts: { domain?: string; location?: string; locationType?: string; status?: string; headers?: Record<string, string> } = {},
  ): GoogleError {
    const item: ErrorItem = { domain: opts.domain ?? 'global', reason, message };
    if (opts.location !== undefined) item.location = opts.location;
    if (opts.locationType !== undefined) item.locationType = opts.locationType;
    return new GoogleError(code, message, [item], opts.status, opts.headers);
  }

  body(): GoogleErrorBody {
    const error: GoogleErrorBody['error'] = { errors: this.items, code: this.code, message: this.message };
    if (this.status !== undefined) error.status = this.status;
    return { error };
  }
}

// ---- common API errors -------------------------------------------------------------------------

export const notFound = (): GoogleError => GoogleError.of(404, 'notFound', 'Not Found');

export const invalid = (message: string, opts: { location?: string; locationType?: string } = {}): GoogleError =>
  GoogleError.of(400, 'invalid', message, opts);

export const required = (message: string, opts: { location?: string; locationType?: string } = {}): GoogleError =>
  GoogleError.of(400, 'required', message, opts);

export const badRequest = (): GoogleError => GoogleError.of(400, 'badRequest', 'Bad Request');

export const parseError = (): GoogleError => GoogleError.of(400, 'parseError', 'Parse Error');

const WWW_AUTHENTICATE = 'Bearer realm="https://accounts.google.com/"';

/**
 * 401. A missing Authorization header gets Google's "Login Required" variant (reason `required`);
 * an unknown, expired or revoked token gets `authError` "Invalid Credentials".
 */
export function authError(missing: boolean): GoogleError {
  const headers = { 'WWW-Authenticate': WWW_AUTHENTICATE };
  const tail =
    'Expected OAuth 2 access token, login cookie or other valid authentication credential. ' +
    'See https://developers.google.com/identity/sign-in/web/devconsole-project.';
  const item: ErrorItem = missing
    ? { message: 'Login Required.', domain: 'global', reason: 'required', location: 'Authorization', locationType: 'header' }
    : { message: 'Invalid Credentials', domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' };
  const message = missing ? `Request is missing required authentication credential. ${tail}` : `Request had invalid authentication credentials. ${tail}`;
  return new GoogleError(401, message, [item], 'UNAUTHENTICATED', headers);
}

/** 403 for a token whose scopes do not cover the method. */
export function insufficientScopes(): GoogleError {
  return new GoogleError(
    403,
    'Request had insufficient authentication scopes.',
    [{ message: 'Insufficient Permission', domain: 'global', reason: 'insufficientPermissions' }],
    'PERMISSION_DENIED',
    { 'WWW-Authenticate': `${WWW_AUTHENTICATE}, error="insufficient_scope"` },
  );
}

const REASON_MESSAGES: Record<string, string> = {
  rateLimitExceeded: 'Rate Limit Exceeded',
  userRateLimitExceeded: 'User Rate Limit Exceeded',
  quotaExceeded: 'Calendar usage limits exceeded.',
  backendError: 'Backend Error',
};

/**
 * A quota refusal: 403 PERMISSION_DENIED or 429 RESOURCE_EXHAUSTED, domain usageLimits. Google sends
 * no Retry-After; clients are expected to back off exponentially.
 */
export function rateLimitError(code: 403 | 429, reason = 'rateLimitExceeded'): GoogleError {
  const message = REASON_MESSAGES[reason] ?? reason;
  return GoogleError.of(code, reason, message, { domain: 'usageLimits', status: code === 429 ? 'RESOURCE_EXHAUSTED' : 'PERMISSION_DENIED' });
}

/** 500 / 503 as the Google front end sends them. */
export function backendError(code: 500 | 502 | 503 | 504): GoogleError {
  if (code === 503) return GoogleError.of(503, 'backendError', 'The service is currently unavailable.', { status: 'UNAVAILABLE' });
  return GoogleError.of(code, 'backendError', 'Backend Error', { status: code === 500 ? 'INTERNAL' : 'UNAVAILABLE' });
}

/** The error an injected fault burst answers with. */
export function faultError(code: 403 | 429 | 500 | 503, reason?: string): GoogleError {
  if (code === 403 || code === 429) return rateLimitError(code, reason ?? 'rateLimitExceeded');
  if (reason === undefined || reason === 'backendError') return backendError(code);
  return GoogleError.of(code, reason, REASON_MESSAGES[reason] ?? reason, { status: code === 500 ? 'INTERNAL' : 'UNAVAILABLE' });
}

// ---- OAuth token endpoint ----------------------------------------------------------------------

/** `{error, error_description}` as oauth2.googleapis.com/token answers (400 or 401). */
export class OAuthError extends Error {
  constructor(
    readonly httpStatus: 400 | 401,
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope',
    description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}
