/**
 * Realistic drives: a folder tree (departments, customers, years, quarters) holding Docs, Sheets,
 * Slides, PDFs, images and archives with believable names, sizes and dates, shared with colleagues
 * (writer, commenter, reader), a few customers, the domain, anyone with the link, and the other
 * sandbox users (so two users' drives overlap). Some files are starred, a few are in the trash.
 * Deterministic: the same seed, user and call number give the same drive.
 */
import { COLLEAGUES, CUSTOMERS, colleague } from '../people';
import type { Prng } from '../prng';
import type { DriveRole } from './types';
import { FOLDER_MIME } from './types';

const TOP = ['Customers', 'Projects', 'Finance', 'Marketing', 'Hiring', 'Engineering', 'Board', 'Operations', 'Legal', 'Sales'];
const SUB = ['2025', '2026', 'Q1', 'Q2', 'Q3', 'Q4', 'Archive', 'Drafts', 'Shared', 'Templates', 'Reports', 'Contracts', 'Research', 'Assets'];
const TOPICS = [
  'Proposal', 'Roadmap', 'Kick-off notes', 'Budget', 'Forecast', 'Pricing', 'Onboarding checklist', 'Meeting notes', 'Retrospective',
  'Launch plan', 'Competitive analysis', 'Hiring plan', 'Interview scorecard', 'Quarterly review', 'Renewal', 'Invoice', 'Statement of work',
  'Architecture', 'Runbook', 'Press release', 'Campaign brief', 'OKRs', 'Board deck', 'Customer feedback', 'Security questionnaire',
];

/** [weight, mimeType, extension, size range in bytes (0 = a Google file without size)] */
const KINDS: readonly (readonly [number, readonly [string, string, number, number]])[] = [
  [30, ['application/vnd.google-apps.document', '', 0, 0]],
  [25, ['application/vnd.google-apps.spreadsheet', '', 0, 0]],
  [15, ['application/vnd.google-apps.presentation', '', 0, 0]],
  [14, ['application/pdf', '.pdf', 40_000, 8_000_000]],
  [8, ['image/png', '.png', 20_000, 3_000_000]],
  [4, ['application/zip', '.zip', 200_000, 50_000_000]],
  [4, ['text/csv', '.csv', 1_000, 900_000]],
];

export interface SeedFolder {
  key: number;
  name: string;
  /** key of the parent seed folder; -1 = the root given */
  parent: number;
  depth: number;
}

export interface SeedItem {
  name: string;
  mimeType: string;
  size?: number;
  /** index into folders (-1 = the root) */
  parent: number;
  createdTime: number;
  modifiedTime: number;
  /** who last modified it (the owner or someone who can edit) */
  modifiedBy: string;
  starred: boolean;
  trashed: boolean;
  shares: { type: 'user' | 'domain' | 'anyone'; role: DriveRole; emailAddress?: string; domain?: string }[];
}

export interface SeedPlan {
  folders: (SeedFolder & Omit<SeedItem, 'parent' | 'name' | 'mimeType'>)[];
  files: SeedItem[];
}

export function planDrive(opts: {
  prng: Prng;
  owner: string;
  domain: string;
  otherUsers: string[];
  count: number;
  folders?: number;
  depth?: number;
  /** a shared drive: no owner shares, members are the drive's */
  shared: boolean;
}): SeedPlan {
  const { prng, owner, domain } = opts;
  const depth = Math.max(1, opts.depth ?? 4);
  const nFolders = Math.min(opts.count, Math.max(opts.count > 0 ? 1 : 0, opts.folders ?? Math.round(opts.count / 10)));
  const now = Date.now();
  const day = 86_400_000;
  const mates = COLLEAGUES.map((c) => colleague(c, domain).email).filter((e) => e !== owner);
  const customers = CUSTOMERS.flatMap((c) => c.people.map((p) => colleague(p, c.domain).email));

  const times = () => {
    const created = now - prng.int(1, 400) * day - prng.int(0, day - 1);
    const modified = Math.min(now - 1000, created + prng.int(0, Math.max(0, Math.floor((now - created) / 1000))) * 1000);
    return { createdTime: created, modifiedTime: modified };
  };
  const shares = (folder: boolean): SeedItem['shares'] => {
    const out: SeedItem['shares'] = [];
    const taken = new Set<string>();
    const add = (s: SeedItem['shares'][number]) => {
      const k = `${s.type}:${s.emailAddress ?? s.domain ?? ''}`;
      if (!taken.has(k)) {
        taken.add(k);
        out.push(s);
      }
    };
    if (prng.chance(0.25)) {
      for (let i = prng.int(1, 3); i > 0; i--) add({ type: 'user', role: prng.weighted([[4, 'writer'], [2, 'commenter'], [4, 'reader']] as const), emailAddress: prng.pick(mates) });
    }
    if (opts.otherUsers.length && prng.chance(folder ? 0.2 : 0.06)) add({ type: 'user', role: prng.chance(0.5) ? 'writer' : 'reader', emailAddress: prng.pick(opts.otherUsers) });
    if (prng.chance(0.05)) add({ type: 'user', role: prng.chance(0.7) ? 'reader' : 'commenter', emailAddress: prng.pick(customers) });
    if (prng.chance(0.03)) add({ type: 'domain', role: 'reader', domain });
    if (!folder && prng.chance(0.02)) add({ type: 'anyone', role: 'reader' });
    return out;
  };
  const editorOf = (s: SeedItem['shares']): string => {
    const editors = s.filter((x) => x.role === 'writer' && x.emailAddress && !customers.includes(x.emailAddress)).map((x) => x.emailAddress!);
    return editors.length && prng.chance(0.4) ? prng.pick(editors) : owner;
  };

  const folders: SeedPlan['folders'] = [];
  for (let k = 0; k < nFolders; k++) {
    // the first ones at the top; later ones under an earlier folder that is not too deep
    const candidates = folders.filter((f) => f.depth < depth);
    const top = k < Math.min(TOP.length, Math.max(1, Math.ceil(nFolders / 8))) || candidates.length === 0;
    const parent = top ? -1 : prng.pick(candidates).key;
    const pd = parent < 0 ? 0 : folders[parent]!.depth;
    const name = top ? (k < TOP.length ? TOP[k]! : `${prng.pick(TOP)} ${k}`) : prng.chance(0.4) ? prng.pick(CUSTOMERS).name : prng.pick(SUB);
    const s = opts.shared ? [] : shares(true);
    folders.push({ key: k, name, parent, depth: pd + 1, ...times(), modifiedBy: owner, starred: prng.chance(0.08), trashed: false, shares: s });
  }
  const files: SeedItem[] = [];
  for (let i = nFolders; i < opts.count; i++) {
    const [mimeType, ext, min, max] = prng.weighted(KINDS);
    const parent = folders.length && prng.chance(0.9) ? prng.int(0, folders.length - 1) : -1;
    const who = prng.chance(0.5) ? `${prng.pick(CUSTOMERS).name} – ` : '';
    const name = `${who}${prng.pick(TOPICS)}${prng.chance(0.3) ? ` v${prng.int(2, 9)}` : ''}${ext}`;
    const s = opts.shared ? [] : shares(false);
    files.push({
      name,
      mimeType,
      size: max > 0 ? prng.int(min, max) : undefined,
      parent,
      ...times(),
      modifiedBy: editorOf(s),
      starred: prng.chance(0.05),
      trashed: prng.chance(0.02),
      shares: s,
    });
  }
  return { folders, files };
}

export { FOLDER_MIME };
