import type { Scope } from './keys';

/**
 * Scopes are ranked: a key with `admin` may do everything, one with `write` may also read.
 *  - read: every query.
 *  - write: create, change, soft-delete, attach and detach; append messages.
 *  - admin: users and API keys, restore and purge.
 */
const implied: Record<Scope, Scope[]> = {
  read: ['read'],
  write: ['write', 'read'],
  admin: ['admin', 'write', 'read'],
};

export function grantedScopes(scopes: readonly Scope[]): { read: boolean; write: boolean; admin: boolean } {
  const granted = new Set(scopes.flatMap((scope) => implied[scope]));
  return { read: granted.has('read'), write: granted.has('write'), admin: granted.has('admin') };
}
