import { currentDeadline, RequestDeadline, withDeadline } from '../../src/db/request-deadline';

// The deadline's signal is made when the request's database work first asks for it: it must
// then be what a signal made at the start would be by that time.
describe("a request's deadline", () => {
  const timedOut = () => new Error('timed out');

  it('is aborted when first asked for after its time, with its reason', () => {
    const deadline = new RequestDeadline(Date.now() - 1, timedOut);
    const signal = withDeadline(deadline, () => currentDeadline());
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toEqual(new Error('timed out'));
  });

  it('is one signal per request, however often asked for', () => {
    const deadline = new RequestDeadline(Date.now() + 60_000, timedOut);
    withDeadline(deadline, () => {
      const first = currentDeadline();
      expect(first?.aborted).toBe(false);
      expect(currentDeadline()).toBe(first);
    });
    deadline.end();
  });

  it('never fires once the response has started, even when asked for after its time', () => {
    const deadline = new RequestDeadline(Date.now() - 1, timedOut);
    deadline.end();
    expect(deadline.signal().aborted).toBe(false);
  });

  it('is none outside a request', () => {
    expect(currentDeadline()).toBeUndefined();
  });
});
