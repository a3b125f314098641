import http from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

// The floor of the `typename` shape: graphql-yoga as it comes, one field, its default plugins, no
// database, no authentication, served by Node's own http server. AgentMem's `{ __typename }`
// (authenticated) is reported as a ratio of this one's.
//   PORT=… node --import tsx yoga-server.ts

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }),
});

const server = http.createServer(yoga);
server.listen(Number(process.env.PORT), '127.0.0.1', () =>
  console.log(`bare graphql-yoga listening on ${process.env.PORT}`),
);

const stop = () => server.close(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
