import { AsyncLocalStorage } from 'node:async_hooks';
import type http from 'node:http';
import type { Settings } from '../config/settings';

/**
 * Where a request's reads go when PostgreSQL has read replicas (DATABASE_REPLICA_URLS): to a
 * replica until the request writes, and to the primary from then on, so that a request reads its
 * own writes. A mutation counts as writing from its start: whatever it reads to decide on a
 * write is read where the write goes (src/http/mutations-on-primary.ts). Work outside any request
 * (start-up, operators' commands) reads from the primary.
 */
interface RequestReads {
  /** The request has written, or is a mutation: the rest of it reads from the primary. */
  onPrimary: boolean;
}

const currentRequest = new AsyncLocalStorage<RequestReads>();

/** Whether reads may go to read replicas (DATABASE_REPLICA_URLS): nothing here runs otherwise. */
export function hasReplicas(settings: Settings): boolean {
  return settings.database.kind === 'postgres' && (settings.database.replicaUrls?.length ?? 0) > 0;
}

/** `handler` with each request's reads routed as above. */
export function routingReadsPerRequest(handler: http.RequestListener): http.RequestListener {
  return (request, response) => currentRequest.run({ onPrimary: false }, () => handler(request, response));
}

/** Whether a read issued now may be served by a replica. */
export function readMayUseReplica(): boolean {
  const request = currentRequest.getStore();
  return request !== undefined && !request.onPrimary;
}

/** The current request writes (or is about to): its reads go to the primary from now on. */
export function readFromPrimaryFromNowOn(): void {
  const request = currentRequest.getStore();
  if (request) request.onPrimary = true;
}
