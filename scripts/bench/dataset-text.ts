// The words the benchmark's rows are made of. Each row picks its sentences from these lists by a
// hash of its number (dataset.ts), so every run builds the same text. Memory search for
// "project deadline" ('project' & 'deadlin' after English stemming) must match a few hundred
// memories per organization (about 600 of 10,000) with ranks that differ: one sentence in each list
// carries 'project', one 'deadline', the first and third lists one sentence with both (the third's
// repeats them), and memories have two or three sentences of different lengths.

export const organizationNames = ['Acme Robotics', 'Globex Research'];

export const firstNames = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Dennis',
  'Radia',
  'John',
];
export const lastNames = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Ritchie',
  'Perlman',
];
export const timezones = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'Asia/Tokyo',
  'Europe/Berlin',
  'America/Los_Angeles',
];

export const agentRoles = [
  'Support assistant',
  'Research assistant',
  'Sales assistant',
  'Scheduling assistant',
  'Coding assistant',
  'Travel planner',
  'Finance assistant',
  'Onboarding guide',
  'Recruiting assistant',
  'Study coach',
];
export const agentDescriptions = [
  'Answers customer questions about orders, invoices and returns.',
  'Collects sources, summarises papers and keeps a reading list.',
  'Qualifies leads and drafts follow-up emails after calls.',
  'Books meetings, resolves calendar conflicts and sends reminders.',
  'Reviews pull requests and explains failing builds.',
  'Plans trips within a budget and keeps bookings in one place.',
  'Categorises expenses and prepares the monthly report.',
  'Walks new employees through their first two weeks.',
];

export const blockLabels = ['persona', 'human', 'system', 'project', 'preferences'];
/** The first words of a block, by label (same order as blockLabels). */
export const blockOpenings = [
  'I am a patient, precise assistant who explains my reasoning and asks before acting.',
  'The user prefers short answers, works in a small team and reads messages in the morning.',
  'Follow the organization policy: never share credentials, cite sources, escalate refunds above 500 euros.',
  'Current project: migrate the billing service to the new payment provider before the end of the quarter.',
  'Preferred language is English; dates in ISO format; no emojis in formal emails.',
];
export const blockSentences = [
  'Keep a friendly tone, but do not pad answers with pleasantries.',
  'When unsure, say so and propose how to find out.',
  'The user has two children and usually works from home on Fridays.',
  'Meetings before 10:00 are to be avoided unless they are urgent.',
  'Summaries should fit on one screen and end with the next action.',
  'The team uses PostgreSQL, TypeScript and a weekly release train.',
  'Escalate anything about security incidents to the on-call engineer.',
  'The user is learning Japanese and likes short vocabulary drills.',
  'Budget approvals above 2,000 euros need the finance lead.',
  'Prefer concrete examples over abstract explanations.',
  'The quarterly planning happens in the first week of each quarter.',
  'Remember birthdays and mention them once, on the day.',
];

export const toolNames = [
  'web_search',
  'send_email',
  'read_calendar',
  'create_event',
  'lookup_order',
  'issue_refund',
  'create_ticket',
  'search_docs',
  'run_sql_report',
  'translate_text',
  'summarize_url',
  'get_weather',
  'convert_currency',
  'book_flight',
  'book_hotel',
  'create_invoice',
  'list_pull_requests',
  'post_slack_message',
  'fetch_crm_contact',
  'schedule_reminder',
];
export const toolDescriptions = [
  'Searches the web and returns the top results with their snippets.',
  'Sends an email on behalf of the user after confirmation.',
  "Reads the user's calendar for a time range.",
  'Creates a calendar event and invites the attendees.',
  'Looks up an order by its number.',
  'Issues a refund for an order, within the policy limits.',
  'Opens a support ticket with a priority.',
  'Searches the internal documentation.',
  'Runs a saved SQL report and returns its rows.',
  'Translates text between two languages.',
];

export const userUtterances = [
  'Can you move my 3 pm meeting to tomorrow morning?',
  'What did we decide about the project deadline last week?',
  'Please draft a reply to the supplier and keep it short.',
  'Remind me to call the accountant on Thursday.',
  'Is the invoice for March paid already?',
  'Summarise the thread about the new onboarding checklist.',
  'Find me a hotel near the conference venue under 150 euros a night.',
  'How many tickets are still open for the billing migration project?',
  'I need the sales figures for the last quarter by region.',
  'Can we push the deadline for the design review by two days?',
  'What is the weather going to be like in Lyon on Saturday?',
  'Add the new hire to the welcome email list.',
];
export const assistantReplies = [
  'Done: the meeting is now tomorrow at 9:30 and the attendees were notified.',
  'You agreed to keep the deadline on the 14th and to cut the reporting feature if needed.',
  'Here is a short draft; tell me if the tone should be more formal.',
  'I will remind you on Thursday at 10:00.',
  'Yes, the March invoice was paid on the 4th by bank transfer.',
  'The thread settled on a two-week checklist with a buddy for each new hire.',
  'I found three hotels within walking distance; the cheapest is 128 euros a night.',
  'There are 17 open tickets, 4 of them marked urgent.',
  'Sales grew 6% overall; the north region grew fastest at 11%.',
  'I asked the design team; they can present on Wednesday instead of Monday.',
  'Saturday in Lyon: sunny in the morning, showers after 4 pm, around 18 degrees.',
  'The new hire is on the list and will get the welcome email on Monday.',
];
export const toolOutputs = [
  '{"status": "ok", "results": 3}',
  '{"status": "ok", "event_id": "evt_2291"}',
  '{"status": "ok", "order": "A-10293", "state": "shipped"}',
  '{"status": "error", "reason": "rate limited, retry in 30 s"}',
];

/** First sentence of a memory. */
export const memoryOpenings = [
  'The user said the project deadline is the end of the month and cannot move.',
  'The user mentioned that the launch of the mobile app slipped to June.',
  'The user prefers to receive reports as PDF attachments.',
  'The kickoff happened on a Monday with the whole team.',
  'The user is worried about the grant application.',
  'The user likes to review contracts in the evening.',
  'The finance lead approved the budget for the analytics project.',
  'The user travels to Berlin every second week.',
  'Last sprint the team missed a deadline because of a flaky test suite.',
  'The user asked to keep meeting notes in the shared folder.',
  'The user does not want calls during lunch, between 12:00 and 13:30.',
  'The team lead changed twice this year.',
  'The user speaks French and English, and some Spanish.',
  'The user said the customer demo is on the 21st.',
  'The user keeps a running list of ideas for the next offsite.',
  'The design review for the checkout redesign is every Thursday.',
  'The user has a standing one-on-one with their manager on Tuesdays.',
  'The user said the data migration is the riskiest part of the quarter.',
  'The user once filed taxes late and wants early reminders now.',
  'The user prefers tea to coffee in the afternoon.',
  'The user reports to the head of operations.',
  'The user is training for a half marathon in October.',
  'The user mentioned that the vendor contract renews automatically in May.',
  'The user asked for a weekly summary of open support tickets.',
  'The user manages a team of six engineers.',
  'The user dislikes long email threads and prefers a quick call.',
  'The user wants the quarterly report reviewed by legal before it is sent.',
  'The user said the hiring plan was approved for two new roles.',
  'The user keeps personal and work calendars separate.',
  'The user plans to take two weeks of holiday in August.',
];
/** Second sentence of a memory. */
export const memoryDetails = [
  'They asked to be reminded three days before the deadline.',
  'They want every project update in one short message.',
  'They were relaxed about it and said quality matters more than speed.',
  'A missed delivery last year cost them a client.',
  'They expect a draft on Friday.',
  'They will share the slides after the meeting.',
  'The first milestone is next Friday, and the review after that is firm.',
  'They asked to keep this private.',
  'This came up twice in the last month.',
  'They noted it in the shared document as well.',
  'Nothing needs to be done about it right now.',
  'They want to revisit it after the next planning session.',
  'The team has a new owner since the reorganisation.',
  'It affects how reminders should be scheduled.',
  'They asked not to mention it to the rest of the team.',
  'They said the budget is fixed for the year.',
  'They prefer to discuss it in person.',
  'Their manager is aware of it.',
  'The date was set by the client, not by the team.',
  'They want a checklist for it.',
  'It should go in the next status report.',
  'They may change their mind after the holidays.',
  'They asked for two options with the trade-offs.',
  'It is connected to the renewal of the support contract.',
];
/** Optional third sentence. */
export const memoryFollowUps = [
  'Follow up next week.',
  'Mention it only if they bring it up.',
  'Check the plan for changes first.',
  'A reminder is already scheduled.',
  'Confirm the deadline with the client before promising anything.',
  'No action needed.',
  'Ask for the updated project timeline and the deadline for sign-off; ' +
    'the project deadline drives everything else on this project.',
  'Add it to the weekly summary.',
  'Keep it short when bringing it up.',
  'Useful context for planning.',
  'Worth a line in the handover notes.',
  'They were in a good mood when saying it.',
  'Double-check before the next call.',
  'It may come up again at the offsite.',
  'Their assistant knows about it too.',
];
export const memoryTypes = ['factual', 'episodic', 'procedural', 'semantic', 'working'];
export const memoryScopes = ['user', 'agent', 'organization'];
export const memoryLevels = ['short_term', 'long_term'];
