/**
 * The Gmail v1 calls the connector makes, over the real googleapis client, each through the
 * session's Gmail budget (quota units per method, per user, shared by every worker) and Google's
 * backoff. Thin: no sync logic here.
 */
import { gmail, type gmail_v1 } from 'googleapis/build/src/apis/gmail';
import type { GoogleApiError, GoogleRequester } from '../errors';
import type { GoogleSession } from '../session';
import { METADATA_HEADERS } from './mapping';

export const GMAIL_SCOPE = 'https://www.googleapis.com/auth/gmail.modify';
const SERVICE = 'Gmail';
/** Gmail's maximum page sizes */
export const THREADS_PAGE_SIZE = 500;
export const HISTORY_PAGE_SIZE = 500;
export const HISTORY_TYPES = ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'];

/** Quota units per method (https://developers.google.com/gmail/api/reference/quota). */
export const UNITS = {
  getProfile: 1,
  labelsList: 1,
  labelsCreate: 5,
  labelsPatch: 5,
  labelsDelete: 5,
  threadsList: 10,
  threadsGet: 10,
  threadsModify: 10,
  threadsTrash: 10,
  threadsUntrash: 10,
  historyList: 2,
  watch: 100,
  stop: 50,
} as const;

type Handles = (e: GoogleApiError) => boolean;
const never: Handles = () => false;

export class GmailClient {
  private readonly api: gmail_v1.Gmail;
  private readonly requester: GoogleRequester;
  private readonly userId: string;

  constructor(session: GoogleSession, budget: { unitsPerUserPerMinute: number; unitsPerProjectPerMinute: number }) {
    this.api = gmail({ version: 'v1', ...session.apiOptions });
    this.requester = session.requester('gmail', budget.unitsPerUserPerMinute, budget.unitsPerProjectPerMinute);
    this.userId = session.user;
  }

  private call<T>(what: string, units: number, fn: () => Promise<{ data: T }>, handles: Handles = never): Promise<T> {
    return this.requester.call(SERVICE, what, fn, handles, units);
  }

  profile(): Promise<gmail_v1.Schema$Profile> {
    return this.call('users.getProfile', UNITS.getProfile, () => this.api.users.getProfile({ userId: this.userId }));
  }

  listLabels(): Promise<gmail_v1.Schema$ListLabelsResponse> {
    return this.call('labels.list', UNITS.labelsList, () => this.api.users.labels.list({ userId: this.userId }));
  }

  createLabel(body: gmail_v1.Schema$Label, handles: Handles): Promise<gmail_v1.Schema$Label> {
    return this.call('labels.create', UNITS.labelsCreate, () => this.api.users.labels.create({ userId: this.userId, requestBody: body }), handles);
  }

  patchLabel(id: string, body: gmail_v1.Schema$Label, handles: Handles): Promise<gmail_v1.Schema$Label> {
    return this.call(`labels.patch of ${id}`, UNITS.labelsPatch, () => this.api.users.labels.patch({ userId: this.userId, id, requestBody: body }), handles);
  }

  async deleteLabel(id: string, handles: Handles): Promise<void> {
    await this.call(`labels.delete of ${id}`, UNITS.labelsDelete, () => this.api.users.labels.delete({ userId: this.userId, id }), handles);
  }

  listThreads(pageToken: string | undefined): Promise<gmail_v1.Schema$ListThreadsResponse> {
    return this.call('threads.list', UNITS.threadsList, () =>
      this.api.users.threads.list({ userId: this.userId, maxResults: THREADS_PAGE_SIZE, includeSpamTrash: true, pageToken }),
    );
  }

  getThread(id: string, full: boolean, handles: Handles): Promise<gmail_v1.Schema$Thread> {
    return this.call(
      `threads.get of ${id}`,
      UNITS.threadsGet,
      () => this.api.users.threads.get(full ? { userId: this.userId, id, format: 'full' } : { userId: this.userId, id, format: 'metadata', metadataHeaders: METADATA_HEADERS }),
      handles,
    );
  }

  modifyThread(id: string, add: string[], remove: string[], handles: Handles): Promise<gmail_v1.Schema$Thread> {
    return this.call(`threads.modify of ${id}`, UNITS.threadsModify, () =>
      this.api.users.threads.modify({ userId: this.userId, id, requestBody: { addLabelIds: add, removeLabelIds: remove } }),
      handles,
    );
  }

  trashThread(id: string, trash: boolean, handles: Handles): Promise<gmail_v1.Schema$Thread> {
    return trash
      ? this.call(`threads.trash of ${id}`, UNITS.threadsTrash, () => this.api.users.threads.trash({ userId: this.userId, id }), handles)
      : this.call(`threads.untrash of ${id}`, UNITS.threadsUntrash, () => this.api.users.threads.untrash({ userId: this.userId, id }), handles);
  }

  listHistory(startHistoryId: string, pageToken: string | undefined, handles: Handles): Promise<gmail_v1.Schema$ListHistoryResponse> {
    return this.call(
      'history.list',
      UNITS.historyList,
      () => this.api.users.history.list({ userId: this.userId, startHistoryId, historyTypes: HISTORY_TYPES, maxResults: HISTORY_PAGE_SIZE, pageToken }),
      handles,
    );
  }

  watch(topicName: string): Promise<gmail_v1.Schema$WatchResponse> {
    return this.call('users.watch', UNITS.watch, () => this.api.users.watch({ userId: this.userId, requestBody: { topicName, labelFilterBehavior: 'exclude', labelIds: [] } }));
  }

  async stop(): Promise<void> {
    await this.call('users.stop', UNITS.stop, () => this.api.users.stop({ userId: this.userId }));
  }
}
