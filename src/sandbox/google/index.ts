/**
 * Google Workspace sandbox: a stateful local emulator of the Google APIs the sync engine uses,
 * faithful enough (paths, resource shapes, status codes, error bodies, quotas, sync tokens, push
 * channels, OAuth) that code working against it works against Google: Calendar v3, Gmail v1 and
 * Drive v3, mounted on the same core (auth, quotas, faults, channels, admin).
 *
 *   const sb = await startGoogleSandbox({ users: ['ana@acme.test'] });
 *   const auth = new OAuth2Client({ clientId, clientSecret, endpoints: { oauth2TokenUrl: sb.tokenUrl } });
 *   const calendar = google.calendar({ version: 'v3', auth, rootUrl: sb.url });
 *   const gmail = google.gmail({ version: 'v1', auth, rootUrl: sb.url });
 *   const drive = google.drive({ version: 'v3', auth, rootUrl: sb.url });
 *
 * See auth.ts for the service-account (JWT) flow, admin.ts and gmail/admin.ts for the HTTP admin
 * API, gmail/index.ts and drive/index.ts for Gmail's and Drive's deviations from Google.
 */
import type { AddressInfo } from 'node:net';
import { registerAdminRoutes } from './admin';
import { Auth, DEFAULT_SCOPES, registerTokenEndpoint } from './auth';
import { mountCalendar } from './calendar';
import { mountGmail } from './gmail';
import { mountDrive } from './drive';
import { ChannelHub } from './channels';
import { FaultState, Stats } from './faults';
import { createPrng } from './prng';
import { QuotaLimiter, quotaConfig } from './quota';
import { apiRouter, createApp, type Core } from './server';
import type { GoogleSandbox, GoogleSandboxOptions } from './types';

export type * from './types';
export { SCOPE, DEFAULT_SCOPES } from './auth';

/** The token URL google-auth-library's JWT client (gtoken) always posts to. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

export async function startGoogleSandbox(opts: GoogleSandboxOptions = {}): Promise<GoogleSandbox> {
  const seed = opts.randomSeed ?? 42;
  const lifetime = opts.tokenLifetimeSeconds ?? 3600;
  if (!(Number.isFinite(lifetime) && lifetime > 0)) throw new Error('tokenLifetimeSeconds must be a positive number');
  const domain = (opts.domain ?? 'acme.test').trim().toLowerCase();
  const host = opts.host ?? '127.0.0.1';
  let url = '';

  const app = createApp(opts.logger ?? false);
  const auth = new Auth(domain, lifetime, () => `${url}token`, createPrng(seed, 'auth'));
  const faults = new FaultState(createPrng(seed, 'faults').next);
  const stats = new Stats();
  const quota = new QuotaLimiter(quotaConfig(opts.quotas));
  const channels = new ChannelHub({
    requireHttps: opts.requireHttpsWebhooks ?? false,
    projectNumber: auth.projectNumber,
    random: createPrng(seed, 'channels').next,
  });
  const deps = { app, auth, quota, faults, stats, channels };
  const core: Core = { ...deps, prng: (salt) => createPrng(seed, salt), route: apiRouter(deps) };

  registerTokenEndpoint(app, auth, stats);
  const calendar = mountCalendar(core, { syncTokenTtlMs: opts.syncTokenTtlMs });
  const gmail = mountGmail(core, opts.gmail ?? {}, opts.quotas, () => url);
  const drive = mountDrive(core, opts.drive ?? {}, opts.quotas);
  for (const u of opts.users ?? []) auth.addUser(u);

  let port = 0;
  const sandbox: GoogleSandbox = {
    get url() {
      return url;
    },
    get tokenUrl() {
      return `${url}token`;
    },
    get port() {
      return port;
    },
    async close() {
      channels.close();
      gmail.close();
      await app.close();
    },
    auth: {
      oauthClient: (user, o) => auth.oauthClient(user, o?.scopes ?? DEFAULT_SCOPES),
      serviceAccount: () => auth.serviceAccount(),
      tokenFor: (user) => auth.tokenFor(user),
      revoke: (user) => auth.revoke(user),
    },
    users: () => auth.users(),
    addUser: (email) => {
      auth.addUser(email);
    },
    calendar,
    gmail: gmail.api,
    drive,
    channels: {
      active: () => channels.active(),
      get stats() {
        return channels.stats();
      },
      flush: () => channels.flush(),
    },
    faults: {
      set: (f) => faults.set(f),
      clear: () => faults.clear(),
    },
    get stats() {
      return stats.snapshot();
    },
    resetStats: () => stats.reset(),
    resetQuotas: () => quota.reset(),
  };

  registerAdminRoutes(app, sandbox, { describeFaults: () => faults.describe() });

  await app.listen({ port: opts.port ?? 0, host });
  port = (app.server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  url = `http://${urlHost}:${port}/`;
  return sandbox;
}
