/**
 * Realistic, deterministic mailbox content for seeding: conversations of 1–6 messages between the
 * mailbox's owner, colleagues on the Workspace domain and customer contacts (the people the calendar
 * seeding invites, so Gmail participants overlap calendar attendees), outbound follow-ups without an
 * answer, notifications, newsletters, social and mailing-list mail, a little spam; replies quote the
 * previous message; dates over the past months in the senders' time zones; a mix of INBOX, SENT,
 * UNREAD, STARRED, IMPORTANT, the categories, archived and trashed threads, and a few coloured user
 * labels.
 */
import { ascii, colleague, COLLEAGUES, CUSTOMERS, type Company } from '../people';
import type { Prng } from '../prng';
import { nameFromEmail, rfc2822Date, type Addr } from './mime';
import type { GmailLabelColor } from './types';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The user labels a seeded mailbox gets (created once, by name). */
export const SEED_LABELS: Array<{ key: string; name: string; color?: GmailLabelColor }> = [
  { key: 'customers', name: 'Customers', color: { textColor: '#ffffff', backgroundColor: '#16a766' } },
  { key: 'globex', name: 'Customers/Globex' },
  { key: 'deals', name: 'Deals', color: { textColor: '#ffffff', backgroundColor: '#4a86e8' } },
  { key: 'followup', name: 'Follow-up', color: { textColor: '#000000', backgroundColor: '#fad165' } },
  { key: 'internal', name: 'Internal', color: { textColor: '#ffffff', backgroundColor: '#a479e2' } },
  { key: 'receipts', name: 'Receipts' },
];

export interface SeedContext {
  prng: Prng;
  owner: string;
  domain: string;
  /** other sandbox users (colleagues) */
  otherUsers: string[];
  pastDays: number;
  /** the latest possible message time */
  anchor: number;
  /** label ids of SEED_LABELS by key (absent: no user labels) */
  labels: Partial<Record<string, string>>;
}

export interface SeedMessage {
  from: Addr;
  to: Addr[];
  cc: Addr[];
  subject: string;
  text: string;
  internalDate: number;
  timeZone: string;
  labels: string[];
  messageId: string;
  inReplyTo?: string;
  references?: string;
  /** received (Delivered-To the owner) */
  inbound: boolean;
}

interface Person extends Addr {
  zone: string;
  company?: Company;
  title?: string;
}

const TITLES = ['VP Procurement', 'Head of Sales Ops', 'IT Director', 'CFO', 'Project Lead', 'Security Officer', 'COO'];
const CUSTOMER_SUBJECTS = [
  (c: string) => `${c} <> Acme: next steps`, (c: string) => `Pricing for the ${c} rollout`, (c: string) => `Security questionnaire – ${c}`,
  (c: string) => `Renewal quote for ${c}`, (c: string) => `Question about invoice #${c.length * 1187}`, (c: string) => `Demo follow-up (${c})`,
  (c: string) => `${c} onboarding kickoff`, (c: string) => `Contract redlines – ${c} MSA`, (c: string) => `SSO setup for ${c}`,
];
const CUSTOMER_LINES = [
  'Thanks for the call yesterday, the team found the demo very helpful.',
  'Could you send over the updated order form with the 3-year pricing?',
  'Our legal team has a few comments on section 7 of the MSA.',
  'We would like to start with 50 seats and expand in Q3.',
  'Attached are the answers to your security questionnaire; let me know if anything is missing.',
  'Can we move the kickoff to next Tuesday at 10am?',
  'Procurement needs the W-9 and your bank details before we can issue the PO.',
  'The SSO integration is working in our staging environment now.',
  'Is there any flexibility on the implementation fee?',
  'I have looped in our IT director, who will own the rollout on our side.',
];
const OWNER_LINES = [
  'Great to hear from you. I have attached the revised proposal.',
  'Happy to jump on a quick call this week to walk through the numbers.',
  'I checked with our finance team and we can offer 12% off for a 3-year term.',
  'Thanks, I will get back to you with answers by Friday.',
  'Looping in my colleague who leads implementation.',
  'Here is the link to the onboarding checklist we discussed.',
  'Does Thursday at 3pm your time work for the review?',
  'We have addressed all comments in the attached redline.',
];
const INTERNAL_SUBJECTS = [
  'Pipeline review notes', 'Q3 forecast', 'Can you review the proposal?', 'Offsite logistics', 'Hiring: AE candidates',
  'Deal desk approval needed', 'Updated sales deck', 'Territory planning', 'Customer reference request', 'Weekly numbers',
];
const INTERNAL_LINES = [
  'I updated the forecast sheet with the latest numbers.',
  'Can you take a look before I send it to the customer?',
  'Deal desk approved the discount, we are good to go.',
  'The new deck is in the shared drive under Sales/2026.',
  'Let us sync on this after the pipeline review.',
  'I booked the room for Thursday, agenda to follow.',
  'Two strong candidates for the AE role, interviews next week.',
  'Reminder: forecasts are due end of day Friday.',
];
const CLOSINGS = ['Best,', 'Thanks,', 'Cheers,', 'Kind regards,', 'Best regards,'];

interface Automated {
  from: Addr;
  subjects: string[];
  lines: string[];
  kind: 'updates' | 'promotions' | 'social' | 'spam';
  receipt?: boolean;
}

const AUTOMATED: Automated[] = [
  { kind: 'updates', receipt: true, from: { name: 'Zoom', email: 'no-reply@zoom.us' }, subjects: ['Your Zoom invoice is available', 'Payment receipt for Zoom Workplace'], lines: ['Your invoice for this month is attached. Amount due: $149.90.'] },
  { kind: 'updates', from: { name: 'GitHub', email: 'notifications@github.com' }, subjects: ['[acme/aurora-sync] Pull request #412: Gmail connector', '[acme/aurora-sync] Run failed: CI - main'], lines: ['You are receiving this because you were mentioned.', 'View it on GitHub or unsubscribe from this thread.'] },
  { kind: 'updates', from: { name: 'Google Calendar', email: 'calendar-notification@google.com' }, subjects: ['Updated invitation: Pipeline review', 'Invitation: QBR with Globex'], lines: ['You have been invited to the following event.', 'Join with Google Meet.'] },
  { kind: 'updates', receipt: true, from: { name: 'Expensify', email: 'concierge@expensify.com' }, subjects: ['Expense report approved', 'Your expenses have been reimbursed'], lines: ['Your report "Customer visit" was approved and will be reimbursed.'] },
  { kind: 'updates', from: { name: 'DocuSign', email: 'dse@docusign.net' }, subjects: ['Completed: Please DocuSign: Order Form', 'Please DocuSign: Mutual NDA'], lines: ['All parties have completed the envelope. Select "View completed document".'] },
  { kind: 'updates', from: { name: 'HubSpot', email: 'noreply@hubspot.com' }, subjects: ['Your weekly sales summary', 'A deal moved to Closed Won'], lines: ['Here is how your team did this week: 14 deals created, 5 closed won.'] },
  { kind: 'promotions', from: { name: 'SaaStr', email: 'newsletter@saastr.com' }, subjects: ['This week in SaaS: 5 lessons from $100M ARR', 'Last chance: SaaStr Annual tickets'], lines: ['The top stories for sales leaders this week.', 'Prices go up Friday.'] },
  { kind: 'promotions', from: { name: 'Gong', email: 'marketing@gong.io' }, subjects: ['Webinar: forecasting with AI', 'The State of Revenue report 2026'], lines: ['Join us on Thursday for a live session.', 'Download the full report.'] },
  { kind: 'promotions', from: { name: 'Lufthansa', email: 'newsletter@mailing.lufthansa.com' }, subjects: ['Your next trip: fares from EUR 99', 'Miles & More: your statement'], lines: ['Discover our latest offers.', 'Your miles balance has been updated.'] },
  { kind: 'social', from: { name: 'LinkedIn', email: 'messages-noreply@linkedin.com' }, subjects: ['You have a new message', 'You appeared in 12 searches this week'], lines: ['See who is looking at your profile.', 'Reply on LinkedIn.'] },
  { kind: 'spam', from: { name: 'Prize Center', email: 'winner@lucky-prize.biz' }, subjects: ['Congratulations! You have been selected', 'URGENT: claim your reward'], lines: ['Click here to claim your $1,000 gift card before it expires.'] },
];

export function generateThreads(ctx: SeedContext, count: number): SeedMessage[][] {
  const r = ctx.prng;
  const ownerName = nameFromEmail(ctx.owner);
  const owner: Person = { email: ctx.owner, name: ownerName, zone: 'Europe/Berlin' };
  const colleagues: Person[] = [
    ...ctx.otherUsers.map((email) => ({ email, name: nameFromEmail(email), zone: r.pick(['Europe/Berlin', 'America/New_York']) })),
    ...COLLEAGUES.map((p, i) => ({ ...colleague(p, ctx.domain), zone: i % 3 === 0 ? 'America/New_York' : i % 3 === 1 ? 'Europe/Berlin' : 'Asia/Tokyo' })).map(({ displayName, email, zone }) => ({ email, name: displayName, zone })),
  ];
  const customer = (c: Company): Person => {
    const [f, l] = r.pick(c.people);
    return { email: `${ascii(f)}.${ascii(l)}@${c.domain}`, name: `${f} ${l}`, zone: c.zone, company: c, title: TITLES[(f.length + l.length) % TITLES.length] };
  };
  const first = (p: Addr) => (p.name ?? nameFromEmail(p.email)).split(' ')[0]!;
  const gmailId = () => `<CA+${r.chars(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}@mail.gmail.com>`;
  const externalId = (domain: string) => `<${r.chars(16, '0123456789abcdef')}.${r.int(1000, 99999)}@${domain}>`;
  const signature = (p: Person) => (p.company ? `${p.name}\n${p.title} | ${p.company.name}` : p.email === ctx.owner ? `${ownerName}\nAcme` : `${p.name}`);
  const lines = (pool: string[], n: number) => {
    const pick = [...pool];
    const out: string[] = [];
    for (let i = 0; i < n && pick.length; i++) out.push(pick.splice(r.int(0, pick.length - 1), 1)[0]!);
    return out.join(' ');
  };
  const body = (from: Person, to: Addr, pool: string[], quote?: SeedMessage) => {
    let text = `Hi ${first(to)},\n\n${lines(pool, r.int(1, 3))}\n\n${r.pick(CLOSINGS)}\n${signature(from)}`;
    if (quote) {
      const own = quote.text.split('\nOn ')[0]!;
      text += `\n\nOn ${rfc2822Date(quote.internalDate, quote.timeZone)}, ${quote.from.name ?? quote.from.email} <${quote.from.email}> wrote:\n${own
        .split('\n')
        .map((l) => `> ${l}`.trimEnd())
        .join('\n')}`;
    }
    return text;
  };
  /** a business-hours instant in `zone` within the seeding window */
  const startTime = (zone: string): number => {
    const day = ctx.anchor - r.int(0, ctx.pastDays) * DAY_MS;
    const base = Math.floor(day / DAY_MS) * DAY_MS;
    const offset = zone === 'America/New_York' ? 5 : zone === 'Asia/Tokyo' ? -9 : zone === 'Europe/Berlin' ? -1 : 0;
    return Math.min(ctx.anchor - r.int(1, 600) * 60_000, base + (r.int(8, 17) + offset) * HOUR_MS + r.int(0, 59) * 60_000 + r.int(0, 59) * 1000);
  };
  const next = (t: number) => t + r.pick([r.int(5, 90) * 60_000, r.int(2, 20) * HOUR_MS, r.int(1, 4) * DAY_MS]);

  const ul = (key: string) => ctx.labels[key];
  const out: SeedMessage[][] = [];

  const conversation = (kind: 'customer' | 'internal' | 'outbound') => {
    const company = r.pick(CUSTOMERS);
    const other: Person = kind === 'internal' ? r.pick(colleagues) : customer(company);
    const cc: Person[] = kind === 'customer' && r.chance(0.35) ? [r.pick(colleagues)] : kind === 'internal' && r.chance(0.3) ? [r.pick(colleagues)].filter((p) => p.email !== other.email) : [];
    const subject = kind === 'internal' ? r.pick(INTERNAL_SUBJECTS) : r.pick(CUSTOMER_SUBJECTS)(company.name);
    const n = kind === 'outbound' ? r.int(1, 2) : r.int(1, 6);
    const ownerStarts = kind === 'outbound' || r.chance(kind === 'internal' ? 0.4 : 0.3);
    const msgs: SeedMessage[] = [];
    let t = startTime(other.zone);
    for (let i = 0; i < n && t < ctx.anchor; i++, t = next(t)) {
      const fromOwner = kind === 'outbound' ? true : (i % 2 === 0) === ownerStarts;
      const from = fromOwner ? owner : i > 1 && other.company && r.chance(0.25) ? customer(other.company) : other;
      const to = fromOwner ? other : owner;
      const prev = msgs[msgs.length - 1];
      const pool = kind === 'internal' ? INTERNAL_LINES : fromOwner ? OWNER_LINES : CUSTOMER_LINES;
      const m: SeedMessage = {
        from,
        to: [to],
        cc: cc.filter((p) => p.email !== from.email),
        subject: prev ? `Re: ${subject}` : subject,
        text: body(from, to, pool, prev),
        internalDate: t,
        timeZone: from.zone,
        labels: [],
        messageId: from.company ? externalId(from.company.domain) : gmailId(),
        inbound: !fromOwner,
      };
      if (prev) {
        m.inReplyTo = prev.messageId;
        m.references = [prev.references, prev.messageId].filter(Boolean).join(' ');
      }
      msgs.push(m);
    }
    // labels
    const age = ctx.anchor - msgs[msgs.length - 1]!.internalDate;
    const important = kind !== 'outbound' && r.chance(kind === 'customer' ? 0.55 : 0.35);
    const lastOwner = msgs.map((m) => !m.inbound).lastIndexOf(true);
    const unreadTail = age < 7 * DAY_MS ? r.chance(0.6) : r.chance(0.05);
    msgs.forEach((m, i) => {
      if (!m.inbound) {
        m.labels.push('SENT');
        if (important && r.chance(0.5)) m.labels.push('IMPORTANT');
        return;
      }
      if (unreadTail && i > lastOwner) m.labels.push('UNREAD');
      if (important) m.labels.push('IMPORTANT');
      m.labels.push('CATEGORY_PERSONAL', 'INBOX');
    });
    const extra: string[] = [];
    if (kind !== 'internal' && r.chance(0.5) && ul('customers')) extra.push(ul('customers')!);
    if (kind !== 'internal' && company.name === 'Globex' && ul('globex') && r.chance(0.7)) extra.push(ul('globex')!);
    if (kind !== 'internal' && /Pricing|Renewal|Contract/.test(subject) && ul('deals') && r.chance(0.6)) extra.push(ul('deals')!);
    if (kind === 'internal' && ul('internal') && r.chance(0.35)) extra.push(ul('internal')!);
    if (ul('followup') && r.chance(0.08)) extra.push(ul('followup')!);
    finish(msgs, extra, kind === 'outbound' ? 0 : 0.12, age);
  };

  const automated = (kinds: Automated['kind'][]) => {
    const a = r.pick(AUTOMATED.filter((x) => kinds.includes(x.kind)));
    const t = startTime('UTC');
    const m: SeedMessage = {
      from: a.from,
      to: [{ email: ctx.owner }],
      cc: [],
      subject: r.pick(a.subjects),
      text: `${lines(a.lines, 2)}\n\n--\n${a.from.name}`,
      internalDate: t,
      timeZone: 'UTC',
      labels: [],
      messageId: externalId(a.from.email.split('@')[1]!),
      inbound: true,
    };
    const age = ctx.anchor - t;
    if (a.kind === 'spam') m.labels.push('SPAM');
    else {
      if (r.chance(a.kind === 'updates' ? 0.45 : 0.6) || age < 2 * DAY_MS) m.labels.push('UNREAD');
      m.labels.push(`CATEGORY_${a.kind.toUpperCase()}`, 'INBOX');
    }
    const extra = a.receipt && ul('receipts') && r.chance(0.6) ? [ul('receipts')!] : [];
    finish([m], extra, 0, age, a.kind === 'spam');
  };

  const mailingList = () => {
    const sender = r.pick(colleagues);
    const company = r.pick(CUSTOMERS);
    const subject = r.pick([`[sales-team] Win: ${company.name} signed!`, '[sales-team] New pricing page is live', '[sales-team] Reminder: QBR prep', '[sales-team] Who covers the booth at Web Summit?']);
    const t = startTime(sender.zone);
    const m: SeedMessage = {
      from: { email: sender.email, name: `${sender.name} via sales-team` },
      to: [{ email: `sales-team@${ctx.domain}`, name: 'sales-team' }],
      cc: [],
      subject,
      text: `Hi team,\n\n${lines(INTERNAL_LINES, 2)}\n\n${r.pick(CLOSINGS)}\n${sender.name}`,
      internalDate: t,
      timeZone: sender.zone,
      labels: [],
      messageId: gmailId(),
      inbound: true,
    };
    if (r.chance(0.5)) m.labels.push('UNREAD');
    m.labels.push('CATEGORY_FORUMS', 'INBOX');
    finish([m], [], 0, ctx.anchor - t);
  };

  /** archive older threads, trash a few, star one message, add the user labels */
  const finish = (msgs: SeedMessage[], extra: string[], starChance: number, age: number, spam = false) => {
    if (msgs.length === 0) return;
    if (!spam) {
      const archive = age > 14 * DAY_MS ? r.chance(0.55) : r.chance(0.12);
      const trash = r.chance(0.02);
      for (const m of msgs) {
        if (archive || trash) m.labels = m.labels.filter((l) => l !== 'INBOX');
        if (trash) m.labels.push('TRASH');
        m.labels.push(...extra);
      }
      if (r.chance(starChance)) {
        const inbound = msgs.filter((m) => m.inbound);
        (inbound[inbound.length - 1] ?? msgs[msgs.length - 1]!).labels.push('STARRED');
      }
    }
    out.push(msgs);
  };

  const kinds: Array<[number, () => void]> = [
    [32, () => conversation('customer')],
    [20, () => conversation('internal')],
    [9, () => conversation('outbound')],
    [18, () => automated(['updates'])],
    [9, () => automated(['promotions'])],
    [4, () => automated(['social'])],
    [5, mailingList],
    [2, () => automated(['spam'])],
  ];
  while (out.length < count) r.weighted(kinds)();
  return out.slice(0, count);
}
