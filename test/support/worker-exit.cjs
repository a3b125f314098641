// Loaded into every jest worker by the `test` script's `--require` (jest-worker forks its workers
// with the parent's execArgv; in jest's own process it does nothing).
//
// Why: jest ends a worker by removing its message listener and letting the event loop drain, and
// kills it when it has not exited 500 ms later ("A worker process has failed to exit gracefully").
// Measured on this suite, the worker's 'exit' event comes within 20 ms of that message, with only
// its IPC pipes open: nothing leaks. The time goes after it, in Node's natural teardown, which
// disposes the whole V8 heap (half a gigabyte or more after dozens of suites that each start a
// server) before the process is gone; on a busy 2-core machine that alone can pass 500 ms.
// Exiting from the last 'exit' listener skips that disposal: the kernel frees the memory anyway.
if (typeof process.send === 'function' && process.argv.some((arg) => arg.endsWith('processChild.js'))) {
  process.on('removeListener', function onEndMessage(event) {
    if (event !== 'message') return;
    process.removeListener('removeListener', onEndMessage);
    // Registered last, so every other 'exit' listener runs before it.
    process.on('exit', (code) => process.exit(code));
  });
}
