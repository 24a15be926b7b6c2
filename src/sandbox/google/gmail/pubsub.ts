/**
 * Just enough Cloud Pub/Sub for Gmail's push notifications: topics are implicit, push subscriptions
 * are configured by the test (or the stand-alone sandbox's --pubsub-url), and each published message
 * is POSTed to every subscription of its topic as a push subscription does:
 *
 *   POST <pushEndpoint>            (the `token` option appears as ?token=…)
 *   Content-Type: application/json
 *   Authorization: Bearer <OIDC token>     (when `oidc` is set)
 *   {"message":{"data":"<base64>","messageId":"…","message_id":"…","publishTime":"…","publish_time":"…"},
 *    "subscription":"projects/P/subscriptions/S"}
 *
 * 102/200/201/202/204 acknowledge; any other answer, a timeout or a connection error is redelivered
 * with exponential backoff (`maxAttempts` attempts in all, then given up; real Pub/Sub keeps trying
 * for up to 7 days). Each message is delivered on its own, so a redelivery can arrive after a later
 * message, as with Pub/Sub.
 *
 * The OIDC token is an RS256 JWT as Google signs them for push subscriptions: iss
 * https://accounts.google.com, aud (the configured audience, default the push endpoint), email (the
 * subscription's service account), email_verified, sub/azp, iat, exp (one hour). The sandbox's key
 * is served as Google serves its keys: PEM by kid at /oauth2/v1/certs and a JWKS at
 * /oauth2/v3/certs, so google-auth-library's `OAuth2Client.verifyIdToken` (with `endpoints` pointing
 * there) verifies it. Deviation: v1/certs holds SPKI public keys, not X.509 certificates (Node
 * cannot make certificates; `crypto.verify` and google-auth-library accept either).
 */
import { createHash, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Prng } from '../prng';
import { JSON_TYPE } from '../server';
import type { PubSubStats, PushSubscriptionInfo, PushSubscriptionInput } from './types';

const SUCCESS = new Set([102, 200, 201, 202, 204]);
const DELIVERY_TIMEOUT_MS = 5000;
const TOKEN_LIFETIME_S = 3600;
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';
const SUBSCRIPTION_RE = /^projects\/[^/]+\/subscriptions\/[A-Za-z][\w.~+%-]{2,254}$/;
const TOPIC_RE = /^projects\/[^/]+\/topics\/[A-Za-z][\w.~+%-]{2,254}$/;

/** The sandbox's Google signing key (ID tokens), generated on first use. */
export class GoogleKeys {
  private key: { privateKey: KeyObject; publicKey: KeyObject; kid: string } | undefined;

  private get(): { privateKey: KeyObject; publicKey: KeyObject; kid: string } {
    if (!this.key) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.key = { privateKey, publicKey, kid: randomBytes(20).toString('hex') };
    }
    return this.key;
  }

  sign(claims: Record<string, unknown>): string {
    const k = this.get();
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = `${enc({ alg: 'RS256', kid: k.kid, typ: 'JWT' })}.${enc(claims)}`;
    const sig = createSign('RSA-SHA256').update(head).sign(k.privateKey).toString('base64url');
    return `${head}.${sig}`;
  }

  pem(): Record<string, string> {
    const k = this.get();
    return { [k.kid]: k.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  }

  jwks(): { keys: Array<Record<string, string>> } {
    const k = this.get();
    const jwk = k.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    return { keys: [{ kty: 'RSA', alg: 'RS256', use: 'sig', kid: k.kid, n: jwk.n!, e: jwk.e! }] };
  }
}

/** GET /oauth2/v1/certs and /oauth2/v3/certs, as www.googleapis.com serves them (no auth). */
export function registerCertRoutes(app: FastifyInstance, keys: GoogleKeys): void {
  const answer = (reply: FastifyReply, body: unknown) =>
    reply.code(200).header('content-type', JSON_TYPE).header('cache-control', 'public, max-age=21600, must-revalidate, no-transform').send(JSON.stringify(body));
  app.get('/oauth2/v1/certs', (_req, reply) => answer(reply, keys.pem()));
  app.get('/oauth2/v3/certs', (_req, reply) => answer(reply, keys.jwks()));
}

interface Subscription {
  name: string;
  topic?: string;
  pushEndpoint: string;
  oidc?: { serviceAccountEmail: string; audience: string };
}

export interface RetryPolicy {
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export class PubSub {
  private readonly subs = new Map<string, Subscription>();
  private readonly counters = { published: 0, delivered: 0, failed: 0, retried: 0 };
  private inFlight = 0;
  private readonly scheduled = new Map<string, NodeJS.Timeout>();
  private waiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly opts: { projectId: string; projectNumber: string; ids: Prng; keys: GoogleKeys; retry: RetryPolicy },
  ) {}

  configure(input: PushSubscriptionInput): PushSubscriptionInfo {
    if (!input || typeof input !== 'object') throw new Error('a push subscription needs an endpoint');
    const name = input.subscription ?? `projects/${this.opts.projectId}/subscriptions/gmail-push`;
    if (!SUBSCRIPTION_RE.test(name)) throw new Error(`invalid subscription name ${name} (projects/<project>/subscriptions/<name>)`);
    if (input.topic !== undefined && !TOPIC_RE.test(input.topic)) throw new Error(`invalid topic name ${input.topic} (projects/<project>/topics/<name>)`);
    let url: URL;
    try {
      url = new URL(String(input.endpoint));
    } catch {
      throw new Error(`invalid push endpoint ${String(input.endpoint)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid push endpoint ${input.endpoint} (http or https)`);
    if (input.token !== undefined) url.searchParams.set('token', String(input.token));
    const sub: Subscription = { name, pushEndpoint: url.toString() };
    if (input.topic !== undefined) sub.topic = input.topic;
    if (input.oidc) {
      const o = input.oidc === true ? {} : input.oidc;
      sub.oidc = {
        serviceAccountEmail: o.serviceAccountEmail ?? `gmail-push@${this.opts.projectId}.iam.gserviceaccount.com`,
        audience: o.audience ?? sub.pushEndpoint,
      };
    }
    this.subs.set(name, sub);
    return info(sub);
  }

  remove(name: string): boolean {
    return this.subs.delete(name);
  }

  subscriptions(): PushSubscriptionInfo[] {
    return [...this.subs.values()].map(info);
  }

  /** Publishes `data` (JSON) to `topic` now; returns the message id. */
  publish(topic: string, data: unknown): string {
    this.counters.published++;
    const messageId = String(this.opts.ids.int(1_000_000_000, 9_999_999_999)) + String(this.opts.ids.int(100_000, 999_999));
    const publishTime = new Date().toISOString();
    const encoded = Buffer.from(JSON.stringify(data)).toString('base64');
    for (const sub of this.subs.values()) {
      if (sub.topic !== undefined && sub.topic !== topic) continue;
      const body = JSON.stringify({
        message: { data: encoded, messageId, message_id: messageId, publishTime, publish_time: publishTime },
        subscription: sub.name,
      });
      void this.deliver(sub, body);
    }
    return messageId;
  }

  /**
   * Coalesces: the first call for `key` starts a `delayMs` timer, later calls before it fires add
   * nothing; when it fires, `make()` says what to publish (or nothing).
   */
  schedule(key: string, delayMs: number, make: () => { topic: string; data: unknown } | undefined): void {
    if (this.scheduled.has(key) || this.abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.scheduled.delete(key);
      const msg = make();
      if (msg) this.publish(msg.topic, msg.data);
      this.wakeIfIdle();
    }, delayMs);
    timer.unref();
    this.scheduled.set(key, timer);
  }

  stats(): PubSubStats {
    return { ...this.counters, pending: this.pending() };
  }

  flush(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.abort.abort();
    for (const t of this.scheduled.values()) clearTimeout(t);
    this.scheduled.clear();
    this.wakeIfIdle(true);
  }

  private pending(): number {
    return this.inFlight + this.scheduled.size;
  }

  private async deliver(sub: Subscription, body: string): Promise<void> {
    this.inFlight++;
    const { maxAttempts, minBackoffMs, maxBackoffMs } = this.opts.retry;
    try {
      for (let attempt = 1; ; attempt++) {
        const ok = await this.post(sub, body);
        if (ok) {
          this.counters.delivered++;
          return;
        }
        if (this.abort.signal.aborted) return;
        if (attempt >= maxAttempts) {
          this.counters.failed++;
          return;
        }
        this.counters.retried++;
        const delay = Math.min(maxBackoffMs, minBackoffMs * 2 ** (attempt - 1)) * (0.8 + 0.4 * this.opts.ids.next());
        try {
          await sleep(delay, undefined, { signal: this.abort.signal, ref: false });
        } catch {
          return; // closed
        }
      }
    } finally {
      this.inFlight--;
      this.wakeIfIdle();
    }
  }

  private async post(sub: Subscription, body: string): Promise<boolean> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
    if (sub.oidc) {
      const now = Math.floor(Date.now() / 1000);
      const id = subjectId(sub.oidc.serviceAccountEmail);
      headers.Authorization = `Bearer ${this.opts.keys.sign({
        aud: sub.oidc.audience,
        azp: id,
        email: sub.oidc.serviceAccountEmail,
        email_verified: true,
        exp: now + TOKEN_LIFETIME_S,
        iat: now,
        iss: 'https://accounts.google.com',
        sub: id,
      })}`;
    }
    try {
      const res = await fetch(sub.pushEndpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      await res.body?.cancel().catch(() => undefined);
      return SUCCESS.has(res.status);
    } catch {
      return false;
    }
  }

  private wakeIfIdle(force = false): void {
    if (this.waiters.length === 0 || (!force && this.pending() > 0)) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

function info(s: Subscription): PushSubscriptionInfo {
  const out: PushSubscriptionInfo = { subscription: s.name, pushEndpoint: s.pushEndpoint };
  if (s.topic !== undefined) out.topic = s.topic;
  if (s.oidc) out.oidcToken = { ...s.oidc };
  return out;
}

/** A stable 21-digit numeric id for a service account (Google's `sub` of its tokens). */
function subjectId(email: string): string {
  const h = createHash('sha256').update(email).digest();
  let s = '1';
  for (let i = 0; s.length < 21; i++) s += String(h[i % h.length]! % 10);
  return s;
}
