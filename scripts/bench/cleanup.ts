/**
 * What the benchmark has started (server processes, the PostgreSQL cluster, its directory), undone
 * in reverse order at the end, on failure, and on Ctrl-C / SIGTERM: a run leaves nothing behind.
 */
export class Cleanup {
  private readonly steps: Array<{ name: string; undo: () => Promise<void> }> = [];
  private running: Promise<void> | undefined;
  private signalled = false;

  /** Whether a signal ended the run: what fails after it is a consequence, not news. */
  get interrupted(): boolean {
    return this.signalled;
  }

  /** Registers `undo`, to run before everything registered earlier. */
  add(name: string, undo: () => Promise<void>): void {
    this.steps.push({ name, undo });
  }

  /** Runs every step once, newest first; a step that fails is reported and the rest still run. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.undo();
        } catch (error) {
          process.stderr.write(
            `bench: cleanup of ${step.name} failed: ${error instanceof Error ? error.message : String(error)}\n`,
          );
        }
      }
    })();
    return this.running;
  }

  /**
   * On SIGINT/SIGTERM: clean up, then exit with the signal's conventional status. A second
   * signal while cleaning up is ignored, so that the cluster's directory is still removed.
   */
  onSignals(): void {
    const handle = (signal: NodeJS.Signals, status: number) => {
      if (this.signalled) {
        process.stderr.write(`bench: ${signal} again: still cleaning up\n`);
        return;
      }
      this.signalled = true;
      process.stderr.write(`\nbench: ${signal}: stopping the servers and removing the cluster\n`);
      void this.run().finally(() => process.exit(status));
    };
    process.on('SIGINT', (signal) => handle(signal, 130));
    process.on('SIGTERM', (signal) => handle(signal, 143));
  }
}

/**
 * Runs a benchmark whose every process and directory `run` registers on its `Cleanup`: undone at
 * the end, on failure (reported as `<name> failed: …`, exit status 1) and on a signal.
 */
export async function runBenchmark(name: string, run: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    await run(cleanup);
  } catch (error) {
    if (cleanup.interrupted) return;
    process.stderr.write(`${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    if (!cleanup.interrupted) await cleanup.run();
  }
}
