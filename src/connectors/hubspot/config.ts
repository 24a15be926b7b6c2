/** HubSpot's settings: the private-app token, the API base URL, the account's limits, webhooks. */
import { z } from 'zod';
import { parseEnv, optionalSecret } from '../../core/env';
import type { Config } from '../../config';
import type { SecretReader } from '../types';

const HubSpotEnv = {
  HUBSPOT_API_KEY: optionalSecret,
  HUBSPOT_BASE_URL: z.url({ message: 'must be an http(s) URL' }).default('https://api.hubapi.com'),
  /** Requests per rolling 10 s the engine allows itself (HubSpot Free/Starter: 100; Professional/Enterprise: 190). */
  HUBSPOT_RATE_LIMIT_PER_10S: z.coerce.number().int().min(1).default(100),
  HUBSPOT_SEARCH_PER_SECOND: z.coerce.number().int().min(1).default(5),
  /** How far back each incremental search re-reads, to cover HubSpot's search indexing delay. */
  HUBSPOT_SEARCH_LOOKBACK_MS: z.coerce.number().int().min(0).default(30_000),
  /** HubSpot app client secret: verifies webhook signatures. Also hubspot-client-secret.txt in SECRETS_DIR. */
  HUBSPOT_CLIENT_SECRET: optionalSecret,
};

export interface HubSpotConfig {
  /** Private-app access token; undefined means HubSpot is not configured. Never logged, never sent to Temporal. */
  accessToken?: string;
  baseUrl: string;
  ratePer10s: number;
  searchPerSecond: number;
  searchLookbackMs: number;
  clientSecret?: string;
}

export function parseHubSpotConfig(env: Record<string, string>, secrets: SecretReader): HubSpotConfig {
  const e = parseEnv(HubSpotEnv, env);
  return {
    accessToken: e.HUBSPOT_API_KEY ?? secrets.read('hubspot-api-key.txt'),
    baseUrl: e.HUBSPOT_BASE_URL.replace(/\/+$/, ''),
    ratePer10s: e.HUBSPOT_RATE_LIMIT_PER_10S,
    searchPerSecond: e.HUBSPOT_SEARCH_PER_SECOND,
    searchLookbackMs: e.HUBSPOT_SEARCH_LOOKBACK_MS,
    clientSecret: e.HUBSPOT_CLIENT_SECRET ?? secrets.read('hubspot-client-secret.txt'),
  };
}

export const hubspotConfig = (cfg: Config): HubSpotConfig => cfg.systems.hubspot as HubSpotConfig;
