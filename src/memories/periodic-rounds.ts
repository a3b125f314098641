/**
 * A background job of every server process (the sweep of expired memories, the organizations'
 * vector indexes): `round` every `intervalSeconds` (0: never), counted from the end of the last,
 * so that rounds never overlap. `round` logs its own outcome and never rejects. `stop()` ends the
 * timer and waits for the round under way (which it asks to end early through `stopped`), before
 * the database closes: no handle stays open.
 */
export function periodicRounds(intervalSeconds: number, round: (stopped: () => boolean) => Promise<void>) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped || intervalSeconds <= 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = round(() => stopped).finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalSeconds * 1000);
    // Never what keeps a process alive: stop() ends it, and a process that exits needs no round.
    timer.unref();
  };
  return {
    start(): void {
      if (!stopped && timer === undefined && running === undefined) schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
