/**
 * Google Workspace: one connection per user (GOOGLE_USERS), through a service account with
 * domain-wide delegation or one user's OAuth refresh token. Each product is one folder (calendar/,
 * gmail/, drive/) listed once in PRODUCTS; they share the auth and Google's backoff, each with its
 * own per-user budget.
 */
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import type { ConnectorDefinition } from '../types';
import { calendarProduct } from './calendar';
import { driveProduct } from './drive';
import { gmailProduct } from './gmail';
import { GOOGLE_CREDENTIALS_FILE, GOOGLE_SYSTEM, googleConfig, parseGoogleWorkspaceConfig } from './config';
import { GoogleWorkspaceConnector } from './connector';
import { createSession, type GoogleProductModule } from './session';
import { googleWebhooks } from './webhooks';

/** The Google products synced: one line each. */
export const PRODUCTS: readonly GoogleProductModule[] = [calendarProduct, gmailProduct as GoogleProductModule, driveProduct as GoogleProductModule];

/** The OAuth scopes the products need (a service account asks for these; a refresh token must carry them). */
export const GOOGLE_SCOPES = [...new Set(PRODUCTS.flatMap((p) => p.scopes))];

export const googleWorkspace: ConnectorDefinition = {
  system: GOOGLE_SYSTEM,
  title: 'Google Workspace',
  parseConfig(env, secrets) {
    const cfg = parseGoogleWorkspaceConfig(env, secrets);
    for (const p of PRODUCTS) cfg.products[p.name] = p.parseConfig?.(env, secrets);
    return cfg;
  },
  entities: PRODUCTS.flatMap((p) => p.entities),
  migrationsDir: join(__dirname, 'migrations'),
  connections(cfg) {
    const g = googleConfig(cfg);
    if (!g.credentials) {
      return {
        notConfigured:
          `put a service-account key (with domain-wide delegation) or an authorized_user file at ${g.credentialsPath} ` +
          `(or set GOOGLE_CREDENTIALS_PATH; default <SECRETS_DIR>/${GOOGLE_CREDENTIALS_FILE}) and list the mailboxes in GOOGLE_USERS`,
      };
    }
    return { connections: [...g.users] };
  },
  create(cfg, connection, ctx) {
    const g = googleConfig(cfg);
    if (!g.credentials) {
      throw ApplicationFailure.create({ type: ErrorType.NotConfigured, message: 'google_workspace is not configured (no credentials file)', nonRetryable: true });
    }
    if (!g.users.includes(connection)) {
      throw ApplicationFailure.create({ type: ErrorType.NotConfigured, message: `google_workspace has no connection "${connection}" (GOOGLE_USERS)`, nonRetryable: true });
    }
    const session = createSession(g, g.credentials, connection, GOOGLE_SCOPES, ctx);
    return new GoogleWorkspaceConnector(session, PRODUCTS.map((p) => p.create(session)));
  },
  webhooks: googleWebhooks(PRODUCTS),
};
