/** Who the key belongs to, and what it may do (me.scopes): the screens show only what it may. */
export interface Session {
  userName: string;
  organizationName: string;
  scopes: readonly string[];
  canWrite: boolean;
  isAdmin: boolean;
}

export function sessionOf(me: {
  scopes: readonly string[];
  user: { name: string };
  organization: { name: string };
}): Session {
  const isAdmin = me.scopes.includes('ADMIN');
  return {
    userName: me.user.name,
    organizationName: me.organization.name,
    scopes: me.scopes,
    isAdmin,
    canWrite: isAdmin || me.scopes.includes('WRITE'),
  };
}

/** Marks the moment a screen first shows its data (the browser test reads it: Performance API). */
export function markFirstScreen(): void {
  if (performance.getEntriesByName('agentmem:first-screen').length === 0) performance.mark('agentmem:first-screen');
}
