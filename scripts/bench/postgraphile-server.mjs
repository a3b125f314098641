// PostGraphile v5 as the benchmark runs it: the Amber preset, production mode, a pg pool of 10
// (like AgentMem's default), served by Node's own http server through grafserv. This file is copied
// next to the PostGraphile install in the benchmark's cache (scripts/bench/postgraphile.ts), so that
// its imports resolve there, and run with the Node 22 binary installed beside it.
// Environment: DATABASE_URL, PORT, POOL_SIZE.
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  // By default PostGraphile only offers ordering and conditions on indexed columns; agents are
  // ordered by created_at and filtered on is_deleted, which no index of the schema covers (nor
  // does AgentMem have one: it sorts and filters the same rows).
  disablePlugins: ['PgIndexBehaviorsPlugin'],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ['public'],
      poolConfig: { max: Number(process.env.POOL_SIZE ?? 10) },
      // No subscriptions here: no LISTEN connection.
      pubsub: false,
    }),
  ],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.once('listening', () => {
  server.on('error', (error) => console.error(error));
});
await serv.addTo(server);
// Fail now rather than at the first request if the schema cannot be built.
await pgl.getSchema();
server.listen(Number(process.env.PORT), '127.0.0.1', () =>
  console.log(`PostGraphile listening on ${process.env.PORT}`),
);

const stop = () => {
  server.close();
  pgl.release().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// Started with an IPC channel by the benchmark: when the benchmark dies without stopping us, stop.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', stop);
}
