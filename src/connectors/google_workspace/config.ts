/**
 * Google Workspace settings: the credentials file (a service-account key used with domain-wide
 * delegation, or an OAuth client's authorized_user file with a refresh token), the users synced
 * (one connection each), where the APIs and the token endpoint are, and the Calendar options.
 * Key material stays in this process: never logged, never in an error message, never serialised.
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseEnv } from '../../core/env';
import type { Config } from '../../config';
import type { SecretReader } from '../types';

export const GOOGLE_CREDENTIALS_FILE = 'google-credentials.json';

const csv = z
  .string()
  .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))]);

const GoogleEnv = {
  /** the credentials file (default <SECRETS_DIR>/google-credentials.json) */
  GOOGLE_CREDENTIALS_PATH: z.string().trim().min(1).optional(),
  /** the mailboxes synced, comma-separated: one connection each (the connection id is the email) */
  GOOGLE_USERS: csv.optional(),
  /** root URL of the Google APIs (the sandbox in tests and the demo); default Google's */
  GOOGLE_API_ROOT_URL: z.url({ message: 'must be an http(s) URL' }).optional(),
  /** the OAuth token endpoint (the sandbox's /token); default https://oauth2.googleapis.com/token */
  GOOGLE_TOKEN_URL: z.url({ message: 'must be an http(s) URL' }).optional(),
  /** backfill window of the full listing in days (default: everything) */
  GOOGLE_CALENDAR_PAST_DAYS: z.coerce.number().int().min(0).optional(),
  /** allow-list of calendar ids ('primary' = the user's primary); default every owned or writable calendar */
  GOOGLE_CALENDAR_IDS: csv.optional(),
  /** who Google emails about the engine's writes: none (default), all, externalOnly */
  GOOGLE_CALENDAR_SEND_UPDATES: z.enum(['none', 'all', 'externalOnly']).default('none'),
  /** Calendar requests per user per rolling minute the engine allows itself (Calendar's default quota: 600) */
  GOOGLE_QUOTA_PER_USER_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** lifetime asked for push channels (Google's maximum and default for Calendar: 7 days) */
  GOOGLE_CHANNEL_TTL_SECONDS: z.coerce.number().int().min(60).default(604_800),
};

export type GoogleCredentials =
  | { type: 'service_account'; clientEmail: string; clientId: string; privateKey: string; privateKeyId?: string; projectId?: string }
  | { type: 'authorized_user'; clientId: string; clientSecret: string; refreshToken: string };

export interface GoogleWorkspaceConfig {
  credentialsPath: string;
  /** undefined: no credentials file (Google is not configured) */
  credentials?: GoogleCredentials;
  users: string[];
  /** with a trailing slash (googleapis resolves paths against it) */
  apiRootUrl?: string;
  tokenUrl?: string;
  quotaPerUserPerMinute: number;
  channelTtlSeconds: number;
  calendar: {
    pastDays?: number;
    calendarIds?: string[];
    sendUpdates: 'none' | 'all' | 'externalOnly';
  };
  /** each product module's own settings, by product name (see session.ts GoogleProductModule) */
  products: Record<string, unknown>;
}

const EMAIL = /^[^@\s,]+@[^@\s,]+$/;

/** Keeps key material out of JSON.stringify / util.inspect of the configuration. */
function sealed(c: GoogleCredentials): GoogleCredentials {
  const shown = { type: c.type, clientId: c.clientId, secrets: '[redacted]' };
  Object.defineProperty(c, 'toJSON', { value: () => shown, enumerable: false });
  Object.defineProperty(c, Symbol.for('nodejs.util.inspect.custom'), { value: () => shown, enumerable: false });
  return c;
}

/** Reads and checks the credentials file; ConfigError names the variable, never the contents. */
export function readCredentials(path: string): GoogleCredentials {
  const bad = (why: string) => new ConfigError(`Invalid configuration: GOOGLE_CREDENTIALS_PATH (${path}): ${why}`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw bad(e instanceof SyntaxError ? 'not a JSON file' : `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!json || typeof json !== 'object') throw bad('not a JSON object');
  const str = (k: string) => (typeof json[k] === 'string' && (json[k] as string).trim() !== '' ? (json[k] as string) : undefined);
  if (json.type === 'service_account') {
    const clientEmail = str('client_email');
    const privateKey = str('private_key');
    if (!clientEmail || !privateKey) throw bad('a service_account key needs client_email and private_key');
    try {
      createPrivateKey(privateKey);
    } catch {
      throw bad('private_key is not a PEM private key');
    }
    return sealed({
      type: 'service_account',
      clientEmail,
      clientId: str('client_id') ?? clientEmail,
      privateKey,
      privateKeyId: str('private_key_id'),
      projectId: str('project_id'),
    });
  }
  if (json.type === 'authorized_user') {
    const clientId = str('client_id');
    const clientSecret = str('client_secret');
    const refreshToken = str('refresh_token');
    if (!clientId || !clientSecret || !refreshToken) throw bad('an authorized_user file needs client_id, client_secret and refresh_token');
    return sealed({ type: 'authorized_user', clientId, clientSecret, refreshToken });
  }
  throw bad(`"type" must be service_account or authorized_user (got ${typeof json.type === 'string' ? `"${json.type}"` : 'none'})`);
}

export function parseGoogleWorkspaceConfig(env: Record<string, string>, secrets: SecretReader): GoogleWorkspaceConfig {
  const e = parseEnv(GoogleEnv, env);
  const given = e.GOOGLE_CREDENTIALS_PATH;
  // No file at the path (named or default) means Google is not configured: connections() says what to set.
  const credentialsPath = given ? resolve(given) : join(secrets.dir, GOOGLE_CREDENTIALS_FILE);
  const users = (e.GOOGLE_USERS ?? []).map((u) => u.toLowerCase());
  for (const u of users) {
    if (!EMAIL.test(u)) throw new ConfigError(`Invalid configuration: GOOGLE_USERS: "${u}" is not an email address`);
  }
  let credentials: GoogleCredentials | undefined;
  if (existsSync(credentialsPath)) {
    credentials = readCredentials(credentialsPath);
    if (users.length === 0) {
      throw new ConfigError(
        'Invalid configuration: GOOGLE_USERS: required with Google credentials: the mailboxes to sync, comma-separated' +
          (credentials.type === 'authorized_user' ? ' (exactly one: the user who granted the refresh token)' : ''),
      );
    }
    if (credentials.type === 'authorized_user' && users.length !== 1) {
      throw new ConfigError(
        `Invalid configuration: GOOGLE_USERS: an authorized_user credentials file is one user's: list exactly that one email (got ${users.length})`,
      );
    }
  }
  const root = e.GOOGLE_API_ROOT_URL;
  return {
    credentialsPath,
    credentials,
    users,
    apiRootUrl: root ? (root.endsWith('/') ? root : `${root}/`) : undefined,
    tokenUrl: e.GOOGLE_TOKEN_URL,
    quotaPerUserPerMinute: e.GOOGLE_QUOTA_PER_USER_PER_MINUTE,
    channelTtlSeconds: e.GOOGLE_CHANNEL_TTL_SECONDS,
    calendar: {
      pastDays: e.GOOGLE_CALENDAR_PAST_DAYS,
      calendarIds: e.GOOGLE_CALENDAR_IDS?.length ? e.GOOGLE_CALENDAR_IDS : undefined,
      sendUpdates: e.GOOGLE_CALENDAR_SEND_UPDATES,
    },
    products: {},
  };
}

export const GOOGLE_SYSTEM = 'google_workspace';

export const googleConfig = (cfg: Config): GoogleWorkspaceConfig => cfg.systems[GOOGLE_SYSTEM] as GoogleWorkspaceConfig;
