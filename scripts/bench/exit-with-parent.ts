import cluster from 'node:cluster';

// Preloaded (`node --import`) into the servers the benchmark starts: when the benchmark process
// dies without cleaning up (SIGKILL, a crash), the IPC channel it opened closes, and the server
// stops itself as on SIGTERM instead of living on as an orphan. Nothing else changes in the server.
// A cluster's workers (src/cluster.ts) inherit the preload, but their channel is the cluster's
// own: the primary stops them.
if (process.channel && cluster.isPrimary) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
