/**
 * The content of a message as Gmail parses it: RFC 2822 headers, a multipart/alternative body with a
 * text/plain and a text/html part (base64url data, CRLF line ends), the snippet (the start of the
 * text without quoted replies, HTML-escaped, as Gmail sends it), the raw RFC 2822 form and its size.
 */
import { offsetMs } from '../calendar/time';
import type { GmailAddress, GmailHeader } from './types';

export interface Addr {
  email: string;
  name?: string;
}

export interface MessageContent {
  from: Addr;
  to: Addr[];
  cc: Addr[];
  subject: string;
  /** the Message-ID header, with its angle brackets */
  messageId: string;
  inReplyTo?: string;
  references?: string;
  /** the Date header */
  date: string;
  /** the mailbox's owner, for Delivered-To on received mail */
  deliveredTo?: string;
  text: string;
  html: string;
  boundary: string;
  headers: GmailHeader[];
  snippet: string;
  sizeEstimate: number;
}

const ADDRESS_RE = /^\s*(?:"?([^"<]*?)"?\s*)?<([^<>\s]+@[^<>\s]+)>\s*$/;
const EMAIL_RE = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

export function parseAddress(a: GmailAddress): Addr {
  if (typeof a === 'object' && a !== null) {
    const email = String(a.email ?? '').trim();
    if (!EMAIL_RE.test(email)) throw new Error(`not an email address: ${email}`);
    return a.name ? { email, name: a.name } : { email };
  }
  const s = String(a).trim();
  const m = ADDRESS_RE.exec(s);
  if (m) {
    const name = m[1]?.trim();
    return name ? { email: m[2]!, name } : { email: m[2]! };
  }
  if (!EMAIL_RE.test(s)) throw new Error(`not an email address: ${s}`);
  return { email: s };
}

export function parseAddresses(a: GmailAddress | GmailAddress[] | undefined): Addr[] {
  if (a === undefined) return [];
  const items: GmailAddress[] = Array.isArray(a) ? a : [a];
  const split = items.flatMap((x): GmailAddress[] => (typeof x === 'string' ? x.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/) : [x]));
  return split.filter((x) => typeof x !== 'string' || x.trim() !== '').map(parseAddress);
}

export function formatAddress(a: Addr): string {
  if (!a.name) return a.email;
  const name = /[",.;:<>@()[\]\\]/.test(a.name) ? `"${a.name.replace(/(["\\])/g, '\\$1')}"` : a.name;
  return `${name} <${a.email}>`;
}

/** A display name from an address's local part: `ana@…` → Ana, `carla.mendes@…` → Carla Mendes. */
export function nameFromEmail(email: string): string {
  return email
    .split('@')[0]!
    .split(/[._-]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 2822 date in the sender's zone: `Tue, 3 Mar 2026 10:15:00 +0100`. */
export function rfc2822Date(ms: number, timeZone = 'UTC'): string {
  const off = Math.round(offsetMs(ms, timeZone) / 60_000);
  const d = new Date(Math.floor(ms / 1000) * 1000 + off * 60_000);
  const p = (n: number) => String(n).padStart(2, '0');
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${zone}`;
}

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The text of an HTML body (for a message delivered with html only). */
export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h\d)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Gmail's HTML rendering of a plain-text body: `<div dir="ltr">`, quoted replies in a gmail_quote. */
export function textToHtml(text: string): string {
  const lines = text.split('\n');
  const quoteAt = lines.findIndex((l, i) => /^On .+ wrote:$/.test(l) && lines[i + 1]?.startsWith('>'));
  const body = quoteAt >= 0 ? lines.slice(0, quoteAt) : lines;
  const html = (ls: string[]) => ls.map((l) => (l === '' ? '<br>' : `<div>${escapeHtml(l)}</div>`)).join('');
  let out = `<div dir="ltr">${html(body)}</div>`;
  if (quoteAt >= 0) {
    const quoted = lines.slice(quoteAt + 1).map((l) => l.replace(/^> ?/, ''));
    out +=
      `<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">${escapeHtml(lines[quoteAt]!)}<br></div>` +
      `<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">${html(quoted)}</blockquote></div>`;
  }
  return out;
}

const SNIPPET_LENGTH = 200;

/** The start of the text, without the quoted reply, whitespace collapsed, HTML-escaped. */
export function snippetOf(text: string): string {
  const lines = text.split('\n');
  const quoteAt = lines.findIndex((l, i) => /^On .+ wrote:$/.test(l) && (lines[i + 1] ?? '').startsWith('>'));
  const own = (quoteAt >= 0 ? lines.slice(0, quoteAt) : lines).filter((l) => !l.startsWith('>')).join(' ');
  const flat = own.replace(/\s+/g, ' ').trim();
  let cut = flat;
  if (flat.length > SNIPPET_LENGTH) {
    cut = flat.slice(0, SNIPPET_LENGTH);
    const space = cut.lastIndexOf(' ');
    if (space > SNIPPET_LENGTH - 40) cut = cut.slice(0, space);
  }
  return escapeHtml(cut);
}

const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** base64url with padding, as Gmail sends body data and `raw`. */
export const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

/** Encodes a header value with RFC 2047 when it is not ASCII. */
function headerValue(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

export interface ContentSpec {
  from: Addr;
  to: Addr[];
  cc: Addr[];
  subject: string;
  text?: string;
  html?: string;
  messageId: string;
  inReplyTo?: string;
  references?: string;
  internalDate: number;
  /** the sender's time zone for the Date header (default UTC) */
  timeZone?: string;
  /** set on received mail */
  deliveredTo?: string;
  boundary: string;
}

export const TEXT_PART_TYPE = 'text/plain; charset="UTF-8"';
export const HTML_PART_TYPE = 'text/html; charset="UTF-8"';

export function buildContent(spec: ContentSpec): MessageContent {
  const text = spec.text ?? (spec.html !== undefined ? htmlToText(spec.html) : '');
  const html = spec.html ?? textToHtml(text);
  const date = rfc2822Date(spec.internalDate, spec.timeZone);
  const headers: GmailHeader[] = [];
  if (spec.deliveredTo) headers.push({ name: 'Delivered-To', value: spec.deliveredTo });
  headers.push({ name: 'MIME-Version', value: '1.0' }, { name: 'Date', value: date });
  if (spec.references) headers.push({ name: 'References', value: spec.references });
  if (spec.inReplyTo) headers.push({ name: 'In-Reply-To', value: spec.inReplyTo });
  headers.push({ name: 'Message-ID', value: spec.messageId }, { name: 'Subject', value: spec.subject }, { name: 'From', value: formatAddress(spec.from) });
  if (spec.to.length) headers.push({ name: 'To', value: spec.to.map(formatAddress).join(', ') });
  if (spec.cc.length) headers.push({ name: 'Cc', value: spec.cc.map(formatAddress).join(', ') });
  headers.push({ name: 'Content-Type', value: `multipart/alternative; boundary="${spec.boundary}"` });
  const out: MessageContent = {
    from: spec.from,
    to: spec.to,
    cc: spec.cc,
    subject: spec.subject,
    messageId: spec.messageId,
    date,
    text,
    html,
    boundary: spec.boundary,
    headers,
    snippet: snippetOf(text),
    sizeEstimate: 0,
  };
  if (spec.inReplyTo) out.inReplyTo = spec.inReplyTo;
  if (spec.references) out.references = spec.references;
  if (spec.deliveredTo) out.deliveredTo = spec.deliveredTo;
  out.sizeEstimate = Buffer.byteLength(rawOf(out), 'utf8');
  return out;
}

/** The message in RFC 2822 form (what `format=raw` encodes). */
export function rawOf(c: MessageContent): string {
  const b = c.boundary;
  return (
    c.headers.map((h) => `${h.name}: ${headerValue(h.value)}`).join('\r\n') +
    `\r\n\r\n--${b}\r\nContent-Type: ${TEXT_PART_TYPE}\r\n\r\n${crlf(c.text)}\r\n\r\n--${b}\r\nContent-Type: ${HTML_PART_TYPE}\r\n\r\n${crlf(c.html)}\r\n\r\n--${b}--\r\n`
  );
}

/** The text/plain and text/html parts' bodies as the payload carries them. */
export function partBodies(c: MessageContent): { text: { size: number; data: string }; html: { size: number; data: string } } {
  const t = crlf(c.text);
  const h = crlf(c.html);
  return { text: { size: Buffer.byteLength(t), data: b64url(t) }, html: { size: Buffer.byteLength(h), data: b64url(h) } };
}
