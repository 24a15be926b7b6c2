/** Content hash of a canonical record: what echo suppression and change detection compare. */
import { hash } from 'node:crypto';
import type { Canonical } from './model';

/**
 * The first 32 hex digits of the SHA-256 of the record's [field, value] pairs in field order. One
 * call per record and side of every page: crypto.hash (one shot, no Hash object) is the same
 * digest at half the cost of createHash().update().digest().
 */
export function contentHash(canonical: Canonical): string {
  const ordered = Object.keys(canonical)
    .sort()
    .map((k) => [k, canonical[k]]);
  return hash('sha256', JSON.stringify(ordered)).slice(0, 32);
}
