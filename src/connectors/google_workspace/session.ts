/**
 * What every Google product (Calendar; later Gmail, Drive) of one connection shares: the user, the
 * auth client (tokens refreshed by google-auth-library), the request budget with Google's backoff,
 * and the options each googleapis client is built with.
 */
import type { OAuth2Client } from 'google-auth-library';
import { sha256Hex } from '../../core/secure';
import type { Connector, ConnectorContext } from '../types';
import { authAdvice, createAuthClient } from './auth';
import type { GoogleCredentials, GoogleWorkspaceConfig } from './config';
import { GoogleRequester } from './errors';

export interface GoogleSession {
  /** the connection: the user's email */
  user: string;
  cfg: GoogleWorkspaceConfig;
  requester: GoogleRequester;
  /**
   * Options for `calendar({version, ...apiOptions})` and its siblings: the auth client, the root URL
   * (sandbox), no gaxios retries (GoogleRequester retries), a request timeout.
   */
  apiOptions: { auth: never; rootUrl?: string; retry: false; timeout: number };
}

/** One Google product's part of the connector: the entity types it serves and their operations. */
export type GoogleProduct = Omit<Connector, 'system' | 'connection' | 'batchSize' | 'prepare'> & {
  readonly entityTypes: readonly string[];
};

export const REQUEST_TIMEOUT_MS = 60_000;

/** The budget key of a user: a hash of the user and the credentials' client id (never a secret). */
export function budgetKey(creds: GoogleCredentials, user: string): string {
  return `google:${sha256Hex(`${creds.clientId}\n${user}`).slice(0, 20)}:minute`;
}

export function createSession(
  cfg: GoogleWorkspaceConfig,
  creds: GoogleCredentials,
  user: string,
  scopes: string[],
  ctx: Pick<ConnectorContext, 'budget' | 'onRequest'>,
  opts: { maxAttempts?: number; backoffBaseMs?: number } = {},
): GoogleSession {
  const auth: OAuth2Client = createAuthClient(creds, user, { scopes, tokenUrl: cfg.tokenUrl });
  const requester = new GoogleRequester({
    user,
    budget: ctx.budget(budgetKey(creds, user), cfg.quotaPerUserPerMinute, 60_000),
    authAdvice: authAdvice(creds, user, scopes),
    onRequest: ctx.onRequest,
    maxAttempts: opts.maxAttempts,
    backoffBaseMs: opts.backoffBaseMs,
  });
  // google-auth-library's client is structurally googleapis-common's (its nested copy has another
  // version of the same class); the cast only bridges the two declarations.
  return { user, cfg, requester, apiOptions: { auth: auth as never, rootUrl: cfg.apiRootUrl, retry: false, timeout: REQUEST_TIMEOUT_MS } };
}
