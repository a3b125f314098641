import { withOrganization } from '../db/row-level-security';
import type { LiveEvent } from './events';

/**
 * What a subscriber's rows of an event depend on besides the event itself: the organization whose
 * row scope reads them, the agent, and the Prisma query its selection makes (Pothos's
 * `queryFromInfo`: the relations it includes; every scalar column is read whatever it selects).
 */
export interface SharedReadKey {
  organizationId: string;
  agentId: string;
  query: object;
}

// Keyed by the event object: the bus hands every listener of a topic the same one (yoga's
// in-memory event target dispatches one CustomEvent; Redis's parses each message once for all
// its listeners), so the entry lives while any subscriber still has the event to deliver, and
// goes with it. Per process: each replica reads once for its own subscribers.
const reads = new WeakMap<LiveEvent, Map<string, Promise<unknown[]>>>();

/**
 * The rows of `event` for a subscriber, read once for all the subscribers of this process that
 * share its key: the first to need them reads (`read`, run in the key's organization scope), the
 * others wait for that read rather than each taking a pool connection. A subscriber of another
 * organization, another agent or another set of relations never shares a read.
 */
export function readOnce<Row>(event: LiveEvent, key: SharedReadKey, read: () => Promise<Row[]>): Promise<Row[]> {
  // The query in its JSON form: one document gives one text, whatever the variables' names.
  const name = JSON.stringify([key.organizationId, key.agentId, key.query]);
  let ofEvent = reads.get(event);
  if (!ofEvent) reads.set(event, (ofEvent = new Map()));
  let rows = ofEvent.get(name) as Promise<Row[]> | undefined;
  if (!rows) {
    rows = withOrganization(key.organizationId, read);
    ofEvent.set(name, rows);
  }
  return rows;
}
