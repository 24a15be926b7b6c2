/**
 * Fireflies' error shape (docs: fundamentals/errors, miscellaneous/error-codes):
 *
 *   { "data": ..., "errors": [{ "message", "friendly": true, "code": "object_not_found",
 *       "extensions": { "code": "object_not_found", "status": 404, "metadata": {...} } }] }
 *
 * Resolvers throw `FirefliesError`; graphql-js locates it (locations, path) and keeps its
 * extensions. GraphQL-level failures (syntax, validation, variables) keep the standard
 * graphql-js shape with Apollo's `extensions.code` and are answered HTTP 400.
 */
import type { GraphQLError } from 'graphql';

export type FirefliesErrorCode =
  | 'auth_failed'
  | 'too_many_requests'
  | 'invalid_arguments'
  | 'object_not_found'
  | 'forbidden'
  | 'args_required';

export class FirefliesError extends Error {
  constructor(
    readonly code: FirefliesErrorCode | string,
    message: string,
    readonly status: number,
    readonly metadata?: Record<string, unknown>,
    readonly friendly = true,
  ) {
    super(message);
    this.name = 'FirefliesError';
  }

  /** graphql-js copies an original error's `extensions` onto the located GraphQLError. */
  get extensions(): Record<string, unknown> {
    return { code: this.code, status: this.status, ...(this.metadata ? { metadata: this.metadata } : {}) };
  }

  toJSON(): Record<string, unknown> {
    return { message: this.message, friendly: this.friendly, code: this.code, extensions: this.extensions };
  }
}

/** class-validator's messages, as Fireflies returns them in `metadata.fields`. */
export function invalidArguments(fields: Array<{ name: string; message: string; type: string }>, message = 'Invalid argument(s) were provided'): FirefliesError {
  return new FirefliesError('invalid_arguments', message, 400, {
    fields: fields.map((f) => ({ name: f.name, message: f.message, constraints: [{ type: f.type, message: f.message }] })),
  });
}

export function notFound(objectType: string): FirefliesError {
  return new FirefliesError('object_not_found', `${objectType} not found`, 404, { objectType });
}

export function authFailed(missing: boolean): FirefliesError {
  return new FirefliesError(
    'auth_failed',
    missing ? 'Missing API key. Pass it as "Authorization: Bearer <api key>".' : 'Invalid API key. Please check your API key and try again.',
    401,
  );
}

export function tooManyRequests(retryAt: number): FirefliesError {
  return new FirefliesError(
    'too_many_requests',
    `Too many requests. Please retry after ${new Date(retryAt).toUTCString()} (UTC)`,
    429,
    { retryAfter: retryAt },
  );
}

/**
 * One located GraphQL error as JSON: a resolver's FirefliesError with Fireflies' fields, any other
 * resolver failure as an internal error; request errors (syntax, validation, variables) as
 * graphql-js reports them, with `extensions.code` = `code`.
 */
export function formatError(e: GraphQLError, code?: string): Record<string, unknown> {
  const out: Record<string, unknown> = { message: e.message };
  if (e.locations) out.locations = e.locations;
  if (e.path) out.path = e.path;
  const orig = code === undefined ? e.originalError : undefined;
  if (orig instanceof FirefliesError) {
    out.friendly = orig.friendly;
    out.code = orig.code;
    out.extensions = orig.extensions;
    return out;
  }
  if (orig) {
    // an unexpected resolver failure: Fireflies' generic internal error
    out.message = 'Internal server error';
    out.friendly = false;
    out.code = 'INTERNAL_SERVER_ERROR';
    out.extensions = { code: 'INTERNAL_SERVER_ERROR', status: 500 };
    return out;
  }
  const c = typeof e.extensions?.code === 'string' ? e.extensions.code : (code ?? 'INTERNAL_SERVER_ERROR');
  out.extensions = { ...e.extensions, code: c };
  return out;
}
