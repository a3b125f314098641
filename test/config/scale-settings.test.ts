import os from 'node:os';
import { loadSettings, SettingsError } from '../../src/config/settings';

const url = 'postgresql://agentmem@db.internal:5432/agentmem';

/** The settings of running at scale (README "Running at scale"), as the start reads them. */
describe('settings for replicas, a transaction pooler and workers', () => {
  it('reads DATABASE_REPLICA_URLS as a list and leaves the default without replicas or pooler', () => {
    const plain = loadSettings({ DATABASE_URL: url });
    expect(plain.database).toEqual({ kind: 'postgres', url, poolSize: 10, connectTimeoutMs: 5000 });
    const replicated = loadSettings({ DATABASE_URL: url, DATABASE_REPLICA_URLS: ' postgresql://r1/agentmem, postgresql://r2:6432/agentmem ,' });
    expect(replicated.database).toMatchObject({ replicaUrls: ['postgresql://r1/agentmem', 'postgresql://r2:6432/agentmem'] });
  });

  it('refuses a replica URL that is not PostgreSQL, naming the setting', () => {
    expect(() => loadSettings({ DATABASE_URL: url, DATABASE_REPLICA_URLS: 'mysql://r1/db' })).toThrow(/^invalid setting DATABASE_REPLICA_URLS: /);
  });

  it('refuses replicas or a pooler on the embedded database', () => {
    expect(() => loadSettings({ DATABASE_REPLICA_URLS: 'postgresql://r1/agentmem' })).toThrow(SettingsError);
    expect(() => loadSettings({ DATABASE_POOLER: 'transaction', MIGRATE_ON_START: 'false' })).toThrow(/DATABASE_POOLER: the embedded database/);
  });

  it('takes DATABASE_POOLER=transaction only with MIGRATE_ON_START=false: migrations need a session', () => {
    expect(() => loadSettings({ DATABASE_URL: url, DATABASE_POOLER: 'transaction' })).toThrow(/^invalid setting MIGRATE_ON_START: /);
    expect(loadSettings({ DATABASE_URL: url, DATABASE_POOLER: 'transaction', MIGRATE_ON_START: 'false' }).database).toMatchObject({ pooler: 'transaction' });
    expect(() => loadSettings({ DATABASE_URL: url, DATABASE_POOLER: 'session' })).toThrow(/^invalid setting DATABASE_POOLER: /);
  });

  it('runs one worker per core unless WORKERS says otherwise', () => {
    expect(loadSettings({}).workers).toBe(os.availableParallelism());
    expect(loadSettings({ WORKERS: '3' }).workers).toBe(3);
    expect(() => loadSettings({ WORKERS: '0' })).toThrow(/^invalid setting WORKERS: /);
  });
});
