/**
 * Encryption of everything Aurora Sync stores in Temporal: a PayloadCodec (AES-256-GCM) on every
 * client and worker, so workflow arguments, results, signals, queries' answers, memos, heartbeat
 * details and conflict snapshots are ciphertext at rest in the Temporal server.
 *
 * Keys live in the secrets folder (temporal-codec-keys.json: `{"current": "<id>", "keys": {"<id>":
 * "<32 bytes, base64 or hex>"}}`). The current key encrypts; every listed key decrypts, and each
 * encrypted payload names its key id in its metadata. Rotation: add a new key, make it current
 * (in the file or with TEMPORAL_CODEC_KEY_ID), keep the old one until no history needs it.
 *
 * A payload without the `binary/encrypted` encoding passes through decode unchanged: histories
 * written before encryption was turned on (and the replay fixtures) still decode.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
export const CODEC_KEYS_FILE = 'temporal-codec-keys.json';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._:-]{1,64}$/;

const utf8 = new TextEncoder();
const fromUtf8 = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export interface CodecKeys {
  /** the key that encrypts */
  currentKeyId: string;
  /** every key that decrypts (the current one included) */
  keys: ReadonlyMap<string, Buffer>;
}

/** A bad keys file or key id (the message names the problem, never a key). */
export class CodecKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecKeyError';
  }
}

/** A payload that cannot be decrypted: unknown key id, wrong key material or a tampered payload. */
export class CodecDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecDecodeError';
  }
}

function keyBytes(id: string, raw: unknown): Buffer {
  if (typeof raw !== 'string') throw new CodecKeyError(`key "${id}" must be a string (32 bytes as base64 or hex)`);
  const text = raw.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : null;
  if (!bytes) throw new CodecKeyError(`key "${id}" is neither base64 nor hex`);
  if (bytes.length !== 32) throw new CodecKeyError(`key "${id}" is ${bytes.length} bytes; AES-256 needs 32 (e.g. \`openssl rand -base64 32\`)`);
  return bytes;
}

/**
 * Parses the keys file's text. `currentOverride` (TEMPORAL_CODEC_KEY_ID) picks the encrypting key
 * instead of the file's "current". Throws CodecKeyError naming what is wrong (never a key's value).
 */
export function parseCodecKeys(text: string, currentOverride?: string): CodecKeys {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CodecKeyError('not valid JSON; expected {"current": "<key id>", "keys": {"<key id>": "<32 bytes base64>"}}');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CodecKeyError('expected a JSON object {"current": ..., "keys": {...}}');
  const { current, keys } = doc as { current?: unknown; keys?: unknown };
  if (!keys || typeof keys !== 'object' || Array.isArray(keys) || !Object.keys(keys).length) {
    throw new CodecKeyError('"keys" must be an object with at least one key id');
  }
  const parsed = new Map<string, Buffer>();
  for (const [id, raw] of Object.entries(keys as Record<string, unknown>)) {
    if (!KEY_ID.test(id)) throw new CodecKeyError(`key id "${id.slice(0, 64)}" must be 1-64 characters of A-Z a-z 0-9 . _ : -`);
    parsed.set(id, keyBytes(id, raw));
  }
  const currentKeyId = currentOverride ?? (typeof current === 'string' ? current : parsed.size === 1 ? [...parsed.keys()][0]! : undefined);
  if (!currentKeyId) throw new CodecKeyError('"current" must name the key id that encrypts (several keys are listed)');
  if (!parsed.has(currentKeyId)) {
    throw new CodecKeyError(`the current key id "${currentKeyId}"${currentOverride ? ' (TEMPORAL_CODEC_KEY_ID)' : ''} is not among the keys (${[...parsed.keys()].join(', ')})`);
  }
  return { currentKeyId, keys: parsed };
}

/** A fresh keys file's content with one random key (the demo and tests write one). */
export function newCodecKeysFile(keyId: string): string {
  return JSON.stringify({ current: keyId, keys: { [keyId]: randomBytes(32).toString('base64') } }, null, 2) + '\n';
}

export function isEncrypted(p: Payload): boolean {
  return fromUtf8(p.metadata?.[METADATA_ENCODING_KEY]) === ENCODING_ENCRYPTED;
}

/**
 * AES-256-GCM over the whole original payload (its protobuf bytes, metadata included), with the
 * key id as additional authenticated data: data = nonce (12) | ciphertext | tag (16).
 * `keys: null`: nothing is encrypted (development default), and an encrypted payload fails to
 * decode with a message saying so.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys | null) {}

  get encrypting(): boolean {
    return this.keys !== null;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keys = this.keys;
    if (!keys) return payloads;
    const id = keys.currentKeyId;
    const key = keys.keys.get(id)!;
    return payloads.map((p) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(utf8.encode(id));
      const body = Buffer.concat([cipher.update(temporal.api.common.v1.Payload.encode(p).finish()), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: utf8.encode(id), [METADATA_CIPHER]: utf8.encode(CIPHER) },
        data: Buffer.concat([nonce, body, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  private decrypt(p: Payload): Payload {
    const id = fromUtf8(p.metadata?.[METADATA_KEY_ID]) ?? '';
    if (!this.keys) {
      throw new CodecDecodeError(`payload is encrypted (key id "${id}") but no codec keys are configured (${CODEC_KEYS_FILE} in SECRETS_DIR or TEMPORAL_CODEC_KEYS_PATH)`);
    }
    const key = this.keys.keys.get(id);
    if (!key) {
      throw new CodecDecodeError(`payload encrypted with key id "${id}", which is not among the configured codec keys (${[...this.keys.keys.keys()].join(', ')}); add that key to ${CODEC_KEYS_FILE}`);
    }
    const data = Buffer.from(p.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new CodecDecodeError(`payload encrypted with key id "${id}" is truncated (${data.length} bytes)`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(utf8.encode(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      const inner = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: inner.metadata, data: inner.data };
    } catch {
      throw new CodecDecodeError(`payload encrypted with key id "${id}" does not decrypt with the configured key of that id (different key material, or the payload was altered)`);
    }
  }
}

/** The codec and data converter for a configuration; one instance per keys object. */
const codecs = new WeakMap<object, EncryptionCodec>();
const NO_KEYS = {};
export function codecFor(keys: CodecKeys | null): EncryptionCodec {
  const slot = keys ?? NO_KEYS;
  let codec = codecs.get(slot);
  if (!codec) codecs.set(slot, (codec = new EncryptionCodec(keys)));
  return codec;
}

/** For Client and Worker options: `dataConverter: dataConverterFor(cfg.temporal.codec)`. */
export function dataConverterFor(keys: CodecKeys | null): DataConverter {
  return { payloadCodecs: [codecFor(keys)] };
}
