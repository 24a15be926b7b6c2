/**
 * Realistic, deterministic calendar content for seeding: customer calls and internal meetings in
 * several time zones, invitations from colleagues and customers, all-day and multi-day events,
 * weekly and daily recurring series (some with EXDATE, some with a moved or a cancelled instance,
 * stored as exceptions the way Google keeps them), attendees with mixed answers, rooms, Meet links,
 * reminders, a few tentative and a few cancelled events.
 */
import { ascii, CUSTOMERS, COLLEAGUES, ZONES, type Company } from '../people';
import type { Prng } from '../prng';
import type { StoredPerson } from './event';
import type { SeedEvent } from './store';
import { addDays, formatDateTime, localToUtc, parseDate } from './time';

const DAY_MS = 86_400_000;
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';
const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];
const MEET_ICON = 'https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png';

const ROOMS: Array<[string, string]> = [
  ['Berlin-3-Spree (8)', 'berlin'], ['NYC-12-Hudson (6)', 'nyc'], ['Tokyo-5-Sakura (4)', 'tokyo'], ['London-2-Thames (10)', 'london'],
];

const CUSTOMER_TOPICS = ['Discovery call', 'Product demo', 'Pricing review', 'Security questionnaire walkthrough', 'QBR', 'Onboarding kickoff', 'Renewal discussion', 'Technical deep dive'];
const INTERNAL_TOPICS = ['Pipeline review', 'Forecast call', 'Deal desk', 'Marketing sync', 'Hiring debrief', 'Product roadmap', 'Sales enablement', 'Retro'];
const ALL_DAY = [
  ['Out of office', true], ['Company holiday', true], ['Quarter close', false], ['Contract deadline', false], ['Team offsite prep', false],
] as const;
const MULTI_DAY = ['SaaStr Annual', 'Web Summit', 'Team offsite Lisbon', 'Vacation', 'Sales kickoff', 'Customer advisory board'];
const WEEKLY = ['1:1', 'Team sync', 'Pipeline review', 'Account planning', 'Customer office hours'];
const FOCUS = ['Focus time', 'Prep: customer call', 'Admin', 'Lunch', 'Gym'];
const AGENDA = ['Agenda:\n- Recap of last call\n- Open questions\n- Next steps', 'Notes: https://docs.google.com/document/d/1a2b3c', 'Please review the proposal before the call.', ''];

export interface SeedContext {
  prng: Prng;
  /** the calendar's owner and the calendar itself */
  owner: string;
  calendarId: string;
  calendarSummary: string;
  primary: boolean;
  calendarTimeZone: string;
  domain: string;
  /** other sandbox users (colleagues) */
  otherUsers: string[];
  pastDays: number;
  futureDays: number;
  /** is this event id taken in the calendar */
  taken(id: string): boolean;
}

interface Person {
  email: string;
  displayName?: string;
}

export function generateEvents(ctx: SeedContext, count: number): SeedEvent[] {
  const { prng: r } = ctx;
  const now = Date.now();
  const today = new Date(now).toISOString().slice(0, 10);
  const self: Person = { email: ctx.owner };
  const colleagues: Person[] = [
    ...ctx.otherUsers.map((email) => ({ email })),
    ...COLLEAGUES.map(([f, l]) => ({ email: `${ascii(f)}.${ascii(l)}@${ctx.domain}`, displayName: `${f} ${l}` })),
  ];
  const organizerSelf: StoredPerson = ctx.primary ? { email: ctx.owner } : { email: ctx.calendarId, displayName: ctx.calendarSummary };
  const out: SeedEvent[] = [];
  const used = new Set<string>();

  const newId = (): string => {
    for (;;) {
      const id = r.chars(26, BASE32HEX);
      if (!used.has(id) && !ctx.taken(id)) {
        used.add(id);
        return id;
      }
    }
  };
  const customerPerson = (c: Company): Person => {
    const [f, l] = r.pick(c.people);
    return { email: `${ascii(f)}.${ascii(l)}@${c.domain}`, displayName: `${f} ${l}` };
  };
  const answer = (): string => r.pick(['accepted', 'accepted', 'accepted', 'needsAction', 'needsAction', 'tentative', 'declined']);
  const attendee = (p: Person, responseStatus: string, extra: Record<string, unknown> = {}) => ({ ...p, responseStatus, ...extra });
  const reminders = () =>
    r.chance(0.65)
      ? { useDefault: true }
      : r.pick([
          { useDefault: false, overrides: [{ method: 'popup', minutes: 10 }] },
          { useDefault: false, overrides: [{ method: 'email', minutes: 1440 }, { method: 'popup', minutes: 30 }] },
          { useDefault: false },
        ]);
  const meet = () => {
    const l = 'abcdefghijklmnopqrstuvwxyz';
    const code = `${r.chars(3, l)}-${r.chars(4, l)}-${r.chars(3, l)}`;
    return {
      entryPoints: [{ entryPointType: 'video', uri: `https://meet.google.com/${code}`, label: `meet.google.com/${code}` }],
      conferenceSolution: { key: { type: 'hangoutsMeet' }, name: 'Google Meet', iconUri: MEET_ICON },
      conferenceId: code,
    };
  };
  /** a business day between -pastDays and +futureDays */
  const day = (businessOnly: boolean): string => {
    let d = addDays(today, r.int(-ctx.pastDays, ctx.futureDays));
    if (businessOnly) {
      const wd = new Date(`${d}T00:00:00Z`).getUTCDay();
      if (wd === 0) d = addDays(d, 1);
      if (wd === 6) d = addDays(d, 2);
    }
    return d;
  };
  /** local wall time `date hh:mm` in `tz`, as an instant */
  const at = (date: string, hh: number, mm: number, tz: string): number => {
    const w = parseDate(date)!;
    return localToUtc({ ...w, h: hh, mi: mm, s: 0 }, tz);
  };
  const localString = (ms: number, tz: string): string => formatDateTime(ms, tz).slice(0, 19);
  /** timed start/end: usually `{dateTime (local), timeZone}`, sometimes an offset-only dateTime */
  const timed = (startMs: number, endMs: number, tz: string, forceZone = false) =>
    forceZone || r.chance(0.8)
      ? { start: { dateTime: localString(startMs, tz), timeZone: tz }, end: { dateTime: localString(endMs, tz), timeZone: tz } }
      : { start: { dateTime: formatDateTime(startMs, tz) }, end: { dateTime: formatDateTime(endMs, tz) } };
  /** created/updated before now, around the event's start */
  const stamps = (startMs: number): { created: number; updated: number } => {
    const created = Math.min(now - 60_000, startMs - r.int(1, 30) * DAY_MS) - r.int(0, 86_400) * 1000;
    const updated = r.chance(0.4) ? created + r.int(0, 600) * 1000 : created + Math.floor(r.next() * (now - 60_000 - created));
    return { created, updated: Math.min(updated, now - 1000) };
  };
  const statusOf = (): string | undefined => (r.chance(0.04) ? 'tentative' : r.chance(0.03) ? 'cancelled' : undefined);
  const decorate = (body: Record<string, unknown>): Record<string, unknown> => {
    if (r.chance(0.15)) body.colorId = String(r.int(1, 11));
    if (r.chance(0.05)) body.visibility = 'private';
    const st = statusOf();
    if (st) body.status = st;
    return body;
  };
  const push = (body: Record<string, unknown>, startMs: number, creator: StoredPerson, organizer: StoredPerson, extra: Partial<SeedEvent> = {}): string => {
    const id = extra.id ?? newId();
    out.push({ id, body, ...stamps(startMs), sequence: r.chance(0.2) ? r.int(1, 3) : 0, creator, organizer, ...extra });
    return id;
  };

  const meeting = (internal: boolean) => {
    const company = r.pick(CUSTOMERS);
    const tz = internal ? r.pick([ctx.calendarTimeZone, ...ZONES]) : company.zone;
    const date = day(true);
    const startMs = at(date, r.int(8, 16), r.pick([0, 30]), tz);
    const endMs = startMs + r.pick([30, 30, 45, 60, 60, 90]) * 60_000;
    const guests: Person[] = internal ? pickSome(r, colleagues, 1, 5) : [...pickSome(r, colleagues, 0, 2), ...distinct([customerPerson(company), customerPerson(company)])];
    const attendees = [attendee(self, 'accepted'), ...guests.map((g) => attendee(g, answer()))];
    if (internal && r.chance(0.3)) {
      const [name, city] = r.pick(ROOMS);
      attendees.push(attendee({ email: `c_1884${city}${r.chars(8, '0123456789abcdef')}@resource.calendar.google.com`, displayName: name }, 'accepted', { resource: true }));
    }
    const topic = internal ? r.pick(INTERNAL_TOPICS) : `${company.name} / Acme: ${r.pick(CUSTOMER_TOPICS)}`;
    const body: Record<string, unknown> = { summary: topic, ...timed(startMs, endMs, tz), attendees, reminders: reminders() };
    const agenda = r.pick(AGENDA);
    if (agenda) body.description = agenda;
    if (r.chance(internal ? 0.6 : 0.45)) body.conferenceData = meet();
    else if (!internal && r.chance(0.5)) body.location = `https://acme.zoom.us/j/9${r.chars(9, '0123456789')}`;
    else if (internal) body.location = r.pick(ROOMS)[0];
    if (!internal && r.chance(0.1)) body.extendedProperties = { shared: { meetingType: r.pick(['discovery', 'demo', 'qbr']) } };
    push(decorate(body), startMs, { email: ctx.owner }, organizerSelf);
  };

  const invitation = (fromCustomer: boolean) => {
    if (!ctx.primary) return meeting(!fromCustomer); // invitations land on primary calendars
    const company = r.pick(CUSTOMERS);
    const organizer = fromCustomer ? customerPerson(company) : r.pick(colleagues);
    const tz = fromCustomer ? company.zone : r.pick(ZONES);
    const date = day(true);
    const startMs = at(date, r.int(8, 17), r.pick([0, 15, 30]), tz);
    const endMs = startMs + r.pick([30, 45, 60]) * 60_000;
    const others = fromCustomer ? distinct([customerPerson(company)]).filter((p) => p.email !== organizer.email) : pickSome(r, colleagues, 0, 3).filter((p) => p.email !== organizer.email);
    const attendees = [attendee(organizer, 'accepted'), attendee(self, answer()), ...others.map((p) => attendee(p, answer()))];
    const body: Record<string, unknown> = {
      summary: fromCustomer ? `${r.pick(CUSTOMER_TOPICS)} (${company.name})` : r.pick(INTERNAL_TOPICS),
      ...timed(startMs, endMs, tz),
      attendees,
      reminders: { useDefault: true },
    };
    if (r.chance(0.5)) body.conferenceData = meet();
    if (fromCustomer && r.chance(0.3)) body.guestsCanInviteOthers = false;
    push(decorate(body), startMs, organizer, organizer);
  };

  const allDay = () => {
    const [summary, transparent] = r.pick(ALL_DAY);
    const date = day(false);
    const body: Record<string, unknown> = { summary, start: { date }, end: { date: addDays(date, 1) }, reminders: { useDefault: false } };
    if (transparent) body.transparency = 'transparent';
    push(decorate(body), at(date, 0, 0, ctx.calendarTimeZone), { email: ctx.owner }, organizerSelf);
  };

  const multiDay = () => {
    const date = day(true);
    const body: Record<string, unknown> = {
      summary: r.pick(MULTI_DAY),
      start: { date },
      end: { date: addDays(date, r.int(2, 5)) },
      transparency: r.chance(0.5) ? 'transparent' : 'opaque',
      reminders: reminders(),
    };
    if (r.chance(0.4)) body.location = r.pick(['Lisbon, Portugal', 'San Francisco, CA', 'Berlin', 'Tokyo']);
    push(decorate(body), at(date, 0, 0, ctx.calendarTimeZone), { email: ctx.owner }, organizerSelf);
  };

  const recurring = (daily: boolean) => {
    const tz = r.pick([ctx.calendarTimeZone, ...ZONES]);
    const first = day(true);
    const hh = daily ? r.pick([9, 9, 10]) : r.int(9, 16);
    const mm = daily ? r.pick([0, 15, 30]) : r.pick([0, 30]);
    const startMs = at(first, hh, mm, tz);
    const minutes = daily ? 15 : r.pick([30, 30, 45, 60]);
    const step = daily ? 1 : r.chance(0.2) ? 14 : 7;
    const rule = daily
      ? 'RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR'
      : `RRULE:FREQ=WEEKLY;${step === 14 ? 'INTERVAL=2;' : ''}BYDAY=${WEEKDAYS[new Date(`${first}T00:00:00Z`).getUTCDay()]}`;
    // open-ended, COUNT or UNTIL; `occurrences` bounds the weekly occurrences used for EXDATE and exceptions
    let limit = '';
    let occurrences = 12;
    if (r.chance(0.5)) {
      occurrences = r.int(6, 30);
      limit = r.chance(0.5) ? `;COUNT=${occurrences}` : `;UNTIL=${addDays(first, (occurrences - 1) * step).replace(/-/g, '')}T235959Z`;
    }
    const recurrence = [rule + limit];
    const occurrence = (k: number): number => at(addDays(first, k * step), hh, mm, tz);
    const picks = daily ? [] : pickSome(r, Array.from({ length: Math.min(occurrences, 12) - 1 }, (_, i) => i + 1), 3, 3);
    if (picks.length === 3 && r.chance(0.35)) recurrence.push(`EXDATE;TZID=${tz}:${localString(occurrence(picks[0]!), tz).replace(/[-:]/g, '')}`);
    const guests = daily ? pickSome(r, colleagues, 3, 6) : pickSome(r, colleagues, 1, 2);
    const kind = daily ? 'Daily standup' : r.pick(WEEKLY);
    const guest = guests[0];
    const summary = kind === '1:1' && guest ? `${ctx.owner.split('@')[0]} / ${guest.displayName ?? guest.email.split('@')[0]} 1:1` : kind;
    const body: Record<string, unknown> = {
      summary,
      ...timed(startMs, startMs + minutes * 60_000, tz, true),
      recurrence,
      attendees: [attendee(self, 'accepted'), ...guests.map((g) => attendee(g, answer()))],
      reminders: reminders(),
      conferenceData: meet(),
    };
    const masterId = push(body, startMs, { email: ctx.owner }, organizerSelf);
    // exceptions, stored as Google keeps them: one occurrence moved by an hour, one cancelled
    if (picks.length === 3 && r.chance(0.4)) {
      for (const [k, cancelled] of [[picks[1]!, false], [picks[2]!, true]] as const) {
        const original = occurrence(k);
        const shift = cancelled ? 0 : 3600_000;
        const exBody: Record<string, unknown> = { ...structuredClone(body), ...timed(original + shift, original + shift + minutes * 60_000, tz, true) };
        delete exBody.recurrence;
        if (cancelled) exBody.status = 'cancelled';
        push(exBody, original, { email: ctx.owner }, organizerSelf, {
          id: `${masterId}_${new Date(original).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`,
          recurringEventId: masterId,
          originalStartTime: { dateTime: original, timeZone: tz },
        });
      }
    }
  };

  const focus = () => {
    const tz = ctx.calendarTimeZone;
    const date = day(true);
    const startMs = at(date, r.int(8, 16), r.pick([0, 30]), tz);
    const body: Record<string, unknown> = { summary: r.pick(FOCUS), ...timed(startMs, startMs + r.pick([30, 60, 120]) * 60_000, tz), reminders: reminders() };
    if (r.chance(0.5)) body.transparency = 'transparent';
    push(decorate(body), startMs, { email: ctx.owner }, organizerSelf);
  };

  const kinds: Array<[number, () => void]> = [
    [30, () => meeting(false)],
    [18, () => meeting(true)],
    [8, () => invitation(true)],
    [7, () => invitation(false)],
    [8, allDay],
    [5, multiDay],
    [12, () => recurring(false)],
    [4, () => recurring(true)],
    [8, focus],
  ];
  while (out.length < count) r.weighted(kinds)();
  return out.slice(0, count);
}

function pickSome<T>(r: Prng, items: readonly T[], min: number, max: number): T[] {
  const pool = [...items];
  const n = Math.min(pool.length, r.int(min, max));
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(pool.splice(r.int(0, pool.length - 1), 1)[0]!);
  return out;
}

function distinct(people: Person[]): Person[] {
  const seen = new Set<string>();
  return people.filter((p) => !seen.has(p.email) && !!seen.add(p.email));
}
