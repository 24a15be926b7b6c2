/**
 * Gmail labels: the fixed system labels, user labels (`Label_<n>`), their validation (names,
 * visibilities, the fixed colour palette) and the rules of which labels a client may set.
 */
import { invalidArgument, invalidValue } from './errors';
import type { GmailLabel, GmailLabelColor, GmailLabelInput, LabelListVisibility, MessageListVisibility } from './types';

export interface LabelRec {
  id: string;
  name: string;
  type: 'system' | 'user';
  messageListVisibility?: MessageListVisibility;
  labelListVisibility?: LabelListVisibility;
  color?: GmailLabelColor;
}

const HIDDEN = { messageListVisibility: 'hide', labelListVisibility: 'labelHide' } as const;

/** The system labels every mailbox has, in the order labels.list returns them. */
export const SYSTEM_LABELS: readonly LabelRec[] = [
  { id: 'CHAT', name: 'CHAT', type: 'system', ...HIDDEN },
  { id: 'SENT', name: 'SENT', type: 'system' },
  { id: 'INBOX', name: 'INBOX', type: 'system' },
  { id: 'IMPORTANT', name: 'IMPORTANT', type: 'system', ...HIDDEN },
  { id: 'TRASH', name: 'TRASH', type: 'system', ...HIDDEN },
  { id: 'DRAFT', name: 'DRAFT', type: 'system' },
  { id: 'SPAM', name: 'SPAM', type: 'system', ...HIDDEN },
  { id: 'CATEGORY_FORUMS', name: 'CATEGORY_FORUMS', type: 'system', ...HIDDEN },
  { id: 'CATEGORY_UPDATES', name: 'CATEGORY_UPDATES', type: 'system', ...HIDDEN },
  { id: 'CATEGORY_PERSONAL', name: 'CATEGORY_PERSONAL', type: 'system', ...HIDDEN },
  { id: 'CATEGORY_PROMOTIONS', name: 'CATEGORY_PROMOTIONS', type: 'system', ...HIDDEN },
  { id: 'CATEGORY_SOCIAL', name: 'CATEGORY_SOCIAL', type: 'system', ...HIDDEN },
  { id: 'STARRED', name: 'STARRED', type: 'system', ...HIDDEN },
  { id: 'UNREAD', name: 'UNREAD', type: 'system' },
];

export const SYSTEM_IDS: ReadonlySet<string> = new Set(SYSTEM_LABELS.map((l) => l.id));

/** System labels a client cannot add or remove (messages.modify, threads.modify, batchModify). */
export const UNSETTABLE: ReadonlySet<string> = new Set(['DRAFT', 'SENT', 'CHAT']);

/** Names a user label cannot take (compared case-insensitively): the system labels and their UI names. */
const RESERVED = new Set([
  ...SYSTEM_LABELS.map((l) => l.id.toLowerCase()),
  'drafts', 'chats', 'sent mail', 'all mail', 'scheduled', 'snoozed', 'outbox', 'bin', 'primary', 'social', 'promotions', 'updates', 'forums',
]);

/** The only colours Gmail accepts, for text and background alike (lower case, as the API requires). */
export const LABEL_PALETTE: readonly string[] = [
  '#000000', '#434343', '#666666', '#999999', '#cccccc', '#efefef', '#f3f3f3', '#ffffff',
  '#fb4c2f', '#ffad47', '#fad165', '#16a766', '#43d692', '#4a86e8', '#a479e2', '#f691b3',
  '#f6c5be', '#ffe6c7', '#fef1d1', '#b9e4d0', '#c6f3de', '#c9daf8', '#e4d7f5', '#fcdee8',
  '#efa093', '#ffd6a2', '#fce8b3', '#89d3b2', '#a0eac9', '#a4c2f4', '#d0bcf1', '#fbc8d9',
  '#e66550', '#ffbc6b', '#fcda83', '#44b984', '#68dfa9', '#6d9eeb', '#b694e8', '#f7a7c0',
  '#cc3a21', '#eaa041', '#f2c960', '#149e60', '#3dc789', '#3c78d8', '#8e63ce', '#e07798',
  '#ac2b16', '#cf8933', '#d5ae49', '#0b804b', '#2a9c68', '#285bac', '#653e9b', '#b65775',
  '#822111', '#a46a21', '#aa8831', '#076239', '#1a764d', '#1c4587', '#41236d', '#83334c',
  '#464646', '#e7e7e7', '#0d3472', '#b6cff5', '#0d3b44', '#98d7e4', '#3d188e', '#e3d7ff',
  '#711a36', '#fbd3e0', '#8a1c0a', '#f2b2a8', '#7a2e0b', '#ffc8af', '#7a4706', '#ffdeb5',
  '#594c05', '#fbe983', '#684e07', '#fdedc1', '#0b4f30', '#b3efd3', '#04502e', '#a2dcc1',
  '#c2c2c2', '#4986e7', '#2da2bb', '#b99aff', '#994a64', '#f691b2', '#ff7537', '#ffad46',
  '#662e37', '#ebdbde', '#cca6ac', '#094228', '#42d692', '#16a765',
];
const PALETTE = new Set(LABEL_PALETTE);

const MESSAGE_VISIBILITY = new Set(['show', 'hide']);
const LABEL_VISIBILITY = new Set(['labelShow', 'labelShowIfUnread', 'labelHide']);
const MAX_NAME = 225;

/** Gmail's comparison of label names: case-insensitive, surrounding blanks ignored. */
export const nameKey = (name: string): string => name.trim().toLowerCase();

/** How `label:` in a search names a label: lower case, blanks and slashes as dashes. */
export const searchKey = (name: string): string => name.trim().toLowerCase().replace(/[\s/]+/g, '-');

export function validName(raw: unknown): string {
  if (typeof raw !== 'string') throw invalidArgument('Invalid label name');
  const name = raw.trim();
  if (name === '' || name.length > MAX_NAME || name.startsWith('/') || name.endsWith('/') || name.includes('//') || RESERVED.has(name.toLowerCase())) {
    throw invalidArgument('Invalid label name');
  }
  return name;
}

function validColor(raw: unknown): GmailLabelColor | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('Invalid label color');
  const c = raw as Record<string, unknown>;
  if (c.textColor === undefined && c.backgroundColor === undefined) return undefined;
  for (const key of ['textColor', 'backgroundColor'] as const) {
    const v = c[key];
    if (typeof v !== 'string' || v === '') throw invalidArgument(`Label color must have both textColor and backgroundColor`);
    if (!PALETTE.has(v)) throw invalidArgument(`Label color ${v} is not on the allowed color palette`);
  }
  return { textColor: c.textColor as string, backgroundColor: c.backgroundColor as string };
}

/** The writable fields of a label body, validated; only the keys present in `raw` are returned. */
export function parseLabelInput(raw: unknown): GmailLabelInput {
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('Invalid label');
  const b = raw as Record<string, unknown>;
  const out: GmailLabelInput = {};
  if (b.name !== undefined && b.name !== null) out.name = validName(b.name);
  if (b.messageListVisibility !== undefined && b.messageListVisibility !== null) {
    const v = String(b.messageListVisibility);
    if (!MESSAGE_VISIBILITY.has(v)) throw invalidValue('label.message_list_visibility', 'type.googleapis.com/google.apps.gmail.v1.Label.MessageListVisibility', v);
    out.messageListVisibility = v as MessageListVisibility;
  }
  if (b.labelListVisibility !== undefined && b.labelListVisibility !== null) {
    const v = String(b.labelListVisibility);
    if (!LABEL_VISIBILITY.has(v)) throw invalidValue('label.label_list_visibility', 'type.googleapis.com/google.apps.gmail.v1.Label.LabelListVisibility', v);
    out.labelListVisibility = v as LabelListVisibility;
  }
  if ('color' in b) out.color = validColor(b.color) ?? null;
  return out;
}

/** The label resource (labels.list leaves the counts out; labels.get adds them). */
export function renderLabel(l: LabelRec, counts?: Pick<GmailLabel, 'messagesTotal' | 'messagesUnread' | 'threadsTotal' | 'threadsUnread'>): GmailLabel {
  const out: GmailLabel = { id: l.id, name: l.name };
  if (l.messageListVisibility !== undefined) out.messageListVisibility = l.messageListVisibility;
  if (l.labelListVisibility !== undefined) out.labelListVisibility = l.labelListVisibility;
  out.type = l.type;
  if (counts) Object.assign(out, counts);
  if (l.color) out.color = { ...l.color };
  return out;
}
