import { Repeater } from 'graphql-yoga';

/**
 * A subscription's source stream: for each event of `events`, the rows `load` reads for it, one
 * by one and in order (one append's messages, one batch's memories). A Repeater rather than an
 * async generator: when the client goes away, `return()` ends it at once, where a generator
 * waiting for the next event would keep listening until one came. Ending it, however it ends,
 * releases `events` (the bus's listener) and calls `ended`, once.
 */
export function rowsOf<Event, Row>(
  events: AsyncIterableIterator<Event>,
  load: (event: Event) => Promise<Row[]>,
  ended?: () => void,
): AsyncIterableIterator<Row> {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    ended?.();
    void events.return?.();
  };
  const rows = new Repeater<Row>(async (push, stop) => {
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      release();
    });
    try {
      for (let next = await events.next(); !next.done && !stopped; next = await events.next()) {
        for (const row of await load(next.value)) {
          if (stopped) return;
          await push(row);
        }
      }
      stop();
    } catch (error) {
      // The bus went away (LiveUpdatesUnavailableError), or a read failed: the subscription ends
      // with it, masked like any other error.
      stop(error);
    }
  });
  // A Repeater runs its executor at the first pull: one returned before that (a subscriber that
  // joined a running feed, or went away at once) would never release the bus's listener.
  const stream: AsyncIterableIterator<Row> = {
    next: () => rows.next(),
    return: (value?: unknown) => {
      release();
      return rows.return(value as Row);
    },
    throw: (error?: unknown) => rows.throw(error),
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
