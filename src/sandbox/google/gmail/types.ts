/** Gmail v1 resource shapes as the emulator sends them, and the Gmail part of the sandbox's API. */
import type { QuotaOptions } from '../types';

export interface GmailHeader {
  name: string;
  value: string;
}

export interface GmailMessagePartBody {
  size: number;
  /** base64url (Gmail pads it with `=`) */
  data?: string;
}

/** A MIME part; in `format=metadata` the payload has only `mimeType` and `headers`. */
export interface GmailMessagePart {
  partId?: string;
  mimeType: string;
  filename?: string;
  headers: GmailHeader[];
  body?: GmailMessagePartBody;
  parts?: GmailMessagePart[];
}

/**
 * A Message resource. `format=minimal` has no payload; `metadata` a payload of mimeType and headers
 * only; `full` the MIME tree with base64url bodies; `raw` (messages.get only) `raw` instead of a payload.
 */
export interface GmailMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  snippet: string;
  sizeEstimate: number;
  /** int64 as a string, as Gmail sends it */
  historyId: string;
  /** epoch ms as a string */
  internalDate: string;
  payload?: GmailMessagePart;
  raw?: string;
}

export interface GmailThread {
  id: string;
  /** the latest message's snippet */
  snippet: string;
  /** the highest historyId of its messages */
  historyId: string;
  messages: GmailMessage[];
}

export type MessageListVisibility = 'show' | 'hide';
export type LabelListVisibility = 'labelShow' | 'labelShowIfUnread' | 'labelHide';

/** Both colours from Gmail's fixed palette (`LABEL_PALETTE` in gmail/labels.ts), lower-case `#rrggbb`. */
export interface GmailLabelColor {
  textColor: string;
  backgroundColor: string;
}

export interface GmailLabel {
  /** `INBOX`, `UNREAD`, … for system labels; `Label_<n>` for user labels */
  id: string;
  name: string;
  messageListVisibility?: MessageListVisibility;
  labelListVisibility?: LabelListVisibility;
  type?: 'system' | 'user';
  /** labels.get only (and the admin `labels()`): counts over the whole mailbox, spam and trash included */
  messagesTotal?: number;
  messagesUnread?: number;
  threadsTotal?: number;
  threadsUnread?: number;
  color?: GmailLabelColor;
}

/** The writable fields of a user label; `color: null` removes the colour. */
export interface GmailLabelInput {
  name?: string;
  messageListVisibility?: MessageListVisibility;
  labelListVisibility?: LabelListVisibility;
  color?: GmailLabelColor | null;
}

export interface GmailProfile {
  emailAddress: string;
  messagesTotal: number;
  threadsTotal: number;
  historyId: string;
}

export interface GmailMessageRef {
  id: string;
  threadId: string;
}

/** One history record (history.list): exactly one change type per record, one message per record. */
export interface GmailHistoryRecord {
  id: string;
  messages: GmailMessageRef[];
  messagesAdded?: Array<{ message: GmailMessageRef & { labelIds: string[] } }>;
  messagesDeleted?: Array<{ message: GmailMessageRef }>;
  labelsAdded?: Array<{ message: GmailMessageRef & { labelIds: string[] }; labelIds: string[] }>;
  labelsRemoved?: Array<{ message: GmailMessageRef & { labelIds: string[] }; labelIds: string[] }>;
}

/** `"Name <email>"`, a bare email, or the parts. */
export type GmailAddress = string | { email: string; name?: string };

/** A message arriving in (or sent from) a mailbox, as the admin API delivers it. */
export interface DeliverInput {
  from: GmailAddress;
  to?: GmailAddress | GmailAddress[];
  cc?: GmailAddress | GmailAddress[];
  /** default: "Re: <the thread's subject>" for a reply, "(no subject)" otherwise */
  subject?: string;
  /** plain-text body (default derived from `html`, or a short line) */
  text?: string;
  /** HTML body (default derived from `text`) */
  html?: string;
  /** reply in this thread (its last message is the one replied to) */
  threadId?: string;
  /** internalDate and Date header (default now) */
  date?: number | string | Date;
  /**
   * the labels, replacing the defaults: received mail gets INBOX, UNREAD and CATEGORY_PERSONAL (or the
   * `category`); mail from the mailbox's owner gets SENT (and INBOX, UNREAD too when sent to themselves)
   */
  labelIds?: string[];
  /** added to the defaults (ids or user label names) */
  addLabelIds?: string[];
  category?: 'personal' | 'social' | 'promotions' | 'updates' | 'forums';
  /** received mail only: false = arrives read */
  unread?: boolean;
  important?: boolean;
  starred?: boolean;
}

export interface GmailSeedOptions {
  /** threads start up to this many days back (default 120) */
  pastDays?: number;
  /** create a few coloured user labels and apply them (default true) */
  userLabels?: boolean;
}

export interface GmailLabelChange {
  /** label ids (the admin helpers also accept user label names) */
  addLabelIds?: string[];
  removeLabelIds?: string[];
}

/**
 * A Pub/Sub push subscription: where the messages published to `topic` are POSTed. Authentication as
 * Pub/Sub offers it: an OIDC token in `Authorization: Bearer` (signed by the sandbox's Google key,
 * verifiable against `certsUrl`/`jwksUrl`), and/or a secret `token` query parameter in the endpoint.
 */
export interface PushSubscriptionInput {
  /** `projects/<project>/subscriptions/<name>` (default `projects/<projectId>/subscriptions/gmail-push`) */
  subscription?: string;
  /** `projects/<project>/topics/<name>`; omitted: the subscription receives every topic's messages */
  topic?: string;
  /** http(s) URL the messages are POSTed to */
  endpoint: string;
  /** appended to the endpoint as `?token=<token>` */
  token?: string;
  /** an OIDC token per delivery (true = defaults) */
  oidc?: boolean | { serviceAccountEmail?: string; audience?: string };
}

export interface PushSubscriptionInfo {
  subscription: string;
  topic?: string;
  /** the URL posted to (with the token parameter) */
  pushEndpoint: string;
  oidcToken?: { serviceAccountEmail: string; audience: string };
}

export interface PubSubStats {
  /** messages published (Gmail notifications), whether or not a subscription took them */
  published: number;
  /** deliveries the endpoint acknowledged (102, 200, 201, 202, 204) */
  delivered: number;
  /** deliveries given up on after `pushRetry.maxAttempts` */
  failed: number;
  /** redeliveries after a non-2xx answer, a timeout or a connection error */
  retried: number;
  /** notifications waiting (coalescing) plus deliveries in flight or waiting to be retried */
  pending: number;
}

export interface GmailWatchInfo {
  user: string;
  topicName: string;
  labelIds: string[];
  labelFilterBehavior: 'include' | 'exclude';
  /** the mailbox's historyId when the watch was made */
  historyId: string;
  /** epoch ms */
  expiration: number;
}

export interface GmailOptions {
  /** Gmail's unit quotas: default on unless the top-level `quotas` is false (15,000 units/user/min, 1,200,000/project/min, mode 'mixed') */
  quotas?: boolean | QuotaOptions;
  /** history records older than this are dropped; a startHistoryId before them answers 404 (default 7 days) */
  historyRetentionMs?: number;
  /** users.watch lifetime (default 7 days) */
  watchLifetimeMs?: number;
  /** push subscriptions created at start */
  push?: PushSubscriptionInput | PushSubscriptionInput[];
  /** mailbox changes within this window become one notification (default 50 ms) */
  pushCoalesceMs?: number;
  /** redelivery of unacknowledged pushes: attempts in all (default 5), backoff from min doubling to max (default 100 ms .. 5 s) */
  pushRetry?: { maxAttempts?: number; minBackoffMs?: number; maxBackoffMs?: number };
}

export interface GmailListOptions {
  /** a Gmail search (the subset the API emulates: see gmail/query.ts) */
  q?: string;
  labelIds?: string[];
  includeSpamTrash?: boolean;
}

/** `sandbox.gmail`: act as the user in the Gmail UI, seed, inspect. Changes create history and pushes like API writes. */
export interface GmailSandbox {
  /** realistic threads, deterministic by randomSeed (and the day); no history, no push, no quota */
  seed(user: string, threads: number, opts?: GmailSeedOptions): GmailThread[];
  /** a message arrives (or is sent by the user): a new thread, or a reply with `threadId` */
  deliver(user: string, msg: DeliverInput): GmailMessage;
  modifyThread(user: string, threadId: string, change: GmailLabelChange): GmailThread;
  modifyMessage(user: string, messageId: string, change: GmailLabelChange): GmailMessage;
  /** UNREAD off every message of the thread */
  markRead(user: string, threadId: string): GmailThread;
  /** UNREAD on the thread's last message (as the Gmail UI does) */
  markUnread(user: string, threadId: string): GmailThread;
  /** STARRED on the thread's last message (as the Gmail UI does) */
  star(user: string, threadId: string): GmailThread;
  /** STARRED off every message */
  unstar(user: string, threadId: string): GmailThread;
  /** INBOX off every message */
  archive(user: string, threadId: string): GmailThread;
  /** as threads.trash / threads.untrash */
  trash(user: string, threadId: string): GmailThread;
  untrash(user: string, threadId: string): GmailThread;
  /** permanently (messagesDeleted history) */
  deleteThread(user: string, threadId: string): void;
  deleteMessage(user: string, messageId: string): void;
  createLabel(user: string, label: GmailLabelInput & { name: string }): GmailLabel;
  updateLabel(user: string, labelId: string, patch: GmailLabelInput): GmailLabel;
  deleteLabel(user: string, labelId: string): void;
  /** every label with its counts */
  labels(user: string): GmailLabel[];
  /** the mailbox's threads (format full), newest first */
  threads(user: string, opts?: GmailListOptions): GmailThread[];
  /** a thread as stored (format full), spam and trash included */
  thread(user: string, threadId: string): GmailThread | undefined;
  message(user: string, messageId: string): GmailMessage | undefined;
  profile(user: string): GmailProfile;
  /** the retained history records, ascending */
  history(user: string): GmailHistoryRecord[];
  /** history up to now is gone: any startHistoryId before the current historyId answers 404 (every user's, or one user's) */
  expireHistory(user?: string): void;
  /** the live users.watch registrations */
  watches(): GmailWatchInfo[];
  pubsub: {
    /** creates or replaces a push subscription */
    configure(sub: PushSubscriptionInput): PushSubscriptionInfo;
    remove(subscription: string): boolean;
    subscriptions(): PushSubscriptionInfo[];
    readonly stats: PubSubStats;
    /** resolves when nothing is pending (coalescing, in flight or waiting to be redelivered) */
    flush(): Promise<void>;
    /** the PEM keys of the token signer, by kid (Google's https://www.googleapis.com/oauth2/v1/certs) */
    readonly certsUrl: string;
    /** the JWKS (Google's https://www.googleapis.com/oauth2/v3/certs) */
    readonly jwksUrl: string;
  };
}
