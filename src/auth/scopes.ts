import type { Scope } from './caller';

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

type Granted = { read: boolean; write: boolean; admin: boolean };

// Asked for each field a request resolves: a cached key's scopes are one array, worked out once.
const grantedByScopes = new WeakMap<readonly Scope[], Granted>();

export function grantedScopes(scopes: readonly Scope[]): Granted {
  let granted = grantedByScopes.get(scopes);
  if (!granted) {
    const all = new Set(scopes.flatMap((scope) => implied[scope]));
    granted = { read: all.has('read'), write: all.has('write'), admin: all.has('admin') };
    grantedByScopes.set(scopes, granted);
  }
  return granted;
}
