import { Repeater } from 'graphql-yoga';

/**
 * A subscription's source stream: for each event of `events`, the rows `load` reads for it, one
 * by one and in order (one append's messages, one batch's memories). A Repeater rather than an
 * async generator: when the client goes away, `return()` ends it at once, where a generator
 * waiting for the next event would keep listening until one came. `ended` is called once the
 * stream has ended, however it ended.
 */
export function rowsOf<Event, Row>(
  events: AsyncIterableIterator<Event>,
  load: (event: Event) => Promise<Row[]>,
  ended?: () => void,
): Repeater<Row> {
  return new Repeater<Row>(async (push, stop) => {
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      ended?.();
      void events.return?.();
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
}
