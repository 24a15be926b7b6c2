/**
 * The subset of Fireflies' GraphQL schema the engine uses (docs: graphql-api/query/transcripts,
 * transcript, user, users; schema/transcript, sentence, speaker, summary, meeting-attendee,
 * meeting-info, aifilter). Names and types follow the docs, with two deliberate choices:
 *
 * - `Sentence.start_time`/`end_time` are Float (seconds): the docs say String, the API and the
 *   official SDK give numbers.
 * - `Summary.action_items`/`keywords` are the scalar `SummaryText`: Fireflies documents them as
 *   String, the official SDK types them string[]; the sandbox returns either per transcript
 *   (`summaryFormat`), which a String field could not. Only introspection can tell the difference.
 */
import { buildSchema, type GraphQLSchema } from 'graphql';

export const SDL = /* GraphQL */ `
"ISO 8601 date-time, e.g. 2024-06-01T00:00:00.000Z (validated by the resolver, as Fireflies does)"
scalar DateTime

"A String (Fireflies' docs) or a list of Strings (the official SDK's type), per transcript"
scalar SummaryText

enum TranscriptsQueryScope {
  title
  sentences
  all
}

type Query {
  "The user with this id; without it, the API key's owner."
  user(id: String): User
  "The users of the API key owner's team."
  users: [User]
  transcript(id: String!): Transcript
  "Newest first. limit <= 50 (default 50), skip <= 5000. Only one of organizer_email, participant_email, user_id, mine."
  transcripts(
    title: String @deprecated(reason: "Use keyword")
    keyword: String
    scope: TranscriptsQueryScope
    fromDate: DateTime
    toDate: DateTime
    limit: Int
    skip: Int
    host_email: String @deprecated(reason: "Use organizers")
    organizer_email: String @deprecated(reason: "Use organizers")
    participant_email: String @deprecated(reason: "Use participants")
    user_id: String
    mine: Boolean
    date: Float @deprecated(reason: "Use fromDate and toDate")
    organizers: [String]
    participants: [String]
    channel_id: String
  ): [Transcript]
}

type User {
  user_id: String
  email: String
  name: String
  num_transcripts: Int
  recent_meeting: String
  recent_transcript: String @deprecated(reason: "Use recent_meeting")
  minutes_consumed: Float
  is_admin: Boolean
  integrations: [String]
}

type Transcript {
  id: ID
  title: String
  "epoch milliseconds"
  date: Float
  dateString: String
  "minutes"
  duration: Float
  privacy: String
  host_email: String @deprecated(reason: "Use organizer_email")
  organizer_email: String
  user: User
  fireflies_users: [String]
  participants: [String]
  meeting_attendees: [MeetingAttendee]
  speakers: [Speaker]
  sentences: [Sentence]
  summary: Summary
  transcript_url: String
  audio_url: String
  video_url: String
  meeting_link: String
  calendar_id: String
  cal_id: String
  calendar_type: String
  meeting_info: MeetingInfo
  channels: [Channel]
}

type MeetingAttendee {
  displayName: String
  email: String
  phoneNumber: String
  name: String
  location: String @deprecated(reason: "Deprecated field")
}

type Speaker {
  id: Int
  name: String
}

type Sentence {
  index: Int
  text: String
  raw_text: String
  "seconds from the start of the meeting"
  start_time: Float
  end_time: Float
  speaker_id: ID
  speaker_name: String
  ai_filters: AIFilter
}

type AIFilter {
  task: String
  pricing: String
  metric: String
  question: String
  date_and_time: String
  text_cleanup: String
  sentiment: String
}

type Summary {
  "Grouped under **Speaker Name** headings, one item per line, most with (mm:ss)"
  action_items: SummaryText
  keywords: SummaryText
  outline: String
  overview: String
  shorthand_bullet: String
  notes: String
  gist: String
  bullet_gist: String
  short_summary: String
  short_overview: String
  meeting_type: String
  topics_discussed: [String]
  transcript_chapters: [String]
}

type MeetingInfo {
  fred_joined: Boolean
  silent_meeting: Boolean
  "processing | processed"
  summary_status: String
}

type Channel {
  id: ID
}
`;

let cached: GraphQLSchema | undefined;

export function firefliesSchema(): GraphQLSchema {
  cached ??= buildSchema(SDL);
  return cached;
}
