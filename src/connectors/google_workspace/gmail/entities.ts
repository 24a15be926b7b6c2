/**
 * Gmail's entity types as Aurora stores them, one row per mailbox (the connection):
 *   - `email_label` (table email_labels): the mailbox's labels. User labels sync both ways; system
 *     labels (INBOX, SENT, IMPORTANT, CATEGORY_*, …) are pulled as read-only rows, so threads can
 *     point at them, and are never created, changed or deleted by the sync.
 *   - `email` (table email_threads): a thread. Its label set is `labels` (join table
 *     email_thread_labels), except the five labels that are states of their own: UNREAD → `unread`,
 *     INBOX → `archived` (its absence), TRASH → `trashed`, IMPORTANT and STARRED → `priority`.
 *     Messages (email_messages) and participants (email_thread_participants, linked to contacts)
 *     are derived from `messages` / `participants` by the migration's triggers.
 */
import type { EntitySpec } from '../../../core/model';

export const EMAIL_LABEL_TYPE = 'email_label';
export const EMAIL_TYPE = 'email';

export const EMAIL_LABEL: EntitySpec = {
  type: EMAIL_LABEL_TYPE,
  plural: 'email_labels',
  table: 'email_labels',
  fields: {
    name: 'text',
    /** system | user (read-only) */
    label_type: 'text',
    /** labelShow | labelShowIfUnread | labelHide */
    label_list_visibility: 'text',
    /** show | hide */
    message_list_visibility: 'text',
    /** Gmail's palette colours, lower-case #rrggbb (both or neither) */
    text_color: 'text',
    background_color: 'text',
  },
  /** a label made on both sides (or a create whose answer was lost) is one label: names are unique per mailbox, case-insensitively */
  matchBy: 'name',
  direction: 'two-way',
  connectionColumn: 'mailbox',
  description: "each mailbox's Gmail labels (user labels two-way; system labels read-only)",
};

export const EMAIL: EntitySpec = {
  type: EMAIL_TYPE,
  plural: 'emails',
  table: 'email_threads',
  fields: {
    subject: 'text',
    snippet: 'text',
    /** [{email, name?, roles: ["cc","from","to"]}] sorted by email: everyone on From/To/Cc of its messages */
    participants: 'json',
    message_count: 'numeric',
    first_message_at: 'timestamp',
    last_message_at: 'timestamp',
    /** the thread's labels other than the five state labels, as email_label ids (join table email_thread_labels) */
    labels: 'refs',
    unread: 'boolean',
    /** normal | important | starred | urgent: IMPORTANT and STARRED (see PRIORITIES) */
    priority: 'text',
    /** not in INBOX */
    archived: 'boolean',
    /** every message in TRASH */
    trashed: 'boolean',
    /** [{id, from, to[], cc[], date, subject, snippet, labels[], body?}] oldest first (body: GMAIL_SYNC_BODIES) */
    messages: 'json',
  },
  refs: { labels: EMAIL_LABEL_TYPE },
  joins: { labels: { table: 'email_thread_labels', own: 'thread_id', target: 'label_id' } },
  setFields: ['labels'],
  direction: 'two-way',
  connectionColumn: 'mailbox',
  description: 'Gmail threads of each mailbox (labels, read state, priority, archive, trash; participants linked to contacts by email)',
};

/** What Gmail computes: pulled, never sent. */
export const EMAIL_READ_ONLY_FIELDS: readonly string[] = ['subject', 'snippet', 'participants', 'message_count', 'first_message_at', 'last_message_at', 'messages'];
export const LABEL_READ_ONLY_FIELDS: readonly string[] = ['label_type'];

/**
 * Priority, both ways: IMPORTANT and STARRED as one ordered field.
 *   normal = neither · important = IMPORTANT · starred = STARRED · urgent = STARRED and IMPORTANT
 */
export const PRIORITIES = ['normal', 'important', 'starred', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The labels that are thread states of their own (not in `labels`). */
export const STATE_LABELS: readonly string[] = ['UNREAD', 'INBOX', 'TRASH', 'IMPORTANT', 'STARRED'];
