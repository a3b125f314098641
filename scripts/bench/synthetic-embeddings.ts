/**
 * The benches' synthetic embeddings (search-scale, search-tenants): 384 numbers (all-MiniLM-L6-v2's
 * size), each around the centre of a numbered cluster with seeded noise, as a real store's
 * embeddings cluster by topic. One formula, in TypeScript for query vectors and in SQL for the
 * stored ones, so that a query near cluster c is near the memories filled for cluster c.
 */
export const SYNTHETIC_DIMENSIONS = 384;
export const SYNTHETIC_MODEL = 'bench-synthetic';

/**
 * Cluster `c`'s centre is a sine over the components at phase `c` × this. Two centres' cosine is
 * about the cosine of their phases' difference: clusters a multiple of 2π apart in phase are one
 * (0 and 9 nearly), and those π/2 apart or more share nothing.
 */
const PHASE_STEP = 0.7;

/** The (fractional) cluster whose centre has this phase. */
export function clusterAtPhase(phase: number): number {
  return phase / PHASE_STEP;
}

/** Component `j` (1-based) of cluster `c`'s centre: the same formula as `clusterVectorSql`'s. */
function centre(cluster: number): number[] {
  return Array.from({ length: SYNTHETIC_DIMENSIONS }, (_, index) =>
    Math.sin(cluster * PHASE_STEP + (index + 1) * 0.31),
  );
}

/** A query near cluster `c`'s centre, with noise from a fixed sequence so every run asks the same. */
export function queryVector(cluster: number): number[] {
  return centre(cluster).map((value, index) => value + 0.2 * Math.sin(cluster * 13.1 + index * 1.7));
}

/**
 * SQL for a stored vector near the centre of the cluster that `clusterSql` evaluates to, with noise
 * from random() (seed it with `SELECT setseed(…)` for the same vectors on every run).
 * `dimensionsSql` is the bind parameter (or literal) of SYNTHETIC_DIMENSIONS.
 */
export function clusterVectorSql(clusterSql: string, dimensionsSql: string): string {
  return `(SELECT array_agg(sin((${clusterSql}) * ${PHASE_STEP} + j * 0.31) + 0.4 * (random() - 0.5) ORDER BY j)
           FROM generate_series(1, ${dimensionsSql}) AS j)::vector`;
}
