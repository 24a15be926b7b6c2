/** Fireflies' action-item parser, stable ids and transcript mapping (pure). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionItemId, identifyActionItems, parseActionItems, transcriptOfItem } from '../src/connectors/fireflies/action-items';
import { parseFirefliesConfig } from '../src/connectors/fireflies/config';
import { assigneeEmail, attendeesOf, toActionItemRecords, toTranscriptCanonical, type FfTranscript } from '../src/connectors/fireflies/mapping';
import { ConfigError } from '../src/core/env';

const TEXT = `**Ana Lima**
Send the revised pricing deck to Northwind (03:12)
Book the follow-up call (41:05)

**Ben Okafor**
Check the SSO logs (1:02:03)
Check the SSO logs

Share notes with the team`;

const transcript = (over: Partial<FfTranscript> = {}): FfTranscript => ({
  id: 'T1',
  title: 'Pricing review',
  date: Date.UTC(2026, 10, 20, 14, 0),
  duration: 31.5,
  organizer_email: 'Ana@Acme.test',
  host_email: 'ana@acme.test',
  participants: ['ana@acme.test', 'BEN@acme.test', 'dana@northwind.test'],
  meeting_attendees: [
    { email: 'dana@northwind.test', name: 'Dana Reyes', displayName: null },
    { email: 'ana@acme.test', name: 'Ana Lima', displayName: 'Ana Lima' },
    { email: 'ben@acme.test', name: null, displayName: 'Ben Okafor' },
  ],
  speakers: [{ id: 0, name: 'Ana Lima' }],
  sentences: [{ index: 0, speaker_name: 'Ana Lima', speaker_id: '0', text: 'Hello', start_time: 0.5, end_time: 1.25 }],
  summary: { action_items: TEXT, keywords: 'pricing, SSO', overview: 'We reviewed pricing.', short_summary: 'Pricing.', outline: 'Intro', topics_discussed: ['pricing'] },
  meeting_info: { summary_status: 'processed' },
  ...over,
});

describe('Fireflies action items', () => {
  test('the text form: groups under **Name**, timestamps (mm:ss) and (h:mm:ss), items without one, raw text kept', () => {
    const items = parseActionItems(TEXT);
    assert.deepEqual(
      items.map((i) => [i.assignee, i.text, i.offsetSeconds]),
      [
        ['Ana Lima', 'Send the revised pricing deck to Northwind', 192],
        ['Ana Lima', 'Book the follow-up call', 2465],
        ['Ben Okafor', 'Check the SSO logs', 3723],
        ['Ben Okafor', 'Check the SSO logs', null],
        ['Ben Okafor', 'Share notes with the team', null],
      ],
    );
    assert.equal(items[0]!.raw, 'Send the revised pricing deck to Northwind (03:12)');
  });

  test('the list form (the SDK\'s string[]) reads the same; bullets, numbering and other headings are tolerated', () => {
    assert.deepEqual(parseActionItems(TEXT.split('\n').filter(Boolean)), parseActionItems(TEXT));
    const loose = parseActionItems(['## Dana Reyes', '- Send the contract [12:00]', '2) Sign it', '**Unassigned**', '• Plan the kickoff']);
    assert.deepEqual(loose.map((i) => [i.assignee, i.text, i.offsetSeconds]), [
      ['Dana Reyes', 'Send the contract', 720],
      ['Dana Reyes', 'Sign it', null],
      [null, 'Plan the kickoff', null],
    ]);
    assert.deepEqual(parseActionItems(null), []);
    assert.deepEqual(parseActionItems(''), []);
    assert.deepEqual(parseActionItems('Meet at 10:30 tomorrow'), [{ text: 'Meet at 10:30 tomorrow', raw: 'Meet at 10:30 tomorrow', assignee: null, offsetSeconds: null }], 'a time in the text is no timestamp');
  });

  test('stable ids: the same item read again (other case, spacing, timestamp) keeps its id; duplicates get occurrences; the transcript is recoverable', () => {
    const a = identifyActionItems('T1', parseActionItems(TEXT));
    const b = identifyActionItems('T1', parseActionItems(TEXT.replace('(03:12)', '(03:15)').replace('Send the revised', 'send  the revised')));
    assert.deepEqual(a.map((i) => i.id), b.map((i) => i.id));
    assert.equal(new Set(a.map((i) => i.id)).size, a.length, 'the duplicate "Check the SSO logs" gets its own id');
    assert.notEqual(actionItemId('T1', { text: 'x', assignee: 'Ana' }, 0), actionItemId('T2', { text: 'x', assignee: 'Ana' }, 0), 'per transcript');
    assert.notEqual(actionItemId('T1', { text: 'x', assignee: 'Ana' }, 0), actionItemId('T1', { text: 'x', assignee: 'Ben' }, 0), 'per assignee');
    assert.equal(transcriptOfItem(a[0]!.id), 'T1');
    assert.equal(transcriptOfItem('T1'), null);
    // A re-summary that drops the first item keeps the others' ids.
    const c = identifyActionItems('T1', parseActionItems(TEXT.replace('Send the revised pricing deck to Northwind (03:12)\n', '')));
    assert.deepEqual(c.map((i) => i.id), a.slice(1).map((i) => i.id));
  });

  test('assignees are matched to attendees by name, display name or first name; unsure means none', () => {
    const att = attendeesOf(transcript());
    assert.equal(assigneeEmail('Ana Lima', att), 'ana@acme.test');
    assert.equal(assigneeEmail('ben okafor', att), 'ben@acme.test', 'by display name');
    assert.equal(assigneeEmail('Dana', att), 'dana@northwind.test', 'by first name');
    assert.equal(assigneeEmail('Zoe', att), null);
    assert.equal(assigneeEmail(null, att), null);
    assert.equal(assigneeEmail('Ana', [...att, { email: 'ana.b@acme.test', name: 'Ana Braga', displayName: null }]), null, 'two Anas: unsure');
  });
});

describe('Fireflies transcript mapping', () => {
  test('canonical fields: emails lower-cased and sorted, summary fields, raw action items kept', () => {
    const c = toTranscriptCanonical(transcript());
    assert.equal(c.meeting_date, '2026-11-20T14:00:00.000Z');
    assert.equal(c.organizer_email, 'ana@acme.test');
    assert.deepEqual(JSON.parse(c.participants!), ['ana@acme.test', 'ben@acme.test', 'dana@northwind.test']);
    assert.deepEqual(JSON.parse(c.attendees!).map((a: { email: string }) => a.email), ['ana@acme.test', 'ben@acme.test', 'dana@northwind.test']);
    assert.deepEqual(JSON.parse(c.keywords!), ['pricing', 'SSO']);
    assert.equal(c.summary_status, 'processed');
    assert.equal(c.action_items_raw, TEXT);
    assert.equal(JSON.parse(c.sentences!)[0].text, 'Hello');
    // The list forms give the same record.
    const listed = toTranscriptCanonical(transcript({ summary: { ...transcript().summary!, keywords: ['pricing', 'SSO'], action_items: TEXT.split('\n') } }));
    assert.equal(listed.keywords, c.keywords);
    assert.deepEqual(parseActionItems(listed.action_items_raw), parseActionItems(c.action_items_raw));
  });

  test('a summary still processing: no summary fields, no action items', () => {
    const t = transcript({ summary: null, meeting_info: { summary_status: 'processing' } });
    const c = toTranscriptCanonical(t);
    assert.equal(c.summary_status, 'processing');
    assert.equal(c.overview, null);
    assert.deepEqual(toActionItemRecords(t, new Date().toISOString()), []);
  });

  test('action item records: text, assignee and its email, offset, position, the transcript as a reference', () => {
    const recs = toActionItemRecords(transcript(), '2026-11-20T15:00:00.000Z');
    assert.equal(recs.length, 5);
    assert.deepEqual(recs[0]!.fields, {
      transcript_id: 'T1', text: 'Send the revised pricing deck to Northwind', raw_text: 'Send the revised pricing deck to Northwind (03:12)',
      assignee: 'Ana Lima', assignee_email: 'ana@acme.test', meeting_offset_seconds: '192', position: '0',
    });
    assert.equal(recs[4]!.fields.assignee_email, 'ben@acme.test');
  });
});

describe('Fireflies settings', () => {
  const secrets = { dir: '/nonexistent', read: () => undefined };
  test('plans give their limits; explicit limits win; bad values are refused naming the variable', () => {
    assert.deepEqual(
      (({ limit, window }) => ({ limit, window }))(parseFirefliesConfig({ FIREFLIES_API_KEY: 'k' }, secrets)),
      { limit: 50, window: 'day' },
    );
    assert.equal(parseFirefliesConfig({ FIREFLIES_PLAN: 'business' }, secrets).window, 'minute');
    assert.equal(parseFirefliesConfig({ FIREFLIES_PLAN: 'business' }, secrets).limit, 60);
    assert.equal(parseFirefliesConfig({ FIREFLIES_REQUESTS_PER_WINDOW: '20', FIREFLIES_WINDOW: 'day' }, secrets).limit, 20);
    assert.equal(parseFirefliesConfig({}, { dir: '/s', read: (n) => (n === 'fireflies-api-key.txt' ? 'from-file' : undefined) }).apiKey, 'from-file');
    assert.throws(() => parseFirefliesConfig({ FIREFLIES_PLAN: 'gold' }, secrets), (e: Error) => e instanceof ConfigError && /FIREFLIES_PLAN/.test(e.message));
    assert.throws(() => parseFirefliesConfig({ FIREFLIES_PAGE_SIZE: '51' }, secrets), /FIREFLIES_PAGE_SIZE/);
    assert.throws(() => parseFirefliesConfig({ FIREFLIES_WEBHOOK_SECRET: 'short' }, secrets), (e: Error) => /FIREFLIES_WEBHOOK_SECRET/.test(e.message) && !e.message.includes('short'));
    assert.throws(() => parseFirefliesConfig({ FIREFLIES_WEBHOOK_RESERVE: '50' }, secrets), /FIREFLIES_WEBHOOK_RESERVE/);
    // The sweep of older transcripts: 4 of a daily plan's 50 requests, a page every 15 min on a per-minute plan; 0 turns it off.
    assert.equal(parseFirefliesConfig({}, secrets).sweepMs, 6 * 3_600_000);
    assert.equal(parseFirefliesConfig({ FIREFLIES_PLAN: 'business' }, secrets).sweepMs, 15 * 60_000);
    assert.equal(parseFirefliesConfig({ FIREFLIES_SWEEP_MINUTES: '0' }, secrets).sweepMs, 0);
    assert.throws(() => parseFirefliesConfig({ FIREFLIES_SWEEP_MINUTES: '-1' }, secrets), /FIREFLIES_SWEEP_MINUTES/);
    assert.throws(() => parseFirefliesConfig({ FIREFLIES_SWEEP_MINUTES: 'often' }, secrets), /FIREFLIES_SWEEP_MINUTES/);
  });
});
