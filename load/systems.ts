/**
 * The load's Google Drive and Fireflies parts: the changes made in their sandboxes during the load,
 * and the record-by-record comparison of Aurora with the sandbox afterwards (see webhooks.ts).
 */
import type { Pool } from 'pg';
import type { FirefliesSandbox } from '../src/sandbox/fireflies';
import type { GoogleSandbox } from '../src/sandbox/google';

type Db = Pick<Pool, 'query'>;
const FOLDER = 'application/vnd.google-apps.folder';
const ROLES = new Set(['reader', 'commenter', 'writer']);

/**
 * Drive: renames (2 in 5), star changes (2 in 5) and sharing-role changes (1 in 5: reader ↔ writer
 * of a grantee other than the owner) made as the user in the Drive UI, on a seeded My Drive.
 * Afterwards every file touched is compared: name and star (with the sandbox, and with what was
 * asked of it), and its whole set of live permissions (grantee → role) with the sandbox's.
 */
export function driveLoad(google: GoogleSandbox, user: string, others: string[] = []) {
  // not trashed, and (when Drive has its own connection) none the other synced users can see: their channels stay out of it
  const seeded = google.drive.seed(user, 500).filter((f) => !f.trashed && others.every((o) => google.drive.get(o, f.id) === undefined));
  const files = seeded.filter((f) => f.mimeType !== FOLDER);
  // files (not folders: a folder's role change reaches its whole subtree) shared with someone but the owner
  const shared = files.flatMap((f) => {
    const p = google.drive.permissions(f.id).find((x) => x.type === 'user' && ROLES.has(x.role));
    return p ? [{ fileId: f.id, permissionId: p.id }] : [];
  });
  const wantName = new Map<string, string>();
  const wantStar = new Map<string, boolean>();
  const wantRole = new Map<string, { fileId: string; permissionId: string; role: string }>();
  const touched = new Set<string>();
  let n = 0;
  return {
    change(i: number): void {
      const op = n++ % 5;
      if (op === 4 && shared.length) {
        const s = shared[Math.floor(n / 5) % shared.length]!;
        const key = `${s.fileId}|${s.permissionId}`;
        const now = wantRole.get(key)?.role ?? google.drive.permissions(s.fileId).find((p) => p.id === s.permissionId)!.role;
        const role = now === 'writer' ? 'reader' : 'writer';
        google.drive.userUpdatePermission(user, s.fileId, s.permissionId, role);
        wantRole.set(key, { ...s, role });
        touched.add(s.fileId);
      } else if (op >= 2 && op < 4) {
        const f = seeded[(n * 7) % seeded.length]!;
        const starred = !(wantStar.get(f.id) ?? f.starred);
        google.drive.userUpdate(user, f.id, { starred });
        wantStar.set(f.id, starred);
        touched.add(f.id);
      } else {
        const f = seeded[(n * 13) % seeded.length]!;
        const name = `Load ${i}`;
        google.drive.userUpdate(user, f.id, { name });
        wantName.set(f.id, name);
        touched.add(f.id);
      }
    },
    files: () => touched.size,
    roleChanges: () => wantRole.size,
    /** files whose name or star differ (Aurora vs sandbox vs asked), and files whose permissions differ */
    async lost(db: Db): Promise<{ files: number; permissions: number }> {
      const ids = [...touched];
      const { rows: fs } = await db.query<{ external_id: string; name: string; starred: boolean }>(
        `SELECT r.external_id, f.name, f.starred FROM drive_files f
           JOIN sync_registry r ON r.local_id = f.id AND r.external_system = 'google_workspace' AND r.entity_type = 'drive_file'
          WHERE f.deleted_at IS NULL AND f.mailbox = $2 AND r.external_id = ANY($1)`,
        [ids, user],
      );
      const { rows: ps } = await db.query<{ external_id: string; permission_id: string; role: string }>(
        `SELECT r.external_id, p.permission_id, p.role FROM drive_permissions p
           JOIN sync_registry r ON r.local_id = p.file_id AND r.external_system = 'google_workspace' AND r.entity_type = 'drive_file'
          WHERE p.deleted_at IS NULL AND p.mailbox = $2 AND r.external_id = ANY($1)`,
        [ids, user],
      );
      const got = new Map(fs.map((x) => [x.external_id, x]));
      const perms = new Map<string, string[]>();
      for (const p of ps) (perms.get(p.external_id) ?? perms.set(p.external_id, []).get(p.external_id)!).push(`${p.permission_id}=${p.role}`);
      let files = 0;
      let permissions = 0;
      for (const id of ids) {
        const there = google.drive.get(user, id);
        const here = got.get(id);
        const fileOk =
          there !== undefined &&
          here !== undefined &&
          here.name === there.name &&
          here.starred === there.starred &&
          (!wantName.has(id) || there.name === wantName.get(id)) &&
          (!wantStar.has(id) || there.starred === wantStar.get(id));
        if (!fileOk) {
          files++;
          if (process.env.LOAD_TRACE) console.log(`drive ${id}: aurora ${JSON.stringify(here)} vs sandbox ${there?.name}/${there?.starred}`);
        }
        const want = google.drive
          .permissions(id)
          .map((p) => `${p.id}=${p.role}`)
          .sort();
        const have = (perms.get(id) ?? []).sort();
        if (want.join(',') !== have.join(',')) {
          permissions++;
          if (process.env.LOAD_TRACE) console.log(`drive permissions ${id}: aurora ${have} vs sandbox ${want}`);
        }
      }
      for (const w of wantRole.values()) if (google.drive.permissions(w.fileId).find((p) => p.id === w.permissionId)?.role !== w.role) permissions++;
      return { files, permissions };
    },
  };
}

/**
 * Fireflies: alternately a new meeting (transcribed and summarised: two v2 deliveries) and a
 * re-summary of a seeded one (new action items, some reworded or gone: one delivery). Afterwards
 * every transcript touched is compared: title, summary status, sentence count and the live action
 * items' texts.
 */
export function firefliesLoad(ff: FirefliesSandbox) {
  const seeded = ff.transcripts.seed(50, { pendingShare: 0, pastDays: 30 });
  const touched = new Set<string>();
  let added = 0;
  let resummarized = 0;
  const itemsOf = (t: NonNullable<ReturnType<FirefliesSandbox['transcripts']['get']>>) =>
    (t.summary?.action_items ?? []).flatMap((g) => g.items.map((i) => i.text.replace(/\s+/g, ' ').trim())).sort();
  return {
    change(n: number): void {
      if (n % 2 === 0) {
        const t = ff.transcripts.add({ title: `Load meeting ${n}`, date: Date.now() - 2 * 3_600_000, sentences: 40 }, { notify: true });
        touched.add(t.id);
        added++;
      } else {
        const t = seeded[(n >> 1) % seeded.length]!;
        ff.transcripts.summarize(t.id);
        touched.add(t.id);
        resummarized++;
      }
    },
    touched: () => touched.size,
    describe: () => `${added} new, ${resummarized} re-summarised`,
    async lost(db: Db): Promise<number> {
      const { rows } = await db.query<{ external_id: string; title: string; summary_status: string; sentences: number; items: string[] }>(
        `SELECT r.external_id, t.title, t.summary_status,
                (SELECT count(*) FROM transcript_sentences s WHERE s.transcript_id = t.id)::int AS sentences,
                ARRAY(SELECT i.text FROM action_items i WHERE i.transcript_id = t.id AND i.deleted_at IS NULL) AS items
           FROM transcripts t JOIN sync_registry r ON r.local_id = t.id AND r.external_system = 'fireflies' AND r.entity_type = 'transcript'
          WHERE t.deleted_at IS NULL AND r.external_id = ANY($1)`,
        [[...touched]],
      );
      const got = new Map(rows.map((x) => [x.external_id, x]));
      let lost = 0;
      for (const id of touched) {
        const t = ff.transcripts.get(id)!;
        const row = got.get(id);
        const ok =
          row !== undefined &&
          row.title === t.title &&
          row.summary_status === (t.summary ? 'processed' : 'processing') &&
          row.sentences === t.sentences.length &&
          [...row.items].sort().join('\n') === itemsOf(t).join('\n');
        if (!ok) {
          lost++;
          if (process.env.LOAD_TRACE) console.log(`fireflies ${id}: aurora ${JSON.stringify(row)} vs sandbox ${t.title} ${itemsOf(t).length} items`);
        }
      }
      return lost;
    },
  };
}
