import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import { loadSettings } from '../config/settings';
import { InMemoryPgliteMigrationAdapterFactory } from './pglite-migration-adapter';
import { PostgresMigrationAdapterFactory } from './postgres';
import { log, runDatabaseCommand } from './schema-engine-commands';

/*
 * Prisma's schema engine as the Prisma CLI runs it (scripts/schema-engine, named by
 * PRISMA_SCHEMA_ENGINE_BINARY in prisma.config.ts), built on the engine's WebAssembly build
 * (@prisma/schema-engine-wasm) and a driver adapter instead of the native binary, which Prisma 7
 * would download from its CDN. The CLI starts it as
 *
 *   schema-engine --datamodels FILE… [--datasource '{"url":…}'] …   JSON-RPC on stdin/stdout
 *   schema-engine --datasource '{"url":…}' cli COMMAND                one database command
 *                                                                     (src/db/schema-engine-commands.ts)
 *   schema-engine --version
 *
 * and reads, as from the native engine, JSON log lines on stderr.
 */

interface Arguments {
  datamodels: string[];
  url: string | undefined;
  cliCommand: string | undefined;
  version: boolean;
}

function parseArguments(argv: string[]): Arguments {
  const parsed: Arguments = { datamodels: [], url: undefined, cliCommand: undefined, version: false };
  for (let i = 0; i < argv.length; i += 1) {
    const argument = argv[i];
    if (argument === '--datamodels') parsed.datamodels.push(argv[++i] ?? '');
    else if (argument === '--datasource') parsed.url = (JSON.parse(argv[++i] ?? '{}') as { url?: string }).url;
    else if (argument === '--version' || argument === '-V') parsed.version = true;
    else if (argument === 'cli') parsed.cliCommand = argv[++i];
    // --enabled-preview-features and --extension-types: none of them apply to this schema.
    else if (argument?.startsWith('--')) i += 1;
  }
  return parsed;
}

type Bindings = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

/** Where the engine leaves a Rust panic's message before it traps (the name is the engine's). */
const panics = {
  message: '',
  set_message(message: string) {
    this.message = message;
  },
};
(globalThis as { PRISMA_WASM_PANIC_REGISTRY?: typeof panics }).PRISMA_WASM_PANIC_REGISTRY = panics;

/**
 * The engine's bindings with its WebAssembly module instantiated, as the package's own entry does
 * through ESM-integrated WebAssembly, which Node lacks.
 */
async function loadBindings(): Promise<Bindings> {
  const bindingsPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bindings = (await import(pathToFileURL(bindingsPath).href)) as Bindings;
  const wasm = await fs.promises.readFile(path.join(path.dirname(bindingsPath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(wasm, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return bindings;
}

/** The engine's database: the CLI's URL, else (a diff, without DATABASE_URL) an in-memory PGlite. */
function adapterFactory(url: string | undefined) {
  if (url === undefined) return bindMigrationAwareSqlAdapterFactory(new InMemoryPgliteMigrationAdapterFactory());
  // The CLI's environment, with the URL it was given: the same settings the rest of the code sees.
  const settings = loadSettings({ ...process.env, DATABASE_URL: url }).database;
  if (settings.kind !== 'postgres') throw new Error('the schema engine needs a PostgreSQL URL');
  return bindMigrationAwareSqlAdapterFactory(new PostgresMigrationAdapterFactory(settings));
}

type Request = { id: number; method: string; params?: unknown };
type Handler = (engine: SchemaEngine, params: never, print: (content: string) => void) => Promise<unknown>;

/** The CLI's method names, mapped to the WebAssembly engine's. */
const handlers: Record<string, Handler> = {
  applyMigrations: (engine, params) => engine.applyMigrations(params),
  createMigration: (engine, params) => engine.createMigration(params),
  dbExecute: (engine, params) => engine.dbExecute(params),
  devDiagnostic: (engine, params) => engine.devDiagnostic(params),
  diagnoseMigrationHistory: (engine, params) => engine.diagnoseMigrationHistory(params),
  ensureConnectionValidity: (engine, params) => engine.ensureConnectionValidity(params),
  evaluateDataLoss: (engine, params) => engine.evaluateDataLoss(params),
  getDatabaseVersion: (engine, params) => engine.version(params),
  introspect: (engine, params) => engine.introspect(params),
  introspectSql: (engine, params) => engine.introspectSql(params),
  markMigrationApplied: (engine, params) => engine.markMigrationApplied(params),
  markMigrationRolledBack: (engine, params) => engine.markMigrationRolledBack(params),
  reset: (engine, params) => engine.reset(params),
  schemaPush: (engine, params) => engine.schemaPush(params),
  // The native engine prints the diff through the CLI (a `print` request); this one returns it.
  async diff(engine, params, print) {
    const { stdout, ...result } = await engine.diff(params);
    if (stdout) print(stdout.replace(/\n$/, ''));
    return result;
  },
  async debugPanic(engine) {
    engine.debugPanic();
  },
};

/** An engine failure as the native engine's JSON-RPC error, which the CLI turns into its messages. */
function rpcError(error: unknown): { code: number; message: string; data: Record<string, unknown> } {
  const failure = error instanceof Error ? error : new Error(String(error));
  const { code, meta } = failure as Error & { code?: unknown; meta?: unknown };
  // A Rust panic surfaces as a WebAssembly trap, its message in the registry above.
  const panic = failure instanceof WebAssembly.RuntimeError;
  return {
    code: 4466,
    message: 'An error happened. Check the data field for details.',
    data: {
      is_panic: panic,
      message: panic && panics.message ? panics.message : failure.message,
      ...(typeof code === 'string' && { error_code: code, meta: meta ?? null }),
    },
  };
}

async function serveRpc(args: Arguments): Promise<void> {
  const bindings = await loadBindings();
  const datamodels = args.datamodels.map((file): [string, string] => [file, fs.readFileSync(file, 'utf8')]);
  let engine: SchemaEngine | undefined;
  const started = async () => {
    engine ??= await bindings.SchemaEngine.new(
      { datamodels: datamodels.length > 0 ? datamodels : undefined },
      (line: string) => process.stderr.write(`${line}\n`),
      adapterFactory(args.url),
    );
    return engine;
  };
  const send = (message: object) => {
    process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  };
  let printed = 0;
  const print = (content: string) => {
    send({ id: `print-${(printed += 1)}`, method: 'print', params: { content } });
  };

  const answer = async (request: Request) => {
    const handler = handlers[request.method];
    if (!handler) {
      const unsupported = new Error(`${request.method} is not supported by the WebAssembly schema engine`);
      send({ id: request.id, error: rpcError(unsupported) });
      return;
    }
    try {
      const result = await handler(await started(), (request.params ?? {}) as never, print);
      send({ id: request.id, result: result ?? null });
    } catch (error) {
      send({ id: request.id, error: rpcError(error) });
    }
  };

  // One request at a time, in order, as the native engine answers the CLI.
  let pending = Promise.resolve();
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    const message = JSON.parse(line) as Partial<Request> & { result?: unknown };
    // The CLI's answers to `print` need nothing more.
    if (typeof message.method !== 'string' || message.id === undefined) return;
    pending = pending.then(() => answer(message as Request));
  });
  await new Promise<void>((resolve) => lines.once('close', resolve));
  await pending;
  engine?.free();
}

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  if (args.version) {
    process.stdout.write(`schema-engine-wasm ${(await loadBindings()).version()}\n`);
    return 0;
  }
  if (args.cliCommand !== undefined) return runDatabaseCommand(args.cliCommand, args.url);
  await serveRpc(args);
  return 0;
}

// A panic inside one of the engine's callbacks traps outside any request's promise.
process.on('uncaughtException', (error) => {
  const message = error instanceof WebAssembly.RuntimeError && panics.message ? panics.message : error.message;
  log('ERROR', { message, is_panic: true });
  process.exit(101);
});

// Exits as soon as the work is done: the WebAssembly engine leaves a timer behind that would keep
// the process (and the CLI, which waits for it) alive for some 10 s more.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log('ERROR', { message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
