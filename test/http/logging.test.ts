import { Writable } from 'node:stream';
import pino from 'pino';
import { startTestApp, type TestApp } from '../support/test-app';

/** One line of the server's log, as pino writes it. */
interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  code?: string;
  err?: { stack?: string };
}

const INFO = 30;
const WARN = 40;
const ERROR = 50;

describe('the log tells faults from mistakes', () => {
  let app: TestApp;
  let key: string;
  const lines: LogLine[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    app = await startTestApp('logging', {}, pino({ level: 'debug', base: undefined }, sink));
    ({ key } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Sends a request with its own id and returns what the log says about that request. */
  async function logged(requestId: string, init: { body: string; contentType?: string; authorization?: string | null }) {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: {
        'content-type': init.contentType ?? 'application/json',
        'x-request-id': requestId,
        ...(init.authorization !== null && { authorization: init.authorization ?? `Bearer ${key}` }),
      },
      body: init.body,
    });
    await response.text();
    // pino writes asynchronously to its stream: let it drain before reading.
    await new Promise((resolve) => setImmediate(resolve));
    return { status: response.status, lines: lines.filter((line) => line.requestId === requestId), all: [...lines] };
  }
  const query = (text: string) => JSON.stringify({ query: text });

  it.each([
    ['an empty search', { body: query('{ searchMemories(query: "") { rank } }') }, 'VALIDATION'],
    ['a page beyond the cap', { body: query('{ agents(first: 101) { totalCount } }') }, 'VALIDATION'],
    ['a limit beyond the cap', { body: query('{ searchMemories(query: "tea", limit: 101) { rank } }') }, 'VALIDATION'],
    ['a bad cursor', { body: query('{ agents(after: "garbage") { nodes { id } } }') }, 'VALIDATION'],
    ['a variable of the wrong type', { body: JSON.stringify({ query: 'query ($f: Int) { agents(first: $f) { totalCount } }', variables: { f: 'abc' } }) }, 'VALIDATION'],
    ['a form post without the CSRF header', { body: 'query={__typename}', contentType: 'application/x-www-form-urlencoded' }, 'CSRF_HEADER_REQUIRED'],
    ['an unknown key', { body: query('{ __typename }'), authorization: `Bearer amk_${'A'.repeat(43)}` }, 'UNAUTHENTICATED'],
  ])('logs %s once, at info, without a stack', async (_case, init, code) => {
    const before = lines.length;
    const { status, lines: about, all } = await logged(`mistake-${code}-${before}`, init);
    expect(status).toBeLessThan(500);
    expect(about).toEqual([expect.objectContaining({ level: INFO, msg: 'client error', code })]);
    const since = all.slice(before);
    expect(since.filter((line) => line.level >= WARN)).toEqual([]);
    expect(since.filter((line) => line.err?.stack !== undefined)).toEqual([]);
  });

  it('logs an unexpected failure once, at error, with its stack and the request id', async () => {
    // A database failure the API does not expect: a table disappears under a request.
    await app.database.owner.$executeRawUnsafe('ALTER TABLE agents RENAME TO agents_gone');
    try {
      const before = lines.length;
      const { lines: about, all } = await logged('fault-1', { body: query('{ agents { nodes { name } } }') });
      const faults = all.slice(before).filter((line) => line.level >= WARN);
      expect(faults).toHaveLength(1);
      expect(faults[0]).toMatchObject({ level: ERROR, requestId: 'fault-1', err: { stack: expect.stringContaining('agents') } });
      // The client was told only of an internal error, and that is not logged as its mistake.
      expect(about.filter((line) => line.msg === 'client error')).toEqual([]);
    } finally {
      await app.database.owner.$executeRawUnsafe('ALTER TABLE agents_gone RENAME TO agents');
    }
  });
});
