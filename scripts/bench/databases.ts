import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { SCOPES } from '../../src/auth/caller';
import { API_KEY_PREFIX, hashApiKey } from '../../src/auth/keys';
import { migrateDeploy } from '../../src/db/migrate';
import { newId } from '../../src/ids';
import type { Cluster } from './cluster';
import { type DatasetFacts, fillDataset, readDatasetFacts } from './dataset';

/**
 * The schema document's DDL (../shared/spec/schema.sql), as vendored in the repository and kept
 * identical to it by test/db/fidelity.test.ts: PostGraphile's database is made from it.
 */
const SCHEMA_DOCUMENT = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'agentmem-schema.sql');

export const AGENTMEM_DATABASE = 'bench_agentmem';
export const POSTGRAPHILE_DATABASE = 'bench_postgraphile';

export interface Databases {
  facts: DatasetFacts;
  /** Organization 1's key (read, write, admin): the reads. */
  agentmemKey: string;
  /** Organization 2's key: the appends, which leave organization 1's rows as they are. */
  agentmemAppendKey: string;
  /** Indexes of AgentMem's migrations added to PostGraphile's database. */
  copiedIndexes: string[];
  /** Indexes of AgentMem's migrations that PostGraphile's database could not take. */
  skippedIndexes: string[];
}

export async function issueKey(
  client: pg.Client,
  organizationId: string,
  userId: string,
  name: string,
): Promise<string> {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  await client.query(
    'INSERT INTO api_keys (id, key_hash, name, user_id, organization_id, scopes) VALUES ($1, $2, $3, $4, $5, $6)',
    [newId('apiKey'), hashApiKey(key), name, userId, organizationId, [...SCOPES]],
  );
  return key;
}

/** AgentMem's database: migrated by `prisma migrate deploy`, filled, with a key per organization. */
async function prepareAgentMem(cluster: Cluster): Promise<{ facts: DatasetFacts; key: string; appendKey: string }> {
  await migrateDeploy(cluster.url(AGENTMEM_DATABASE));
  return cluster.withClient(AGENTMEM_DATABASE, async (client) => {
    await fillDataset(client);
    const facts = await readDatasetFacts(client);
    const key = await issueKey(client, facts.organizationId, facts.userId, 'bench reads');
    const appendKey = await issueKey(client, facts.otherOrganizationId, facts.otherUserId, 'bench appends');
    return { facts, key, appendKey };
  });
}

/** PostGraphile's database: the schema document's DDL, filled with the same rows. */
async function preparePostGraphile(cluster: Cluster): Promise<DatasetFacts> {
  return cluster.withClient(POSTGRAPHILE_DATABASE, async (client) => {
    await client.query(fs.readFileSync(SCHEMA_DOCUMENT, 'utf8'));
    await fillDataset(client);
    return readDatasetFacts(client);
  });
}

interface IndexDefinition {
  name: string;
  table: string;
  definition: string;
}

async function indexesOf(client: pg.Client): Promise<IndexDefinition[]> {
  const { rows } = await client.query<IndexDefinition>(
    `SELECT indexname AS name, tablename AS table, indexdef AS definition FROM pg_indexes WHERE schemaname = 'public'
      ORDER BY indexname`,
  );
  return rows;
}

/** An index's definition without its name, to recognise the same index under another name. */
function shape(index: IndexDefinition): string {
  return index.definition.replace(` INDEX ${index.name} ON `, ' INDEX ON ');
}

/**
 * AgentMem breaks ties of a conversation's created_at by `seq`, a column the schema document does
 * not have; the bench asks PostGraphile for the same conversation ordered by created_at and id
 * (PG_CONVERSATION, matrix.ts). An index of messages over seq is given to PostGraphile with id in
 * its place: the same index, for the order PostGraphile reads.
 */
function forPostGraphile(index: IndexDefinition): string {
  return index.table === 'messages' ? index.definition.replace(/\bseq\b/g, 'id') : index.definition;
}

/**
 * An index whose INCLUDE names a column the schema document lacks (memoryCount's validity columns)
 * is given without it: the same index for the rows PostGraphile has, which never expire.
 */
function withoutIncluded(definition: string, column: string): string | undefined {
  const include = /INCLUDE \(([^)]*)\)/.exec(definition);
  if (!include) return undefined;
  const kept = include[1]!
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.replaceAll('"', '') !== column);
  if (kept.length === include[1]!.split(',').length) return undefined;
  return definition.replace(include[0], kept.length > 0 ? `INCLUDE (${kept.join(', ')})` : '');
}

/**
 * Where PostGraphile's database gets the extensions AgentMem's indexes need: out of its schema, so
 * that it exposes none of their functions.
 */
const EXTENSIONS_SCHEMA = 'agentmem_extensions';

/** The extensions AgentMem's migrations created (btree_gin, for its index over organization and words). */
async function extensionsOf(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT extname AS name FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname`,
  );
  return rows.map((row) => row.name);
}

/**
 * Adds to PostGraphile's database every index AgentMem's migrations created on the tables both
 * share, whatever later migrations add, and the extensions they need: both servers read through
 * the same indexes.
 */
async function copyIndexes(cluster: Cluster): Promise<{ copied: string[]; skipped: string[] }> {
  const [source, extensions] = await cluster.withClient(AGENTMEM_DATABASE, (client) =>
    Promise.all([indexesOf(client), extensionsOf(client)]),
  );
  return cluster.withClient(POSTGRAPHILE_DATABASE, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${EXTENSIONS_SCHEMA}`);
    for (const extension of extensions) {
      await client.query(`CREATE EXTENSION IF NOT EXISTS "${extension}" SCHEMA ${EXTENSIONS_SCHEMA}`);
    }
    const present = await indexesOf(client);
    const tables = new Set(present.map((index) => index.table));
    const names = new Set(present.map((index) => index.name));
    const shapes = new Set(present.map(shape));
    const copied: string[] = [];
    const skipped: string[] = [];
    for (const index of source) {
      if (!tables.has(index.table) || names.has(index.name) || shapes.has(shape(index))) continue;
      let definition: string | undefined = forPostGraphile(index);
      while (definition !== undefined) {
        try {
          await client.query(definition);
          copied.push(index.name);
          break;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const missing = /column "([^"]+)" does not exist/.exec(message)?.[1];
          definition = missing === undefined ? undefined : withoutIncluded(definition, missing);
          if (definition === undefined) skipped.push(`${index.name} (${message})`);
        }
      }
    }
    return { copied, skipped };
  });
}

/**
 * Both databases, built side by side: AgentMem's by its migrations, PostGraphile's from the
 * schema document; the same rows in each, the same indexes, statistics gathered.
 */
export async function prepareDatabases(cluster: Cluster): Promise<Databases> {
  await cluster.withClient('postgres', async (client) => {
    await client.query(`CREATE DATABASE ${AGENTMEM_DATABASE}`);
    await client.query(`CREATE DATABASE ${POSTGRAPHILE_DATABASE}`);
  });
  const [agentmem, postgraphileFacts] = await Promise.all([prepareAgentMem(cluster), preparePostGraphile(cluster)]);
  if (JSON.stringify(postgraphileFacts) !== JSON.stringify(agentmem.facts)) {
    throw new Error('the two databases do not hold the same rows (dataset facts differ)');
  }
  const { copied, skipped } = await copyIndexes(cluster);
  // VACUUM as well as ANALYZE: the visibility map lets both use index-only scans alike, as on a
  // server where autovacuum has run.
  for (const database of [AGENTMEM_DATABASE, POSTGRAPHILE_DATABASE]) {
    await cluster.withClient(database, (client) => client.query('VACUUM ANALYZE'));
  }
  return {
    facts: agentmem.facts,
    agentmemKey: agentmem.key,
    agentmemAppendKey: agentmem.appendKey,
    copiedIndexes: copied,
    skippedIndexes: skipped,
  };
}
