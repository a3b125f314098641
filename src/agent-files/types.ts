import { AgentPayload } from '../agents/mutations';
import { BlockLimitExceededError } from '../errors';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { AGENT_FILE_FORMAT, AGENT_FILE_VERSION } from './document';
import { exportAgent } from './export';
import { importAgent } from './import';

const fileDescription =
  `an agent file: {"format": "${AGENT_FILE_FORMAT}", "version": ${AGENT_FILE_VERSION}, …}, ` +
  `whose JSON Schema is schemas/agent-export.v${AGENT_FILE_VERSION}.schema.json in the repository`;

builder.queryField('exportAgent', (t) =>
  t.field({
    type: 'JSON',
    nullable: true,
    description:
      `The agent with its blocks, tools, messages, memories and their links as one document, ${fileDescription}. ` +
      `Null when there is no such agent.`,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => exportAgent(context, String(args.id)),
  }),
);

builder.mutationField('importAgent', (t) =>
  t.field({
    type: AgentPayload,
    description:
      `Recreates the agent of ${fileDescription}, in your organization, in one transaction: ` +
      `new ids with every link remapped, tools matched by name (or created), every row owned by your user. ` +
      `The whole document is checked first; an error names its path (e.g. ` +
      `["document", "blocks", "2", "value"]) and nothing is written.`,
    errors: { types: [...commonMutationErrors, BlockLimitExceededError] },
    args: { document: t.arg({ type: 'JSON', required: true }) },
    resolve: async (_root, args, context) => ({ agentId: await importAgent(context, args.document) }),
  }),
);
