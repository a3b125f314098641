import { Admission } from '../../src/http/admission';
import { createLogger } from '../../src/logger';

// The admission queue's decisions, on the class itself (test/http/overload.test.ts runs it behind a
// server). Only counts and the order of events are asserted: whether a refusal came before the
// caller's `enter` returned, not how many milliseconds it took.

/** A caller of `admission`: whether it was admitted, refused, and the function that ends its turn. */
function caller(admission: Admission) {
  const state = { admitted: false, refused: false, leave: () => undefined as void };
  admission.enter(
    (leave) => {
      state.admitted = true;
      state.leave = leave;
    },
    () => {
      state.refused = true;
    },
  );
  return state;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admission control', () => {
  const logger = createLogger('silent');

  it('queues a request while nothing says its wait would outlast the queue timeout, and admits it in turn', () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 2, queueTimeoutMs: 60_000 }, logger);
    const first = caller(admission);
    const second = caller(admission);
    expect([first.admitted, second.admitted, second.refused]).toEqual([true, false, false]);
    expect(admission.state).toEqual({ inFlight: 1, queued: 1 });
    first.leave();
    expect(second.admitted).toBe(true);
    second.leave();
    expect(admission.state).toEqual({ inFlight: 0, queued: 0 });
  });

  it('refuses at once a request whose wait, by the recent durations, would outlast the queue timeout', async () => {
    // Operations that take at least 40 ms each, one at a time: the next in line would wait about
    // that long, more than the 10 ms the queue allows, so it is refused before `enter` returns
    // rather than after waiting out the timeout.
    const admission = new Admission({ maxInFlight: 1, maxQueued: 10, queueTimeoutMs: 10 }, logger);
    for (let round = 0; round < 3; round += 1) {
      const running = caller(admission);
      await sleep(40);
      running.leave();
    }
    const running = caller(admission);
    const next = caller(admission);
    expect([running.admitted, next.admitted, next.refused]).toEqual([true, false, true]);
    expect(admission.state).toEqual({ inFlight: 1, queued: 0 });
    running.leave();
    expect(admission.state).toEqual({ inFlight: 0, queued: 0 });
  });

  it('after a request waited out the queue timeout, refuses at once the next that would wait as long', async () => {
    // No operation has ended yet, so nothing predicts the wait: the first in line waits out its
    // 20 ms and is refused; that miss alone is enough to refuse the next at once.
    const admission = new Admission({ maxInFlight: 1, maxQueued: 10, queueTimeoutMs: 20 }, logger);
    const running = caller(admission);
    const first = caller(admission);
    expect([first.admitted, first.refused]).toEqual([false, false]);
    await sleep(60);
    expect(first.refused).toBe(true);
    const next = caller(admission);
    expect([next.admitted, next.refused]).toEqual([false, true]);
    expect(admission.state).toEqual({ inFlight: 1, queued: 0 });
    running.leave();
  });

  it('refuses at once beyond the queue, and after the queue timeout a request still waiting', async () => {
    const admission = new Admission({ maxInFlight: 1, maxQueued: 1, queueTimeoutMs: 20 }, logger);
    const running = caller(admission);
    const queued = caller(admission);
    const beyond = caller(admission);
    expect([queued.refused, beyond.refused]).toEqual([false, true]);
    await sleep(60);
    expect([queued.admitted, queued.refused]).toEqual([false, true]);
    running.leave();
    expect(admission.state).toEqual({ inFlight: 0, queued: 0 });
  });
});
