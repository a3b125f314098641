// Preloaded (`node --import`) into the servers the benchmark starts: when the benchmark process
// dies without cleaning up (SIGKILL, a crash), the IPC channel it opened closes, and the server
// stops itself as on SIGTERM instead of living on as an orphan. Nothing else changes in the server.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
