import os from 'node:os';
import { loadSettings, SettingsError } from '../../src/config/settings';

const url = 'postgresql://agentmem@db.internal:5432/agentmem';

/** The settings of running at scale (docs/operations.md, "Running at scale"), as the start reads them. */
describe('settings for replicas, a transaction pooler and workers', () => {
  it('reads DATABASE_REPLICA_URLS as a list and leaves the default without replicas or pooler', () => {
    const plain = loadSettings({ DATABASE_URL: url });
    expect(plain.database).toEqual({
      kind: 'postgres',
      url,
      poolSize: 10,
      connectTimeoutMs: 5000,
      statementTimeoutMs: 20_000,
    });
    const replicated = loadSettings({
      DATABASE_URL: url,
      DATABASE_REPLICA_URLS: ' postgresql://r1/agentmem, postgresql://r2:6432/agentmem ,',
    });
    expect(replicated.database).toMatchObject({
      replicaUrls: ['postgresql://r1/agentmem', 'postgresql://r2:6432/agentmem'],
    });
  });

  it('refuses a replica URL that is not PostgreSQL, naming the setting', () => {
    expect(() => loadSettings({ DATABASE_URL: url, DATABASE_REPLICA_URLS: 'mysql://r1/db' })).toThrow(
      /^invalid setting DATABASE_REPLICA_URLS: /,
    );
  });

  it('refuses replicas or a pooler on the embedded database', () => {
    expect(() => loadSettings({ DATABASE_REPLICA_URLS: 'postgresql://r1/agentmem' })).toThrow(SettingsError);
    expect(() => loadSettings({ DATABASE_POOLER: 'transaction', MIGRATE_ON_START: 'false' })).toThrow(
      /DATABASE_POOLER: the embedded database/,
    );
  });

  it('takes DATABASE_POOLER=transaction only with MIGRATE_ON_START=false: migrations need a session', () => {
    expect(() => loadSettings({ DATABASE_URL: url, DATABASE_POOLER: 'transaction' })).toThrow(
      /^invalid setting MIGRATE_ON_START: /,
    );
    expect(
      loadSettings({ DATABASE_URL: url, DATABASE_POOLER: 'transaction', MIGRATE_ON_START: 'false' }).database,
    ).toMatchObject({ pooler: 'transaction' });
    expect(() => loadSettings({ DATABASE_URL: url, DATABASE_POOLER: 'session' })).toThrow(
      /^invalid setting DATABASE_POOLER: /,
    );
  });

  it('runs one worker per core unless WORKERS says otherwise', () => {
    expect(loadSettings({}).workers).toBe(os.availableParallelism());
    expect(loadSettings({ WORKERS: '3' }).workers).toBe(3);
    expect(() => loadSettings({ WORKERS: '0' })).toThrow(/^invalid setting WORKERS: /);
  });

  it('bounds requests and statements in time by default, and takes 0 for no bound', () => {
    expect(loadSettings({}).requestTimeoutMs).toBe(30_000);
    expect(loadSettings({ REQUEST_TIMEOUT_MS: '0' }).requestTimeoutMs).toBe(0);
    expect(loadSettings({ DATABASE_URL: url, DATABASE_STATEMENT_TIMEOUT_MS: '0' }).database).toMatchObject({
      statementTimeoutMs: 0,
    });
    expect(() => loadSettings({ REQUEST_TIMEOUT_MS: '-1' })).toThrow(/^invalid setting REQUEST_TIMEOUT_MS: /);
    expect(() => loadSettings({ DATABASE_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(
      /^invalid setting DATABASE_STATEMENT_TIMEOUT_MS: /,
    );
  });

  it('derives admission control from the pool unless set: twice the pool in flight, four times as many queued', () => {
    expect(loadSettings({ DATABASE_URL: url }).admission).toEqual({
      maxInFlight: 20,
      maxQueued: 80,
      queueTimeoutMs: 250,
    });
    expect(loadSettings({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }).admission).toEqual({
      maxInFlight: 8,
      maxQueued: 32,
      queueTimeoutMs: 250,
    });
    expect(loadSettings({}).admission).toEqual({ maxInFlight: 8, maxQueued: 32, queueTimeoutMs: 250 });
    expect(
      loadSettings({ ADMISSION_MAX_IN_FLIGHT: '3', ADMISSION_MAX_QUEUED: '0', ADMISSION_QUEUE_TIMEOUT_MS: '50' })
        .admission,
    ).toEqual({ maxInFlight: 3, maxQueued: 0, queueTimeoutMs: 50 });
    expect(() => loadSettings({ ADMISSION_MAX_IN_FLIGHT: '0' })).toThrow(/^invalid setting ADMISSION_MAX_IN_FLIGHT: /);
  });
});
