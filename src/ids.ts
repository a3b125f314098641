import { randomUUID } from 'node:crypto';

/** Ids are generated here, never by callers: `<type>-<uuid>`, as in Letta. */
export const idPrefixes = {
  organization: 'org',
  user: 'user',
  agent: 'agent',
  message: 'message',
  block: 'block',
  tool: 'tool',
  memory: 'memory',
  apiKey: 'apikey',
} as const;

export type EntityType = keyof typeof idPrefixes;

export function newId(type: EntityType): string {
  return `${idPrefixes[type]}-${randomUUID()}`;
}
