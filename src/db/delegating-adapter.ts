import type {
  ConnectionInfo,
  IsolationLevel,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';

/**
 * A driver adapter that hands everything to `driver`: the base of the adapters that change one or
 * two of its calls (src/db/retries.ts, src/db/row-level-security.ts), so that each states only
 * what it changes.
 */
export abstract class DelegatingAdapter implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;

  constructor(protected readonly driver: SqlDriverAdapter) {
    this.provider = driver.provider;
    this.adapterName = driver.adapterName;
  }

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.driver.queryRaw(query);
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.driver.executeRaw(query);
  }

  startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    return this.driver.startTransaction(isolationLevel);
  }

  executeScript(script: string): Promise<void> {
    return this.driver.executeScript(script);
  }

  getConnectionInfo(): ConnectionInfo {
    return this.driver.getConnectionInfo?.() ?? { supportsRelationJoins: false };
  }

  dispose(): Promise<void> {
    return this.driver.dispose();
  }
}

/** `factory`, each of whose connections is handed out as `adapt` makes it. */
export function adaptedFactory(
  factory: SqlDriverAdapterFactory,
  adapt: (driver: SqlDriverAdapter) => SqlDriverAdapter,
): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => adapt(await factory.connect()),
  };
}
