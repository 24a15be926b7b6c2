/**
 * Realistic, deterministic meeting content: customer calls (discovery, demo, pricing, security,
 * renewal...) and internal meetings, with speakers, sentences timed over the meeting (raw text
 * with fillers, cleaned text, AI filters), and Fireflies-style summaries whose action items are
 * grouped under the person they were assigned to, most with the `(mm:ss)` moment they were said.
 */
import type { Prng } from '../google/prng';
import type { AIFilters, ActionItem, ActionItemGroup } from './types';

export interface Speaker {
  name: string;
  email?: string;
  /** on the Acme side */
  internal: boolean;
}

export interface GeneratedSentence {
  speaker: number;
  text: string;
  raw_text: string;
  start_time: number;
  end_time: number;
  ai_filters: AIFilters;
  /** the phase (chapter) it belongs to */
  phase: string;
  /** an action item this sentence carries, and whose it is (speaker index) */
  task?: { item: string; assignee: number };
}

export interface MeetingContext {
  kind: MeetingKind;
  company: string;
  speakers: Speaker[];
  /** minutes */
  duration: number;
}

export type MeetingKind =
  | 'discovery' | 'demo' | 'pricing' | 'security' | 'qbr' | 'onboarding' | 'renewal' | 'technical'
  | 'pipeline' | 'forecast' | 'deal_desk' | 'enablement' | 'roadmap';

export const CUSTOMER_KINDS: readonly MeetingKind[] = ['discovery', 'demo', 'pricing', 'security', 'qbr', 'onboarding', 'renewal', 'technical'];
export const INTERNAL_KINDS: readonly MeetingKind[] = ['pipeline', 'forecast', 'deal_desk', 'enablement', 'roadmap'];

const KIND_TITLE: Record<MeetingKind, string> = {
  discovery: 'Discovery call', demo: 'Product demo', pricing: 'Pricing review', security: 'Security questionnaire walkthrough',
  qbr: 'QBR', onboarding: 'Onboarding kickoff', renewal: 'Renewal discussion', technical: 'Technical deep dive',
  pipeline: 'Pipeline review', forecast: 'Forecast call', deal_desk: 'Deal desk', enablement: 'Sales enablement', roadmap: 'Product roadmap',
};

const MEETING_TYPE: Record<MeetingKind, string> = {
  discovery: 'Sales Discovery Call', demo: 'Product Demo', pricing: 'Sales Negotiation', security: 'Security Review',
  qbr: 'Quarterly Business Review', onboarding: 'Customer Onboarding', renewal: 'Renewal Discussion', technical: 'Technical Deep Dive',
  pipeline: 'Pipeline Review', forecast: 'Forecast Meeting', deal_desk: 'Deal Desk Review', enablement: 'Training Session', roadmap: 'Planning Meeting',
};

export function titleFor(kind: MeetingKind, company: string, r: Prng): string {
  const t = KIND_TITLE[kind];
  if (INTERNAL_KINDS.includes(kind)) return r.chance(0.3) ? `${t} – ${company}` : t;
  // the Google sandbox titles customer meetings "Globex / Acme: Product demo" or "Product demo (Globex)"
  return r.chance(0.6) ? `${company} / Acme: ${t}` : `${t} (${company})`;
}

export const meetingTypeOf = (kind: MeetingKind): string => MEETING_TYPE[kind];

// ---- phrase banks ------------------------------------------------------------------------------

const INTEGRATIONS = ['Salesforce', 'HubSpot', 'Okta', 'Snowflake', 'Slack', 'Google Workspace', 'Azure AD', 'Zendesk'];
const COMPETITORS = ['Initrode', 'Vandelay Industries', 'Massive Dynamic', 'Cyberdyne', 'Tyrell Systems'];
const DATES = ['Friday', 'next Tuesday', 'end of the week', 'Monday', 'the 15th', 'end of the month', 'Thursday', 'next week'];
const PCTS = ['10', '15', '20', '25', '30'];

interface Line {
  /** who says it: 'rep' (Acme), 'cust' (customer), 'any' */
  by: 'rep' | 'cust' | 'any';
  say: string;
  /** this line makes an action item; `for`: the speaker ('self') or the other side ('other') */
  task?: { item: string; for: 'self' | 'other' };
}

const L = (by: Line['by'], say: string, task?: Line['task']): Line => ({ by, say, task });

const OPENING: Line[] = [
  L('rep', 'Hey {cust}, good to see you again.'), L('cust', 'Hi {rep}, thanks for setting this up.'),
  L('any', 'Can everyone hear me okay?'), L('any', 'Yeah, you sound great.'), L('rep', 'How was your weekend?'),
  L('cust', 'Pretty good, a bit busy with the quarter end.'), L('rep', "Let's give it another minute for folks to join."),
  L('rep', 'Thanks everyone for making the time today.'), L('cust', 'Sorry, I was in another call that ran over.'),
  L('any', 'No worries at all.'), L('rep', 'Is it okay if Fireflies records this so I can focus on the conversation?'), L('cust', 'Sure, that works.'),
];

const AGENDA: Line[] = [
  L('rep', "So the plan for today is to understand how you're running things at {company} and then show you the product."),
  L('rep', "I'd like to spend the first half on your current process and leave time for questions at the end."),
  L('rep', 'Does that agenda work for everyone?'), L('cust', 'Yes, that sounds good.'),
  L('rep', "Before we dive in, is there anything specific you'd like to make sure we cover?"),
  L('cust', 'Mostly pricing and how the integration with {integration} works.'),
];

const DISCOVERY: Line[] = [
  L('cust', "Right now we're tracking everything in spreadsheets, and it's getting out of hand."),
  L('cust', 'Our biggest pain point is the handoff between sales and onboarding.'),
  L('cust', 'We have about {n} reps across three regions.'),
  L('cust', 'We lose maybe {pct} percent of deals because follow-ups slip through the cracks.'),
  L('rep', 'How are you handling that today?'), L('rep', 'Who else is involved in the decision?'),
  L('rep', 'What does success look like for you six months from now?'), L('rep', "What's your timeline for making a decision?"),
  L('cust', "Ideally we'd have something in place before the next quarter starts."),
  L('cust', 'Our VP of Sales is the economic buyer, but IT has a say on anything that touches {integration}.'),
  L('cust', 'We tried building something in house last year and it never really took off.'),
  L('rep', 'That makes a lot of sense, we hear that a lot.'), L('rep', 'Can you walk me through what happens after a deal closes?'),
  L('cust', 'Honestly, it depends on who picks it up, there is no single process.'),
  L('cust', 'Reporting is the other big one, our leadership wants a weekly view of the pipeline.'),
  L('rep', 'How much time do your reps spend on data entry each week?'), L('cust', 'I would guess three or four hours per rep.'),
];

const DEMO: Line[] = [
  L('rep', 'Let me share my screen.'), L('rep', 'Can you see my screen okay?'), L('cust', 'Yes, we can see it.'),
  L('rep', 'So this is the dashboard your reps would see every morning.'),
  L('rep', 'Here you can see the sync with {integration} running in real time.'),
  L('rep', 'Every change on either side shows up here within a few seconds.'),
  L('cust', 'Can we customize which fields get synced?'), L('rep', 'Yes, the field mapping is fully configurable per object.'),
  L('cust', 'What happens if two people edit the same record?'),
  L('rep', 'Good question, we detect the conflict and either apply last write wins or send it to a review queue.'),
  L('cust', 'That review queue is exactly what our ops team has been asking for.'),
  L('rep', 'And this is the activity feed, it shows every meeting, email and task tied to the account.'),
  L('cust', 'Does it work on mobile too?'), L('rep', 'It does, there are apps for iOS and Android.'),
];

const PRICING: Line[] = [
  L('rep', "For {n} seats on the Business tier we're looking at {price} dollars per seat per month."),
  L('rep', 'If you sign an annual agreement we can do {pct} percent off the list price.'),
  L('cust', "That's a bit above what we budgeted, to be honest."),
  L('cust', 'Is implementation included in that price, or is it separate?'),
  L('rep', 'Implementation is a one time fee, but for a two year term we can waive it.'),
  L('cust', 'We would need to start with a smaller group and expand later.'),
  L('rep', 'We can absolutely start with a pilot of twenty seats.'),
  L('cust', 'How does billing work if we add seats mid year?'), L('rep', 'Added seats are prorated to your renewal date.'),
  L('cust', '{competitor} quoted us something lower, so we will need to see some flexibility.'),
];

const SECURITY: Line[] = [
  L('cust', 'Do you support SSO with {integration}?'), L('rep', 'Yes, SAML and SCIM provisioning are both supported.'),
  L('cust', 'Our security team will need a SOC 2 Type II report.'), L('cust', 'Where is the data hosted?'),
  L('rep', 'We host in AWS, with regions in the US and the EU.'), L('cust', 'Is data encrypted at rest?'),
  L('rep', 'Everything is encrypted at rest with AES 256 and in transit with TLS 1.2 or higher.'),
  L('cust', 'We will also need a data processing agreement before we can move forward.'),
  L('cust', 'How long do you retain data after a contract ends?'), L('rep', 'Thirty days, and we can delete earlier on request.'),
];

const RELATIONSHIP: Line[] = [
  L('rep', 'Adoption looks strong, about eighty percent of your reps log in daily.'),
  L('cust', 'The team really likes the new reporting.'), L('cust', 'We had a few issues with the {integration} sync last month.'),
  L('rep', 'I saw that, the fix went out last week and the error rate is back to normal.'),
  L('cust', 'Our renewal is coming up and finance is asking about the budget for next year.'),
  L('rep', "We'd love to expand to the customer success team as well."),
  L('cust', 'We are also onboarding a new region, so we might need more seats.'),
  L('rep', 'What would you like to see from us over the next quarter?'),
];

const INTERNAL: Line[] = [
  L('any', 'Where are we on the {company} deal?'), L('any', "They're in legal review, I expect signature by {date}."),
  L('any', 'Commit for the quarter is at {price} thousand, with another two hundred in best case.'),
  L('any', "I'm worried about the {company} opportunity, the champion just left."),
  L('any', 'Can we get a discount approved above {pct} percent?'), L('any', 'Deal desk will need the margin analysis first.'),
  L('any', 'Pipeline coverage is about three times for next quarter.'), L('any', 'We need more top of funnel in EMEA.'),
  L('any', '{competitor} keeps showing up in our late stage deals.'), L('any', 'The new battle card should help with that.'),
  L('any', 'Marketing has a webinar planned for {date}.'), L('any', "Let's review the stalled deals one by one."),
  L('any', 'What is the next step on {company}?'), L('any', 'They asked for a reference call with a customer in their industry.'),
];

const NEXT_STEPS: Line[] = [
  L('rep', "I'll send over the proposal by {date}.", { item: 'Send the revised proposal to {company} by {date}', for: 'self' }),
  L('rep', 'Can you loop in your IT lead for the security review?', { item: 'Loop in the IT lead for the security review', for: 'other' }),
  L('rep', "Let's schedule a follow up for {date}.", { item: 'Schedule a follow-up meeting for {date}', for: 'self' }),
  L('rep', "I'll share the recording and the notes after the call.", { item: 'Share the call recording and notes with the {company} team', for: 'self' }),
  L('rep', "We'll get you a trial workspace set up this week.", { item: 'Set up a trial workspace for {company}', for: 'self' }),
  L('cust', "I'll check with finance on the budget and get back to you.", { item: 'Confirm the budget with finance', for: 'self' }),
  L('cust', "I'll send you our security questionnaire today.", { item: 'Send the security questionnaire to Acme', for: 'self' }),
  L('rep', 'Could you share the list of fields you need synced?', { item: 'Share the list of required sync fields', for: 'other' }),
  L('rep', "I'll get you the SOC 2 report and the DPA.", { item: 'Send the SOC 2 Type II report and the DPA', for: 'self' }),
  L('cust', "I'll set up a call with our VP of Sales for {date}.", { item: 'Set up a call with the VP of Sales for {date}', for: 'self' }),
  L('rep', "I'll check with product on the {integration} roadmap.", { item: 'Check the {integration} integration roadmap with product', for: 'self' }),
  L('rep', 'Can you send me the current contract so we can align the renewal dates?', { item: 'Send the current contract to align renewal dates', for: 'other' }),
];

const INTERNAL_NEXT: Line[] = [
  L('any', "I'll update the forecast in the CRM by {date}.", { item: 'Update the forecast in the CRM by {date}', for: 'self' }),
  L('any', "I'll put together the margin analysis for deal desk.", { item: 'Prepare the margin analysis for the {company} deal', for: 'self' }),
  L('any', 'Can you find a reference customer for {company}?', { item: 'Find a reference customer for {company}', for: 'other' }),
  L('any', "I'll follow up with legal on the redlines.", { item: 'Follow up with legal on the {company} redlines', for: 'self' }),
  L('any', 'Can you share the new battle card with the team?', { item: 'Share the {competitor} battle card with the team', for: 'other' }),
  L('any', "I'll review the stalled deals before next week.", { item: 'Review all stalled deals before the next pipeline call', for: 'self' }),
];

/** conversation that fits any customer call, drawn on once a phase's own lines are used up */
const GENERIC: Line[] = [
  L('rep', 'How many people would be using it day to day?'), L('cust', 'Probably around {n} people to start with.'),
  L('rep', 'Who owns the CRM on your side today?'), L('cust', 'Our revenue operations team, it is two people right now.'),
  L('cust', 'How long does a typical rollout take?'), L('rep', 'Most teams your size are live in four to six weeks.'),
  L('cust', 'Do you have customers in our industry we could talk to?'), L('rep', 'Yes, I can connect you with a couple of them.'),
  L('rep', 'What happens today when a rep leaves the company?'), L('cust', 'Honestly, a lot of the context just disappears.'),
  L('cust', 'The other thing is visibility for management.'), L('rep', 'What reports does your leadership look at every week?'),
  L('cust', 'Mostly pipeline by stage and the forecast for the quarter.'), L('rep', 'We can build that dashboard for you during onboarding.'),
  L('cust', 'How do you handle data that is already in {integration}?'), L('rep', 'We run an initial import and then keep both sides in sync.'),
  L('cust', 'Is there an API if we want to build our own integrations?'), L('rep', 'There is, a REST API and webhooks for every object.'),
  L('rep', 'Is there a budget allocated for this already?'), L('cust', 'There is, but it has to be approved by finance for next year.'),
  L('cust', 'What kind of support do we get after go live?'), L('rep', 'You get a dedicated customer success manager and support around the clock.'),
  L('rep', 'What would make this a clear win for you?'), L('cust', 'If the reps stop complaining about data entry, that alone would be a win.'),
  L('cust', 'We also need to think about training for the new hires.'), L('rep', 'We have self serve training and live sessions every week.'),
  L('rep', 'Are you evaluating any other tools at the moment?'), L('cust', 'We looked at {competitor}, but we are not sure it fits.'),
  L('cust', 'Can we control who sees which accounts?'), L('rep', 'Yes, permissions can be set per team, per region or per record.'),
  L('rep', 'How are you measuring rep productivity today?'), L('cust', 'Calls and meetings booked, mostly, but it is all manual.'),
  L('cust', "That's really helpful context, thank you."), L('rep', 'Let me make a note of that.'),
  L('cust', 'I think the team would adopt it quickly, to be honest.'), L('rep', 'That is great to hear.'),
  L('cust', 'What does the contract term usually look like?'), L('rep', 'Most customers sign for one year, some for two or three.'),
  L('rep', "Let's make sure we capture that in the mutual action plan."), L('cust', 'Can you remind me what the pilot would include?'),
];

const CLOSING: Line[] = [
  L('rep', 'Great, thanks everyone, this was really helpful.'), L('cust', 'Thank you, talk soon.'),
  L('any', 'Have a good rest of your day.'), L('rep', "I'll send a recap email shortly."), L('any', 'Bye everyone.'),
];

/** extra action items a summary can hold without a matching sentence (no timestamp) */
const LOOSE_ITEMS = [
  'Review the onboarding plan with the {company} project team', 'Prepare a pilot success plan for {company}',
  'Add {company} to the customer advisory board invite list', 'Draft the mutual action plan with {company}',
  'Confirm the number of seats for the pilot', 'Send pricing options for a two-year term',
  'Book a technical session on the {integration} integration', 'Update the opportunity stage in the CRM',
];

const TOPIC_OF: Record<string, string> = {
  opening: 'Introductions', agenda: 'Agenda', discovery: 'Current process and pain points', demo: 'Product demo',
  pricing: 'Pricing and packaging', security: 'Security and compliance', relationship: 'Account health and adoption',
  internal: 'Deal reviews', next_steps: 'Next steps', closing: 'Wrap-up', discussion: 'Discussion',
};

const PHASES_BY_KIND: Record<MeetingKind, Array<[string, Line[], number]>> = {
  // [phase, bank, weight of the meeting's sentences]
  discovery: [['opening', OPENING, 1], ['agenda', AGENDA, 1], ['discovery', DISCOVERY, 5], ['demo', DEMO, 1], ['next_steps', NEXT_STEPS, 1], ['closing', CLOSING, 0.5]],
  demo: [['opening', OPENING, 1], ['agenda', AGENDA, 0.6], ['discovery', DISCOVERY, 1.5], ['demo', DEMO, 5], ['pricing', PRICING, 1], ['next_steps', NEXT_STEPS, 1], ['closing', CLOSING, 0.5]],
  pricing: [['opening', OPENING, 1], ['pricing', PRICING, 5], ['security', SECURITY, 1], ['next_steps', NEXT_STEPS, 1.2], ['closing', CLOSING, 0.5]],
  security: [['opening', OPENING, 1], ['agenda', AGENDA, 0.5], ['security', SECURITY, 5], ['next_steps', NEXT_STEPS, 1.2], ['closing', CLOSING, 0.5]],
  qbr: [['opening', OPENING, 1], ['relationship', RELATIONSHIP, 4], ['demo', DEMO, 1], ['pricing', PRICING, 1], ['next_steps', NEXT_STEPS, 1], ['closing', CLOSING, 0.5]],
  onboarding: [['opening', OPENING, 1], ['agenda', AGENDA, 1], ['discovery', DISCOVERY, 2], ['demo', DEMO, 3], ['next_steps', NEXT_STEPS, 1.5], ['closing', CLOSING, 0.5]],
  renewal: [['opening', OPENING, 1], ['relationship', RELATIONSHIP, 3], ['pricing', PRICING, 3], ['next_steps', NEXT_STEPS, 1], ['closing', CLOSING, 0.5]],
  technical: [['opening', OPENING, 1], ['demo', DEMO, 3], ['security', SECURITY, 3], ['next_steps', NEXT_STEPS, 1], ['closing', CLOSING, 0.5]],
  pipeline: [['opening', OPENING, 0.5], ['internal', INTERNAL, 6], ['next_steps', INTERNAL_NEXT, 1.2], ['closing', CLOSING, 0.3]],
  forecast: [['opening', OPENING, 0.5], ['internal', INTERNAL, 6], ['next_steps', INTERNAL_NEXT, 1.2], ['closing', CLOSING, 0.3]],
  deal_desk: [['opening', OPENING, 0.5], ['internal', INTERNAL, 4], ['pricing', PRICING, 2], ['next_steps', INTERNAL_NEXT, 1.2], ['closing', CLOSING, 0.3]],
  enablement: [['opening', OPENING, 0.5], ['demo', DEMO, 4], ['internal', INTERNAL, 2], ['next_steps', INTERNAL_NEXT, 1], ['closing', CLOSING, 0.3]],
  roadmap: [['opening', OPENING, 0.5], ['internal', INTERNAL, 3], ['demo', DEMO, 2], ['next_steps', INTERNAL_NEXT, 1], ['closing', CLOSING, 0.3]],
};

const FILLERS = ['um, ', 'uh, ', 'so, ', 'you know, ', 'like, ', 'I mean, ', 'yeah, '];
const MID_FILLERS = ['um,', 'uh,', 'you know,', 'like,'];

/** lower-cases the first letter unless it starts "I", "I'll"... */
const lowerFirst = (t: string): string => (/^I\b/.test(t) ? t : t[0]!.toLowerCase() + t.slice(1));

// ---- sentences -------------------------------------------------------------------------------

interface Vars {
  company: string;
  integration: string;
  competitor: string;
  n: string;
  pct: string;
  price: string;
  date: string;
}

function fill(s: string, v: Vars, names: { rep: string; cust: string }): string {
  return s.replace(/\{(\w+)\}/g, (_m, k: string) => {
    if (k === 'rep') return names.rep;
    if (k === 'cust') return names.cust;
    return (v as unknown as Record<string, string>)[k] ?? k;
  });
}

const firstName = (n: string): string => n.split(' ')[0] ?? n;

const BACKCHANNEL = ['Mm-hmm.', 'Right.', 'Got it.', 'That makes sense.', 'Okay.', 'Interesting.', 'Sure.', 'Yeah, exactly.', 'Totally.', 'Makes sense.', 'Okay, great.'];
const LEADS = ['And ', 'Okay, so ', 'Right, and ', 'Again, ', 'Just to add, '];
/** phases whose lines are said once each (no repeats) */
const ONCE = new Set(['opening', 'agenda', 'next_steps', 'closing']);

/**
 * The sentences of a meeting: phases in order, each line spoken by a plausible speaker (and
 * addressed to someone else), back-channel replies in between. Timed as continuous speech
 * (~2.6 words/s, short gaps, longer pauses between phases), or stretched over
 * `ctx.duration` minutes when `stretch`.
 */
export function generateSentences(r: Prng, ctx: MeetingContext, count: number, stretch = false): GeneratedSentence[] {
  const internalIdx = ctx.speakers.map((s, i) => (s.internal ? i : -1)).filter((i) => i >= 0);
  const externalIdx = ctx.speakers.map((s, i) => (s.internal ? -1 : i)).filter((i) => i >= 0);
  const all = ctx.speakers.map((_s, i) => i);
  const reps = internalIdx.length > 0 ? internalIdx : all;
  const custs = externalIdx.length > 0 ? externalIdx : all;
  const vars: Vars = {
    company: ctx.company,
    integration: r.pick(INTEGRATIONS),
    competitor: r.pick(COMPETITORS),
    n: String(r.pick([12, 25, 40, 60, 85, 120, 200])),
    pct: r.pick(PCTS),
    price: String(r.pick([29, 39, 49, 65, 79, 99, 120, 450, 780])),
    date: r.pick(DATES),
  };
  /** someone other than `speaker`, from `side` when possible */
  const other = (speaker: number, side: number[]): number => {
    const a = side.filter((x) => x !== speaker);
    if (a.length > 0) return r.pick(a);
    const b = all.filter((x) => x !== speaker);
    return b.length > 0 ? r.pick(b) : speaker;
  };
  const nameOf = (i: number): string => firstName(ctx.speakers[i]!.name);
  type Draft = Omit<GeneratedSentence, 'start_time' | 'end_time'> & { len: number };
  const make = (phase: string, line: Line, speaker: number, lead = ''): Draft => {
    const names = { rep: nameOf(other(speaker, reps)), cust: nameOf(other(speaker, custs)) };
    let text = fill(line.say, vars, names);
    if (lead) text = lead + lowerFirst(text);
    const raw = withFillers(r, text);
    const sideOfOther = ctx.speakers[speaker]?.internal ? custs : reps;
    const task = line.task ? { item: fill(line.task.item, vars, names), assignee: line.task.for === 'self' ? speaker : other(speaker, sideOfOther) } : undefined;
    return { speaker, text, raw_text: raw, ai_filters: aiFilters(r, text, raw, !!task), phase, task, len: raw.split(/\s+/).length };
  };
  const speakerFor = (line: Line, prev: number): number => {
    const candidates = line.by === 'rep' ? reps : line.by === 'cust' ? custs : all;
    let speaker = r.pick(candidates);
    if (speaker === prev && candidates.length > 1 && r.chance(0.7)) speaker = r.pick(candidates.filter((c) => c !== speaker));
    return speaker;
  };

  const phases = PHASES_BY_KIND[ctx.kind];
  const totalW = phases.reduce((sum, [, , w]) => sum + w, 0);
  // a line is said once; when a phase runs out of its own lines the talk drifts to related ones
  // (any customer topic, or more deal talk internally), and only then repeats as a follow-up
  const used = new Set<Line>();
  const internalMeeting = INTERNAL_KINDS.includes(ctx.kind);
  const drift = internalMeeting ? [...INTERNAL, ...PRICING] : [...GENERIC, ...DISCOVERY, ...DEMO, ...PRICING, ...SECURITY, ...RELATIONSHIP];
  const fresh = (bank: Line[]): Line | undefined => {
    const unused = bank.filter((l) => !used.has(l) && !l.task);
    return unused.length > 0 ? r.pick(unused) : undefined;
  };
  const nextLine = (phase: string, bank: Line[]): { line: Line; lead: string } | undefined => {
    const own = phase === 'next_steps' ? bank.filter((l) => !used.has(l)) : [];
    const line = (own.length > 0 ? r.pick(own) : undefined) ?? fresh(bank) ?? (ONCE.has(phase) ? undefined : fresh(drift));
    if (line) {
      used.add(line);
      return { line, lead: '' };
    }
    if (ONCE.has(phase)) return undefined;
    return { line: r.pick(bank.filter((l) => !l.task)), lead: r.pick(LEADS) };
  };
  const drafts: Draft[] = [];
  let prev = -1;
  for (const [phase, bank, w] of phases) {
    let n = Math.max(1, Math.round((count * w) / totalW));
    if (phase === 'next_steps') n = Math.min(bank.length, r.int(3, 6));
    for (let i = 0; i < n; i++) {
      const next = nextLine(phase, bank);
      if (!next) break;
      const speaker = speakerFor(next.line, prev);
      drafts.push(make(phase, next.line, speaker, next.lead));
      prev = speaker;
      if (!ONCE.has(phase) && r.chance(0.25)) {
        const replier = other(speaker, all);
        drafts.push(make(phase, L('any', r.pick(BACKCHANNEL)), replier));
        prev = replier;
      }
    }
  }
  // fit the count: trim main-phase lines from the end, or add more discussion within the main phases
  const main = phases.filter(([p]) => !ONCE.has(p)).map(([p]) => p);
  while (drafts.length > count) {
    let at = -1;
    for (let i = drafts.length - 1; i >= 0; i--) if (main.includes(drafts[i]!.phase) && !drafts[i]!.task) { at = i; break; }
    if (at < 0) at = drafts.length - 2;
    drafts.splice(Math.max(0, at), 1);
  }
  while (drafts.length < count) {
    const phase = main.length > 0 ? r.pick(main) : phases[0]![0];
    const bank = phases.find(([p]) => p === phase)![1];
    const speakerLine = r.chance(0.25) ? { line: L('any', r.pick(BACKCHANNEL)), lead: '' } : (nextLine(phase, bank) ?? { line: L('any', r.pick(BACKCHANNEL)), lead: '' });
    const d = make(phase, speakerLine.line, speakerFor(speakerLine.line, -1), speakerLine.lead);
    // inside its phase, keeping the phases in order
    let first = -1;
    let last = -1;
    drafts.forEach((x, i) => {
      if (x.phase === phase) {
        if (first < 0) first = i;
        last = i;
      }
    });
    drafts.splice(last < 0 ? drafts.length : r.int(first, last) + 1, 0, d);
  }

  const speech = drafts.map((d) => Math.max(0.8, d.len / 2.6));
  const gaps = drafts.map((d, i) => (i + 1 < drafts.length && drafts[i + 1]!.phase !== d.phase ? 2 + r.next() * 5 : 0.15 + r.next() * 1.4));
  if (stretch) {
    const talk = speech.reduce((a, b) => a + b, 0);
    const target = ctx.duration * 60 * (0.92 + r.next() * 0.05);
    const scale = Math.max(0.2, (target - talk) / gaps.reduce((a, b) => a + b, 0));
    for (let i = 0; i < gaps.length; i++) gaps[i] = gaps[i]! * scale;
  }
  let t = 1 + r.next() * 6;
  return drafts.map((d, i) => {
    const start = round2(t);
    const end = round2(t + speech[i]!);
    t = end + gaps[i]!;
    const { len: _len, ...rest } = d;
    return { ...rest, start_time: start, end_time: end };
  });
}

function withFillers(r: Prng, text: string): string {
  if (!r.chance(0.35)) return text;
  if (r.chance(0.5)) {
    const f = r.pick(FILLERS);
    return f[0]!.toUpperCase() + f.slice(1) + lowerFirst(text);
  }
  const words = text.split(' ');
  if (words.length < 5) return text;
  const at = r.int(2, words.length - 2);
  return [...words.slice(0, at), r.pick(MID_FILLERS), ...words.slice(at)].join(' ');
}

function aiFilters(r: Prng, text: string, raw: string, task: boolean): AIFilters {
  const lower = text.toLowerCase();
  const question = text.trim().endsWith('?');
  const negative = /(worried|issues|pain point|lose|above what we budgeted|never really took off|out of hand|slip)/.test(lower);
  const positive = /(great|really likes|exactly what|sounds good|helpful|strong|love|thank)/.test(lower);
  return {
    task: task ? text : null,
    pricing: /(dollar|price|pricing|discount|budget|seat|billing|quoted|percent off|fee)/.test(lower) ? text : null,
    metric: /(\d+|percent|eighty|thirty|three or four)/.test(lower) ? text : null,
    question: question ? text : null,
    date_and_time: /(monday|tuesday|thursday|friday|week|month|quarter|the 15th|today|year|days)/.test(lower) ? text : null,
    text_cleanup: raw !== text ? text : null,
    sentiment: negative ? 'negative' : positive ? 'positive' : r.chance(0.1) ? 'positive' : 'neutral',
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

// ---- summaries -------------------------------------------------------------------------------

/** `(mm:ss)` as Fireflies writes action-item timestamps (minutes may exceed 59). */
export function mmss(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Fireflies' text form: `**Name**` then one item per line, groups separated by a blank line. */
export function actionItemsText(groups: ActionItemGroup[]): string {
  return groups
    .filter((g) => g.items.length > 0)
    .map((g) => [`**${g.assignee}**`, ...g.items.map((i) => (i.at === undefined ? i.text : `${i.text} (${mmss(i.at)})`))].join('\n'))
    .join('\n\n');
}

/** The list form: the text form's non-empty lines (headings included). */
export function actionItemsList(groups: ActionItemGroup[]): string[] {
  return actionItemsText(groups)
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** Parses the text form back (used when a caller gives raw text). */
export function parseActionItemsText(text: string): ActionItemGroup[] {
  const groups: ActionItemGroup[] = [];
  let cur: ActionItemGroup | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const h = /^\*\*(.+)\*\*$/.exec(line);
    if (h) {
      cur = { assignee: h[1]!.trim(), items: [] };
      groups.push(cur);
      continue;
    }
    if (!cur) {
      cur = { assignee: 'Unassigned', items: [] };
      groups.push(cur);
    }
    const ts = /^(.*?)\s*\((\d+):(\d{2})(?::(\d{2}))?\)$/.exec(line);
    if (ts) {
      const at = ts[4] !== undefined ? Number(ts[2]) * 3600 + Number(ts[3]) * 60 + Number(ts[4]) : Number(ts[2]) * 60 + Number(ts[3]);
      cur.items.push({ text: ts[1]!, at });
    } else cur.items.push({ text: line });
  }
  return groups;
}

export interface GeneratedSummary {
  action_items: ActionItemGroup[];
  keywords: string[];
  outline: string[];
  overview: string;
  shorthand_bullet: string;
  notes: string;
  gist: string;
  bullet_gist: string;
  short_summary: string;
  short_overview: string;
  meeting_type: string;
  topics_discussed: string[];
  transcript_chapters: string[];
}

export type TimestampMode = 'all' | 'some' | 'none';

/** Action items from the task sentences (assigned to whoever took them), topped up with loose ones. */
export function generateActionItems(r: Prng, ctx: MeetingContext, sentences: GeneratedSentence[], mode: TimestampMode): ActionItemGroup[] {
  const vars = { company: ctx.company, integration: r.pick(INTEGRATIONS) };
  const byName = new Map<string, ActionItem[]>();
  const add = (name: string, item: ActionItem) => {
    const list = byName.get(name) ?? [];
    if (!list.some((i) => i.text === item.text)) list.push(item);
    byName.set(name, list);
  };
  const stamp = (at: number): number | undefined => (mode === 'all' || (mode === 'some' && r.chance(0.6)) ? Math.floor(at) : undefined);
  for (const s of sentences) {
    if (!s.task) continue;
    const who = ctx.speakers[s.task.assignee]?.name ?? ctx.speakers[s.speaker]!.name;
    add(who, { text: s.task.item, at: stamp(s.start_time) });
  }
  const extra = r.int(0, 2);
  for (let i = 0; i < extra; i++) {
    const who = r.pick(ctx.speakers.filter((s) => s.internal).concat(ctx.speakers)).name;
    add(who, { text: r.pick(LOOSE_ITEMS).replace('{company}', vars.company).replace('{integration}', vars.integration) });
  }
  // Fireflies finds at least a couple of follow-ups in a sales meeting.
  const total = () => [...byName.values()].reduce((n, l) => n + l.length, 0);
  if (total() < 2) add(ctx.speakers[0]!.name, { text: `Send a recap of the meeting to the ${ctx.company} team` });
  if (total() < 2) add(ctx.speakers[ctx.speakers.length - 1]!.name, { text: `Schedule the next call with ${ctx.company}` });
  return [...byName.entries()].map(([assignee, items]) => ({ assignee, items }));
}

/**
 * A re-summarisation: some items kept (at least one unchanged when there were two or more), one
 * reworded when more than one is kept, at least one gone, one or two new.
 * Deterministic for a given Prng.
 */
export function resummarizeActionItems(r: Prng, ctx: MeetingContext, before: ActionItemGroup[]): ActionItemGroup[] {
  const flat = before.flatMap((g) => g.items.map((i) => ({ assignee: g.assignee, ...i })));
  const keep = flat.filter(() => r.chance(0.6));
  if (keep.length === flat.length && keep.length > 0) keep.splice(r.int(0, keep.length - 1), 1);
  // Most items survive a re-summary: at least one, unchanged (the reworded one is a new item).
  if (keep.length === 0 && flat.length > 1) keep.push(flat[r.int(0, flat.length - 1)]!);
  if (keep.length > 1) {
    const k = r.int(0, keep.length - 1);
    const it = keep[k]!;
    const reworded = it.text.includes(' by ')
      ? it.text.replace(/ by .*$/, ` by ${r.pick(DATES.filter((d) => !it.text.endsWith(d)))}`)
      : `${it.text} before the next call`;
    keep[k] = { ...it, text: reworded };
  }
  const people = ctx.speakers.map((s) => s.name);
  const integration = r.pick(INTEGRATIONS);
  const fresh = LOOSE_ITEMS.map((t) => t.replace('{company}', ctx.company).replace('{integration}', integration)).filter((t) => !flat.some((f) => f.text === t));
  const nNew = r.int(1, 2);
  for (let i = 0; i < nNew && fresh.length > 0; i++) {
    const text = fresh.splice(r.int(0, fresh.length - 1), 1)[0]!;
    keep.push({ assignee: r.pick(people), text, at: r.chance(0.5) ? r.int(60, Math.max(61, Math.floor(ctx.duration * 60) - 30)) : undefined });
  }
  const groups = new Map<string, ActionItem[]>();
  for (const k of keep) {
    const list = groups.get(k.assignee) ?? [];
    list.push(k.at === undefined ? { text: k.text } : { text: k.text, at: k.at });
    groups.set(k.assignee, list);
  }
  return [...groups.entries()].map(([assignee, items]) => ({ assignee, items }));
}

export function generateSummary(r: Prng, ctx: MeetingContext, sentences: GeneratedSentence[], mode: TimestampMode): GeneratedSummary {
  const internal = INTERNAL_KINDS.includes(ctx.kind);
  const action_items = generateActionItems(r, ctx, sentences, mode);
  // chapters: the phases in order, with their time spans
  const chapters: Array<{ phase: string; start: number; end: number }> = [];
  for (const s of sentences) {
    const last = chapters[chapters.length - 1];
    if (last && last.phase === s.phase) last.end = s.end_time;
    else chapters.push({ phase: s.phase, start: s.start_time, end: s.end_time });
  }
  const topics = [...new Set(chapters.map((c) => TOPIC_OF[c.phase] ?? c.phase))];
  const discussed = topics.filter((t) => !['Introductions', 'Agenda', 'Wrap-up'].includes(t));
  const mentioned = new Set<string>();
  for (const s of sentences) for (const w of [...INTEGRATIONS, ...COMPETITORS]) if (s.text.includes(w)) mentioned.add(w);
  const keywordBank: Record<string, string[]> = {
    discovery: ['Pain points', 'Spreadsheets', 'Sales handoff', 'Decision makers'], demo: ['Dashboard', 'Field mapping', 'Conflict resolution', 'Mobile app'],
    pricing: ['Pricing', 'Annual agreement', 'Discount', 'Pilot', 'Seats'], security: ['SSO', 'SOC 2', 'Encryption', 'DPA', 'Data residency'],
    relationship: ['Adoption', 'Renewal', 'Expansion', 'Reporting'], internal: ['Forecast', 'Pipeline coverage', 'Deal desk', 'Legal review'],
  };
  const keywords = [...new Set([...chapters.flatMap((c) => keywordBank[c.phase] ?? []), ...mentioned])].slice(0, 10);
  const people = ctx.speakers.filter((s) => !s.internal).map((s) => s.name);
  const reps = ctx.speakers.filter((s) => s.internal).map((s) => s.name);
  const firstItem = action_items[0]?.items[0]?.text;
  const purpose = internal
    ? `review the state of the pipeline and the ${ctx.company} opportunity`
    : { discovery: 'understand their current sales process and challenges', demo: 'walk through a live demo of the platform', pricing: 'review pricing and packaging options',
        security: 'go through the security questionnaire', qbr: 'review account health and plans for the next quarter', onboarding: 'kick off the onboarding project',
        renewal: 'discuss the upcoming renewal', technical: 'dive into the integration architecture' }[ctx.kind as string] ?? 'discuss next steps';
  const who = internal ? `The ${reps.length > 1 ? 'sales team' : reps[0] ?? 'team'}` : `${joinNames(reps.length ? reps : [ctx.speakers[0]!.name])} met with ${joinNames(people.length ? people : ['the customer'])} from ${ctx.company}`;
  const overview = `${internal ? `${who} met to ${purpose}.` : `${who} to ${purpose}.`} The discussion covered ${joinNames(discussed.map((t) => t.toLowerCase()))}.${
    mentioned.size ? ` ${[...mentioned].slice(0, 2).join(' and ')} came up several times.` : ''
  }${firstItem ? ` Next steps include: ${firstItem.charAt(0).toLowerCase()}${firstItem.slice(1)}.` : ''}`;
  const gist = internal ? `Internal ${KIND_TITLE[ctx.kind].toLowerCase()} focused on ${discussed[0]?.toLowerCase() ?? 'open deals'}.` : `${ctx.company} ${KIND_TITLE[ctx.kind].toLowerCase()} covering ${joinNames(discussed.slice(0, 2).map((t) => t.toLowerCase()))}.`;
  const emoji: Record<string, string> = {
    'Current process and pain points': '🧭', 'Product demo': '🖥️', 'Pricing and packaging': '💰', 'Security and compliance': '🔐',
    'Account health and adoption': '📈', 'Deal reviews': '📊', 'Next steps': '✅', Introductions: '👋', Agenda: '🗒️', 'Wrap-up': '👋',
  };
  const bullet_gist = discussed.map((t) => `${emoji[t] ?? '•'} **${t}**: ${bulletFor(t, ctx.company)}`).join('\n');
  const shorthand_bullet = chapters
    .filter((c) => !['opening', 'closing'].includes(c.phase))
    .map((c) => `${emoji[TOPIC_OF[c.phase] ?? ''] ?? '•'} **${TOPIC_OF[c.phase] ?? c.phase}** (${mmss(c.start)} - ${mmss(c.end)})\n  - ${bulletFor(TOPIC_OF[c.phase] ?? c.phase, ctx.company)}`)
    .join('\n\n');
  const outline = chapters.map((c) => `${TOPIC_OF[c.phase] ?? c.phase} (${mmss(c.start)} - ${mmss(c.end)})`);
  const notes = [`## ${internal ? KIND_TITLE[ctx.kind] : `${ctx.company} – ${KIND_TITLE[ctx.kind]}`}`, '', overview, '', ...discussed.map((t) => `### ${t}\n- ${bulletFor(t, ctx.company)}`), '', '### Action items', actionItemsText(action_items)].join('\n');
  const short_summary = `${overview.split('. ').slice(0, 2).join('. ').replace(/\.?$/, '.')}`;
  const short_overview = gist;
  return {
    action_items,
    keywords,
    outline,
    overview,
    shorthand_bullet,
    notes,
    gist,
    bullet_gist,
    short_summary,
    short_overview,
    meeting_type: MEETING_TYPE[ctx.kind],
    topics_discussed: discussed,
    transcript_chapters: chapters.map((c) => TOPIC_OF[c.phase] ?? c.phase),
  };
}

function bulletFor(topic: string, company: string): string {
  switch (topic) {
    case 'Current process and pain points': return `${company} tracks deals in spreadsheets; follow-ups slip during the sales-to-onboarding handoff.`;
    case 'Product demo': return 'Walked through the dashboard, real-time sync, field mapping and the conflict review queue.';
    case 'Pricing and packaging': return 'Business tier per-seat pricing, an annual discount and a smaller pilot to start.';
    case 'Security and compliance': return 'SSO via SAML/SCIM, SOC 2 Type II report, encryption at rest and a DPA are required.';
    case 'Account health and adoption': return 'Daily adoption is strong; a sync issue last month is fixed; renewal and expansion ahead.';
    case 'Deal reviews': return `Reviewed commit and best case; ${company} is in legal review; coverage is about 3x.`;
    case 'Next steps': return 'Owners and dates agreed for the follow-ups listed below.';
    default: return topic;
  }
}

function joinNames(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

// ---- ids -------------------------------------------------------------------------------------

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** A ULID (time-ordered, 26 characters), as recent Fireflies transcript ids look. */
export function ulid(r: Prng, at: number): string {
  let t = Math.max(0, Math.floor(at));
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return time + r.chars(16, CROCKFORD);
}

/** A Google Calendar event id (base32hex, 26 characters), as the Google sandbox makes them. */
export const calendarEventId = (r: Prng): string => r.chars(26, BASE32HEX);

export function meetLink(r: Prng): string {
  const l = 'abcdefghijklmnopqrstuvwxyz';
  return `https://meet.google.com/${r.chars(3, l)}-${r.chars(4, l)}-${r.chars(3, l)}`;
}

export const zoomLink = (r: Prng): string => `https://acme.zoom.us/j/9${r.chars(9, '0123456789')}`;

export function slug(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/\s+/g, '-')
    .slice(0, 60);
}
