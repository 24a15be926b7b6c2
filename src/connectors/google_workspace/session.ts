/**
 * What every Google product (Calendar, Gmail, Drive) of one connection shares: the user, the auth
 * client (tokens refreshed by google-auth-library), Google's backoff, and the options each
 * googleapis client is built with. Quotas are per API, so each product takes its own request
 * budget (`requester(name, limit)`), all counted in one set of call counters.
 */
import type { OAuth2Client } from 'google-auth-library';
import type { EntitySpec } from '../../core/model';
import { jointBudget } from '../../core/ratelimit';
import { sha256Hex } from '../../core/secure';
import type { Connector, ConnectorContext, SecretReader, WebhookContext, WebhookRequest, WebhookVerdict } from '../types';
import type { Config } from '../../config';
import { authAdvice, createAuthClient } from './auth';
import type { GoogleCredentials, GoogleWorkspaceConfig } from './config';
import { GoogleRequester, type RequesterCalls } from './errors';

export interface GoogleSession {
  /** the connection: the user's email */
  user: string;
  cfg: GoogleWorkspaceConfig;
  /**
   * The request budget of one product of this user (per rolling minute, shared by every worker)
   * with Google's backoff. `product` names the budget ('calendar', 'gmail', 'drive'); the limit is
   * in the product's unit (Calendar and Drive: requests; Gmail: quota units). With
   * `projectLimitPerMinute`, every request also takes its share of the project's budget (all users
   * of the credentials' project).
   */
  requester(product: string, limitPerMinute: number, projectLimitPerMinute?: number): GoogleRequester;
  /** API requests made, rate-limit refusals and retries, over every product */
  calls: RequesterCalls;
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

/**
 * A Google product as the connector definition sees it: one folder (calendar/, gmail/, drive/)
 * exporting one of these, listed once in ../index.ts. Its settings are its own (`parseConfig`,
 * read back with `productConfig`); the shared ones (users, credentials, roots) are in config.ts.
 */
export interface GoogleProductModule<C = unknown> {
  readonly name: string;
  readonly entities: readonly EntitySpec[];
  /** the OAuth scopes it needs (a service account asks for these; a refresh token must carry them) */
  readonly scopes: readonly string[];
  parseConfig?(env: Record<string, string>, secrets: SecretReader): C;
  create(session: GoogleSession): GoogleProduct;
  /**
   * Its own notifications on POST /api/webhooks/google (Gmail's Pub/Sub pushes), for requests that
   * are not push-channel notifications (no X-Goog-Channel-ID).
   */
  webhook?: {
    accepts(req: WebhookRequest): boolean;
    handle(req: WebhookRequest, ctx: WebhookContext, cfg: Config): Promise<WebhookVerdict>;
  };
}

/** A product's parsed settings (from its parseConfig). */
export function productConfig<C>(session: GoogleSession, product: GoogleProductModule<C>): C {
  return session.cfg.products[product.name] as C;
}

export const REQUEST_TIMEOUT_MS = 60_000;

/** The budget key of a user's product: a hash of the user and the credentials' client id (never a secret). */
export function budgetKey(creds: GoogleCredentials, user: string, product = 'calendar'): string {
  // Calendar's key predates the per-product budgets; it keeps its name.
  const suffix = product === 'calendar' ? 'minute' : `${product}:minute`;
  return `google:${sha256Hex(`${creds.clientId}\n${user}`).slice(0, 20)}:${suffix}`;
}

/** The budget key of a product's project-wide quota (every user of these credentials). */
export const projectBudgetKey = (creds: GoogleCredentials, product: string): string =>
  `google:${sha256Hex(`${creds.clientId}\nproject`).slice(0, 20)}:${product}:project:minute`;

export function createSession(
  cfg: GoogleWorkspaceConfig,
  creds: GoogleCredentials,
  user: string,
  scopes: string[],
  ctx: Pick<ConnectorContext, 'budget' | 'onRequest' | 'onRateLimited'>,
  opts: { maxAttempts?: number; backoffBaseMs?: number } = {},
): GoogleSession {
  const auth: OAuth2Client = createAuthClient(creds, user, { scopes, tokenUrl: cfg.tokenUrl });
  const calls: RequesterCalls = { total: 0, rateLimited: 0, retried: 0 };
  const requesters = new Map<string, GoogleRequester>();
  const requester = (product: string, limitPerMinute: number, projectLimitPerMinute?: number): GoogleRequester => {
    let r = requesters.get(product);
    if (!r) {
      const mine = ctx.budget(budgetKey(creds, user, product), limitPerMinute, 60_000);
      r = new GoogleRequester({
        user,
        budget: projectLimitPerMinute ? jointBudget(mine, ctx.budget(projectBudgetKey(creds, product), projectLimitPerMinute, 60_000)) : mine,
        authAdvice: authAdvice(creds, user, scopes),
        onRequest: ctx.onRequest,
        onRateLimited: ctx.onRateLimited,
        maxAttempts: opts.maxAttempts,
        backoffBaseMs: opts.backoffBaseMs,
        calls,
      });
      requesters.set(product, r);
    }
    return r;
  };
  // google-auth-library's client is structurally googleapis-common's (its nested copy has another
  // version of the same class); the cast only bridges the two declarations.
  return { user, cfg, requester, calls, apiOptions: { auth: auth as never, rootUrl: cfg.apiRootUrl, retry: false, timeout: REQUEST_TIMEOUT_MS } };
}
