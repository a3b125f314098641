import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isScalarType,
  isUnionType,
} from 'graphql';
import type { DemoData } from '../../src/demo/seed';
import { type EntityType, idPrefixes } from '../../src/ids';
import { rowsOfOrganization } from '../support/tenant-rows';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Walks the committed schema (schema.graphql) and, for every query and mutation, sends it under
 * organization A's admin key with organization B's ids in its id arguments and input fields, one
 * at a time (the others hold A's own ids). Each is sent again with ids that exist nowhere. Then:
 * - no response shows anything of B: not its text, nor an id of B that the request did not send;
 * - B's id and the missing id get the same answer (status, data and errors, ids aside) and cost
 *   the same SQL statements: nothing tells "someone else's" from "nobody's";
 * - no row of B changed.
 * A field added to the schema is walked without any change here.
 */

const schema = buildSchema(fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
const ENTITY_TYPES = Object.keys(idPrefixes) as EntityType[];
const ID_SHAPE = new RegExp(
  `\\b(${Object.values(idPrefixes).join('|')})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\b`,
  'g',
);
const TIMESTAMP_SHAPE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
const SELECTION_DEPTH = 2;

/** Which entity an id argument names, from its name or, for a bare `id`, its field's name. */
function entityOf(name: string, fieldName: string): EntityType | null {
  const subject = (name === 'id' || name === 'ids' ? fieldName : name).toLowerCase();
  const byName: [string, EntityType][] = [
    ['apikey', 'apiKey'],
    ['organization', 'organization'],
    ['memor', 'memory'],
    ['message', 'message'],
    ['block', 'block'],
    ['tool', 'tool'],
    ['agent', 'agent'],
    ['user', 'user'],
    ['sender', 'user'],
  ];
  return byName.find(([part]) => subject.includes(part))?.[1] ?? null;
}

function isIdType(type: GraphQLInputType): boolean {
  return getNamedType(type).name === 'ID';
}

/** A place in a field's arguments that takes an id: a path of argument and input field names. */
interface IdSlot {
  path: string[];
  entity: EntityType | null;
}

function idSlotsOf(field: GraphQLField<unknown, unknown>): IdSlot[] {
  const slots: IdSlot[] = [];
  const visit = (name: string, type: GraphQLInputType, at: string[], seen: Set<string>) => {
    if (isIdType(type)) {
      slots.push({ path: [...at, name], entity: entityOf(name, field.name) });
      return;
    }
    const named = getNamedType(type);
    if (isInputObjectType(named) && !seen.has(named.name)) {
      for (const inner of Object.values(named.getFields()))
        visit(inner.name, inner.type, [...at, name], new Set([...seen, named.name]));
    }
  };
  for (const argument of field.args) visit(argument.name, argument.type, [], new Set());
  return slots;
}

/** A plausible value for an input that is not an id. */
function sampleScalar(type: GraphQLNamedType): unknown {
  if (isEnumType(type)) return type.getValues()[0]!.name;
  switch (type.name) {
    case 'Int':
      return 1;
    case 'Float':
      return 0.5;
    case 'Boolean':
      return false;
    case 'JSON':
      return {};
    case 'DateTime':
      return new Date(Date.now() + 86_400_000).toISOString();
    default:
      return 'isolation probe';
  }
}

/**
 * What an input object gets besides its required fields: optional texts, enums and fractions, so
 * that rules like "a memory needs content" pass and the probe reaches the lookup. Optional ids,
 * counts, flags and JSON stay out unless the probe is on their path.
 */
function fillsOptional(type: GraphQLInputType): boolean {
  const named = getNamedType(type);
  return !isListType(getNullableType(type)) && (isEnumType(named) || named.name === 'String' || named.name === 'Float');
}

/** How one probe fills a field's arguments. */
interface Sampling {
  /** The probed id slot and the id it gets; every other id gets `ownId`. */
  probe: { path: string[]; id: string } | null;
  ownId: (entity: EntityType | null) => string;
  /** Input paths (dotted, list indexes left out) added or left out after a validation error. */
  include: Set<string>;
  omit: Set<string>;
}

const onProbePath = (at: string[], sampling: Sampling) =>
  sampling.probe !== null && at.every((name, index) => sampling.probe!.path[index] === name);

function wanted(at: string[], type: GraphQLInputType, sampling: Sampling): boolean {
  const key = at.join('.');
  if (sampling.omit.has(key)) return false;
  return (
    isNonNullType(type) ||
    onProbePath(at, sampling) ||
    sampling.include.has(key) ||
    (at.length > 1 && fillsOptional(type))
  );
}

function sampleInput(type: GraphQLInputType, at: string[], sampling: Sampling, fieldName: string): unknown {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return [sampleInput(nullable.ofType, at, sampling, fieldName)];
  if (isIdType(nullable)) {
    return sampling.probe && at.join('.') === sampling.probe.path.join('.')
      ? sampling.probe.id
      : sampling.ownId(entityOf(at.at(-1)!, fieldName));
  }
  if (isInputObjectType(nullable)) {
    const value: Record<string, unknown> = {};
    for (const inner of Object.values(nullable.getFields()) as GraphQLInputField[]) {
      if (wanted([...at, inner.name], inner.type, sampling))
        value[inner.name] = sampleInput(inner.type, [...at, inner.name], sampling, fieldName);
    }
    return value;
  }
  return sampleScalar(getNamedType(nullable));
}

function sampleArguments(field: GraphQLField<unknown, unknown>, sampling: Sampling): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const argument of field.args as GraphQLArgument[]) {
    if (wanted([argument.name], argument.type, sampling))
      values[argument.name] = sampleInput(argument.type, [argument.name], sampling, field.name);
  }
  return values;
}

/** The input path a VALIDATION answer names, list indexes left out. */
function refusedPath(response: unknown): string | null {
  const match = /"code":"VALIDATION","field":\[([^\]]*)\]|"field":\[([^\]]*)\][^}]*"code":"VALIDATION"/.exec(
    JSON.stringify(response),
  );
  const list = match?.[1] ?? match?.[2];
  if (!list) return null;
  return (JSON.parse(`[${list}]`) as string[]).filter((part) => !/^\d+$/.test(part)).join('.');
}

function present(args: Record<string, unknown>, dotted: string): boolean {
  let current: unknown = args;
  for (const part of dotted.split('.')) {
    while (Array.isArray(current)) current = current[0];
    if (typeof current !== 'object' || current === null || !(part in current)) return false;
    current = (current as Record<string, unknown>)[part];
  }
  return true;
}

/** Every scalar of `type`, and its objects' scalars down to `depth` (fields needing arguments skipped). */
function selectionOf(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isScalarType(named) || isEnumType(named)) return '';
  if (isUnionType(named) || isInterfaceType(named)) {
    const members = isUnionType(named) ? named.getTypes() : schema.getPossibleTypes(named);
    return `{ __typename ${members.map((member) => `... on ${member.name} ${selectionOf(member, depth)}`).join(' ')} }`;
  }
  const fields = Object.values((named as GraphQLObjectType).getFields()).filter((inner) =>
    inner.args.every((argument) => !isNonNullType(argument.type)),
  );
  const parts = ['__typename'];
  for (const inner of fields) {
    const innerNamed = getNamedType(inner.type);
    if (isScalarType(innerNamed) || isEnumType(innerNamed)) parts.push(inner.name);
    else if (depth > 0 && inner.name !== 'edges') parts.push(`${inner.name} ${selectionOf(inner.type, depth - 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

function documentFor(
  operation: 'query' | 'mutation',
  field: GraphQLField<unknown, unknown>,
  args: Record<string, unknown>,
): string {
  const used = field.args.filter((argument) => argument.name in args);
  const variables = used.map((argument) => `$${argument.name}: ${argument.type.toString()}`).join(', ');
  const passed = used.map((argument) => `${argument.name}: $${argument.name}`).join(', ');
  return (
    `${operation} Isolation${variables ? `(${variables})` : ''} { ` +
    `${field.name}${passed ? `(${passed})` : ''} ${selectionOf(field.type, SELECTION_DEPTH)} }`
  );
}

/** Ids and instants vary from run to run; everything else must match. */
function normalized(value: unknown): string {
  return JSON.stringify(value).replace(ID_SHAPE, '$1-<id>').replace(TIMESTAMP_SHAPE, '<time>');
}

interface Organization extends DemoData {
  ids: Record<EntityType, string>;
}

describe('isolation, walking the whole schema', () => {
  let app: TestApp;
  let a: Organization;
  let b: Organization;
  const secret = `tenant-b-secret-${randomBytes(6).toString('hex')}`;

  const rowsOfB = () => rowsOfOrganization(app.database.owner, b.organizationId);

  async function organization(): Promise<Organization> {
    const demo = await app.seedDemo();
    const owner = app.database.owner;
    const where = { organizationId: demo.organizationId };
    const memoryId = `${idPrefixes.memory}-${randomUUID()}`;
    await owner.memory.create({
      data: {
        id: memoryId,
        ...where,
        userId: demo.userId,
        agentId: demo.agentId,
        content: 'likes tea',
        memoryType: 'factual',
        scope: 'user',
        level: 'long_term',
      },
    });
    const [block, tool, message, apiKey] = await Promise.all([
      owner.block.findFirstOrThrow({ where }),
      owner.tool.findFirstOrThrow({ where }),
      owner.message.findFirstOrThrow({ where }),
      owner.apiKey.findFirstOrThrow({ where }),
    ]);
    return {
      ...demo,
      ids: {
        organization: demo.organizationId,
        user: demo.userId,
        agent: demo.agentId,
        block: block.id,
        tool: tool.id,
        message: message.id,
        memory: memoryId,
        apiKey: apiKey.id,
      },
    };
  }

  /** Marks every text of B, so that any of it in a response is found. */
  async function markTextsOf(organizationId: string) {
    const owner = app.database.owner;
    const where = { organizationId };
    await owner.organization.update({ where: { id: organizationId }, data: { name: `${secret} organization` } });
    await owner.user.updateMany({ where, data: { name: `${secret} user` } });
    await owner.agent.updateMany({ where, data: { name: `${secret} agent`, description: secret, system: secret } });
    await owner.block.updateMany({ where, data: { value: `${secret} block`, description: secret } });
    await owner.tool.updateMany({ where, data: { description: `${secret} tool` } });
    await owner.message.updateMany({ where, data: { text: `${secret} message` } });
    await owner.memory.updateMany({ where, data: { content: `${secret} memory` } });
    await owner.apiKey.updateMany({ where, data: { name: `${secret} key` } });
  }

  beforeAll(async () => {
    app = await startTestApp('isolation', { rateLimit: { requests: 0, windowSeconds: 60 } });
    a = await organization();
    b = await organization();
    await markTextsOf(b.organizationId);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  /** What of B a response shows: its marked texts, or any id of B other than those sent. */
  function leaksOfB(response: unknown, sent: Set<string>): string[] {
    const text = JSON.stringify(response);
    const leaks = text.includes(secret) ? [secret] : [];
    for (const id of Object.values(b.ids)) if (text.includes(id) && !sent.has(id)) leaks.push(id);
    return leaks;
  }

  /**
   * A key's last_used_at is written at most once a minute, whichever request that falls on; a
   * pooled connection takes the application role once, whichever request opens it; and a
   * connection that already holds the caller's scope is not scoped again, whichever checkout
   * falls on it; the key is checked whenever its cache entry has lapsed: none of these is part of
   * an answer, so they are not compared. The key's write goes with its transaction.
   */
  const isKeyUse = (sql: string) => /"last_used_at" = /.test(sql);
  // The key is checked again once its cache entry is AUTH_CACHE_MS old, or after any mutation.
  const isKeyCheck = (sql: string) => /FROM api_keys k/.test(sql);
  const isScopeSet = (sql: string | undefined) => sql !== undefined && /^SELECT set_config\('role'/.test(sql.trim());
  function withoutKeyUse(statements: string[]): string[] {
    const dropped = new Set<number>();
    statements.forEach((sql, index) => {
      if (/^SET ROLE/.test(sql) || isScopeSet(sql) || isKeyCheck(sql)) dropped.add(index);
      if (!isKeyUse(sql)) return;
      // PostgreSQL: BEGIN UPDATE COMMIT; PGlite: BEGIN [scope] UPDATE COMMIT.
      let before = index - 1;
      if (isScopeSet(statements[before])) before -= 1;
      if (statements[before] === 'BEGIN') dropped.add(before);
      if (statements[index + 1] === 'COMMIT') dropped.add(index + 1);
      dropped.add(index);
    });
    const kept = statements.filter((_sql, index) => !dropped.has(index));
    // A transaction left empty (PgBouncer's BEGIN, scope, key check, COMMIT) is dropped with them.
    return kept.filter(
      (sql, index) =>
        !(sql === 'BEGIN' && kept[index + 1] === 'COMMIT') && !(sql === 'COMMIT' && kept[index - 1] === 'BEGIN'),
    );
  }

  async function send(document: string, variables: Record<string, unknown>) {
    const { result, statements } = await app.countStatements(() => app.graphqlUntyped(document, variables));
    return { result, statements: withoutKeyUse(statements) };
  }

  it('never shows, changes or betrays another organization through any query or mutation', async () => {
    const before = await rowsOfB();
    const findings: string[] = [];
    let comparisons = 0;
    let lookups = 0;

    for (const [operation, root] of [
      ['query', schema.getQueryType()!],
      ['mutation', schema.getMutationType()!],
    ] as const) {
      for (const field of Object.values(root.getFields())) {
        const slots = idSlotsOf(field);
        const ownId = (entity: EntityType | null) => a.ids[entity ?? 'agent'];

        if (slots.length === 0) {
          const args = sampleArguments(field, { probe: null, ownId, include: new Set(), omit: new Set() });
          const { result } = await send(documentFor(operation, field, args), args);
          const leaks = leaksOfB(result, new Set());
          if (leaks.length > 0) findings.push(`${field.name}: shows ${leaks.join(', ')}`);
          continue;
        }

        for (const slot of slots) {
          for (const entity of slot.entity ? [slot.entity] : ENTITY_TYPES) {
            const foreignId = b.ids[entity];
            const missingId = `${idPrefixes[entity]}-${randomUUID()}`;
            const label = `${operation} ${field.name} with ${slot.path.join('.')} = B's ${entity}`;
            const sampling = (id: string): Sampling => ({ probe: { path: slot.path, id }, ownId, include, omit });
            const include = new Set<string>();
            const omit = new Set<string>();

            // Input the API refuses before it looks the id up (a rule on another field) is
            // mended, field by field, until the probe reaches the lookup or cannot.
            let foreignArgs = sampleArguments(field, sampling(foreignId));
            let foreign = await send(documentFor(operation, field, foreignArgs), foreignArgs);
            for (let mend = 0; mend < 4; mend += 1) {
              const refused = refusedPath(foreign.result);
              if (refused === null || refused === slot.path.join('.') || include.has(refused) || omit.has(refused))
                break;
              (present(foreignArgs, refused) ? omit : include).add(refused);
              foreignArgs = sampleArguments(field, sampling(foreignId));
              foreign = await send(documentFor(operation, field, foreignArgs), foreignArgs);
            }
            const missingArgs = sampleArguments(field, sampling(missingId));
            const missing = await send(documentFor(operation, field, missingArgs), missingArgs);
            const leaks = leaksOfB(foreign.result, new Set([foreignId]));
            if (leaks.length > 0) findings.push(`${label}: shows ${leaks.join(', ')}`);
            const codes = JSON.stringify(foreign.result).match(/"code":"[A-Z_]+"/g) ?? [];
            if (codes.some((code) => code.includes('INTERNAL_SERVER_ERROR'))) findings.push(`${label}: internal error`);

            const answer = (response: typeof foreign) =>
              normalized({ ...response.result, statements: undefined })
                .replaceAll(foreignId, '<probe>')
                .replaceAll(missingId, '<probe>');
            if (answer(foreign) !== answer(missing)) {
              findings.push(
                `${label}: answers differently from a missing id` +
                  `\n  B:       ${answer(foreign)}\n  missing: ${answer(missing)}`,
              );
            }
            if (foreign.statements.length !== missing.statements.length) {
              findings.push(
                `${label}: ${foreign.statements.length} statements, ${missing.statements.length} for a missing id`,
              );
            }
            comparisons += 1;
            if (
              codes.some((code) => code.includes('NOT_FOUND')) ||
              /":null[,}]/.test(JSON.stringify(foreign.result.data))
            )
              lookups += 1;
          }
        }
      }
    }

    expect(findings).toEqual([]);
    expect(await rowsOfB()).toEqual(before);
    // The walk reached the lookups: nearly every probe was answered "not found" (or null), not
    // refused earlier (updateMemory refuses any agentId or userId: they cannot change).
    expect(comparisons).toBeGreaterThan(40);
    expect(lookups / comparisons).toBeGreaterThan(0.9);
  }, 240_000);
});
