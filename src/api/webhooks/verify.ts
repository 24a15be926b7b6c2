/**
 * Webhook authenticity checks, pure functions over the raw request: HubSpot v3 (HMAC-SHA256 over
 * method + URI + body + timestamp, 5-minute window), v2 and v1 (SHA-256 digests), Google channel
 * tokens, Fireflies HMAC. Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type Verdict = { ok: true; version: string } | { ok: false; status: 401; reason: string };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare digests so the lengths always match (timingSafeEqual requires it) without leaking them.
  return timingSafeEqual(createHash('sha256').update(x).digest(), createHash('sha256').update(y).digest()) && x.length === y.length;
}

/** HubSpot decodes these before signing (request-validation docs). */
const DECODE: [RegExp, string][] = [
  [/%3A/gi, ':'], [/%2F/gi, '/'], [/%3F/gi, '?'], [/%40/gi, '@'], [/%21/gi, '!'], [/%24/gi, '$'],
  [/%27/gi, "'"], [/%28/gi, '('], [/%29/gi, ')'], [/%2A/gi, '*'], [/%2C/gi, ','], [/%3B/gi, ';'],
];
export function hubspotUri(uri: string): string {
  return DECODE.reduce((u, [re, ch]) => u.replace(re, ch), uri);
}

export const HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000;

export function verifyHubSpot(input: {
  method: string;
  /** the full URL HubSpot called: public base URL + path + query */
  uri: string;
  rawBody: string;
  headers: Record<string, string | string[] | undefined>;
  clientSecret: string;
  now?: number;
}): Verdict {
  const h = (name: string) => {
    const v = input.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const now = input.now ?? Date.now();
  const v3 = h('x-hubspot-signature-v3');
  if (v3) {
    const ts = h('x-hubspot-request-timestamp');
    if (!ts || !/^\d+$/.test(ts)) return { ok: false, status: 401, reason: 'missing or malformed X-HubSpot-Request-Timestamp' };
    if (Math.abs(now - Number(ts)) > HUBSPOT_MAX_AGE_MS) return { ok: false, status: 401, reason: 'stale timestamp (older than 5 minutes)' };
    const expected = createHmac('sha256', input.clientSecret)
      .update(`${input.method.toUpperCase()}${hubspotUri(input.uri)}${input.rawBody}${ts}`, 'utf8')
      .digest('base64');
    return safeEqual(v3, expected) ? { ok: true, version: 'v3' } : { ok: false, status: 401, reason: 'signature does not match (v3)' };
  }
  const sig = h('x-hubspot-signature');
  if (!sig) return { ok: false, status: 401, reason: 'missing X-HubSpot-Signature-v3 / X-HubSpot-Signature' };
  const version = (h('x-hubspot-signature-version') ?? 'v1').toLowerCase();
  let source: string;
  if (version === 'v1') source = input.clientSecret + input.rawBody;
  else if (version === 'v2') source = input.clientSecret + input.method.toUpperCase() + input.uri + input.rawBody;
  else return { ok: false, status: 401, reason: `unknown signature version ${version}` };
  const expected = createHash('sha256').update(source, 'utf8').digest('hex');
  return safeEqual(sig.toLowerCase(), expected) ? { ok: true, version } : { ok: false, status: 401, reason: `signature does not match (${version})` };
}

export function verifyGoogleChannel(headers: Record<string, string | string[] | undefined>, channelToken: string): Verdict {
  const token = headers['x-goog-channel-token'];
  const t = Array.isArray(token) ? token[0] : token;
  if (!t) return { ok: false, status: 401, reason: 'missing X-Goog-Channel-Token' };
  return safeEqual(t, channelToken) ? { ok: true, version: 'channel-token' } : { ok: false, status: 401, reason: 'channel token does not match' };
}

/** Fireflies: `X-Hub-Signature: sha256=<hex>` (v2) or a bare hex HMAC (v1), over the raw body. */
export function verifyFireflies(headers: Record<string, string | string[] | undefined>, rawBody: string, secret: string): Verdict {
  const raw = headers['x-hub-signature'];
  const sig = Array.isArray(raw) ? raw[0] : raw;
  if (!sig) return { ok: false, status: 401, reason: 'missing X-Hub-Signature' };
  const given = sig.startsWith('sha256=') ? sig.slice(7) : sig;
  const expected = createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
  return safeEqual(given.toLowerCase(), expected) ? { ok: true, version: sig.startsWith('sha256=') ? 'v2' : 'v1' } : { ok: false, status: 401, reason: 'signature does not match' };
}
