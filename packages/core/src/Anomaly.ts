import { type AppProfile, cosine, DEFAULT_IDF, normalize, type SparseVector } from "./Profile.js"

/**
 * A profile's app mix as a unit vector: each app's share of the accesses, weighted by IDF.
 * Shares (not active days) so that a shift in where the time goes shows even among the same apps.
 */
export const mixVector = (p: AppProfile, idf: ReadonlyMap<string, number>): SparseVector => {
  const v = new Map<string, number>()
  for (const a of p.apps) v.set(a.app, a.accesses * (idf.get(a.app) ?? DEFAULT_IDF))
  return normalize(v)
}

/** The mean direction of some unit vectors (a category's typical app mix), itself of unit length. */
export const centroid = (vectors: Iterable<SparseVector>): SparseVector => {
  const sum = new Map<string, number>()
  for (const v of vectors) for (const [k, x] of v) sum.set(k, (sum.get(k) ?? 0) + x)
  return normalize(sum)
}

/**
 * How far a user's recent app mix moved, from 0 (same mix) to 1 (nothing in common): the larger
 * of its cosine distance to the user's own baseline (the weeks before), and how much further from
 * their category's centroid it is than the baseline was (someone always a little unusual for their
 * category is not drifting; someone moving away from it is).
 */
export const driftScore = (recent: SparseVector, baseline: SparseVector, categoryCentroid: SparseVector | undefined): number =>
  Math.max(
    1 - cosine(recent, baseline),
    categoryCentroid === undefined ? 0 : cosine(baseline, categoryCentroid) - cosine(recent, categoryCentroid)
  )
