/**
 * Record-by-record comparison of Aurora (rows + sync_registry) with the sandbox, versions against
 * what a fault-free run produces, and the Redis events against the changes that were made.
 *
 * The scenario keeps a ledger of what it did: per record (by HubSpot id, or by Aurora id for rows
 * created in Aurora) how many changes it made in all (`changes`), how many of them had already been
 * synced and announced before the measured phase (`announcedBefore`, -1: the record is new in this
 * phase), and the field values its last change set on each side (`expect`). A fault-free run
 * leaves a record with version = local_version = external_version = 1 + changes (created at 1;
 * each change, pulled or pushed, bumps each by one) and announces (id, created, 1, 1) then
 * (id, updated, v, v) for each change.
 */
import type { Pool } from 'pg';
import { canonicalize, type Canonical } from '../src/core/model';
import { hubspotSpec } from '../src/connectors/hubspot/entities';
import { AURORA_ID_PROPERTY, toCanonical } from '../src/connectors/hubspot/mapping';
import type { HubSpotSandbox } from '../src/sandbox/hubspot';
import { eventKey, type SeenEvent } from './events';

export interface LedgerEntry {
  changes: number;
  announcedBefore: number;
  /** canonical field values the last change made, which both sides must end with */
  expect?: Record<string, string | null>;
  /**
   * the changes (by number, 1 = the first after the create) whose push also takes values the
   * external side computed back into the row (a Gmail thread's message labels after a modify): one
   * more row and local version each, after the change was announced
   */
  adopted?: number[];
}

export class Ledger {
  /** by HubSpot id */
  readonly external = new Map<string, LedgerEntry>();
  /** rows created in Aurora, by Aurora id */
  readonly local = new Map<string, LedgerEntry>();
  /** records the measured phase starts from: everything so far counts as announced */
  startPhase(): void {
    for (const m of [this.external, this.local]) for (const e of m.values()) e.announcedBefore = e.changes;
  }
  changed(map: 'external' | 'local', id: string, expect: Record<string, string | null>): void {
    const m = map === 'external' ? this.external : this.local;
    const e = m.get(id);
    if (e) {
      e.changes++;
      e.expect = { ...e.expect, ...expect };
    } else m.set(id, { changes: 0, announcedBefore: -1, expect });
  }
  /** a change made in Aurora whose push writes values the external side computed back into the row */
  changedAdopting(map: 'external' | 'local', id: string, expect: Record<string, string | null>): void {
    this.changed(map, id, expect);
    const e = (map === 'external' ? this.external : this.local).get(id)!;
    e.adopted = [...(e.adopted ?? []), e.changes];
  }
}

export interface Verdict {
  checked: number;
  /** sandbox records missing in Aurora, Aurora-created rows missing in the sandbox */
  lost: number;
  /** a change one side made that the other side does not show (a lost update) */
  lostUpdates: number;
  /** records equal on neither count above but with differing field values */
  mismatched: number;
  duplicatedAurora: number;
  duplicatedExternal: number;
  registryRows: number;
  /** records whose versions are above a fault-free run's, and by how much in all */
  versionInflated: number;
  versionExcess: number;
  /** below a fault-free run's (a change not counted) */
  versionShort: number;
  eventsExpected: number;
  eventsMissing: number;
  eventsSpurious: number;
  /** deliveries of an event_id already delivered (at least once: allowed, consumers dedupe by event_id) */
  eventsRedelivered: number;
  /** deliveries of a change already announced (redeliveries, and the same change in two outbox rows) */
  eventsRepeated: number;
  eventIds: 'unique' | 'repeated' | 'absent';
  /** of the missing: announced, but with another action (e.g. 'updated' for a record new to consumers) */
  eventsMislabelled: number;
  outboxPending: number;
  /** both sides equal, versions as a clean run's, the outbox drained (events aside) */
  dataOk: boolean;
  ok: boolean;
  /** when both sides were first seen equal (set by the scenario's wait) */
  convergedAt?: number;
  /** a few examples of each problem */
  samples: string[];
}

export interface LocalRow {
  id: string;
  external_id: string | null;
  version: number;
  local_version: number | null;
  external_version: number | null;
  [k: string]: unknown;
}

export async function verify(db: Pool, sandbox: HubSpotSandbox, ledger: Ledger, seen: SeenEvent[]): Promise<Verdict> {
  const spec = hubspotSpec('contact');
  const cols = Object.keys(spec.fields).filter((f) => !spec.refs?.[f]);
  const only = (c: Canonical) => Object.fromEntries(cols.map((f) => [f, c[f] ?? null]));
  const { rows } = await db.query<LocalRow>(
    `SELECT c.*, r.external_id, r.local_version, r.external_version FROM contacts c
     LEFT JOIN sync_registry r ON r.local_id = c.id AND r.external_system = 'hubspot' AND r.entity_type = 'contact' AND NOT r.deleted
     WHERE c.deleted_at IS NULL`,
  );
  const registryRows = Number((await db.query<{ n: string }>(`SELECT count(*) n FROM sync_registry WHERE external_system = 'hubspot' AND entity_type = 'contact' AND NOT deleted`)).rows[0]!.n);
  const outboxPending = Number((await db.query<{ n: string }>('SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL')).rows[0]!.n);
  const byExt = new Map<string, LocalRow[]>();
  for (const r of rows) if (r.external_id) byExt.set(r.external_id, [...(byExt.get(r.external_id) ?? []), r]);
  const records = sandbox.list('contacts');
  const v = newVerdict(registryRows, outboxPending);
  const sample = (s: string) => {
    if (v.samples.length < 20) v.samples.push(s);
  };
  const expectedKeys = new Set<string>();
  const expectKeys = (localId: string, e: LedgerEntry) => {
    for (let k = Math.max(0, e.announcedBefore + 1); k <= e.changes; k++) {
      expectedKeys.add(eventKey({ entity_id: localId, action: k === 0 ? 'created' : 'updated', local_version: 1 + k, external_version: 1 + k }));
    }
  };
  const checkVersions = (row: LocalRow, e: LedgerEntry | undefined, what: string) => {
    const want = 1 + (e?.changes ?? 0);
    const got = Math.max(row.version, row.local_version ?? 0, row.external_version ?? 0);
    if (got > want) {
      v.versionInflated++;
      v.versionExcess += got - want;
      sample(`${what}: versions row ${row.version} / local ${row.local_version} / external ${row.external_version}, a clean run: ${want}`);
    } else if (Math.min(row.version, row.local_version ?? 0, row.external_version ?? 0) < want) {
      v.versionShort++;
      sample(`${what}: versions row ${row.version} / local ${row.local_version} / external ${row.external_version} below a clean run's ${want}`);
    }
  };
  const checkExpect = (ext: Canonical, loc: Canonical, e: LedgerEntry | undefined, what: string) => {
    if (!e?.expect) return;
    for (const [f, want] of Object.entries(e.expect)) {
      if ((ext[f] ?? null) !== want || (loc[f] ?? null) !== want) {
        v.lostUpdates++;
        sample(`${what}: ${f} should be ${JSON.stringify(want)}: HubSpot ${JSON.stringify(ext[f] ?? null)}, Aurora ${JSON.stringify(loc[f] ?? null)}`);
        return;
      }
    }
  };

  const matchedLocal = new Set<string>();
  const byAurora = new Map<string, string[]>();
  for (const rec of records) {
    v.checked++;
    const aid = rec.properties[AURORA_ID_PROPERTY];
    if (aid) byAurora.set(aid, [...(byAurora.get(aid) ?? []), rec.id]);
    const locals = byExt.get(rec.id) ?? [];
    if (!locals.length) {
      v.lost++;
      sample(`HubSpot contact ${rec.id} has no Aurora row`);
      continue;
    }
    const row = locals[0]!;
    matchedLocal.add(row.id);
    const ext = only(toCanonical('contact', rec));
    const loc = only(canonicalize(spec, row));
    const diff = cols.filter((f) => ext[f] !== loc[f]);
    const e = ledger.external.get(rec.id) ?? (aid ? ledger.local.get(aid) : undefined);
    if (diff.length) {
      v.mismatched++;
      sample(`contact ${rec.id} / ${row.id}: ${diff.map((f) => `${f} HubSpot ${JSON.stringify(ext[f])} Aurora ${JSON.stringify(loc[f])}`).join(', ')}`);
    }
    checkExpect(ext, loc, e, `contact ${rec.id} / ${row.id}`);
    checkVersions(row, e, `contact ${rec.id} / ${row.id}`);
    if (e) expectKeys(row.id, e);
  }
  // Aurora rows no HubSpot record accounts for: an Aurora create never pushed is lost on the way out; anything else duplicates.
  for (const row of rows) {
    if (matchedLocal.has(row.id)) continue;
    if (ledger.local.has(row.id) && !row.external_id) {
      v.lost++;
      sample(`Aurora contact ${row.id} (created in Aurora) never reached HubSpot`);
    } else {
      v.duplicatedAurora++;
      sample(`Aurora contact ${row.id} (external id ${row.external_id ?? 'none'}) matches no HubSpot contact: a duplicate`);
    }
  }
  for (const [aid, ids] of byAurora) {
    if (ids.length > 1) {
      v.duplicatedExternal += ids.length - 1;
      sample(`aurora_id ${aid} is on ${ids.length} HubSpot contacts: ${ids.join(', ')}`);
    }
  }
  for (const id of ledger.local.keys()) {
    if (!byAurora.has(id) && rows.some((r) => r.id === id && r.external_id)) {
      sample(`Aurora contact ${id} is linked but no HubSpot contact carries its aurora_id`);
    }
  }
  const expectedTotal = ledger.external.size + ledger.local.size;
  if (records.length > expectedTotal && v.duplicatedExternal === 0) {
    v.duplicatedExternal += records.length - expectedTotal;
    sample(`HubSpot has ${records.length} contacts, ${expectedTotal} expected`);
  }
  if (registryRows !== rows.length) sample(`registry rows ${registryRows}, live Aurora rows ${rows.length}`);

  await judgeEvents(db, v, expectedKeys, seen);
  v.dataOk = v.lost === 0 && v.lostUpdates === 0 && v.mismatched === 0 && v.duplicatedAurora === 0 && v.duplicatedExternal === 0 &&
    registryRows === rows.length && v.versionInflated === 0 && v.versionShort === 0 && outboxPending === 0;
  v.ok = v.dataOk && v.eventsMissing === 0 && v.eventsSpurious === 0;
  return v;
}

export function newVerdict(registryRows: number, outboxPending: number): Verdict {
  return {
    checked: 0, lost: 0, lostUpdates: 0, mismatched: 0, duplicatedAurora: 0, duplicatedExternal: 0, registryRows, versionInflated: 0, versionExcess: 0, versionShort: 0,
    eventsExpected: 0, eventsMissing: 0, eventsSpurious: 0, eventsRedelivered: 0, eventsRepeated: 0, eventIds: 'unique', eventsMislabelled: 0, outboxPending, dataOk: false, ok: false, samples: [],
  };
}

/**
 * The events seen against the changes expected (keys `entity_id|action|local_version|external_version`):
 * missing, spurious, announced with another action (with the outbox rows of such a record), redelivered.
 */
export async function judgeEvents(db: Pool, v: Verdict, expectedKeys: Set<string>, seen: SeenEvent[]): Promise<void> {
  const sample = (s: string) => {
    if (v.samples.length < 20) v.samples.push(s);
  };
  const distinct = new Map<string, number>();
  for (const e of seen) distinct.set(eventKey(e), (distinct.get(eventKey(e)) ?? 0) + 1);
  const ids = new Set(seen.map((e) => e.event_id).filter((id) => id !== undefined));
  v.eventIds = ids.size === seen.length ? 'unique' : seen.some((e) => e.event_id === undefined) ? 'absent' : 'repeated';
  v.eventsExpected = expectedKeys.size;
  const mislabelled: string[] = [];
  const versionsOf = (k: string) => k.split('|').filter((_, i) => i !== 1).join('|');
  const seenVersions = new Map<string, string>();
  for (const k of distinct.keys()) seenVersions.set(versionsOf(k), k);
  for (const k of expectedKeys) {
    if (!distinct.has(k)) {
      v.eventsMissing++;
      const other = seenVersions.get(versionsOf(k));
      if (other && !expectedKeys.has(other)) {
        v.eventsMislabelled++;
        if (v.eventsMislabelled <= 2) mislabelled.push(k.split('|')[0]!);
      }
      if (v.eventsMissing <= 3) sample(`no event ${k}${other ? ` (announced as ${other.split('|')[1]})` : ''}`);
    }
  }
  for (const id of mislabelled) {
    const { rows: out } = await db.query<{ id: string; payload: Record<string, unknown> }>(`SELECT id, payload FROM sync_outbox WHERE payload->>'entity_id' = $1 ORDER BY id`, [id]);
    sample(`outbox of ${id}: ${out.map((o) => `#${o.id} ${String(o.payload.action)} ${String(o.payload.direction)} v${String(o.payload.local_version)}/${String(o.payload.external_version)}`).join(', ')}`);
  }
  for (const [k, n] of distinct) {
    if (!expectedKeys.has(k)) {
      v.eventsSpurious++;
      if (v.eventsSpurious <= 3) sample(`event for no change: ${k}`);
    }
    v.eventsRepeated += n - 1;
  }
  // Redeliveries carry the same event_id; the same change announced by two outbox rows does not.
  v.eventsRedelivered = v.eventIds === 'absent' ? v.eventsRepeated : seen.length - ids.size;
  if (v.eventsRepeated > v.eventsRedelivered) sample(`${v.eventsRepeated - v.eventsRedelivered} changes announced twice under different event ids`);
}
