import cluster, { type Worker } from 'node:cluster';
import type { LiveEvent } from './events';

/**
 * Live events between the workers of `npm run start:cluster` when there is no Redis: a worker
 * sends each event it publishes to the primary, which sends it on to every worker, the sender
 * included, over the cluster's own IPC channels. Without it a subscriber heard only the writes
 * that its own worker served: with 2 workers, half of them. A worker's events arrive in the
 * order it published them (each channel keeps its order); events of different workers in the
 * order they reached the primary, as with Redis.
 */
interface RelayedEvent {
  liveEvent: LiveEvent;
}

function isRelayedEvent(message: unknown): message is RelayedEvent {
  return typeof message === 'object' && message !== null && 'liveEvent' in message;
}

/** Whether this process is a worker of `npm run start:cluster`, whose events go through the primary. */
export function relaysThroughPrimary(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

/** The primary's part (src/cluster.ts): each event `from` sends, to every worker. */
export function relayLiveEvents(from: Worker, workers: () => Iterable<Worker>): void {
  from.on('message', (message: unknown) => {
    if (!isRelayedEvent(message)) return;
    // A worker that is going away has no subscribers left to tell: a failed send is no loss.
    for (const worker of workers()) if (worker.isConnected()) worker.send(message, () => undefined);
  });
}

/** A worker's part: `event` to the primary, or `failed` with why it could not be sent. */
export function sendToPrimary(event: LiveEvent, failed: (error: Error) => void): void {
  process.send?.({ liveEvent: event } satisfies RelayedEvent, undefined, undefined, (error: Error | null) => {
    if (error) failed(error);
  });
}

/** A worker's part: `deliver` each event the primary relays, until the returned function is called. */
export function receiveRelayedEvents(deliver: (event: LiveEvent) => void): () => void {
  const listener = (message: unknown) => {
    if (isRelayedEvent(message)) deliver(message.liveEvent);
  };
  process.on('message', listener);
  return () => process.off('message', listener);
}
