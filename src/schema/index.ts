import { builder } from './builder';
// Each domain registers its types, queries and mutations on the builder when imported (an entity
// split in files, as agents/, imports them in order from its index.ts).
import './errors';
import '../api-keys/types';
import '../agents';
import '../agent-files/types';
import '../blocks';
import '../memories';
import '../messages';
import '../organizations/types';
import '../tools/types';
import '../users/types';

export const schema = builder.toSchema({ sortSchema: true });
