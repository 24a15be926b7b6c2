/** Deterministic, realistic CRM data for seeding the sandbox. */
import { DEAL_STAGES, LIFECYCLE_STAGES } from './schema';
import type { ObjectType } from './types';

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
  'Daniel', 'Lisa', 'Matthew', 'Nancy', 'Anthony', 'Sandra', 'Mark', 'Ashley', 'Steven', 'Emily',
  'Andrew', 'Michelle', 'Joshua', 'Amanda', 'Kevin', 'Melissa', 'Brian', 'Stephanie', 'Priya', 'Wei',
  'Aisha', 'Mateo', 'Sofia', 'Lucas', 'Chloe', 'Noah', 'Olivia', 'Liam', 'Emma', 'Hiroshi',
  'Fatima', 'Diego', 'Ingrid', 'Oluwaseun', 'Ananya', 'Lars', 'Camille', 'Rafael', 'Yuki', 'Zara',
];

const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Patel', 'Chen', 'Kim', 'Okafor', 'Schmidt', 'Rossi', 'Dubois', 'Tanaka', 'Novak', 'Larsen',
  'Kowalski', 'Silva', 'Haddad', 'Ivanova', 'Murphy', "O'Brien", 'Fischer', 'Costa', 'Singh', 'Ahmed',
];

const COMPANY_PREFIXES = [
  'Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Cyberdyne',
  'Tyrell', 'Wonka', 'Aperture', 'Massive', 'Oscorp', 'Pied Piper', 'Blue Sun', 'Nakatomi', 'Gringotts', 'Monarch',
  'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware', 'Proseware', 'Adatum', 'Woodgrove', 'Lucerne', 'Fourth Coffee',
  'Bright', 'Summit', 'Cedar', 'Harbor', 'Polar', 'Quantum', 'Evergreen', 'Silverline', 'Redwood', 'Ironclad',
];

const COMPANY_SUFFIXES = [
  'Labs', 'Systems', 'Analytics', 'Dynamics', 'Partners', 'Group', 'Technologies', 'Solutions', 'Logistics', 'Health',
  'Capital', 'Robotics', 'Software', 'Foods', 'Energy', 'Media', 'Networks', 'Consulting', 'Industries', 'Bio',
];

const LEGAL_FORMS = ['Inc.', 'LLC', 'Ltd', 'GmbH', 'Corp.', '', '', ''];

const TLDS = ['com', 'io', 'co', 'net', 'ai', 'de', 'co.uk'];

/** HubSpot's industry option values (a subset). */
const INDUSTRIES = [
  'COMPUTER_SOFTWARE', 'INFORMATION_TECHNOLOGY_AND_SERVICES', 'FINANCIAL_SERVICES', 'HOSPITAL_HEALTH_CARE',
  'MARKETING_AND_ADVERTISING', 'RETAIL', 'LOGISTICS_AND_SUPPLY_CHAIN', 'BIOTECHNOLOGY', 'RENEWABLES_ENVIRONMENT',
  'MANAGEMENT_CONSULTING', 'INTERNET', 'TELECOMMUNICATIONS', 'FOOD_BEVERAGES', 'AUTOMOTIVE', 'REAL_ESTATE',
  'EDUCATION_MANAGEMENT', 'INSURANCE', 'VENTURE_CAPITAL_PRIVATE_EQUITY', 'MACHINERY', 'ENTERTAINMENT',
];

const JOB_TITLES = [
  'CEO', 'CTO', 'CFO', 'VP of Sales', 'VP of Marketing', 'Head of Operations', 'Account Executive',
  'Sales Development Representative', 'Marketing Manager', 'Product Manager', 'Software Engineer',
  'Customer Success Manager', 'Director of Engineering', 'Procurement Lead', 'Office Manager', 'Founder',
];

const DEAL_KINDS = [
  'Annual subscription', 'Enterprise license', 'Pilot', 'Renewal', 'Expansion', 'Professional services',
  'Implementation', 'Support upgrade', 'Multi-year agreement', 'Seat expansion',
];

const EMAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me', 'icloud.com'];

export interface GenerateOptions {
  /** PRNG seed (default 42) */
  seed?: number;
  /** tells whether an email (lowercase) is already taken, so generated ones stay unique */
  emailTaken?: (email: string) => boolean;
  /** tells whether a company domain is already taken */
  domainTaken?: (domain: string) => boolean;
  /** reference "now" for close dates (default Date.now()) */
  now?: number;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '');
}

/**
 * `count` realistic property maps for `type`. Deterministic for a given seed; contact emails and
 * company domains are unique among themselves and against `emailTaken`/`domainTaken`.
 */
export function seedRealistic(type: ObjectType, count: number, opts: GenerateOptions = {}): Array<Record<string, string>> {
  const rnd = createPrng(opts.seed ?? 42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const int = (min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));
  const now = opts.now ?? Date.now();
  const out: Array<Record<string, string>> = [];
  const usedEmails = new Set<string>();
  const usedDomains = new Set<string>();

  const companyName = (): string => {
    const form = pick(LEGAL_FORMS);
    return `${pick(COMPANY_PREFIXES)} ${pick(COMPANY_SUFFIXES)}${form ? ` ${form}` : ''}`;
  };
  const uniqueDomain = (name: string): string => {
    const base = slug(name.replace(/\b(Inc\.|LLC|Ltd|GmbH|Corp\.)$/, ''));
    const tld = pick(TLDS);
    let domain = `${base}.${tld}`;
    for (let n = 2; usedDomains.has(domain) || opts.domainTaken?.(domain); n++) domain = `${base}${n}.${tld}`;
    usedDomains.add(domain);
    return domain;
  };

  for (let i = 0; i < count; i++) {
    if (type === 'contacts') {
      const firstname = pick(FIRST_NAMES);
      const lastname = pick(LAST_NAMES);
      const work = rnd() < 0.7;
      const company = companyName();
      const domain = work ? `${slug(company.split(' ')[0]!)}.${pick(TLDS)}` : pick(EMAIL_DOMAINS);
      const local = `${slug(firstname)}.${slug(lastname)}`;
      let email = `${local}@${domain}`;
      for (let n = 2; usedEmails.has(email) || opts.emailTaken?.(email); n++) email = `${local}${n}@${domain}`;
      usedEmails.add(email);
      const props: Record<string, string> = {
        email,
        firstname,
        lastname,
        phone: `+1 ${int(201, 989)}-${int(200, 999)}-${String(int(0, 9999)).padStart(4, '0')}`,
        company,
        jobtitle: pick(JOB_TITLES),
        lifecyclestage: pick(LIFECYCLE_STAGES.slice(0, 6)),
      };
      if (rnd() < 0.8) props.hs_linkedin_url = `https://www.linkedin.com/in/${slug(firstname)}-${slug(lastname)}-${int(1000, 99999)}`;
      out.push(props);
    } else if (type === 'companies') {
      const name = companyName();
      out.push({
        name,
        domain: uniqueDomain(name),
        industry: pick(INDUSTRIES),
        total_revenue: String(int(1, 500) * 10000),
      });
    } else {
      const stage = pick(DEAL_STAGES);
      const close = new Date(now + int(-120, 180) * 86_400_000);
      close.setUTCHours(0, 0, 0, 0);
      out.push({
        dealname: `${pick(COMPANY_PREFIXES)} - ${pick(DEAL_KINDS)}`,
        amount: String(int(5, 2000) * 100),
        dealstage: stage.value,
        pipeline: 'default',
        hs_deal_stage_probability: String(stage.probability),
        closedate: close.toISOString(),
      });
    }
  }
  return out;
}
