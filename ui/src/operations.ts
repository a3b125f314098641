import { graphql } from './gql';

// Every request the inspector sends, typed by GraphQL Code Generator (codegen.yml: ui/src/gql/).
// Reads never count as accesses (`track: false`): looking at a memory is not using it.

export const MeQuery = graphql(`
  query InspectorMe {
    me {
      scopes
      user { id name }
      organization { id name }
    }
  }
`);

export const AgentsQuery = graphql(`
  query InspectorAgents($first: Int, $after: String, $last: Int, $before: String, $filter: AgentFilter) {
    agents(
      first: $first
      after: $after
      last: $last
      before: $before
      filter: $filter
      orderBy: { field: UPDATED_AT, direction: DESC }
    ) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes {
        id
        name
        agentType
        description
        updatedAt
        memoryCount
        messageCount
        recentMessages(limit: 1) { id createdAt }
      }
    }
  }
`);

export const AgentQuery = graphql(`
  query InspectorAgent($id: ID!) {
    agent(id: $id) {
      id
      name
      agentType
      description
      system
      updatedAt
      messageIds
      memoryCount
      messageCount
    }
  }
`);

// An agent's blocks and tools, a page at a time (the root lists filtered by agentId): Agent.blocks
// and Agent.tools would give them all at once.
export const AgentBlocksQuery = graphql(`
  query InspectorAgentBlocks($agentId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    blocks(filter: { agentId: $agentId }, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id label value limit version description updatedAt }
    }
  }
`);

export const AgentToolsQuery = graphql(`
  query InspectorAgentTools($agentId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    tools(filter: { agentId: $agentId }, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id name description tags }
    }
  }
`);

export const BlockHistoryQuery = graphql(`
  query InspectorBlockHistory($id: ID!, $first: Int, $after: String) {
    block(id: $id) {
      id
      history(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { id version value limit changedAt changedBy { id name } }
      }
    }
  }
`);

export const BlockQuery = graphql(`
  query InspectorBlock($id: ID!) {
    block(id: $id) { id label value limit version description updatedAt }
  }
`);

export const UpdateBlockMutation = graphql(`
  mutation InspectorUpdateBlock($id: ID!, $value: String!, $expectedVersion: Int) {
    updateBlock(id: $id, input: { value: $value }, expectedVersion: $expectedVersion) {
      __typename
      ... on BlockPayload { version block { id label value limit version description updatedAt } }
      ... on VersionConflictError { currentVersion }
      ... on Error { code field message }
    }
  }
`);

export const MessagesQuery = graphql(`
  query InspectorMessages($agentId: ID!, $last: Int, $before: String) {
    messages(agentId: $agentId, last: $last, before: $before) {
      totalCount
      pageInfo { hasPreviousPage startCursor }
      nodes { id role text content name toolCallId toolCalls createdAt }
    }
  }
`);

export const MessageAddedSubscription = graphql(`
  subscription InspectorMessageAdded($agentId: ID!) {
    messageAdded(agentId: $agentId) { id role text content name toolCallId toolCalls createdAt }
  }
`);

export const MemoryChangedSubscription = graphql(`
  subscription InspectorMemoryChanged($agentId: ID!) {
    memoryChanged(agentId: $agentId) { kind memoryId }
  }
`);

export const MemoriesQuery = graphql(`
  query InspectorMemories($agentId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    memories(
      filter: { agentId: $agentId }
      first: $first
      after: $after
      last: $last
      before: $before
      track: false
      orderBy: { field: CREATED_AT, direction: DESC }
    ) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id content memoryType scope level importance metadata createdAt accessCount }
    }
  }
`);

export const DeleteMemoryMutation = graphql(`
  mutation InspectorDeleteMemory($id: ID!) {
    deleteMemory(id: $id) {
      __typename
      ... on DeletedPayload { id }
      ... on Error { code field message }
    }
  }
`);

export const SearchQuery = graphql(`
  query InspectorSearch($query: String!, $filter: MemoryFilter, $limit: Int, $mode: SearchMode) {
    searchMemories(query: $query, filter: $filter, limit: $limit, mode: $mode, track: false) {
      score
      snippet
      mode
      degraded
      degradedReason
      breakdown { relevance text importance recency use similarity }
      memory { id content agentId memoryType scope level importance metadata createdAt }
    }
  }
`);

export const TrashMemoriesQuery = graphql(`
  query InspectorTrashMemories($first: Int, $after: String, $last: Int, $before: String) {
    memories(deleted: true, first: $first, after: $after, last: $last, before: $before, track: false) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id content agentId deletedAt deletedBy { id name } }
    }
  }
`);

export const TrashAgentsQuery = graphql(`
  query InspectorTrashAgents($first: Int, $after: String, $last: Int, $before: String) {
    agents(deleted: true, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id name deletedAt deletedBy { id name } }
    }
  }
`);

export const RestoreMemoryMutation = graphql(`
  mutation InspectorRestoreMemory($id: ID!) {
    restoreMemory(id: $id) {
      __typename
      ... on MemoryPayload { memory { id } }
      ... on Error { code field message }
    }
  }
`);

export const PurgeMemoryMutation = graphql(`
  mutation InspectorPurgeMemory($id: ID!) {
    purgeMemory(id: $id) {
      __typename
      ... on DeletedPayload { id }
      ... on Error { code field message }
    }
  }
`);

export const RestoreAgentMutation = graphql(`
  mutation InspectorRestoreAgent($id: ID!) {
    restoreAgent(id: $id) {
      __typename
      ... on AgentPayload { agent { id } }
      ... on Error { code field message }
    }
  }
`);

export const PurgeAgentMutation = graphql(`
  mutation InspectorPurgeAgent($id: ID!) {
    purgeAgent(id: $id) {
      __typename
      ... on DeletedPayload { id }
      ... on Error { code field message }
    }
  }
`);

export const ExportAgentQuery = graphql(`
  query InspectorExportAgent($id: ID!) {
    exportAgent(id: $id)
  }
`);

export const ImportAgentMutation = graphql(`
  mutation InspectorImportAgent($document: JSON!) {
    importAgent(document: $document) {
      __typename
      ... on AgentPayload { agent { id name } }
      ... on Error { code field message }
    }
  }
`);

export const TrashBlocksQuery = graphql(`
  query InspectorTrashBlocks($first: Int, $after: String, $last: Int, $before: String) {
    blocks(deleted: true, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id label value deletedAt deletedBy { id name } }
    }
  }
`);

export const TrashToolsQuery = graphql(`
  query InspectorTrashTools($first: Int, $after: String, $last: Int, $before: String) {
    tools(deleted: true, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id name description deletedAt deletedBy { id name } }
    }
  }
`);

export const RestoreBlockMutation = graphql(`
  mutation InspectorRestoreBlock($id: ID!) {
    restoreBlock(id: $id) {
      __typename
      ... on BlockPayload { block { id } }
      ... on Error { code field message }
    }
  }
`);

export const PurgeBlockMutation = graphql(`
  mutation InspectorPurgeBlock($id: ID!) {
    purgeBlock(id: $id) {
      __typename
      ... on DeletedPayload { id }
      ... on Error { code field message }
    }
  }
`);

export const RestoreToolMutation = graphql(`
  mutation InspectorRestoreTool($id: ID!) {
    restoreTool(id: $id) {
      __typename
      ... on ToolPayload { tool { id } }
      ... on Error { code field message }
    }
  }
`);

export const PurgeToolMutation = graphql(`
  mutation InspectorPurgeTool($id: ID!) {
    purgeTool(id: $id) {
      __typename
      ... on DeletedPayload { id }
      ... on Error { code field message }
    }
  }
`);

export const TrashMessagesQuery = graphql(`
  query InspectorTrashMessages($first: Int, $after: String, $last: Int, $before: String) {
    messages(deleted: true, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id role text agentId deletedAt deletedBy { id name } }
    }
  }
`);

export const RestoreMessageMutation = graphql(`
  mutation InspectorRestoreMessage($id: ID!) {
    restoreMessage(id: $id) {
      __typename
      ... on MessagesPayload { messages { id } }
      ... on Error { code field message }
    }
  }
`);

export const PurgeMessageMutation = graphql(`
  mutation InspectorPurgeMessage($id: ID!) {
    purgeMessage(id: $id) {
      __typename
      ... on DeletedPayload { id }
      ... on Error { code field message }
    }
  }
`);
