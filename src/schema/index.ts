import { builder } from './builder';
// Each domain registers its types, queries and mutations on the builder when imported.
import './errors';
import '../api-keys/types';
import '../agents/types';
import '../agent-files/types';
import '../blocks/types';
import '../blocks/history';
import '../memories/types';
import '../memories/history-types';
import '../memories/prune';
import '../memories/stats';
import '../messages/types';
import '../organizations/types';
import '../tools/types';
import '../users/types';

export const schema = builder.toSchema({ sortSchema: true });
