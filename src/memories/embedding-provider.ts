import { z } from 'zod';
import type { EmbeddingProviderSettings } from '../config/settings';

/**
 * A call to the embedding provider that gave no usable vectors: the reason, in words fit for a
 * memory's `embeddingError` and a search's `degradedReason` (never the API key), and how long the
 * provider asked to be left alone (429 `Retry-After`).
 */
export class EmbeddingProviderError extends Error {
  override name = 'EmbeddingProviderError';
  constructor(
    message: string,
    /** 429: the provider is rate limiting. Not counted against a memory's attempts. */
    readonly rateLimited = false,
    /** From `Retry-After`, in milliseconds; undefined when absent or unreadable. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The part of an OpenAI embeddings answer that is read; anything else in it is ignored. */
const embeddingsAnswer = z.object({
  data: z.array(z.object({ index: z.number().int().min(0), embedding: z.array(z.number()) })),
});

/** `Retry-After` as milliseconds: seconds, or an HTTP date; undefined when neither. */
function retryAfterOf(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** At most `length` characters of a provider's words, on one line. */
function excerpt(text: string, length = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > length ? `${line.slice(0, length)}…` : line;
}

/**
 * The embeddings of `texts`, in their order, from an OpenAI-compatible `/v1/embeddings` endpoint
 * (OpenAI, Ollama, vLLM, LM Studio, llama.cpp's server): `POST { model, input: [...] }`. Each must
 * have `dimensions` finite numbers. Anything else, a timeout (`timeoutMs`), a refused connection,
 * an HTTP error, JSON that does not parse or does not say what is asked, the wrong number of
 * vectors or of numbers, is an EmbeddingProviderError with the reason. `signal` cancels (a
 * stopping server).
 */
export async function embedTexts(
  provider: EmbeddingProviderSettings,
  model: string,
  dimensions: number,
  texts: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number[][]> {
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let body: string;
  try {
    response = await fetch(provider.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(provider.apiKey && { authorization: `Bearer ${provider.apiKey}` }),
      },
      body: JSON.stringify({ model, input: texts, encoding_format: 'float' }),
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    body = await response.text();
  } catch (error) {
    if (timeout.aborted) throw new EmbeddingProviderError(`the provider did not answer within ${timeoutMs} ms`);
    if (signal?.aborted) throw new EmbeddingProviderError('the server is stopping');
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new EmbeddingProviderError(
      `the provider could not be reached (${error instanceof Error ? error.message : String(error)}${cause})`,
    );
  }
  if (response.status === 429) {
    const retryAfterMs = retryAfterOf(response.headers.get('retry-after'));
    throw new EmbeddingProviderError(
      `the provider is rate limiting (HTTP 429${retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`})`,
      true,
      retryAfterMs,
    );
  }
  if (!response.ok) throw new EmbeddingProviderError(`the provider answered HTTP ${response.status}: ${excerpt(body)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new EmbeddingProviderError(`the provider answered with JSON that does not parse: ${excerpt(body, 80)}`);
  }
  const answer = embeddingsAnswer.safeParse(parsed);
  if (!answer.success)
    throw new EmbeddingProviderError('the provider answered without `data[].embedding` lists of numbers');
  const vectors: Array<number[] | undefined> = new Array(texts.length);
  for (const item of answer.data.data) {
    if (item.index < texts.length) vectors[item.index] = item.embedding;
  }
  const found = vectors.filter((vector): vector is number[] => vector !== undefined);
  if (found.length !== texts.length || answer.data.data.length !== texts.length) {
    throw new EmbeddingProviderError(
      `the provider answered ${answer.data.data.length} embeddings for ${texts.length} texts`,
    );
  }
  for (const vector of found) {
    if (vector.length !== dimensions)
      throw new EmbeddingProviderError(
        `the provider answered embeddings of ${vector.length} numbers; EMBEDDINGS_DIMENSIONS is ${dimensions}`,
      );
    if (!vector.every(Number.isFinite)) throw new EmbeddingProviderError('the provider answered a non-finite number');
  }
  return found;
}
