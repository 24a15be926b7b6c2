/**
 * RFC 3339 and IANA time-zone arithmetic through Intl (Node ships full ICU). Calendar renders an
 * event's `dateTime` in the response time zone (the `timeZone` parameter, else the calendar's),
 * with an explicit offset (`Z` for UTC) and no fractional seconds; `created`/`updated` are UTC with
 * milliseconds.
 */

export interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** An IANA zone name Intl knows ('Europe/Berlin', 'UTC'); offsets such as '+01:00' are not zones. */
export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz === '' || /^[+-]/.test(tz)) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function wallClock(ms: number, tz: string): Wall {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour!, mi: p.minute!, s: p.second! };
}

const wallUtc = (w: Wall): number => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);

/** The zone's UTC offset at that instant, in ms. */
export function offsetMs(ms: number, tz: string): number {
  return wallUtc(wallClock(ms, tz)) - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time in `tz` denotes (the earlier one in a DST fold). */
export function localToUtc(w: Wall, tz: string): number {
  const asUtc = wallUtc(w);
  let t = asUtc - offsetMs(asUtc, tz);
  const again = offsetMs(t, tz);
  if (asUtc - again !== t) t = asUtc - again;
  return t;
}

const pad = (n: number, len = 2): string => String(n).padStart(len, '0');

/** `2024-05-01T06:00:00-04:00` (or `…Z` for a zero offset). */
export function formatDateTime(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  const off = Math.round(offsetMs(ms, tz) / 60_000);
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}${zone}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function validWall(w: Wall): boolean {
  const d = new Date(wallUtc(w));
  return (
    d.getUTCFullYear() === w.y && d.getUTCMonth() + 1 === w.mo && d.getUTCDate() === w.d && d.getUTCHours() === w.h && d.getUTCMinutes() === w.mi
  );
}

export interface ParsedDateTime {
  wall: Wall;
  fractionMs: number;
  /** absent when the string has no offset */
  offsetMs?: number;
}

const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$/;

export function parseDateTime(s: string): ParsedDateTime | undefined {
  const m = DATE_TIME_RE.exec(s);
  if (!m) return undefined;
  const wall: Wall = { y: +m[1]!, mo: +m[2]!, d: +m[3]!, h: +m[4]!, mi: +m[5]!, s: +m[6]! };
  if (wall.s > 59 || !validWall(wall)) return undefined;
  const fractionMs = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const z = m[8];
  if (z === undefined) return { wall, fractionMs };
  if (z === 'Z' || z === 'z') return { wall, fractionMs, offsetMs: 0 };
  const sign = z[0] === '-' ? -1 : 1;
  const hh = +z.slice(1, 3);
  const mm = +z.slice(4, 6);
  if (hh > 23 || mm > 59) return undefined;
  return { wall, fractionMs, offsetMs: sign * (hh * 60 + mm) * 60_000 };
}

/** The instant; a string without offset is read in `tz` (undefined when there is neither). */
export function toInstant(p: ParsedDateTime, tz?: string): number | undefined {
  if (p.offsetMs !== undefined) return wallUtc(p.wall) - p.offsetMs + p.fractionMs;
  if (tz === undefined) return undefined;
  return localToUtc(p.wall, tz) + p.fractionMs;
}

/** An RFC 3339 timestamp with a mandatory offset (timeMin, timeMax, updatedMin). */
export function parseTimestamp(s: string): number | undefined {
  const p = parseDateTime(s);
  return p && p.offsetMs !== undefined ? toInstant(p) : undefined;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseDate(s: string): Wall | undefined {
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const w: Wall = { y: +m[1]!, mo: +m[2]!, d: +m[3]!, h: 0, mi: 0, s: 0 };
  return validWall(w) ? w : undefined;
}

/** Midnight starting that date in `tz`. */
export function dateStartMs(date: string, tz: string): number {
  return localToUtc(parseDate(date)!, tz);
}

/** The date `days` after `date` (both `YYYY-MM-DD`). */
export function addDays(date: string, days: number): string {
  const w = parseDate(date)!;
  return new Date(Date.UTC(w.y, w.mo - 1, w.d + days)).toISOString().slice(0, 10);
}
