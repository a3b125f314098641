import { builder } from './builder';
// Each domain registers its types and fields on the builder when imported.
import '../agents/types';
import '../blocks/types';
import '../messages/types';
import '../tools/types';

export const schema = builder.toSchema({ sortSchema: true });
