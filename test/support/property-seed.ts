/**
 * The seed of a generated-input test: PROPERTY_SEED when set (to replay a failure), else a new one.
 * It is printed before the run, so that a failure in CI can be replayed from its log.
 */
export function propertySeed(name: string): number {
  const given = process.env.PROPERTY_SEED;
  const seed = given === undefined || given === '' ? Math.floor(Math.random() * 2 ** 31) : Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`PROPERTY_SEED must be an integer, not ${given}`);
  console.info(`${name}: property seed ${seed} (replay with PROPERTY_SEED=${seed})`);
  return seed;
}
