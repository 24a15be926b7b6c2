/**
 * Record-by-record comparison for the connectors other than HubSpot (Google Calendar, Gmail, Drive,
 * Fireflies), one entity type at a time: the sandbox's records, mapped the way the connector maps
 * what the API returns, against the Aurora rows and the registry; versions against a fault-free
 * run's (1 + the changes the ledger counts); the Redis events of that entity type against the
 * changes (the same rules as verify.ts for HubSpot).
 */
import type { Pool } from 'pg';
import { canonicalize, type Canonical, type EntitySpec } from '../src/core/model';
import type { ExternalRecord } from '../src/connectors/types';
import type { SeenEvent } from './events';
import { judgeEvents, newVerdict, type Ledger, type LedgerEntry, type LocalRow, type Verdict } from './verify';

export interface Kind {
  /** the system's name in the table (Calendar, Gmail, Drive, Fireflies) */
  label: string;
  /** the registry's external_system */
  system: string;
  spec: EntitySpec;
  /** the connection (mailbox) its rows belong to, when the entity type has a connection column */
  connection?: string;
  ledger: Ledger;
  /**
   * pull-only types whose records the scenario does not make one by one (Fireflies' action items,
   * derived from a summary): a record first seen on the external side enters the ledger as new
   */
  adopt?: boolean;
  /** the external side now, as the connector maps it */
  externals(): ExternalRecord[];
  /** fields left out of the comparison (with the reason in the scenario's notes) */
  skip?: readonly string[];
  /**
   * A fault-free run's local version of a record new to Aurora, when not 1: a type with join tables
   * (a thread's labels) bumps the row once per join row the engine writes after the row (store/pull.ts)
   */
  createdLocalVersion?(rec: ExternalRecord): number;
  /**
   * A fault-free run's versions of a record created in Aurora, when not 1 / 1 / 1: the external
   * side fills fields on create (Gmail's label visibilities, Drive's permission id and display name)
   * and the engine writes them back into the row: row and local version 2, external version 1
   */
  localCreatedVersion?: number;
}


const versionsOf = (r: LocalRow) => [r.version, r.local_version ?? 0, r.external_version ?? 0];

/** Compares one entity type; `seen` is every event of the run (filtered here by entity type). */
export async function verifyKind(db: Pool, k: Kind, seen: SeenEvent[]): Promise<Verdict> {
  const { spec, ledger } = k;
  const cols = Object.keys(spec.fields).filter((f) => !spec.refs?.[f] && !k.skip?.includes(f));
  const only = (c: Canonical) => Object.fromEntries(cols.map((f) => [f, c[f] ?? null]));
  const params: unknown[] = [k.system, spec.type];
  const conn = spec.connectionColumn && k.connection ? `AND t.${spec.connectionColumn} = $3` : '';
  if (conn) params.push(k.connection);
  const { rows } = await db.query<LocalRow>(
    `SELECT t.*, r.external_id, r.local_version, r.external_version, r.sync_status AS reg_status, r.error_message AS reg_error FROM ${spec.table} t
     LEFT JOIN sync_registry r ON r.local_id = t.id::text AND r.external_system = $1 AND r.entity_type = $2 AND NOT r.deleted
     WHERE t.deleted_at IS NULL ${conn}`,
    params,
  );
  const registryRows = Number((await db.query<{ n: string }>(`SELECT count(*) n FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND NOT deleted`, [k.system, spec.type])).rows[0]!.n);
  const outboxPending = Number((await db.query<{ n: string }>(`SELECT count(*) n FROM sync_outbox WHERE published_at IS NULL AND payload->>'entity_type' = $1`, [spec.type])).rows[0]!.n);
  const v = newVerdict(registryRows, outboxPending);
  const sample = (s: string) => {
    if (v.samples.length < 20) v.samples.push(s);
  };
  const byExt = new Map<string, LocalRow[]>();
  for (const r of rows) if (r.external_id) byExt.set(r.external_id, [...(byExt.get(r.external_id) ?? []), r]);
  const records = k.externals();
  if (k.adopt) for (const rec of records) if (!ledger.external.has(rec.externalId)) ledger.changed('external', rec.externalId, {});
  const expectedKeys = new Set<string>();
  const what = (rec: ExternalRecord, row?: LocalRow) => `${spec.type} ${rec.externalId}${row ? ` / ${row.id}` : ''}`;
  const matchedLocal = new Set<string>();
  const byAurora = new Map<string, string[]>();
  const accounted = new Set<string>();
  for (const rec of records) {
    v.checked++;
    if (rec.auroraId) byAurora.set(rec.auroraId, [...(byAurora.get(rec.auroraId) ?? []), rec.externalId]);
    const locals = byExt.get(rec.externalId) ?? [];
    if (!locals.length) {
      v.lost++;
      sample(`${what(rec)} has no Aurora row`);
      continue;
    }
    const row = locals[0]!;
    matchedLocal.add(row.id);
    const ext = only(rec.fields);
    const loc = only(canonicalize(spec, row));
    const diff = cols.filter((f) => ext[f] !== loc[f]);
    const e: LedgerEntry | undefined = ledger.external.get(rec.externalId) ?? ledger.local.get(row.id);
    if (e) accounted.add(ledger.external.has(rec.externalId) ? `x:${rec.externalId}` : `l:${row.id}`);
    if (diff.length) {
      v.mismatched++;
      const reg = row.reg_status !== 'synced' ? ` (registry: ${String(row.reg_status)}${row.reg_error ? ` ${String(row.reg_error).slice(0, 200)}` : ''})` : '';
      sample(`${what(rec, row)}: ${diff.map((f) => `${f} external ${JSON.stringify(ext[f])} Aurora ${JSON.stringify(loc[f])}`).join(', ')}${reg}`);
    }
    if (e?.expect) {
      for (const [f, want] of Object.entries(e.expect)) {
        if ((rec.fields[f] ?? null) !== want || (canonicalize(spec, row)[f] ?? null) !== want) {
          v.lostUpdates++;
          sample(`${what(rec, row)}: ${f} should be ${JSON.stringify(want)}: external ${JSON.stringify(rec.fields[f] ?? null)}, Aurora ${JSON.stringify(canonicalize(spec, row)[f] ?? null)}`);
          break;
        }
      }
    }
    if (!e) {
      // An external record nobody made: a second copy of an Aurora create (or a record the scenario does not know).
      v.duplicatedExternal++;
      sample(`${what(rec, row)}: an external record the scenario did not make`);
      continue;
    }
    // a fault-free run: created at 1 (or the type's created version locally), each change bumps each by one
    const base = ledger.local.has(row.id) ? (k.localCreatedVersion ?? 1) : (k.createdLocalVersion?.(rec) ?? 1);
    const adopted = (before: number) => (e.adopted ?? []).filter((n) => n < before).length;
    const want = [base + e.changes + adopted(Infinity), base + e.changes + adopted(Infinity), 1 + e.changes];
    const got = versionsOf(row);
    const excess = got.reduce((n, x, i) => n + Math.max(0, x - want[i]!), 0);
    const clean = `a clean run: ${want[0]} / ${want[1]} / ${want[2]}`;
    if (excess > 0) {
      v.versionInflated++;
      v.versionExcess += Math.max(...got.map((x, i) => x - want[i]!));
      sample(`${what(rec, row)}: versions row ${got[0]} / local ${got[1]} / external ${got[2]}, ${clean}`);
    } else if (got.some((x, i) => x < want[i]!)) {
      v.versionShort++;
      sample(`${what(rec, row)}: versions row ${got[0]} / local ${got[1]} / external ${got[2]} below ${clean}`);
    }
    for (let n = Math.max(0, e.announcedBefore + 1); n <= e.changes; n++) {
      // an Aurora create is announced when pushed, at 1 / 1, before the written-back fields bump the row
      const lv = n === 0 && ledger.local.has(row.id) ? 1 : base + n + adopted(n);
      expectedKeys.add(`${row.id}|${n === 0 ? 'created' : 'updated'}|${lv}|${1 + n}`);
    }
  }
  for (const row of rows) {
    if (matchedLocal.has(row.id)) continue;
    if (ledger.local.has(row.id) && !row.external_id) {
      v.lost++;
      sample(`Aurora ${spec.type} ${row.id} (created in Aurora) never reached the external side`);
    } else {
      v.duplicatedAurora++;
      sample(`Aurora ${spec.type} ${row.id} (external id ${row.external_id ?? 'none'}) matches no external record: a duplicate`);
    }
  }
  for (const [aid, ids] of byAurora) {
    if (ids.length > 1) {
      v.duplicatedExternal += ids.length - 1;
      sample(`aurora id ${aid} is on ${ids.length} external records: ${ids.join(', ')}`);
    }
  }
  for (const id of ledger.external.keys()) {
    if (!accounted.has(`x:${id}`) && !records.some((r) => r.externalId === id)) {
      v.lost++;
      sample(`${spec.type} ${id} (made on the external side) is gone from it`);
    }
  }
  if (registryRows !== rows.length) sample(`registry rows ${registryRows}, live Aurora rows ${rows.length}`);
  await judgeEvents(db, v, expectedKeys, seen.filter((e) => e.entity_type === spec.type));
  v.dataOk = v.lost === 0 && v.lostUpdates === 0 && v.mismatched === 0 && v.duplicatedAurora === 0 && v.duplicatedExternal === 0 &&
    registryRows === rows.length && v.versionInflated === 0 && v.versionShort === 0 && outboxPending === 0;
  v.ok = v.dataOk && v.eventsMissing === 0 && v.eventsSpurious === 0;
  return v;
}

/** One verdict of several entity types (a system's row in the table). */
export function sumVerdicts(vs: Verdict[]): Verdict {
  const out = newVerdict(0, 0);
  const num = ['checked', 'lost', 'lostUpdates', 'mismatched', 'duplicatedAurora', 'duplicatedExternal', 'registryRows', 'versionInflated', 'versionExcess', 'versionShort',
    'eventsExpected', 'eventsMissing', 'eventsSpurious', 'eventsRedelivered', 'eventsRepeated', 'eventsMislabelled', 'outboxPending'] as const;
  for (const v of vs) {
    for (const k of num) out[k] += v[k];
    out.samples.push(...v.samples);
    if (v.eventIds !== 'unique') out.eventIds = v.eventIds;
  }
  out.samples = out.samples.slice(0, 20);
  out.dataOk = vs.every((v) => v.dataOk);
  out.ok = vs.every((v) => v.ok);
  return out;
}
