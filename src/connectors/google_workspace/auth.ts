/**
 * Google auth through google-auth-library, exactly as in production: a JWT client (service account
 * key, domain-wide delegation: `subject` = the user) or an OAuth2Client with the user's refresh
 * token. The library obtains and refreshes access tokens itself (before a call when the token
 * expires within 5 minutes); tokens stay inside the client: never logged, never returned.
 *
 * Redirecting the token exchange (GOOGLE_TOKEN_URL, the sandbox in tests and the demo):
 * - OAuth2Client: `endpoints.oauth2TokenUrl` is the documented switch.
 * - JWT: the exchange URL `https://oauth2.googleapis.com/token` is a constant in gtoken (the gtoken 8
 *   package under google-auth-library 10.5, the version googleapis-common pins, so there is one copy;
 *   10.9 inlines the same constant), but gtoken sends it through the JWT client's `transporter`. So each client gets its own Gaxios transporter whose request
 *   interceptor rewrites exactly that URL. What cannot be redirected: the `aud` claim inside the
 *   signed assertion stays `https://oauth2.googleapis.com/token` (the sandbox accepts it), and a
 *   proxy agent gaxios picks from HTTPS_PROXY is chosen for Google's host before interceptors run.
 */
import { gaxios, JWT, OAuth2Client } from 'google-auth-library';
import type { GoogleCredentials } from './config';

export const GOOGLE_TOKEN_ENDPOINT = 'https://oauth2.googleapis.com/token';

export interface AuthOptions {
  /** the OAuth scopes the products of this connection need (service account only; a refresh token has its own) */
  scopes: string[];
  /** where token exchanges go instead of Google's endpoint */
  tokenUrl?: string;
}

/** A transporter that sends token exchanges to `tokenUrl` (and everything else where it was going). */
export function tokenRedirectingTransporter(tokenUrl?: string): InstanceType<typeof gaxios.Gaxios> {
  const transporter = new gaxios.Gaxios();
  if (tokenUrl && tokenUrl !== GOOGLE_TOKEN_ENDPOINT) {
    const target = new URL(tokenUrl);
    transporter.interceptors.request.add({
      resolved: async (opts) => {
        const url = opts.url instanceof URL ? opts.url : new URL(String(opts.url));
        if (url.origin + url.pathname === GOOGLE_TOKEN_ENDPOINT) opts.url = new URL(target.href);
        return opts;
      },
    });
  }
  return transporter;
}

/** The auth client of one user. */
export function createAuthClient(creds: GoogleCredentials, user: string, opts: AuthOptions): OAuth2Client {
  const transporter = tokenRedirectingTransporter(opts.tokenUrl);
  if (creds.type === 'service_account') {
    return new JWT({
      email: creds.clientEmail,
      key: creds.privateKey,
      keyId: creds.privateKeyId,
      scopes: opts.scopes,
      subject: user,
      transporter,
    });
  }
  const client = new OAuth2Client({
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
    transporter,
    endpoints: opts.tokenUrl ? { oauth2TokenUrl: opts.tokenUrl } : undefined,
  });
  client.setCredentials({ refresh_token: creds.refreshToken });
  return client;
}

/** What to tell an operator when Google refuses this connection's credentials (no secrets). */
export function authAdvice(creds: GoogleCredentials, user: string, scopes: string[]): string {
  if (creds.type === 'service_account') {
    return (
      `check that the service account ${creds.clientEmail} (client id ${creds.clientId}) has domain-wide delegation ` +
      `for ${scopes.join(', ')} in the Workspace Admin console, that the Calendar API is enabled for its project, ` +
      `and that ${user} is an active user of the domain`
    );
  }
  return (
    `check that the refresh token in GOOGLE_CREDENTIALS_PATH belongs to ${user}, was granted ${scopes.join(', ')}, ` +
    `and has not been revoked (OAuth client ${creds.clientId})`
  );
}
