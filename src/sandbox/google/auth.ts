/**
 * The sandbox's identity side: the Workspace directory (users of `domain`), the project's OAuth
 * client and service account, and an OAuth 2.0 token endpoint that behaves like
 * https://oauth2.googleapis.com/token for the two grants a server-side connector uses:
 *
 *   - `refresh_token` (client_id, client_secret, refresh_token): an installed/web app acting for a user;
 *   - `urn:ietf:params:oauth:grant-type:jwt-bearer` (assertion): a service account with domain-wide
 *     delegation, the RS256 JWT signed with its key; `sub` names the user to impersonate.
 *
 * Access tokens are opaque (`ya29.…`) and remember their user and scopes, so `calendarId=primary`,
 * per-user quotas and scope checks work as at Google.
 *
 * google-auth-library's `JWT` client always posts to the hard-coded Google URL (its gtoken ignores
 * the key file's `token_uri`) and signs `aud: https://oauth2.googleapis.com/token`. To use it here,
 * pass it a `transporter` (a gaxios `Gaxios`) whose request interceptor rewrites that URL to
 * `sandbox.tokenUrl`; this endpoint accepts Google's audience as well as its own URL.
 */
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { authError, GoogleError, OAuthError } from './errors';
import type { Stats } from './faults';
import type { Prng } from './prng';
import { JSON_TYPE } from './server';
import type { OAuthClientCredentials, ServiceAccountKey } from './types';

export const SCOPE = {
  calendar: 'https://www.googleapis.com/auth/calendar',
  calendarReadonly: 'https://www.googleapis.com/auth/calendar.readonly',
  calendarEvents: 'https://www.googleapis.com/auth/calendar.events',
  calendarEventsReadonly: 'https://www.googleapis.com/auth/calendar.events.readonly',
  calendarEventsOwned: 'https://www.googleapis.com/auth/calendar.events.owned',
  calendarEventsOwnedReadonly: 'https://www.googleapis.com/auth/calendar.events.owned.readonly',
  calendarList: 'https://www.googleapis.com/auth/calendar.calendarlist',
  calendarListReadonly: 'https://www.googleapis.com/auth/calendar.calendarlist.readonly',
  calendars: 'https://www.googleapis.com/auth/calendar.calendars',
  calendarsReadonly: 'https://www.googleapis.com/auth/calendar.calendars.readonly',
  /** full Gmail access (the only scope that may delete permanently) */
  gmail: 'https://mail.google.com/',
  gmailModify: 'https://www.googleapis.com/auth/gmail.modify',
  gmailReadonly: 'https://www.googleapis.com/auth/gmail.readonly',
  gmailMetadata: 'https://www.googleapis.com/auth/gmail.metadata',
  gmailLabels: 'https://www.googleapis.com/auth/gmail.labels',
  gmailCompose: 'https://www.googleapis.com/auth/gmail.compose',
  gmailSend: 'https://www.googleapis.com/auth/gmail.send',
  gmailInsert: 'https://www.googleapis.com/auth/gmail.insert',
  drive: 'https://www.googleapis.com/auth/drive',
} as const;

/**
 * What `tokenFor` and `oauthClient` grant by default: full Calendar, Gmail and Drive access, plus the
 * narrower Gmail scopes a sync connector asks for (gmail.modify, gmail.labels).
 */
export const DEFAULT_SCOPES: readonly string[] = [SCOPE.calendar, SCOPE.gmail, SCOPE.gmailModify, SCOPE.gmailLabels, SCOPE.drive];

/** The token URLs a JWT assertion may name as its audience. */
const GOOGLE_AUDIENCES = [
  'https://oauth2.googleapis.com/token',
  'https://www.googleapis.com/oauth2/v4/token',
  'https://accounts.google.com/o/oauth2/token',
];

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google accepts assertions at most 60 minutes long; we allow 5 minutes of clock skew. */
const MAX_ASSERTION_SECONDS = 3600;
const CLOCK_SKEW_SECONDS = 300;
const TIMEFRAME_MESSAGE =
  'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';

export interface Principal {
  /** the user (or, without delegation, the service account) the token acts for */
  email: string;
  kind: 'user' | 'serviceAccount';
  scopes: ReadonlySet<string>;
}

interface AccessTokenRec {
  principal: Principal;
  expiresAt: number;
  revoked: boolean;
}

interface RefreshTokenRec {
  user: string;
  clientId: string;
  scopes: string[];
  revoked: boolean;
}

interface ServiceAccount {
  key: ServiceAccountKey;
  publicKey: KeyObject;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  token_type: 'Bearer';
  scope: string;
}

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function normalizeEmail(email: string): string {
  const e = String(email).trim().toLowerCase();
  if (!EMAIL_RE.test(e)) throw new Error(`not an email address: ${email}`);
  return e;
}

export class Auth {
  private readonly directory = new Set<string>();
  private readonly accountListeners: Array<(email: string) => void> = [];
  private readonly accessTokens = new Map<string, AccessTokenRec>();
  private readonly refreshTokens = new Map<string, RefreshTokenRec>();
  private readonly client: { id: string; secret: string };
  private sa: ServiceAccount | undefined;
  private saAccountOpened = false;
  readonly projectId = 'aurora-sandbox';
  readonly projectNumber: string;

  constructor(
    readonly domain: string,
    private readonly tokenLifetimeSeconds: number,
    private readonly tokenUrl: () => string,
    prng: Prng,
  ) {
    this.projectNumber = String(prng.int(100_000_000_000, 999_999_999_999));
    this.client = {
      id: `${this.projectNumber}-${prng.chars(32, 'abcdefghijklmnopqrstuvwxyz0123456789')}.apps.googleusercontent.com`,
      secret: `GOCSPX-${randomBytes(21).toString('base64url')}`,
    };
  }

  // ---- directory -------------------------------------------------------------------------------

  /** Called for every new account (a user, or the service account acting as itself). */
  onAccount(fn: (email: string) => void): void {
    this.accountListeners.push(fn);
  }

  addUser(email: string): string {
    const e = normalizeEmail(email);
    if (!this.directory.has(e)) {
      this.directory.add(e);
      for (const fn of this.accountListeners) fn(e);
    }
    return e;
  }

  users(): string[] {
    return [...this.directory];
  }

  /** The normalized email of a known user, else an Error naming it. */
  user(email: string): string {
    const e = String(email).trim().toLowerCase();
    if (!this.directory.has(e)) throw new Error(`unknown user: ${email} (add it with addUser)`);
    return e;
  }

  // ---- credentials -----------------------------------------------------------------------------

  oauthClient(userEmail: string, scopes: readonly string[] = DEFAULT_SCOPES): OAuthClientCredentials {
    const user = this.user(userEmail);
    const refreshToken = `1//0${randomBytes(48).toString('base64url')}`;
    this.refreshTokens.set(refreshToken, { user, clientId: this.client.id, scopes: [...scopes], revoked: false });
    return { client_id: this.client.id, client_secret: this.client.secret, refresh_token: refreshToken };
  }

  /** The project's service account (its RSA key is generated on first use). */
  serviceAccount(): ServiceAccountKey {
    if (!this.sa) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const email = `aurora-sync@${this.projectId}.iam.gserviceaccount.com`;
      const clientId = `1${this.projectNumber}${this.projectNumber.slice(0, 8)}`;
      this.sa = {
        publicKey,
        key: {
          type: 'service_account',
          project_id: this.projectId,
          private_key_id: randomBytes(20).toString('hex'),
          private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          client_email: email,
          client_id: clientId,
          auth_uri: 'https://accounts.google.com/o/oauth2/auth',
          token_uri: this.tokenUrl(),
          auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
          client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
          universe_domain: 'googleapis.com',
        },
      };
    }
    return { ...this.sa.key };
  }

  tokenFor(userEmail: string): string {
    const user = this.user(userEmail);
    return this.issue({ email: user, kind: 'user', scopes: new Set(DEFAULT_SCOPES) }).access_token;
  }

  revoke(userEmail: string): void {
    const user = this.user(userEmail);
    for (const t of this.accessTokens.values()) if (t.principal.email === user) t.revoked = true;
    for (const t of this.refreshTokens.values()) if (t.user === user) t.revoked = true;
  }

  // ---- API side --------------------------------------------------------------------------------

  /** The principal of an `Authorization: Bearer` header, or the 401 to answer. */
  authenticate(header: string | undefined): Principal | GoogleError {
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header.trim()) : null;
    if (!m) return authError(true);
    const rec = this.accessTokens.get(m[1]!);
    if (!rec || rec.revoked || rec.expiresAt <= Date.now()) return authError(false);
    return rec.principal;
  }

  /** The token endpoint: a form (or JSON) body in, a token response out; throws OAuthError. */
  exchange(params: Record<string, string>): TokenResponse {
    const grant = params.grant_type ?? '';
    if (grant === 'refresh_token') return this.refreshGrant(params);
    if (grant === JWT_BEARER) return this.jwtGrant(params);
    throw new OAuthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grant}`);
  }

  private refreshGrant(p: Record<string, string>): TokenResponse {
    if (!p.client_id) throw new OAuthError(400, 'invalid_request', 'Could not determine client ID from request.');
    if (p.client_id !== this.client.id) throw new OAuthError(401, 'invalid_client', 'The OAuth client was not found.');
    if (p.client_secret !== this.client.secret) throw new OAuthError(401, 'invalid_client', 'Unauthorized');
    if (!p.refresh_token) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: refresh_token');
    const rt = this.refreshTokens.get(p.refresh_token);
    if (!rt || rt.revoked || rt.clientId !== p.client_id) throw new OAuthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    return this.issue({ email: rt.user, kind: 'user', scopes: new Set(rt.scopes) });
  }

  private jwtGrant(p: Record<string, string>): TokenResponse {
    if (!p.assertion) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: assertion');
    const parts = p.assertion.split('.');
    const header = parts.length === 3 ? decodeJson(parts[0]!) : undefined;
    const claims = parts.length === 3 ? decodeJson(parts[1]!) : undefined;
    if (!header || !claims) throw new OAuthError(400, 'invalid_grant', 'Invalid JWT: the assertion is not a signed JWT (header.claims.signature).');
    const sa = this.sa;
    if (!sa || claims.iss !== sa.key.client_email) throw new OAuthError(400, 'invalid_grant', 'Invalid grant: account not found');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signatureOk =
      header.alg === 'RS256' &&
      (header.kid === undefined || header.kid === sa.key.private_key_id) &&
      verify('RSA-SHA256', signed, sa.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!signatureOk) throw new OAuthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (typeof claims.aud !== 'string' || !(GOOGLE_AUDIENCES.includes(claims.aud) || claims.aud === this.tokenUrl())) {
      throw new OAuthError(400, 'invalid_grant', `Invalid JWT: Failed audience check. The expected audience is ${GOOGLE_AUDIENCES[0]}.`);
    }
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      exp <= iat ||
      exp - iat > MAX_ASSERTION_SECONDS ||
      iat > now + CLOCK_SKEW_SECONDS ||
      exp < now - CLOCK_SKEW_SECONDS
    ) {
      throw new OAuthError(400, 'invalid_grant', TIMEFRAME_MESSAGE);
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(/\s+/).filter(Boolean) : [];
    if (scopes.length === 0) throw new OAuthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    if (claims.sub === undefined || claims.sub === sa.key.client_email) {
      // no delegation: the service account acts as itself (it has its own, empty, calendar)
      if (!this.saAccountOpened) {
        this.saAccountOpened = true;
        for (const fn of this.accountListeners) fn(sa.key.client_email);
      }
      return this.issue({ email: sa.key.client_email, kind: 'serviceAccount', scopes: new Set(scopes) });
    }
    const sub = typeof claims.sub === 'string' ? claims.sub.trim().toLowerCase() : '';
    if (!sub.endsWith(`@${this.domain}`)) {
      throw new OAuthError(
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      );
    }
    if (!this.directory.has(sub)) throw new OAuthError(400, 'invalid_grant', 'Invalid email or User ID');
    return this.issue({ email: sub, kind: 'user', scopes: new Set(scopes) });
  }

  private issue(principal: Principal): TokenResponse {
    const now = Date.now();
    if (this.accessTokens.size > 10_000) for (const [k, t] of this.accessTokens) if (t.expiresAt <= now) this.accessTokens.delete(k);
    const token = `ya29.${randomBytes(96).toString('base64url')}`;
    this.accessTokens.set(token, { principal, expiresAt: now + this.tokenLifetimeSeconds * 1000, revoked: false });
    return { access_token: token, expires_in: this.tokenLifetimeSeconds, token_type: 'Bearer', scope: [...principal.scopes].join(' ') };
  }
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Form-encoded (what google-auth-library sends) or JSON token requests. */
function tokenParams(raw: unknown, contentType: string | undefined): Record<string, string> {
  const text = typeof raw === 'string' ? raw : '';
  if ((contentType ?? '').includes('json')) {
    try {
      const v: unknown = JSON.parse(text || '{}');
      const out: Record<string, string> = {};
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
      return out;
    } catch {
      throw new OAuthError(400, 'invalid_request', 'Invalid JSON payload received.');
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** POST /token. No quotas or faults: they apply to the APIs. */
export function registerTokenEndpoint(app: FastifyInstance, auth: Auth, stats: Stats): void {
  app.post('/token', async (req, reply) => {
    stats.token();
    reply.header('content-type', JSON_TYPE).header('cache-control', 'no-cache, no-store, max-age=0, must-revalidate');
    try {
      const res = auth.exchange(tokenParams(req.body, req.headers['content-type']));
      return reply.code(200).send(JSON.stringify(res));
    } catch (err) {
      if (err instanceof OAuthError) return reply.code(err.httpStatus).send(JSON.stringify(err.body()));
      throw err;
    }
  });
}
