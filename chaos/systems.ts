/**
 * What a scenario needs of each system, so one scenario runs against any of them: its sandbox (in
 * this process, behind the suite's TCP proxy), the worker's settings for it, how to seed a backfill,
 * which changes a user makes on each side, the comparison record by record (one verdict per system
 * in the table: Google's connection syncs Calendar, Gmail and Drive in one workflow) and the
 * sandbox's fault hooks (5xx share, bursts of 429s).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { DEFAULT_CONNECTION } from '../src/core/model';
import { CALENDAR_EVENT } from '../src/connectors/google_workspace/calendar/entities';
import { toExternalRecord } from '../src/connectors/google_workspace/calendar/mapping';
import { EMAIL, EMAIL_LABEL } from '../src/connectors/google_workspace/gmail/entities';
import { toEmailRecord, toLabelRecord } from '../src/connectors/google_workspace/gmail/mapping';
import { DRIVE_FILE, DRIVE_PERMISSION } from '../src/connectors/google_workspace/drive/entities';
import { ownPermissions, toFileRecord, toPermissionRecord } from '../src/connectors/google_workspace/drive/mapping';
import { ACTION_ITEM, TRANSCRIPT } from '../src/connectors/fireflies/entities';
import { toActionItemRecords, toTranscriptRecord } from '../src/connectors/fireflies/mapping';
import { startHubSpotSandbox, type HubSpotSandbox } from '../src/sandbox/hubspot';
import { startGoogleSandbox, type GoogleSandbox } from '../src/sandbox/google';
import { actionItemsList, startFirefliesSandbox, type FirefliesSandbox } from '../src/sandbox/fireflies';
import type { SeenEvent } from './events';
import { sumVerdicts, verifyKind, type Kind } from './records';
import { Ledger, verify, type Verdict } from './verify';

export type SystemName = 'hubspot' | 'google' | 'fireflies';
export const SYSTEMS: readonly SystemName[] = ['hubspot', 'google', 'fireflies'];

export interface Sized {
  /** records of a backfill, by system label (what was seeded) */
  backfill: number;
  base: number;
}

export interface FaultHooks {
  /** share 0..1 of API requests answered 5xx */
  errors(rate: number): void;
  /** the next n API requests answered 429 */
  burst429(n: number): void;
  /**
   * 429s per burst of the 3d storm (default 5). A client that backs off exponentially on
   * consecutive refusals needs fewer, or every request of the storm is one of a burst and the
   * storm's 5xx are never reached.
   */
  stormBurst?: number;
  /**
   * The 3d storm's least length. A client whose backoff reached its cap during the outage sends its
   * next request up to that cap later: a storm not much longer than the cap sees a few requests only.
   */
  minStormMs?: number;
  clear(): void;
  reset(): void;
  stats(): { requests: number; faulted5xx: number; rateLimited: number };
}

/** One system as the scenarios drive it. */
export interface Driver {
  system: SystemName;
  /** the registry's external_system (the workflow's system) */
  registrySystem: string;
  connection: string;
  /** the rows of the table: one per product */
  labels: string[];
  /** pull-only: no Aurora-side changes to push */
  twoWay: boolean;
  /** seeds a backfill of about n records; says what was seeded */
  seedBackfill(n: number): string;
  /** seeds a base for the incremental scenarios (not measured) */
  seedBase(n: number): string;
  /** Aurora rows so far (a backfill's progress) */
  localCount(): Promise<number>;
  /** Aurora rows expected when synced (cheap check before the full comparison) */
  expectedCount(): number;
  verify(seen: SeenEvent[]): Promise<{ label: string; verdict: Verdict }[]>;
  /** n changes on each side (the external side only for pull-only systems): edits and creates */
  change(rng: () => number, n: number, touched: Set<string>): Promise<void>;
  /** n creates in Aurora (the writes a second run of a push could duplicate); false: pull-only */
  createLocal(n: number): Promise<boolean>;
  startPhase(): void;
  faults: FaultHooks;
  /** notes for the table (sizes made smaller and why, fields not compared) */
  notes: string[];
}

export interface SystemPart {
  /** the sandbox's port (the proxy forwards to it) */
  port: number;
  /** the worker's settings, given the proxy's URL */
  env(proxyUrl: string, dir: string, id: string): Record<string, string>;
  driver(db: Pool): Driver;
  /** for the HubSpot-only parts of the suite */
  hubspot?: HubSpotSandbox;
  close(): Promise<void>;
}

export interface SystemOptions {
  latencyMs?: number;
  /** the sandbox's quotas / rate limits as the design has them (default true) */
  limits?: boolean;
}

const int = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

function shuffled<T>(rng: () => number, xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

let uniq = 0;
const tag = () => `${Date.now().toString(36)}${(uniq++).toString(36)}`;

async function countRows(db: Pool, tables: string[]): Promise<number> {
  let n = 0;
  for (const t of tables) n += Number((await db.query<{ n: string }>(`SELECT count(*) n FROM ${t} WHERE deleted_at IS NULL`)).rows[0]!.n);
  return n;
}

/** Registry rows of one entity type not yet touched in this phase, with their external ids. */
async function linked(db: Pool, system: string, type: string, touched: Set<string>): Promise<{ id: string; external_id: string }[]> {
  const { rows } = await db.query<{ id: string; external_id: string }>(
    `SELECT local_id AS id, external_id FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND NOT deleted AND external_id IS NOT NULL`,
    [system, type],
  );
  return rows.filter((r) => !touched.has(r.id));
}

// ---------------------------------------------------------------- HubSpot

export async function hubspotPart(opts: SystemOptions): Promise<SystemPart> {
  const sb = await startHubSpotSandbox({ rateLimits: opts.limits ?? true, latencyMs: opts.latencyMs ?? 0 });
  const ledger = new Ledger();
  return {
    port: sb.port,
    hubspot: sb,
    env: (url, _dir, id) => ({ HUBSPOT_API_KEY: `chaos-token-${id}`, HUBSPOT_BASE_URL: url }),
    driver: (db) => ({
      system: 'hubspot',
      registrySystem: 'hubspot',
      connection: DEFAULT_CONNECTION,
      labels: ['HubSpot'],
      twoWay: true,
      seedBackfill(n) {
        for (const r of sb.seed('contacts', n)) ledger.changed('external', r.id, {});
        return `${n.toLocaleString('en')} contacts`;
      },
      seedBase(n) {
        return this.seedBackfill(n);
      },
      localCount: () => countRows(db, ['contacts']),
      expectedCount: () => ledger.external.size + ledger.local.size,
      verify: async (seen) => [{ label: 'HubSpot', verdict: await verify(db, sb, ledger, seen) }],
      async change(rng, n, touched) {
        // 90 % edits of records not yet changed in this phase, 10 % creates, on each side.
        const creates = Math.max(1, Math.round(n / 10));
        const edits = n - creates;
        const pool = shuffled(rng, await linked(db, 'hubspot', 'contact', touched));
        if (pool.length < 2 * edits) throw new Error(`chaos: only ${pool.length} untouched records for ${2 * edits} edits`);
        const hub = pool.slice(0, edits);
        const aur = pool.slice(edits, 2 * edits);
        const t = tag();
        // HubSpot side: a user edits last name and phone.
        for (const [i, r] of hub.entries()) {
          touched.add(r.id);
          const last = `Hub${t}x${i}`;
          const phone = `+1555${String(int(rng, 0, 9_999_999)).padStart(7, '0')}`;
          sb.userUpdate('contacts', r.external_id, { lastname: last, phone });
          bump(ledger, r.id, r.external_id, { last_name: last, phone });
        }
        for (let i = 0; i < creates; i++) {
          const rec = sb.userCreate('contacts', { firstname: 'Hubcreated', lastname: `Hub${t}c${i}`, email: `hub-${t}-${i}@chaos.example` });
          ledger.changed('external', rec.id, { last_name: `Hub${t}c${i}` });
        }
        // Aurora side: SQL updates and inserts, as Aurora's own code makes them.
        const lasts = aur.map((_, i) => `Aur${t}x${i}`);
        const linkedin = aur.map((_, i) => `https://www.linkedin.com/in/aur-${t}-${i}`);
        for (const r of aur) touched.add(r.id);
        await db.query(
          `UPDATE contacts c SET last_name = x.last, linkedin_url = x.li FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, last, li) WHERE c.id = x.id`,
          [aur.map((r) => r.id), lasts, linkedin],
        );
        for (const [i, r] of aur.entries()) bump(ledger, r.id, r.external_id, { last_name: lasts[i]!, linkedin_url: linkedin[i]! });
        const { rows: created } = await db.query<{ id: string; last_name: string }>(
          `INSERT INTO contacts (first_name, last_name, email) SELECT 'Aurcreated', 'Aur' || $1 || 'c' || g, 'aur-' || $1 || '-' || g || '@chaos.example' FROM generate_series(1, $2::int) g RETURNING id, last_name`,
          [t, creates],
        );
        for (const r of created) {
          ledger.changed('local', r.id, { last_name: r.last_name });
          touched.add(r.id);
        }
      },
      async createLocal(n) {
        const { rows: created } = await db.query<{ id: string; last_name: string }>(
          `INSERT INTO contacts (first_name, last_name, email) SELECT 'Twocreated', 'Two' || g, 'two-' || g || '-' || $1 || '@chaos.example' FROM generate_series(1, $2::int) g RETURNING id, last_name`,
          [tag(), n],
        );
        for (const c of created) ledger.changed('local', c.id, { last_name: c.last_name });
        return true;
      },
      startPhase: () => ledger.startPhase(),
      faults: {
        errors: (rate) => sb.faults.set({ error5xxRate: rate }),
        burst429: (n) => sb.faults.set({ rateLimitBurst: n }),
        clear: () => sb.faults.clear(),
        reset: () => sb.resetStats(),
        stats: () => {
          const s = sb.stats();
          return { requests: s.requests, faulted5xx: s.faulted - s.rateLimited, rateLimited: s.rateLimited };
        },
      },
      notes: [],
    }),
    close: () => sb.close(),
  };
}

// ---------------------------------------------------------------- Google (Calendar, Gmail, Drive)

export const GOOGLE_USER = 'ana@acme.test';
const GOOGLE = 'google_workspace';

/** How a Google backfill of n is split: Calendar n; Gmail and Drive smaller (their quotas make them slow: see notes). */
export function googleSplit(n: number): { calendar: number; gmail: number; drive: number } {
  return { calendar: n, gmail: Math.min(n, Math.max(50, Math.round(n / 10))), drive: Math.min(n, Math.max(50, Math.round(n / 4))) };
}

export async function googlePart(opts: SystemOptions): Promise<SystemPart> {
  const limits = opts.limits ?? true;
  const sb: GoogleSandbox = await startGoogleSandbox({ users: [GOOGLE_USER], quotas: limits, gmail: { quotas: limits }, drive: { quotas: limits } });
  if (opts.latencyMs) sb.faults.set({ latencyMs: opts.latencyMs });
  const u = GOOGLE_USER;
  const now = () => new Date().toISOString();
  const ledgers = { cal: new Ledger(), label: new Ledger(), email: new Ledger(), file: new Ledger(), perm: new Ledger() };
  const files = () => [sb.drive.get(u, sb.drive.rootId(u))!, ...sb.drive.list(u)];
  const shareable = () => files().filter((f) => f.capabilities?.canShare === true);
  const kinds: Kind[] = [
    { label: 'Calendar', system: GOOGLE, spec: CALENDAR_EVENT, connection: u, ledger: ledgers.cal, localCreatedVersion: 2,
      externals: () => sb.calendar.list(u, u).map((e) => toExternalRecord(e as Parameters<typeof toExternalRecord>[0], u)) },
    { label: 'Gmail', system: GOOGLE, spec: EMAIL_LABEL, connection: u, ledger: ledgers.label, adopt: true, localCreatedVersion: 2,
      externals: () => sb.gmail.labels(u).map((l) => toLabelRecord(l as Parameters<typeof toLabelRecord>[0], now())) },
    { label: 'Gmail', system: GOOGLE, spec: EMAIL, connection: u, ledger: ledgers.email,
      externals: () => sb.gmail.threads(u, { includeSpamTrash: true }).map((t) => toEmailRecord(t as Parameters<typeof toEmailRecord>[0], false, now())),
      // each label row written after the thread's row bumps its version (the scenario never changes a thread's user labels)
      createdLocalVersion: (rec) => 1 + refCount(rec.fields.labels ?? null) },
    { label: 'Drive', system: GOOGLE, spec: DRIVE_FILE, connection: u, ledger: ledgers.file, adopt: true,
      externals: () => files().map((f) => toFileRecord(f as Parameters<typeof toFileRecord>[0])) },
    { label: 'Drive', system: GOOGLE, spec: DRIVE_PERMISSION, connection: u, ledger: ledgers.perm, adopt: false, localCreatedVersion: 2,
      externals: () => shareable().flatMap((f) => ownPermissions(sb.drive.permissions(f.id!) as Parameters<typeof ownPermissions>[0]).map((p) => toPermissionRecord(f.id!, p, now()))) },
  ];
  // Seeded permissions enter the ledger as the scenario's own (made on the external side).
  const enterPermissions = () => {
    for (const r of kinds[4]!.externals()) if (!ledgers.perm.external.has(r.externalId)) ledgers.perm.changed('external', r.externalId, {});
  };
  const seed = (n: number, split: ReturnType<typeof googleSplit>) => {
    sb.calendar.seed(u, u, split.calendar);
    // what the calendar lists (a seeded cancelled instance of a recurring event is no record)
    for (const e of kinds[0]!.externals()) if (!ledgers.cal.external.has(e.externalId)) ledgers.cal.changed('external', e.externalId, {});
    for (const t of sb.gmail.seed(u, split.gmail)) ledgers.email.changed('external', t.id!, {});
    sb.drive.seed(u, split.drive);
    enterPermissions();
    void n;
    return `Calendar ${split.calendar.toLocaleString('en')} events, Gmail ${split.gmail.toLocaleString('en')} threads, Drive ${split.drive.toLocaleString('en')} files`;
  };
  return {
    port: sb.port,
    env: (url, dir) => {
      const path = join(dir, `google-credentials-${sb.port}.json`);
      writeFileSync(path, JSON.stringify(sb.auth.serviceAccount()), { mode: 0o600 });
      return { GOOGLE_CREDENTIALS_PATH: path, GOOGLE_USERS: u, GOOGLE_API_ROOT_URL: `${url}/`, GOOGLE_TOKEN_URL: `${url}/token`, GOOGLE_CALENDAR_IDS: 'primary' };
    },
    driver: (db) => ({
      system: 'google',
      registrySystem: GOOGLE,
      connection: u,
      labels: ['Calendar', 'Gmail', 'Drive'],
      twoWay: true,
      seedBackfill: (n) => seed(n, googleSplit(n)),
      seedBase: (n) => seed(n, { calendar: n, gmail: Math.min(n, 500), drive: Math.min(n, 500) }),
      localCount: () => countRows(db, ['calendar_events', 'email_threads', 'drive_files', 'drive_permissions']),
      expectedCount: () => ledgers.cal.external.size + ledgers.cal.local.size + ledgers.email.external.size + ledgers.perm.external.size + ledgers.perm.local.size + sb.drive.list(u).length,
      async verify(seen) {
        const vs: { label: string; verdict: Verdict }[] = [];
        for (const k of kinds) vs.push({ label: k.label, verdict: await verifyKind(db, k, seen) });
        return ['Calendar', 'Gmail', 'Drive'].map((label) => ({ label, verdict: sumVerdicts(vs.filter((v) => v.label === label).map((v) => v.verdict)) }));
      },
      async change(rng, n, touched) {
        const creates = Math.max(1, Math.round(n / 10));
        const edits = n - creates;
        const t = tag();
        // Calendar: a user edits title and place in Google, Aurora edits title and description; creates on both sides.
        const cal = shuffled(rng, await linked(db, GOOGLE, 'calendar_event', touched));
        if (cal.length < 3 * edits) throw new Error(`chaos: only ${cal.length} untouched events for ${2 * edits} edits (a third for Aurora: those the user organizes)`);
        for (const [i, r] of cal.slice(0, edits).entries()) {
          touched.add(r.id);
          const summary = `Gcal ${t} x${i}`;
          const location = `Room ${int(rng, 1, 999)}`;
          sb.calendar.userPatch(u, u, r.external_id, { summary, location });
          bump(ledgers.cal, r.id, r.external_id, { summary, location });
        }
        for (let i = 0; i < creates; i++) {
          const start = Date.now() + int(rng, 1, 60) * 86_400_000;
          const summary = `Gcal ${t} c${i}`;
          const ev = sb.calendar.userInsert(u, u, { summary, start: { dateTime: new Date(start).toISOString() }, end: { dateTime: new Date(start + 3_600_000).toISOString() } });
          ledgers.cal.changed('external', ev.id!, { summary });
        }
        // Aurora edits only events the user organizes (Google refuses an attendee's: 403 forbiddenForNonOrganizer, kept as a registry error)
        const aur = cal.slice(edits).filter((r) => sb.calendar.get(u, u, r.external_id)?.organizer?.email === u).slice(0, edits);
        for (const r of aur) touched.add(r.id);
        const sums = aur.map((_, i) => `Acal ${t} x${i}`);
        const descs = aur.map((_, i) => `Agenda ${t} ${i}`);
        await db.query(`UPDATE calendar_events e SET summary = x.s, description = x.d FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, s, d) WHERE e.id::text = x.id`, [aur.map((r) => r.id), sums, descs]);
        for (const [i, r] of aur.entries()) bump(ledgers.cal, r.id, r.external_id, { summary: sums[i]!, description: descs[i]! });
        const { rows: made } = await db.query<{ id: string; summary: string }>(
          `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, status)
           SELECT $1, $1, 'Acal ' || $2 || ' c' || g, now() + g * interval '1 day', now() + g * interval '1 day' + interval '1 hour', 'confirmed' FROM generate_series(1, $3::int) g RETURNING id, summary`,
          [u, t, creates],
        );
        for (const r of made) {
          ledgers.cal.changed('local', r.id, { summary: r.summary });
          touched.add(r.id);
        }
        // Gmail: threads starred or marked read on both sides (half in Gmail, half in Aurora), labels made on both sides.
        const threads = shuffled(rng, await linked(db, GOOGLE, 'email', touched));
        const te = Math.min(edits, threads.length);
        const inGmail = Math.ceil(te / 2);
        for (const r of threads.slice(0, inGmail)) {
          touched.add(r.id);
          const th = sb.gmail.thread(u, r.external_id)!;
          const before = toEmailRecord(th as Parameters<typeof toEmailRecord>[0], false, '').fields;
          const after = toEmailRecord((before.unread === 'true' ? sb.gmail.markRead(u, r.external_id) : sb.gmail.star(u, r.external_id)) as Parameters<typeof toEmailRecord>[0], false, '').fields;
          // any change to the mapped thread is one (starring a starred thread moves STARRED to its last message: its messages change)
          if (JSON.stringify(after) !== JSON.stringify(before)) bump(ledgers.email, r.id, r.external_id, { unread: after.unread!, priority: after.priority! });
        }
        // In Aurora: an unread thread is read, a read one starred or unstarred. The push's answer (the messages'
        // labels Gmail set) is taken into the row: one more row and local version (Ledger.changedAdopting).
        const aurThreads = threads.slice(inGmail, te);
        for (const r of aurThreads) touched.add(r.id);
        const { rows: edited } = await db.query<{ id: string; unread: boolean; priority: string }>(
          `UPDATE email_threads SET unread = false, priority = CASE WHEN unread THEN priority
             ELSE (CASE priority WHEN 'normal' THEN 'starred' WHEN 'important' THEN 'urgent' WHEN 'starred' THEN 'normal' ELSE 'important' END) END
           WHERE id::text = ANY($1::text[]) RETURNING id::text, unread, priority`, [aurThreads.map((r) => r.id)]);
        for (const row of edited) {
          const r = aurThreads.find((x) => x.id === row.id)!;
          (ledgers.email.local.has(r.id) ? ledgers.email.changedAdopting('local', r.id, { unread: 'false', priority: row.priority })
            : ledgers.email.changedAdopting('external', r.external_id, { unread: 'false', priority: row.priority }));
        }
        const labels = Math.max(1, Math.round(creates / 5));
        for (let i = 0; i < labels; i++) {
          const l = sb.gmail.createLabel(u, { name: `Glabel ${t} ${i}` });
          ledgers.label.changed('external', l.id!, { name: l.name! });
        }
        const { rows: mine } = await db.query<{ id: string; name: string }>(
          `INSERT INTO email_labels (mailbox, name) SELECT $1, 'Alabel ' || $2 || ' ' || g FROM generate_series(1, $3::int) g RETURNING id, name`, [u, t, labels]);
        for (const r of mine) ledgers.label.changed('local', r.id, { name: r.name });
        // Drive: permissions shared and changed on both sides.
        const perms = shuffled(rng, (await linked(db, GOOGLE, 'drive_permission', touched)));
        const changeable = perms.filter((p) => {
          const [fileId, pid] = [p.external_id.slice(0, p.external_id.lastIndexOf(':')), p.external_id.slice(p.external_id.lastIndexOf(':') + 1)];
          const cur = sb.drive.permissions(fileId).find((x) => x.id === pid);
          return cur && cur.type === 'user' && ['reader', 'commenter', 'writer'].includes(cur.role!);
        });
        const pe = Math.min(Math.round(edits / 3), Math.floor(changeable.length / 2));
        for (const p of changeable.slice(0, pe)) {
          touched.add(p.id);
          const i = p.external_id.lastIndexOf(':');
          const [fileId, pid] = [p.external_id.slice(0, i), p.external_id.slice(i + 1)];
          const cur = sb.drive.permissions(fileId).find((x) => x.id === pid)!;
          const role = cur.role === 'reader' ? 'commenter' : 'reader';
          sb.drive.userUpdatePermission(u, fileId, pid, role);
          bump(ledgers.perm, p.id, p.external_id, { role });
        }
        const ap = changeable.slice(pe, 2 * pe);
        for (const p of ap) touched.add(p.id);
        const { rows: roles } = await db.query<{ id: string; role: string }>(
          `UPDATE drive_permissions SET role = CASE role WHEN 'reader' THEN 'writer' ELSE 'reader' END WHERE id::text = ANY($1::text[]) RETURNING id::text, role`, [ap.map((p) => p.id)]);
        for (const r of roles) bump(ledgers.perm, r.id, ap.find((x) => x.id === r.id)!.external_id, { role: r.role });
        const files = shuffled(rng, shareable().filter((f) => f.mimeType !== 'application/vnd.google-apps.folder'));
        const shares = Math.max(1, Math.round(creates / 2));
        for (const [i, f] of files.slice(0, shares).entries()) {
          const p = sb.drive.userShare(u, f.id!, { type: 'user', role: 'reader', emailAddress: `gshare-${t}-${i}@acme.test` });
          ledgers.perm.changed('external', `${f.id}:${p.id}`, { email_address: `gshare-${t}-${i}@acme.test` });
        }
        const targets = files.slice(shares, 2 * shares).map((f) => f.id!);
        const { rows: fileRows } = await db.query<{ id: string; external_id: string }>(
          `SELECT local_id AS id, external_id FROM sync_registry WHERE external_system = $1 AND entity_type = 'drive_file' AND external_id = ANY($2::text[])`, [GOOGLE, targets]);
        for (const [i, f] of fileRows.entries()) {
          const email = `ashare-${t}-${i}@acme.test`;
          const { rows: [p] } = await db.query<{ id: string }>(`INSERT INTO drive_permissions (mailbox, file_id, type, role, email_address) VALUES ($1, $2, 'user', 'reader', $3) RETURNING id::text`, [u, f.id, email]);
          ledgers.perm.changed('local', p!.id, { email_address: email });
          touched.add(p!.id);
        }
      },
      async createLocal(n) {
        const t = tag();
        const { rows: made } = await db.query<{ id: string; summary: string }>(
          `INSERT INTO calendar_events (mailbox, calendar_id, summary, start_at, end_at, status)
           SELECT $1, $1, 'Two ' || $2 || ' ' || g, now() + g * interval '1 hour', now() + g * interval '1 hour' + interval '30 minutes', 'confirmed' FROM generate_series(1, $3::int) g RETURNING id, summary`,
          [u, t, n],
        );
        for (const r of made) ledgers.cal.changed('local', r.id, { summary: r.summary });
        return true;
      },
      startPhase: () => {
        for (const l of Object.values(ledgers)) l.startPhase();
      },
      faults: {
        errors: (rate) => sb.faults.set({ errorRate: rate }),
        burst429: (n) => sb.faults.set({ burst: { status: 429, count: n } }),
        // Google's client waits 1, 2, 4, 8, 16 s on consecutive refusals (Google's truncated exponential
        // backoff): five 429s every 15 s kept it refused for the whole storm (6 requests, all 429s).
        stormBurst: 2,
        // ... and after 60 s unreachable its backoff is at the 32 s cap: a 60 s storm saw 6 requests in all.
        minStormMs: 150_000,
        clear: () => {
          sb.faults.clear();
          if (opts.latencyMs) sb.faults.set({ latencyMs: opts.latencyMs });
        },
        reset: () => sb.resetStats(),
        stats: () => {
          // faulted counts the injected 429 bursts too; rateLimited counts them (and quota refusals)
          const s = sb.stats;
          return { requests: s.requests, faulted5xx: Math.max(0, s.faulted - s.rateLimited), rateLimited: s.rateLimited };
        },
      },
      notes: [
        'Google: one mailbox; Calendar events, Gmail threads (star, mark read), Gmail labels and Drive permissions changed on both sides',
      ],
    }),
    close: () => sb.close(),
  };
}

function refCount(v: string | null): number {
  if (!v) return 0;
  try {
    const x = JSON.parse(v) as unknown;
    return Array.isArray(x) ? x.length : 1;
  } catch {
    return v.split(',').filter(Boolean).length;
  }
}

function bump(ledger: Ledger, localId: string, externalId: string, expect: Record<string, string>): void {
  if (ledger.local.has(localId)) ledger.changed('local', localId, expect);
  else ledger.changed('external', externalId, expect);
}

// ---------------------------------------------------------------- Fireflies (pull only)

export async function firefliesPart(opts: SystemOptions): Promise<SystemPart> {
  const limits = opts.limits ?? true;
  const key = `chaos-ff-${Math.random().toString(36).slice(2, 10)}`;
  // business: 60 requests a minute (the free plan's 50 a day would not get through a backfill); limits off: no refusals at all
  const sb: FirefliesSandbox = await startFirefliesSandbox({ keys: [{ key, plan: 'business', email: 'ana@acme.test' }], rateLimits: limits });
  if (opts.latencyMs) sb.faults.set({ latencyMs: opts.latencyMs });
  const transcripts = new Ledger();
  const items = new Ledger();
  // The transcript as the GraphQL API answers it (graphql.ts summaryView): list-format summaries give action items and keywords as lists.
  const asApi = (t: ReturnType<FirefliesSandbox['transcripts']['list']>[number]) => {
    const list = t.summaryFormat === 'list';
    const s = t.summary;
    const summary = s ? { ...s, action_items: list ? actionItemsList(s.action_items) : s.action_items_text, keywords: list ? [...s.keywords] : s.keywords.join(', ') } : null;
    return { ...t, summary } as unknown as Parameters<typeof toTranscriptRecord>[0];
  };
  const kinds: Kind[] = [
    { label: 'Fireflies', system: 'fireflies', spec: TRANSCRIPT, ledger: transcripts, externals: () => sb.transcripts.list().map((t) => toTranscriptRecord(asApi(t), '')) },
    { label: 'Fireflies', system: 'fireflies', spec: ACTION_ITEM, ledger: items, adopt: true, externals: () => sb.transcripts.list().flatMap((t) => toActionItemRecords(asApi(t), '')) },
  ];
  let processing: string[] = [];
  return {
    port: sb.port,
    env: (url) => ({
      FIREFLIES_API_KEY: key, FIREFLIES_API_URL: `${url}/graphql`, FIREFLIES_PLAN: 'business',
      ...(limits ? {} : { FIREFLIES_REQUESTS_PER_WINDOW: '100000', FIREFLIES_WINDOW: 'minute' }),
    }),
    driver: (db) => ({
      system: 'fireflies',
      registrySystem: 'fireflies',
      connection: DEFAULT_CONNECTION,
      labels: ['Fireflies'],
      twoWay: false,
      seedBackfill(n) {
        for (const t of sb.transcripts.seed(n, { pastDays: 30 })) transcripts.changed('external', t.id, {});
        return `${n.toLocaleString('en')} transcripts`;
      },
      seedBase(n) {
        return this.seedBackfill(n);
      },
      localCount: () => countRows(db, ['transcripts']),
      expectedCount: () => transcripts.external.size,
      async verify(seen) {
        const vs: Verdict[] = [];
        for (const k of kinds) vs.push(await verifyKind(db, k, seen));
        return [{ label: 'Fireflies', verdict: sumVerdicts(vs) }];
      },
      async change(rng, n) {
        // Pull only: new meetings recorded (about half still being summarised), and the summaries of earlier ones finishing.
        // A summary that finishes before the engine first saw the transcript is no change of its own (it is pulled once, processed).
        const { rows: seenIds } = await db.query<{ external_id: string }>(
          `SELECT external_id FROM sync_registry WHERE external_system = 'fireflies' AND entity_type = 'transcript' AND external_id = ANY($1::text[])`, [processing]);
        const synced = new Set(seenIds.map((r) => r.external_id));
        for (const id of processing) {
          sb.transcripts.summarize(id, { notify: false });
          if (synced.has(id)) transcripts.changed('external', id, { summary_status: 'processed' });
          else transcripts.external.get(id)!.expect = { summary_status: 'processed' };
        }
        processing = [];
        for (let i = 0; i < n; i++) {
          const pending = rng() < 0.5;
          const t = sb.transcripts.add({ title: `Meeting ${tag()} ${i}`, date: Date.now() - int(rng, 5, 90) * 60_000, sentences: 40, ...(pending ? { summary: null } : {}) });
          transcripts.changed('external', t.id, { summary_status: pending ? 'processing' : 'processed' });
          if (pending) processing.push(t.id);
        }
      },
      createLocal: async () => false,
      startPhase: () => {
        transcripts.startPhase();
        items.startPhase();
      },
      faults: {
        errors: (rate) => sb.faults.set({ error5xxRate: rate }),
        burst429: (n) => sb.faults.set({ rateLimitBurst: n }),
        clear: () => {
          sb.faults.clear();
          if (opts.latencyMs) sb.faults.set({ latencyMs: opts.latencyMs });
        },
        reset: () => sb.resetStats(),
        stats: () => {
          // Fireflies' 'faulted' is the injected 5xx only; rateLimited counts the bursts and the plan's own refusals
          const s = sb.stats;
          return { requests: s.requests, faulted5xx: s.faulted, rateLimited: s.rateLimited };
        },
      },
      notes: [],
    }),
    close: () => sb.close(),
  };
}
