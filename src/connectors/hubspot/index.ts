/** HubSpot CRM: contacts, companies and deals, two-way; one connection (the portal of the token). */
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DEFAULT_CONNECTION } from '../../core/model';
import type { ConnectorDefinition } from '../types';
import { hubspotConfig, parseHubSpotConfig } from './config';
import { HubSpotConnector } from './connector';
import { HUBSPOT_ENTITIES } from './entities';
import { hubspotWebhooks } from './webhooks';

export const hubspot: ConnectorDefinition = {
  system: 'hubspot',
  title: 'HubSpot CRM',
  parseConfig: parseHubSpotConfig,
  entities: HUBSPOT_ENTITIES,
  migrationsDir: join(__dirname, 'migrations'),
  connections(cfg) {
    return hubspotConfig(cfg).accessToken
      ? { connections: [DEFAULT_CONNECTION] }
      : { notConfigured: `set HUBSPOT_API_KEY or put hubspot-api-key.txt in ${cfg.secretsDir}` };
  },
  create(cfg, connection, ctx) {
    const hs = hubspotConfig(cfg);
    if (!hs.accessToken) throw new Error('hubspot is not configured');
    // One budget per HubSpot account, shared by every worker (keyed by a hash of the token, never the token).
    const account = createHash('sha256').update(hs.accessToken).digest('hex').slice(0, 16);
    return new HubSpotConnector({
      connection,
      accessToken: hs.accessToken,
      baseUrl: hs.baseUrl,
      ratePer10s: hs.ratePer10s,
      searchPerSecond: hs.searchPerSecond,
      searchLookbackMs: hs.searchLookbackMs,
      onRequest: ctx.onRequest,
      onRateLimited: ctx.onRateLimited,
      budgets: {
        general: ctx.budget(`hubspot:${account}:10s`, hs.ratePer10s, 10_000),
        search: ctx.budget(`hubspot:${account}:search`, hs.searchPerSecond, 1_000),
      },
    });
  },
  webhooks: hubspotWebhooks,
};
