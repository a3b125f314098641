import { randomUUID } from 'node:crypto';
import type { EmbeddingProviderSettings, EmbeddingSettings } from '../config/settings';
import { withOrganization, withWorkQueue } from '../db/row-level-security';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { LiveBus } from '../live/bus';
import type { Logger } from '../logger';
import { publishMemoryChanges } from './announce';
import { EmbeddingProviderError, embedTexts } from './embedding-provider';

/**
 * Records, in `tx` (the write's transaction), that these memories of the caller's organization
 * need an embedding from the provider: PENDING, and a job each for the worker. A memory that
 * already had a job starts again from the first attempt, now (its content changed).
 */
export async function enqueueEmbeddings(
  tx: Prisma.TransactionClient,
  organizationId: string,
  memoryIds: readonly string[],
): Promise<void> {
  if (memoryIds.length === 0) return;
  await tx.$executeRawUnsafe(
    `WITH pending AS (
       UPDATE memories SET embedding_status = 'PENDING', embedding_error = NULL WHERE id = ANY($1::text[]) RETURNING id
     )
     INSERT INTO embedding_jobs (memory_id, organization_id)
     SELECT id, $2 FROM pending
     ON CONFLICT (memory_id) DO UPDATE SET attempts = 0, next_attempt_at = now(), claimed_by = NULL,
       claimed_until = NULL, last_error = NULL`,
    memoryIds,
    organizationId,
  );
}

interface ClaimedJob {
  memory_id: string;
  organization_id: string;
  attempts: number;
}

/** The wait before the next attempt after `attempts` failures: doubling from the base, capped. */
function backoffMs(provider: EmbeddingProviderSettings, attempts: number): number {
  return Math.min(provider.retryBaseMs * 2 ** Math.max(0, attempts - 1), provider.retryMaxMs);
}

/**
 * Embeds memories with the provider, in the background of every server process: claims up to a
 * batch of due jobs of any organization (FOR UPDATE SKIP LOCKED, so that two processes never
 * claim one memory; a claim is a lease, `claimed_until`, so that a process that dies lets go),
 * reads their content in each organization's scope, calls the provider once for the batch, and
 * writes each vector in the same statement that ends its job, only while the claim is still
 * its own (new content meanwhile re-queued the memory, and its old vector is dropped).
 *
 * A failed call (timeout, refused connection, HTTP error, garbage) reschedules the batch with a
 * doubling wait; after `maxAttempts` failures a memory is FAILED with the reason. A 429 waits
 * its `Retry-After` (this worker waits too) and is not counted. Nothing is lost: a job is deleted
 * only with its vector written or its memory marked FAILED, in one statement.
 */
export class EmbeddingWorker {
  private stopping = false;
  private readonly stopped = new AbortController();
  private loop: Promise<void> | undefined;
  private pausedUntil = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly settings: EmbeddingSettings & { provider: EmbeddingProviderSettings },
    private readonly live: LiveBus,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops: a call in flight is abandoned and its memories are let go at once, for another turn. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const provider = this.settings.provider;
    while (!this.stopping) {
      let claimed = 0;
      if (Date.now() >= this.pausedUntil) {
        try {
          claimed = await this.embedOnce();
        } catch (error) {
          if (!this.stopping) this.logger?.warn({ err: error }, 'embedding worker: a round failed; it goes on');
        }
      }
      if (this.stopping) break;
      if (claimed < provider.batchSize) {
        const wait = Math.max(provider.pollMs, this.pausedUntil - Date.now());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(wait, provider.pollMs * 10));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One round: claims a batch and embeds it. Returns how many memories it claimed. */
  async embedOnce(): Promise<number> {
    const provider = this.settings.provider;
    const token = randomUUID();
    const leaseMs = 2 * provider.timeoutMs + 10_000;
    const jobs = await withWorkQueue('embeddings', () =>
      this.prisma.$queryRawUnsafe<ClaimedJob[]>(
        `UPDATE embedding_jobs j SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2::float8 / 1000)
         FROM (
           SELECT memory_id FROM embedding_jobs
           WHERE next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
           ORDER BY next_attempt_at, memory_id
           LIMIT $3
           FOR UPDATE SKIP LOCKED
         ) c
         WHERE j.memory_id = c.memory_id
         RETURNING j.memory_id, j.organization_id, j.attempts`,
        token,
        leaseMs,
        provider.batchSize,
      ),
    );
    if (jobs.length === 0) return 0;
    const byOrganization = new Map<string, ClaimedJob[]>();
    for (const job of jobs)
      byOrganization.set(job.organization_id, [...(byOrganization.get(job.organization_id) ?? []), job]);
    const contents = new Map<string, string>();
    for (const [organizationId, ofOrganization] of byOrganization) {
      const rows = await withOrganization(organizationId, () =>
        this.prisma.$queryRawUnsafe<Array<{ id: string; content: string }>>(
          'SELECT id, content FROM memories WHERE id = ANY($1::text[])',
          ofOrganization.map((job) => job.memory_id),
        ),
      );
      for (const row of rows) contents.set(row.id, row.content);
    }
    const embedded = jobs.filter((job) => contents.has(job.memory_id));
    let vectors: number[][];
    try {
      vectors = await embedTexts(
        provider,
        this.settings.model,
        this.settings.dimensions,
        embedded.map((job) => contents.get(job.memory_id)!),
        provider.timeoutMs,
        this.stopped.signal,
      );
    } catch (error) {
      await this.failed(token, jobs, byOrganization, error);
      return jobs.length;
    }
    const vectorOf = new Map(embedded.map((job, index) => [job.memory_id, vectors[index]!]));
    for (const [organizationId, ofOrganization] of byOrganization) {
      const ids = ofOrganization.map((job) => job.memory_id).filter((id) => vectorOf.has(id));
      if (ids.length === 0) continue;
      const ready = await withOrganization(organizationId, () =>
        this.prisma.$queryRawUnsafe<Array<{ id: string; agentId: string }>>(
          `WITH locked AS (SELECT id FROM memories WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE),
           done AS (
             DELETE FROM embedding_jobs j USING locked l WHERE j.memory_id = l.id AND j.claimed_by = $2
             RETURNING j.memory_id
           )
           UPDATE memories m SET embedding = e.vector::vector, embedding_model = $3,
             embedding_dimensions = vector_dims(e.vector::vector), embedding_status = 'READY', embedding_error = NULL
           FROM unnest($1::text[], $4::text[]) AS e(id, vector)
           WHERE m.id = e.id AND m.id IN (SELECT memory_id FROM done)
           RETURNING m.id, m.agent_id AS "agentId"`,
          ids,
          token,
          this.settings.model,
          ids.map((id) => JSON.stringify(vectorOf.get(id))),
        ),
      );
      // After the commit: subscribers of memoryChanged learn that these can be found by meaning.
      publishMemoryChanges(this.live, organizationId, 'embedded', ready);
    }
    return jobs.length;
  }

  /** After a failed call: the batch waits and tries again, or, out of attempts, is FAILED. */
  private async failed(
    token: string,
    jobs: ClaimedJob[],
    byOrganization: Map<string, ClaimedJob[]>,
    error: unknown,
  ): Promise<void> {
    const provider = this.settings.provider;
    const reason =
      error instanceof EmbeddingProviderError ? error.message : `embedding failed: ${String(error).slice(0, 200)}`;
    const ids = jobs.map((job) => job.memory_id);
    if (this.stopping) {
      // Not the provider's failure: let go of the batch for the next turn of any process.
      await withWorkQueue('embeddings', () =>
        this.prisma.$executeRawUnsafe(
          `UPDATE embedding_jobs SET claimed_by = NULL, claimed_until = NULL
           WHERE memory_id = ANY($1::text[]) AND claimed_by = $2`,
          ids,
          token,
        ),
      );
      return;
    }
    if (error instanceof EmbeddingProviderError && error.rateLimited) {
      const waitMs = error.retryAfterMs ?? backoffMs(provider, 1);
      this.pausedUntil = Date.now() + waitMs;
      this.logger?.warn({ waitMs }, 'embedding provider: rate limited (429); waiting as asked');
      await withWorkQueue('embeddings', () =>
        this.prisma.$executeRawUnsafe(
          `UPDATE embedding_jobs SET claimed_by = NULL, claimed_until = NULL, last_error = $3,
             next_attempt_at = now() + make_interval(secs => $4::float8 / 1000)
           WHERE memory_id = ANY($1::text[]) AND claimed_by = $2`,
          ids,
          token,
          reason,
          waitMs,
        ),
      );
      return;
    }
    this.logger?.warn(
      { reason, memories: ids.length },
      'embedding provider: a call failed; its memories wait and retry',
    );
    const exhausted = jobs.filter((job) => job.attempts + 1 >= provider.maxAttempts);
    const retried = jobs.filter((job) => job.attempts + 1 < provider.maxAttempts);
    if (retried.length > 0) {
      await withWorkQueue('embeddings', () =>
        this.prisma.$executeRawUnsafe(
          `UPDATE embedding_jobs j SET attempts = j.attempts + 1, claimed_by = NULL, claimed_until = NULL,
             last_error = $3, next_attempt_at = now() + make_interval(secs => r.wait::float8 / 1000)
           FROM unnest($1::text[], $4::float8[]) AS r(id, wait)
           WHERE j.memory_id = r.id AND j.claimed_by = $2`,
          retried.map((job) => job.memory_id),
          token,
          reason,
          retried.map((job) => backoffMs(provider, job.attempts + 1)),
        ),
      );
    }
    for (const [organizationId, ofOrganization] of byOrganization) {
      const failing = ofOrganization.filter((job) => exhausted.includes(job));
      if (failing.length === 0) continue;
      this.logger?.warn({ organizationId, memories: failing.length, reason }, 'embedding provider: memories FAILED');
      await withOrganization(organizationId, () =>
        this.prisma.$executeRawUnsafe(
          `WITH locked AS (SELECT id FROM memories WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE),
           done AS (
             DELETE FROM embedding_jobs j USING locked l WHERE j.memory_id = l.id AND j.claimed_by = $2
             RETURNING j.memory_id
           )
           UPDATE memories SET embedding_status = 'FAILED', embedding_error = $3
           WHERE id IN (SELECT memory_id FROM done)`,
          failing.map((job) => job.memory_id),
          token,
          `after ${provider.maxAttempts} attempts: ${reason}`,
        ),
      );
    }
  }
}
