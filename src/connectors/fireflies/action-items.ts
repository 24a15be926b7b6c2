/**
 * Fireflies' action items, parsed (pure). `summary.action_items` comes as text — groups under a
 * `**Name**` heading, one item per line, most ending in `(mm:ss)` — or, from some accounts and the
 * official SDK's types, as a list of those lines. Both are read the same way; bullets and
 * numbering are tolerated. Each item gets an id that stays the same when the transcript is read
 * again (and when a re-summary keeps the item): the transcript id, the normalised text and the
 * assignee, plus an occurrence index when the same item appears twice.
 */
import { sha256Hex } from '../../core/secure';

export interface ParsedActionItem {
  /** the item's text without its timestamp and bullet */
  text: string;
  /** the line as Fireflies wrote it (trimmed) */
  raw: string;
  /** the heading it is grouped under, or null */
  assignee: string | null;
  /** seconds into the meeting, when the line ends in (mm:ss) or (h:mm:ss) */
  offsetSeconds: number | null;
}

const HEADING = [/^\*\*(.+?)\*\*:?$/, /^#{1,6}\s+(.+)$/, /^__(.+?)__:?$/];
const BULLET = /^(?:[-*•–]\s+|\d+[.)]\s+|\[[ xX]?\]\s+)/;
const TIMESTAMP = /\s*[([](\d{1,3}):(\d{2})(?::(\d{2}))?[)\]]\s*$/;

/** Lines of either form: a string (newline-separated) or a list of strings (each may hold several lines). */
function linesOf(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const parts = Array.isArray(value) ? value : [value];
  return parts.flatMap((p) => (typeof p === 'string' ? p.split(/\r?\n/) : []));
}

export function parseActionItems(value: unknown): ParsedActionItem[] {
  const out: ParsedActionItem[] = [];
  let assignee: string | null = null;
  for (const line of linesOf(value)) {
    const raw = line.trim();
    if (raw === '') continue;
    const heading = HEADING.map((re) => re.exec(raw)).find(Boolean);
    if (heading) {
      const name = heading[1]!.replace(/\*+/g, '').trim();
      assignee = name === '' || /^unassigned$/i.test(name) ? null : name;
      continue;
    }
    let text = raw.replace(BULLET, '');
    let offsetSeconds: number | null = null;
    const ts = TIMESTAMP.exec(text);
    if (ts && ts.index > 0) {
      const [h, m, s] = ts[3] !== undefined ? [Number(ts[1]), Number(ts[2]), Number(ts[3])] : [0, Number(ts[1]), Number(ts[2])];
      offsetSeconds = h * 3600 + m * 60 + s;
      text = text.slice(0, ts.index);
    }
    text = text.replace(/\s+/g, ' ').trim();
    if (text === '') continue;
    out.push({ text, raw, assignee, offsetSeconds });
  }
  return out;
}

/** What identifies an item: case, spacing and end punctuation do not. */
export const normaliseItemText = (s: string): string =>
  s.toLowerCase().normalize('NFKC').replace(/\s+/g, ' ').replace(/[\s.;:!,]+$/, '').trim();

/** `<transcript id>:<16 hex>`: the transcript is recoverable from an item's id. */
export function actionItemId(transcriptId: string, item: Pick<ParsedActionItem, 'text' | 'assignee'>, occurrence: number): string {
  const key = [transcriptId, normaliseItemText(item.text), normaliseItemText(item.assignee ?? ''), String(occurrence)].join('\u0000');
  return `${transcriptId}:${sha256Hex(key).slice(0, 16)}`;
}

/** The transcript an action item id belongs to (null for anything that is not one). */
export function transcriptOfItem(id: string): string | null {
  const i = id.lastIndexOf(':');
  return i > 0 && /^[0-9a-f]{16}$/.test(id.slice(i + 1)) ? id.slice(0, i) : null;
}

/** Items with their stable ids, in order; the same text under the same assignee twice gets occurrences 0, 1, … */
export function identifyActionItems(transcriptId: string, items: ParsedActionItem[]): Array<ParsedActionItem & { id: string; position: number }> {
  const seen = new Map<string, number>();
  return items.map((item, position) => {
    const key = `${normaliseItemText(item.text)}\u0000${normaliseItemText(item.assignee ?? '')}`;
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    return { ...item, id: actionItemId(transcriptId, item, occurrence), position };
  });
}
