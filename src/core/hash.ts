/** Content hash of a canonical record: what echo suppression and change detection compare. */
import { createHash } from 'node:crypto';
import type { Canonical } from './model';

export function contentHash(canonical: Canonical): string {
  const ordered = Object.keys(canonical)
    .sort()
    .map((k) => [k, canonical[k]]);
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 32);
}
