import pg from 'pg';
import { isTransientFailure } from '../connection-failures';
import { readFromPrimaryFromNowOn, readMayUseReplica } from '../read-routing';
import { readStatement } from '../statements';
import { type ConnectCallback, RowScopedPool, type RowScopeOptions } from './pool';
import { overrideQuery, textOf } from './query-override';

/** When a replica that failed is tried again. */
const REPLICA_RETRY_AFTER_MS = 2000;

/** A replica's pool and until when it is left out after a failure. */
interface Replica {
  pool: RowScopedPool;
  name: string;
  downUntil: number;
}

/**
 * The application's pool on the primary, with read replicas (DATABASE_REPLICA_URLS): a SELECT
 * sent through `query` while the request may read from a replica (src/db/read-routing.ts) goes to
 * the next replica in turn; everything else, and every checkout through `connect` (a
 * transaction), goes to the primary, and a checkout marks the request as having written. A
 * replica that cannot be reached, or whose connection breaks, is left out for
 * REPLICA_RETRY_AFTER_MS and the read goes to the next one, then to the primary: a SELECT can be
 * sent again safely. Other errors (a bad statement) are the caller's, as on the primary.
 */
export class ReplicaRoutingPool extends RowScopedPool {
  private next = 0;

  constructor(
    config: pg.PoolConfig,
    scoping: RowScopeOptions,
    private readonly replicas: Replica[],
    private readonly onReplicaDown: (name: string, error: unknown) => void,
  ) {
    super(config, scoping);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    readFromPrimaryFromNowOn();
    return callback ? super.connect(callback) : super.connect();
  }

  async readFromReplica(args: unknown[], primary: () => Promise<pg.QueryResult>): Promise<pg.QueryResult> {
    for (let tried = 0; tried < this.replicas.length; tried += 1) {
      const replica = this.replicas[this.next++ % this.replicas.length]!;
      if (replica.downUntil > Date.now()) continue;
      try {
        return await (replica.pool.query as (...sent: unknown[]) => Promise<pg.QueryResult>)(...args);
      } catch (error) {
        if (!isTransientFailure(error)) throw error;
        replica.downUntil = Date.now() + REPLICA_RETRY_AFTER_MS;
        this.onReplicaDown(replica.name, error);
      }
    }
    return primary();
  }

  override async end(): Promise<void> {
    await Promise.all([super.end(), ...this.replicas.map((replica) => replica.pool.end())]);
  }
}

const sendOnPrimary = pg.Pool.prototype.query as (...args: unknown[]) => unknown;
// Only plain SELECTs (src/db/statements.ts) may go to a replica. Callback calls (pg-pool's own)
// stay on the primary.
overrideQuery(ReplicaRoutingPool, function routedQuery(this: ReplicaRoutingPool, ...args: unknown[]) {
  if (typeof args.at(-1) === 'function' || !readMayUseReplica() || !readStatement.test(textOf(args[0]))) {
    return Reflect.apply(sendOnPrimary, this, args);
  }
  return this.readFromReplica(args, () => Reflect.apply(sendOnPrimary, this, args) as Promise<pg.QueryResult>);
});
