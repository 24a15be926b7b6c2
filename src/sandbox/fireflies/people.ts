/**
 * The people of the Google sandbox's seeding (src/sandbox/google/people.ts), as Fireflies names
 * them, so Fireflies attendees overlap Google Calendar attendees and Gmail participants: Acme
 * colleagues on the company domain, and customer contacts at a few companies.
 */
import { COLLEAGUES, CUSTOMERS as GOOGLE_CUSTOMERS, colleague } from '../google/people';

export interface Person {
  email: string;
  name: string;
}

export interface Company {
  name: string;
  domain: string;
  people: Person[];
}

/** Acme colleagues (first.last@<domain>), as the Google sandbox invites them. */
export function colleagues(domain: string): Person[] {
  return COLLEAGUES.map((n) => {
    const c = colleague(n, domain);
    return { email: c.email, name: c.displayName };
  });
}

/** The Google sandbox's customer companies and their contacts. */
export const CUSTOMERS: Company[] = GOOGLE_CUSTOMERS.map((c) => ({
  name: c.name,
  domain: c.domain,
  people: c.people.map((n) => {
    const p = colleague(n, c.domain);
    return { email: p.email, name: p.displayName };
  }),
}));

/** The Google sandbox's default users. */
export const DEFAULT_USERS = ['ana', 'ben'];

/** "ana@acme.test" → "Ana"; "carla.mendes@acme.test" → "Carla Mendes". */
export function nameFromEmail(email: string): string {
  const local = email.split('@')[0] ?? email;
  return local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join(' ');
}

/** Every known person by email (colleagues of `domain` and customer contacts). */
export function knownPeople(domain: string): Map<string, Person> {
  const m = new Map<string, Person>();
  for (const p of colleagues(domain)) m.set(p.email, p);
  for (const c of CUSTOMERS) for (const p of c.people) m.set(p.email, p);
  return m;
}
