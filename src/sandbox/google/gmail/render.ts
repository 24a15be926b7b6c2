/** Message, thread and history resources in Gmail's formats. */
import { HTML_PART_TYPE, partBodies, rawOf, b64url, TEXT_PART_TYPE } from './mime';
import type { HistoryEntry, HistoryType, StoredMessage, StoredThread } from './store';
import { threadHistoryId } from './store';
import type { GmailHistoryRecord, GmailMessage, GmailThread } from './types';

export type Format = 'minimal' | 'metadata' | 'full' | 'raw';

export function renderMessage(m: StoredMessage, format: Format = 'full', metadataHeaders: string[] = []): GmailMessage {
  const c = m.content;
  const out: GmailMessage = {
    id: m.id,
    threadId: m.threadId,
    labelIds: [...m.labels],
    snippet: c.snippet,
    sizeEstimate: c.sizeEstimate,
    historyId: String(m.historyId),
    internalDate: String(m.internalDate),
  };
  if (format === 'metadata') {
    const wanted = new Set(metadataHeaders.map((h) => h.toLowerCase()));
    const headers = wanted.size === 0 ? c.headers : c.headers.filter((h) => wanted.has(h.name.toLowerCase()));
    out.payload = { mimeType: 'multipart/alternative', headers: headers.map((h) => ({ ...h })) };
  } else if (format === 'full') {
    const bodies = partBodies(c);
    out.payload = {
      partId: '',
      mimeType: 'multipart/alternative',
      filename: '',
      headers: c.headers.map((h) => ({ ...h })),
      body: { size: 0 },
      parts: [
        { partId: '0', mimeType: 'text/plain', filename: '', headers: [{ name: 'Content-Type', value: TEXT_PART_TYPE }], body: bodies.text },
        { partId: '1', mimeType: 'text/html', filename: '', headers: [{ name: 'Content-Type', value: HTML_PART_TYPE }], body: bodies.html },
      ],
    };
  } else if (format === 'raw') {
    out.raw = b64url(rawOf(c));
  }
  return out;
}

export function renderThread(t: StoredThread, format: Exclude<Format, 'raw'> = 'full', metadataHeaders: string[] = []): GmailThread {
  const last = t.messages[t.messages.length - 1];
  return {
    id: t.id,
    snippet: last?.content.snippet ?? '',
    historyId: String(threadHistoryId(t)),
    messages: t.messages.map((m) => renderMessage(m, format, metadataHeaders)),
  };
}

/** One history record; `types` limits what a record may hold (historyTypes). */
export function renderRecord(e: HistoryEntry): GmailHistoryRecord {
  const ref = { id: e.messageId, threadId: e.threadId };
  const rec: GmailHistoryRecord = { id: String(e.id), messages: [{ ...ref }] };
  switch (e.type) {
    case 'messageAdded':
      rec.messagesAdded = [{ message: { ...ref, labelIds: [...e.labelIds] } }];
      break;
    case 'messageDeleted':
      rec.messagesDeleted = [{ message: { ...ref } }];
      break;
    case 'labelAdded':
      rec.labelsAdded = [{ message: { ...ref, labelIds: [...e.labelIds] }, labelIds: [...(e.changed ?? [])] }];
      break;
    case 'labelRemoved':
      rec.labelsRemoved = [{ message: { ...ref, labelIds: [...e.labelIds] }, labelIds: [...(e.changed ?? [])] }];
      break;
  }
  return rec;
}

export const HISTORY_TYPES: readonly HistoryType[] = ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'];
