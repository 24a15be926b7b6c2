/**
 * A webhook request's body, as the verifiers need it: the exact bytes for the signature (HubSpot
 * and Fireflies sign the raw bytes), then — only once verified — the text, strictly UTF-8 and JSON.
 * An unverifiable request learns nothing about its body (401 first); a verified but malformed one
 * gets 400 saying what is wrong.
 */
import type { WebhookRequest, WebhookVerdict } from './types';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text, or null when they are not valid UTF-8 (no replacement characters). */
export function utf8OrNull(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** The bytes the sender signed. */
export const bodyBytes = (req: WebhookRequest): Buffer => req.bytes ?? Buffer.from(req.rawBody ?? '', 'utf8');

/** The first byte that is not JSON whitespace (0 for an empty body). */
export function firstByte(bytes: Uint8Array): number {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  return 0;
}

/** A verified body parsed as JSON, or the 400 verdict saying why it is not. */
export function verifiedJson(req: WebhookRequest): { json: unknown } | { refused: WebhookVerdict } {
  const refused = (error: string) => ({ refused: { status: 400, outcome: 'malformed', body: { error } } });
  if (req.rawBody === null) return refused('the body is not valid UTF-8');
  try {
    return { json: JSON.parse(req.rawBody) as unknown };
  } catch {
    return refused('the body is not valid JSON');
  }
}
