/**
 * Who is asking, and what they may do. Imports nothing: every layer that needs to know the caller
 * (authentication, rate limits, the tenancy filter, the request's context) can depend on it.
 */

/** What an API key may be granted (src/auth/scopes.ts tells what each allows). */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is asking: the user and organization behind the request's API key. */
export interface Caller {
  userId: string;
  organizationId: string;
  apiKeyId: string;
  scopes: Scope[];
}

/** Whatever knows its caller: a request's context, for the code that needs only that of it. */
export interface WithCaller {
  readonly caller: Caller;
}
