/**
 * Gmail settings (GMAIL_*): bodies, the per-user unit budget, concurrency of thread reads, and
 * real-time delivery — the Pub/Sub topic users.watch publishes to, and how a push delivery to
 * POST /api/webhooks/google is verified (the push subscription's OIDC token and/or a secret token
 * in the push URL).
 */
import { z } from 'zod';
import { ConfigError, optionalSecret, parseEnv } from '../../../core/env';
import type { SecretReader } from '../../types';

export const GMAIL_PUSH_TOKEN_FILE = 'gmail-push-token.txt';
/** Google's signing keys for ID tokens (PEM by kid) */
export const GOOGLE_CERTS_URL = 'https://www.googleapis.com/oauth2/v1/certs';

const GmailEnv = {
  /** copy plain-text bodies of messages (format=full instead of metadata); default off */
  GMAIL_SYNC_BODIES: z.enum(['true', 'false']).default('false'),
  /** quota units per user per rolling minute the engine allows itself (Gmail's per-user limit: 15,000) */
  GMAIL_QUOTA_UNITS_PER_USER_PER_MINUTE: z.coerce.number().int().min(100).default(15_000),
  /** quota units per rolling minute for every mailbox together (Gmail's per-project limit: 1,200,000) */
  GMAIL_QUOTA_UNITS_PER_PROJECT_PER_MINUTE: z.coerce.number().int().min(100).default(1_200_000),
  /** threads.get requests in flight per mailbox (the unit budget still bounds the rate) */
  GMAIL_READ_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** users.watch topic, projects/<project>/topics/<topic>; unset: no watch (polling only) */
  GMAIL_PUBSUB_TOPIC: z
    .string()
    .trim()
    .regex(/^projects\/[^/\s]+\/topics\/[A-Za-z][\w.~+%-]{2,254}$/, 'must be projects/<project>/topics/<topic>')
    .optional(),
  /** the push subscription's OIDC audience (as configured on the subscription) */
  GMAIL_PUSH_AUDIENCE: z.string().trim().min(1).optional(),
  /** the service account the push subscription signs its OIDC tokens as */
  GMAIL_PUSH_SERVICE_ACCOUNT: z.email({ message: 'must be an email address' }).optional(),
  /** a secret the push endpoint URL carries as ?token=… (or <SECRETS_DIR>/gmail-push-token.txt) */
  GMAIL_PUSH_TOKEN: optionalSecret,
  /** where Google's ID-token signing keys are (default: oauth2/v1/certs under GOOGLE_API_ROOT_URL when that is set, else Google's) */
  GOOGLE_CERTS_URL: z.url({ message: 'must be an http(s) URL' }).optional(),
  GOOGLE_API_ROOT_URL: z.url().optional(),
};

export interface GmailConfig {
  syncBodies: boolean;
  unitsPerUserPerMinute: number;
  unitsPerProjectPerMinute: number;
  readConcurrency: number;
  topic?: string;
  push: {
    /** OIDC verification: both set, or neither */
    oidc?: { audience: string; serviceAccount: string; certsUrl: string };
    /** the ?token= secret */
    token?: string;
  };
}

export function parseGmailConfig(env: Record<string, string>, secrets: SecretReader): GmailConfig {
  const e = parseEnv(GmailEnv, env);
  if (Boolean(e.GMAIL_PUSH_AUDIENCE) !== Boolean(e.GMAIL_PUSH_SERVICE_ACCOUNT)) {
    throw new ConfigError('Invalid configuration: GMAIL_PUSH_AUDIENCE and GMAIL_PUSH_SERVICE_ACCOUNT: set both (OIDC-verified pushes) or neither');
  }
  const token = e.GMAIL_PUSH_TOKEN ?? secrets.read(GMAIL_PUSH_TOKEN_FILE);
  if (token !== undefined && token.length < 16) {
    throw new ConfigError('Invalid configuration: GMAIL_PUSH_TOKEN: use at least 16 random characters');
  }
  return {
    syncBodies: e.GMAIL_SYNC_BODIES === 'true',
    unitsPerUserPerMinute: e.GMAIL_QUOTA_UNITS_PER_USER_PER_MINUTE,
    unitsPerProjectPerMinute: e.GMAIL_QUOTA_UNITS_PER_PROJECT_PER_MINUTE,
    readConcurrency: e.GMAIL_READ_CONCURRENCY,
    topic: e.GMAIL_PUBSUB_TOPIC,
    push: {
      oidc:
        e.GMAIL_PUSH_AUDIENCE && e.GMAIL_PUSH_SERVICE_ACCOUNT
          ? { audience: e.GMAIL_PUSH_AUDIENCE, serviceAccount: e.GMAIL_PUSH_SERVICE_ACCOUNT.toLowerCase(), certsUrl: e.GOOGLE_CERTS_URL ?? (e.GOOGLE_API_ROOT_URL ? new URL('oauth2/v1/certs', e.GOOGLE_API_ROOT_URL.endsWith('/') ? e.GOOGLE_API_ROOT_URL : `${e.GOOGLE_API_ROOT_URL}/`).toString() : GOOGLE_CERTS_URL) }
          : undefined,
      token,
    },
  };
}
