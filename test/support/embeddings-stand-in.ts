import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmbeddingProviderSettings, EmbeddingSettings } from '../../src/config/settings';

/** The stand-in's vectors' size and the model name the server is configured with for it. */
export const STAND_IN_DIMENSIONS = 8;
export const STAND_IN_MODEL = 'stand-in-embedder';

/**
 * The server's embedding settings for a stand-in at `url`: quick retries and short waits, so that
 * a test sees many attempts; the production defaults are in settings.ts.
 */
export function providerAt(
  url: string,
  overrides: Partial<EmbeddingProviderSettings> = {},
): Partial<EmbeddingSettings> {
  return {
    dimensions: STAND_IN_DIMENSIONS,
    model: STAND_IN_MODEL,
    provider: {
      url,
      timeoutMs: 1500,
      queryTimeoutMs: 1500,
      maxAttempts: 1000,
      batchSize: 4,
      retryBaseMs: 50,
      retryMaxMs: 500,
      pollMs: 25,
      ...overrides,
    },
  };
}

/**
 * A stand-in for an embedding provider AT THE NETWORK BOUNDARY: a real HTTP server on a local
 * port that speaks the OpenAI embeddings API (`POST /v1/embeddings`, `{ model, input: [...] }` →
 * `{ data: [{ index, embedding }] }`), so that the server's own HTTP client, timeouts and parsing
 * are what is tested. Its vectors are derived from each text alone (SHA-256), so the same text
 * always gets the same vector, and a test can compute what a memory should hold. It understands
 * no meaning and is never part of the server.
 *
 * A test scripts its failures: `fail(...)` queues faults for the next calls, `down` refuses every
 * call (the connection is reset) until set back. It counts, per text, the vectors it delivered
 * to a client still waiting for them.
 */
export type Fault = 'timeout' | '429' | '500' | 'truncated' | 'wrong-dimensions';

export class EmbeddingsStandIn {
  readonly delivered = new Map<string, number>();
  readonly faultsServed = new Map<Fault | 'down', number>();
  /** Calls answered at once at most (each worker has one call in flight at a time). */
  maxConcurrent = 0;
  calls = 0;
  down = false;
  /** Each answer waits this long first (a slow provider; not a fault). */
  delayMs = 0;
  private concurrent = 0;
  private readonly faults: Fault[] = [];
  private server: http.Server | undefined;

  constructor(
    readonly dimensions: number,
    private readonly retryAfterSeconds = 1,
  ) {}

  /** The vector the stand-in gives `text`: unit length, from its SHA-256. */
  vectorOf(text: string): number[] {
    const digest = createHash('sha256').update(text).digest();
    const vector = Array.from({ length: this.dimensions }, (_, index) => digest[index % digest.length]! / 255 - 0.5);
    const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
    return vector.map((value) => value / norm);
  }

  fail(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  async start(): Promise<string> {
    this.server = http.createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1/embeddings`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private served(fault: Fault | 'down'): void {
    this.faultsServed.set(fault, (this.faultsServed.get(fault) ?? 0) + 1);
  }

  private async answer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    this.calls += 1;
    this.concurrent += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    let clientGone = false;
    response.on('close', () => {
      clientGone = !response.writableFinished;
    });
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; input: string[] };
      if (this.down) {
        this.served('down');
        request.socket.destroy();
        return;
      }
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const fault = this.faults.shift();
      if (fault) this.served(fault);
      if (fault === 'timeout') {
        // Never answers: the client's timeout ends the call.
        await new Promise<void>((resolve) => response.once('close', () => resolve()));
        return;
      }
      if (fault === '429') {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(this.retryAfterSeconds) });
        response.end('{"error":{"message":"Rate limit reached"}}');
        return;
      }
      if (fault === '500') {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"error":{"message":"internal error"}}');
        return;
      }
      const dimensions = fault === 'wrong-dimensions' ? this.dimensions + 1 : this.dimensions;
      const data = body.input.map((text, index) => ({
        object: 'embedding',
        index,
        embedding:
          fault === 'wrong-dimensions' ? [...this.vectorOf(text), 0.5].slice(0, dimensions) : this.vectorOf(text),
      }));
      const json = JSON.stringify({
        object: 'list',
        data,
        model: body.model,
        usage: { prompt_tokens: 1, total_tokens: 1 },
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      if (fault === 'truncated') {
        response.end(json.slice(0, Math.floor(json.length / 2)));
        return;
      }
      await new Promise<void>((resolve) => response.end(json, () => resolve()));
      // Vectors of the wrong length are no delivery: the client must refuse them.
      if (!clientGone && fault === undefined)
        for (const text of body.input) this.delivered.set(text, (this.delivered.get(text) ?? 0) + 1);
    } finally {
      this.concurrent -= 1;
    }
  }
}
