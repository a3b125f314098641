import pg from 'pg';

/*
 * The schema engine's `cli` commands (src/db/schema-engine.ts), which the Prisma CLI runs as
 * `schema-engine --datasource '{"url":…}' cli COMMAND`: whether the database can be reached, and
 * creating or dropping it. Their failures are told as the native engine tells them, JSON log lines
 * on stderr with Prisma's error code, which the CLI reads after skipping the first line.
 */

/** One log line on stderr, in the native engine's shape. */
export function log(level: 'INFO' | 'ERROR', fields: Record<string, unknown>): void {
  const line = { timestamp: new Date().toISOString(), level, fields, target: 'schema_engine::logger' };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

function serverAddress(url: URL): string {
  return `${url.hostname}:${url.port || '5432'}`;
}

function databaseOf(url: URL): string {
  return decodeURIComponent(url.pathname.slice(1)) || 'postgres';
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** A connection failure with the Prisma error code the native engine gives it, when there is one. */
function describeFailure(error: unknown, url: URL): { error_code?: string; message: string } {
  const { code, message } = error as { code?: string; message: string };
  const server = `database server at \`${serverAddress(url)}\``;
  if (code === '3D000') {
    return { error_code: 'P1003', message: `Database \`${databaseOf(url)}\` does not exist on the ${server}.` };
  }
  if (code === '28P01' || code === '28000') {
    return { error_code: 'P1000', message: `Authentication failed against ${server}: ${message}` };
  }
  if (code && UNREACHABLE.has(code)) return { error_code: 'P1001', message: `Can't reach ${server}` };
  return { message };
}

async function withClient<T>(url: URL, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** `can-connect-to-database`, `create-database` or `drop-database` on `rawUrl`: the exit code. */
export async function runDatabaseCommand(command: string, rawUrl: string | undefined): Promise<number> {
  if (!rawUrl) throw new Error("the schema engine's cli commands need --datasource");
  const url = new URL(rawUrl);
  const database = databaseOf(url);
  // Creating and dropping happen from the server's maintenance database.
  const maintenance = new URL(rawUrl);
  maintenance.pathname = '/postgres';
  const identifier = `"${database.replaceAll('"', '""')}"`;
  const statements: Record<string, [URL, string]> = {
    'can-connect-to-database': [url, 'SELECT 1'],
    'create-database': [maintenance, `CREATE DATABASE ${identifier}`],
    'drop-database': [maintenance, `DROP DATABASE ${identifier}`],
  };
  const statement = statements[command];
  if (!statement) throw new Error(`unknown schema engine cli command: ${command}`);
  // The CLI skips the first line of stderr when it reads a failure.
  log('INFO', { message: `schema engine (WebAssembly) cli ${command}` });
  const [target, sql] = statement;
  try {
    await withClient(target, (client) => client.query(sql));
  } catch (error) {
    log('ERROR', describeFailure(error, target));
    return 1;
  }
  process.stdout.write(`${database}\n`);
  return 0;
}
