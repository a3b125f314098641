import { AsyncLocalStorage } from 'node:async_hooks';
import type { PGlite } from '@electric-sql/pglite';
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';
import { adaptedFactory, DelegatingAdapter } from './delegating-adapter';
import { currentDeadline } from './request-deadline';

/**
 * The role the application's statements run as (made by the row_level_security migration). It
 * owns no table and cannot bypass row-level security, whatever role the connection logged in as.
 */
export const APPLICATION_ROLE = 'agentmem_app';

/**
 * Which rows the statements of a unit of work may touch: one organization's, or, while a request
 * is being authenticated and its organization is not known yet, only the API key it presented.
 */
type RowScope = { organizationId: string } | { apiKeyHash: string } | { workQueue: WorkQueue };

/**
 * A server's background work that is not one organization's: the embedding worker claims jobs
 * of every organization (the policies of embedding_jobs let this scope read and reschedule them,
 * and no other table shows it a row), then reads and writes each memory in its organization's
 * scope (src/memories/embedding-worker.ts).
 */
type WorkQueue = 'embeddings' | 'expiry';

/**
 * The role of the `expiry` queue's scope: the sweep of expired memories learns there which
 * organizations have some, reading only organization_id, expires_at and is_deleted of the live
 * expired memories (migration 20261203161700_memory_validity_follow_up), then sweeps each
 * organization in its own scope (src/memories/expiry.ts).
 */
export const EXPIRY_SWEEP_ROLE = 'agentmem_expiry_sweep';

// Carried by the async context rather than passed along, because it must reach statements that
// Prisma, DataLoader batches and raw SQL issue without any code of ours in between.
const currentScope = new AsyncLocalStorage<RowScope>();

// `work` is awaited inside the scope: Prisma's promises are lazy, and a query starts only when
// awaited, so a promise returned unawaited would run outside it.
function inScope<T>(scope: RowScope, work: () => Promise<T>): Promise<T> {
  return currentScope.run(scope, async () => await work());
}

/** Runs `work` with the rows of one organization visible to every statement it issues. */
export function withOrganization<T>(organizationId: string, work: () => Promise<T>): Promise<T> {
  return inScope({ organizationId }, work);
}

/** Runs `work` with the jobs of `queue` visible, of every organization, and no other row. */
export function withWorkQueue<T>(queue: WorkQueue, work: () => Promise<T>): Promise<T> {
  return inScope({ workQueue: queue }, work);
}

/** Runs `work` with only the API key whose hash is `apiKeyHash` visible: for authentication. */
export function withPresentedApiKey<T>(apiKeyHash: string, work: () => Promise<T>): Promise<T> {
  return inScope({ apiKeyHash }, work);
}

/**
 * The statement that applies `scope` to a connection: for the length of a transaction
 * (`transaction`), or until it is next replaced (`session`, for a connection that is re-scoped
 * every time it is checked out of a pool). With no scope both settings are empty, and the
 * policies match no row.
 */
function scopeStatement(
  scope: RowScope | undefined,
  extent: 'transaction' | 'session',
  statementTimeoutMs = 0,
): SqlQuery {
  const organizationId = scope && 'organizationId' in scope ? scope.organizationId : '';
  const apiKeyHash = scope && 'apiKeyHash' in scope ? scope.apiKeyHash : '';
  const workQueue = scope && 'workQueue' in scope ? scope.workQueue : '';
  const role = workQueue === 'expiry' ? EXPIRY_SWEEP_ROLE : APPLICATION_ROLE;
  const local = extent === 'transaction';
  // The statement timeout rides with the scope rather than as a startup parameter, which a
  // transaction pooler (PgBouncer) refuses: an integer of the settings, never a client's value.
  const timeout =
    statementTimeoutMs > 0 ? `, set_config('statement_timeout', '${Math.trunc(statementTimeoutMs)}', ${local})` : '';
  // The role is bound, not written into the text: the pool prepares this statement under one name
  // (agentmem_row_scope), and node-postgres refuses a name given another text. With the role in the
  // text, the checkout that changed roles (the expiry sweep's, or the first after it) failed before
  // sending its scope, and its statement ran in the scope the connection held before.
  return {
    sql: `SELECT set_config('role', $4, ${local}), set_config('app.organization_id', $1,
      ${local}), set_config('app.api_key_hash', $2, ${local}), set_config('app.work_queue', $3, ${local})${timeout}`,
    args: [organizationId, apiKeyHash, workQueue, role],
    argTypes: [
      { scalarType: 'string', arity: 'scalar' },
      { scalarType: 'string', arity: 'scalar' },
      { scalarType: 'string', arity: 'scalar' },
      { scalarType: 'string', arity: 'scalar' },
    ],
  };
}

/** Called when a reported statement has its answer, or its failure. */
export type StatementEnd = (error?: unknown) => void;

/**
 * Told of every statement an application connection sends (src/db/database.ts `onStatement`),
 * as it is sent; what it returns, if anything, is called when the statement ends (for traces).
 */
export type StatementReporter = (sql: string) => StatementEnd | undefined;

/** `answer`, with `end` (a reporter's, if any) called when it settles. */
function endingWith<T>(end: StatementEnd | undefined, answer: Promise<T>): Promise<T> {
  if (end) answer.then(() => end(), end);
  return answer;
}

/** Raw SQL with the scope of the code running now, on either database. */
export interface ScopedSql {
  query<Row>(text: string, values: readonly unknown[]): Promise<Row[]>;
}

/** `scopeStatement` for the scope of the code running now. */
export function currentScopeStatement(extent: 'transaction' | 'session', statementTimeoutMs?: number): SqlQuery {
  return scopeStatement(currentScope.getStore(), extent, statementTimeoutMs);
}

const noArguments = { args: [], argTypes: [] };

/**
 * Ends a transaction the way Prisma's engine does: adapters whose driver manages transactions
 * itself (PGlite's) use "phantom" COMMIT/ROLLBACK statements, the others expect them sent.
 */
async function endTransaction(transaction: Transaction, outcome: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  try {
    if (!transaction.options.usePhantomQuery) await transaction.executeRaw({ sql: outcome, ...noArguments });
  } finally {
    await (outcome === 'COMMIT' ? transaction.commit() : transaction.rollback());
  }
}

/**
 * A driver adapter that runs every statement in a transaction scoped by `currentScopeStatement`:
 * Prisma's own transactions get the scope as their first statement, and a statement outside any
 * gets a transaction of its own. Nothing the application sends escapes the policies. For PGlite,
 * whose one session every request shares; PostgreSQL scopes pooled connections at checkout
 * instead (`RowScopedPool`, src/db/postgres/pool.ts), which spares the transaction round trips.
 */
class RowLevelSecurityAdapter extends DelegatingAdapter {
  constructor(
    driver: SqlDriverAdapter,
    private readonly report: StatementReporter,
  ) {
    super(driver);
  }

  override queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.inOwnTransaction((transaction) => transaction.queryRaw(query));
  }

  override executeRaw(query: SqlQuery): Promise<number> {
    return this.inOwnTransaction((transaction) => transaction.executeRaw(query));
  }

  override async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const deadline = currentDeadline();
    deadline?.throwIfAborted();
    // PGlite's driver sends BEGIN itself, and every statement of the transaction passes here.
    this.report('BEGIN')?.();
    const started = untilDeadline(
      this.driver.startTransaction(isolationLevel),
      deadline,
      (late) => void endTransaction(late, 'ROLLBACK').catch(() => undefined),
    );
    const transaction = reportingStatements(await started, this.report);
    try {
      await transaction.queryRaw(currentScopeStatement('transaction'));
    } catch (error) {
      await endTransaction(transaction, 'ROLLBACK');
      throw error;
    }
    return transaction;
  }

  override executeScript(): Promise<void> {
    // Scripts are migrations: they run through the Prisma CLI as the owner, never through here.
    return Promise.reject(new Error('the application connection does not run scripts'));
  }

  private async inOwnTransaction<T>(statement: (transaction: Transaction) => Promise<T>): Promise<T> {
    const transaction = await this.startTransaction();
    let result: T;
    try {
      result = await statement(transaction);
    } catch (error) {
      await endTransaction(transaction, 'ROLLBACK').catch(() => undefined);
      throw error;
    }
    await endTransaction(transaction, 'COMMIT');
    return result;
  }
}

/**
 * What `work` gives, unless the request's deadline fires first (PGlite's one session is held by
 * another transaction meanwhile): then the request is given up (REQUEST_TIMEOUT), and what `work`
 * gives later goes to `late`, which lets the session go.
 */
function untilDeadline<T>(
  work: Promise<T>,
  deadline: AbortSignal | undefined,
  late: (value: T) => void = () => undefined,
): Promise<T> {
  if (!deadline) return work;
  return new Promise((resolve, reject) => {
    let waiting = true;
    const giveUp = () => {
      waiting = false;
      reject(deadline.reason);
    };
    deadline.addEventListener('abort', giveUp, { once: true });
    work.then(
      (value) => {
        deadline.removeEventListener('abort', giveUp);
        if (waiting) resolve(value);
        else late(value);
      },
      (error: unknown) => {
        deadline.removeEventListener('abort', giveUp);
        if (waiting) reject(error);
      },
    );
  });
}

/** `transaction`, telling `report` of each statement it runs and of its end. */
function reportingStatements(transaction: Transaction, report: StatementReporter): Transaction {
  const { queryRaw, executeRaw, commit, rollback } = transaction;
  return Object.assign(transaction, {
    queryRaw: (query: SqlQuery) => endingWith(report(query.sql), queryRaw.call(transaction, query)),
    executeRaw: (query: SqlQuery) => endingWith(report(query.sql), executeRaw.call(transaction, query)),
    commit: () => endingWith(report('COMMIT'), commit.call(transaction)),
    rollback: () => endingWith(report('ROLLBACK'), rollback.call(transaction)),
  });
}

/** `factory`'s connections, with every statement subject to row-level security. */
export function withRowLevelSecurity(
  factory: SqlDriverAdapterFactory,
  report: StatementReporter,
): SqlDriverAdapterFactory {
  return adaptedFactory(factory, (driver) => new RowLevelSecurityAdapter(driver, report));
}

/**
 * Raw SQL on PGlite: like Prisma's statements there (above), each query runs in a transaction
 * that begins with the current scope, since every request shares PGlite's one session.
 */
export function scopedSqlOverPglite(pglite: PGlite, report: StatementReporter): ScopedSql {
  return {
    query<Row>(text: string, values: readonly unknown[]): Promise<Row[]> {
      const deadline = currentDeadline();
      if (deadline?.aborted) return Promise.reject(deadline.reason);
      const scope = currentScopeStatement('transaction');
      // PGlite's driver sends BEGIN and COMMIT itself: they are reported, and end, as it does.
      report('BEGIN')?.();
      // A transaction that gets the session after the deadline ends at once (rolled back).
      return untilDeadline(
        pglite.transaction(async (transaction) => {
          deadline?.throwIfAborted();
          await endingWith(report(scope.sql), transaction.query(scope.sql, scope.args));
          const result = await endingWith(report(text), transaction.query<Row>(text, values as unknown[]));
          report('COMMIT')?.();
          return result.rows;
        }),
        deadline,
      );
    },
  };
}
