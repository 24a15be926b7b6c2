/**
 * The codec endpoint: the Temporal Web UI and CLI decode (and encode) payloads here instead of
 * holding the keys themselves. Temporal's codec-server protocol: POST <endpoint>/decode and
 * <endpoint>/encode with `{"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}`,
 * answered in the same shape. Endpoint: http://<api>/codec.
 *
 * Decoded payloads are record content, so every call is authenticated, in one of two ways:
 * - `Authorization: Bearer <API_TOKEN or API_READ_TOKEN>`: the CLI
 *   (`temporal workflow show --codec-endpoint http://localhost:8000/codec --codec-auth "Bearer $API_TOKEN"`).
 * - a session cookie for the browser: the Web UI sends either no credentials or (with its own OIDC
 *   login and "pass access token") the user's IdP access token, which is not ours to verify. So the
 *   operator signs in once at /codec/login with the token (the cookie holds an HMAC of it, HttpOnly,
 *   SameSite=Strict, Path=/codec, 12 h) and turns on "Include cross-origin credentials" in the UI's
 *   codec settings; the UI and the API must be on the same site (e.g. both on localhost).
 * CORS: only CODEC_CORS_ORIGINS (default the dev server's UI, http://localhost:8233), with credentials.
 */
import { createHmac } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload } from '@temporalio/common';
import type { Config } from '../config';
import { codecFor, CodecDecodeError } from '../core/codec';
import { safeEqual } from '../core/secure';

export const CODEC_PREFIX = '/codec';
const COOKIE = 'aurora_codec';
const SESSION_SECONDS = 12 * 3600;
const MAX_BODY = 8 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
class BadBody extends Error {}

function fromJson(raw: unknown, i: number): Payload {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new BadBody(`payloads[${i}] must be an object {metadata, data}`);
  const { metadata, data } = raw as JsonPayload;
  if (metadata != null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw new BadBody(`payloads[${i}].metadata must be an object of base64 strings`);
  const meta: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== 'string' || !BASE64.test(v)) throw new BadBody(`payloads[${i}].metadata.${k.slice(0, 64)} must be base64`);
    meta[k] = Buffer.from(v, 'base64');
  }
  if (data != null && (typeof data !== 'string' || !BASE64.test(data))) throw new BadBody(`payloads[${i}].data must be base64`);
  return { metadata: meta, data: data ? Buffer.from(data, 'base64') : new Uint8Array() };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

export const codecRoutes: FastifyPluginAsync<{ cfg: Config }> = async (app, { cfg }) => {
  const codec = codecFor(cfg.codec.keys);
  const origins = new Set(cfg.codec.corsOrigins);
  const tokens = (): [role: string, token: string][] =>
    [
      ['api', cfg.apiToken],
      ['read', cfg.apiReadToken],
    ].filter((t): t is [string, string] => typeof t[1] === 'string');

  const sign = (role: string, token: string, expires: number) => createHmac('sha256', token).update(`aurora-codec-session:${role}:${expires}`).digest('base64url');
  const cookieValid = (req: FastifyRequest): boolean => {
    const m = new RegExp(`(?:^|;\\s*)${COOKIE}=([a-z]+)\\.(\\d+)\\.([A-Za-z0-9_-]+)`).exec(req.headers.cookie ?? '');
    if (!m) return false;
    const [, role, exp, sig] = m as unknown as [string, string, string, string];
    const token = tokens().find(([r]) => r === role)?.[1];
    return !!token && Number(exp) * 1000 > Date.now() && safeEqual(sig, sign(role, token, Number(exp)));
  };
  const bearerValid = (req: FastifyRequest): boolean => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    return !!given && tokens().some(([, t]) => safeEqual(given, t));
  };

  /** CORS headers for an allowed browser origin (none for others: the browser then refuses). */
  const cors = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const origin = req.headers.origin;
    void reply.header('vary', 'Origin');
    if (!origin || !origins.has(origin)) return false;
    void reply
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-credentials', 'true')
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
      .header('access-control-max-age', '600');
    return true;
  };

  // Before the body is read: a caller without a token never gets a large body parsed.
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const allowedOrigin = cors(req, reply);
    if (req.headers.origin && !allowedOrigin) {
      return reply.code(403).send({ error: `origin ${req.headers.origin} may not call the codec endpoint (CODEC_CORS_ORIGINS: ${[...origins].join(', ')})` });
    }
    if (!tokens().length) return reply.code(503).send({ error: 'neither API_TOKEN nor API_READ_TOKEN is configured on this server; the codec endpoint is disabled' });
    if (!bearerValid(req) && !cookieValid(req)) {
      return reply.code(401).send({ error: `missing or wrong credentials: Authorization: Bearer <API_TOKEN or API_READ_TOKEN>, or sign in at ${CODEC_PREFIX}/login (browser)` });
    }
    if (!codec.encrypting) return reply.code(503).send({ error: 'no codec keys are configured on this server (temporal-codec-keys.json); payloads are not encrypted' });
  };

  const handler = (op: 'encode' | 'decode') => async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body as { payloads?: unknown } | null;
    // Protobuf JSON leaves an empty list out: `{}` is zero payloads (the CLI sends it).
    const list = body && typeof body === 'object' && !Array.isArray(body) ? (body.payloads ?? []) : null;
    if (!Array.isArray(list)) return reply.code(400).send({ error: 'body must be {"payloads": [{"metadata": {...}, "data": "<base64>"}]}' });
    let payloads: Payload[];
    try {
      payloads = list.map(fromJson);
    } catch (err) {
      if (err instanceof BadBody) return reply.code(400).send({ error: err.message });
      throw err;
    }
    try {
      const out = op === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
      return reply.header('cache-control', 'no-store').send({ payloads: out.map(toJson) });
    } catch (err) {
      if (err instanceof CodecDecodeError) return reply.code(422).send({ error: err.message });
      throw err;
    }
  };

  for (const op of ['encode', 'decode'] as const) {
    app.options(`${CODEC_PREFIX}/${op}`, async (req, reply) => {
      // A preflight carries no credentials; it only learns whether this origin may ask.
      if (!cors(req, reply)) return reply.code(403).send({ error: 'origin not allowed (CODEC_CORS_ORIGINS)' });
      return reply.code(204).send();
    });
    app.post(`${CODEC_PREFIX}/${op}`, { onRequest: authenticate, bodyLimit: MAX_BODY }, handler(op));
  }

  // Browser sign-in for the Web UI's credentialed requests.
  app.get(`${CODEC_PREFIX}/login`, async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage(cfg.codec.corsOrigins[0] ?? '')));
  app.post(`${CODEC_PREFIX}/login`, async (req, reply) => {
    if (!tokens().length) return reply.code(503).send({ error: 'neither API_TOKEN nor API_READ_TOKEN is configured on this server' });
    const given = (req.body as { token?: unknown } | null)?.token;
    const match = typeof given === 'string' && given ? tokens().find(([, t]) => safeEqual(given, t)) : undefined;
    if (!match) return reply.code(401).send({ error: 'wrong token' });
    const expires = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
    const value = `${match[0]}.${expires}.${sign(match[0], match[1], expires)}`;
    return reply
      .header('set-cookie', `${COOKIE}=${value}; Path=${CODEC_PREFIX}; Max-Age=${SESSION_SECONDS}; HttpOnly; SameSite=Strict`)
      .header('cache-control', 'no-store')
      .send({ signedIn: true, expiresAt: new Date(expires * 1000).toISOString() });
  });
  app.post(`${CODEC_PREFIX}/logout`, async (_req, reply) =>
    reply.header('set-cookie', `${COOKIE}=; Path=${CODEC_PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict`).send({ signedIn: false }));
};

function loginPage(uiOrigin: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Aurora Sync: codec sign-in</title>
<style>body{font:15px system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}input{font:inherit;width:22em}</style></head>
<body><h1>Decrypt payloads in the Temporal Web UI</h1>
<p>Sign in with the API token (or the read token). This browser then keeps a session cookie for <code>${CODEC_PREFIX}</code> for 12 hours; the token itself is not stored.</p>
<form id="f"><input id="t" type="password" autocomplete="off" placeholder="API token" required> <button>Sign in</button></form>
<p id="out" role="status"></p>
<p>In the Web UI${uiOrigin ? ` (<a href="${uiOrigin}">${uiOrigin}</a>)` : ''}: Codec Server settings, endpoint <code id="ep"></code>, turn on <b>Include cross-origin credentials</b>.</p>
<script>
document.getElementById('ep').textContent = location.origin + '${CODEC_PREFIX}';
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('${CODEC_PREFIX}/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: document.getElementById('t').value }) });
  const b = await r.json().catch(() => ({}));
  document.getElementById('t').value = '';
  document.getElementById('out').textContent = r.ok ? 'Signed in until ' + b.expiresAt + '.' : 'Not signed in: ' + (b.error || r.status);
});
</script></body></html>`;
}
