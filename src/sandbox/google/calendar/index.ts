/**
 * The Calendar v3 module: mounts its routes on the core, gives every account a primary calendar,
 * turns event changes into push notifications, and offers the test-side helpers (seeding, acting as
 * the user in the Calendar UI, expiring sync tokens).
 *
 * Not emulated: expansion of recurring events into instances (`singleEvents=true` returns the
 * masters and the stored exceptions, like `singleEvents=false`; `events.instances` does not exist),
 * invitations propagating to attendees' calendars, ACLs and sharing, calendar list sync tokens,
 * partial responses (`fields` is ignored: the full resource comes back), event types other than
 * `default`, quickAdd, import and freeBusy.
 */
import type { Core } from '../server';
import type { GoogleSandbox } from '../types';
import { renderEvent } from './event';
import { registerCalendarRoutes } from './routes';
import { generateEvents } from './seed';
import { CalendarStore, type CalendarRec, type WriteContext } from './store';

export function mountCalendar(core: Core, opts: { syncTokenTtlMs?: number }): GoogleSandbox['calendar'] {
  const store = new CalendarStore(core.prng('calendar'), opts.syncTokenTtlMs);
  store.onChange = (calendarId) => core.channels.notify(`calendar:${calendarId}`);
  core.auth.onAccount((email) => store.ensureAccount(email));
  registerCalendarRoutes(core, store);

  const seedCalls = new Map<string, number>();
  /** The UI: may change anything (for an invitation: stands in for the organizer's edit too). */
  const ui = (actor: string): WriteContext => ({ actor, conferenceDataVersion: 1, supportsAttachments: true, organizerRules: false });
  const calendar = (user: string, calendarId: string): [string, CalendarRec] => {
    const u = core.auth.user(user);
    return [u, store.resolve(u, calendarId)];
  };
  const event = (cal: CalendarRec, eventId: string) => store.mustEvent(cal, eventId);

  return {
    addCalendar(user, spec) {
      return CalendarStore.info(store.addCalendar(core.auth.user(user), spec));
    },
    calendars(user) {
      return store.calendarsOf(core.auth.user(user)).map(CalendarStore.info);
    },
    seed(user, calendarId, count, o = {}) {
      const [owner, cal] = calendar(user, calendarId);
      if (!Number.isInteger(count) || count < 0 || count > 100_000) throw new Error('count must be an integer 0..100000');
      const call = (seedCalls.get(cal.id) ?? 0) + 1;
      seedCalls.set(cal.id, call);
      const specs = generateEvents(
        {
          prng: core.prng(`calendar-seed:${cal.id}:${call}`),
          owner,
          calendarId: cal.id,
          calendarSummary: cal.summary,
          primary: cal.primary,
          calendarTimeZone: cal.timeZone,
          domain: core.auth.domain,
          otherUsers: core.auth.users().filter((u) => u !== owner),
          pastDays: o.pastDays ?? 365,
          futureDays: o.futureDays ?? 120,
          taken: (id) => cal.events.has(id),
        },
        count,
      );
      return specs.map((s) => renderEvent(store.seedEvent(cal, s), cal));
    },
    userInsert(user, calendarId, input) {
      const [u, cal] = calendar(user, calendarId);
      return renderEvent(store.insert(cal, input, ui(u)), cal);
    },
    userPatch(user, calendarId, eventId, patch) {
      const [u, cal] = calendar(user, calendarId);
      return renderEvent(store.patch(cal, event(cal, eventId), patch, ui(u)), cal);
    },
    userCancel(user, calendarId, eventId) {
      const [, cal] = calendar(user, calendarId);
      store.cancel(cal, event(cal, eventId));
    },
    userMove(user, fromCalendarId, toCalendarId, eventId) {
      const [u, from] = calendar(user, fromCalendarId);
      store.move(from, store.resolve(u, toCalendarId), event(from, eventId));
    },
    get(user, calendarId, eventId) {
      const [, cal] = calendar(user, calendarId);
      const ev = cal.events.get(eventId);
      return ev ? renderEvent(ev, cal) : undefined;
    },
    list(user, calendarId, o = {}) {
      const [, cal] = calendar(user, calendarId);
      return [...cal.events.values()].filter((ev) => o.includeCancelled || ev.data.status !== 'cancelled').map((ev) => renderEvent(ev, cal));
    },
    expireSyncTokens(user, calendarId) {
      if (user === undefined) {
        if (calendarId !== undefined) throw new Error('expireSyncTokens: a calendarId needs its user');
        store.expireSyncTokens(store.allCalendars());
        return;
      }
      const u = core.auth.user(user);
      store.expireSyncTokens(calendarId === undefined ? store.calendarsOf(u) : [store.resolve(u, calendarId)]);
    },
  };
}
