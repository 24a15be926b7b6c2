/**
 * The people every seeded Google mailbox and calendar draws from: Acme colleagues on the Workspace
 * domain and contacts at a few customer companies (with their time zones), so Gmail participants
 * overlap Calendar attendees.
 */

export const ZONES = ['America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'UTC'] as const;

export const COLLEAGUES: Array<[string, string]> = [
  ['Carla', 'Mendes'], ['David', 'Okafor'], ['Elena', 'Rossi'], ['Farid', 'Haddad'], ['Greta', 'Larsen'],
  ['Hiro', 'Tanaka'], ['Isabel', 'Costa'], ['Jonas', 'Fischer'], ['Kavya', 'Iyer'], ['Liam', 'Murphy'],
  ['Maya', 'Cohen'], ['Nils', 'Berg'], ['Olivia', 'Chen'], ['Pablo', 'Ruiz'], ['Quinn', 'Walker'],
];

export interface Company {
  name: string;
  domain: string;
  zone: (typeof ZONES)[number];
  people: Array<[string, string]>;
}

export const CUSTOMERS: Company[] = [
  { name: 'Globex', domain: 'globex.com', zone: 'America/New_York', people: [['Hank', 'Scorpio'], ['Janet', 'Price'], ['Marcus', 'Bell']] },
  { name: 'Initech', domain: 'initech.io', zone: 'America/New_York', people: [['Bill', 'Lumbergh'], ['Joanna', 'Reyes'], ['Samir', 'Nagheenanajar']] },
  { name: 'Umbrella', domain: 'umbrella-corp.de', zone: 'Europe/Berlin', people: [['Katrin', 'Vogel'], ['Matthias', 'Brandt'], ['Sophie', 'Keller']] },
  { name: 'Hooli', domain: 'hooli.co.jp', zone: 'Asia/Tokyo', people: [['Kenji', 'Sato'], ['Aiko', 'Yamamoto'], ['Ren', 'Kobayashi']] },
  { name: 'Wayne Enterprises', domain: 'wayne.co.uk', zone: 'UTC', people: [['Lucius', 'Fox'], ['Harriet', 'Cole'], ['Oliver', 'Grant']] },
  { name: 'Soylent', domain: 'soylent.ca', zone: 'America/New_York', people: [['Chloe', 'Tremblay'], ['Noah', 'Gagnon']] },
];

/** The local part the pools' addresses use: accents and punctuation dropped, lower case. */
export const ascii = (s: string): string => s.normalize('NFD').replace(/[^\w]/g, '').toLowerCase();

/** `carla.mendes@<domain>` and "Carla Mendes". */
export function colleague([first, last]: [string, string], domain: string): { email: string; displayName: string } {
  return { email: `${ascii(first)}.${ascii(last)}@${domain}`, displayName: `${first} ${last}` };
}
