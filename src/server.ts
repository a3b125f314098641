import { cannotStart, serve } from './serve';

// The server entry (`npm start`): one process. src/cluster.ts runs one per core.
serve().catch(cannotStart);
