import { type Archetype, type Archetypes, type CategoryId, cosine, type Neighbour, normalize, type ScoredCategory, type SparseVector } from "@workcat/core"

/** Version of the offline model, recorded with every result it produces. */
export const OFFLINE_MODEL = "offline-knn/2"

export interface ModelOptions {
  /** Softmax temperature over archetype similarities: lower is more decisive. */
  readonly temperature: number
  /** How many neighbours vote. */
  readonly k: number
  /** The most weight the neighbours' vote gets against the archetypes'. */
  readonly maxNeighbourWeight: number
  /** Softmax temperature over the profile's cosine similarities to the tenant's category centroids (see `RoleCentroids`). */
  readonly tenantTemperature: number
  /** The weight of the tenant's centroids against the archetypes', when there are any. */
  readonly tenantWeight: number
}

export const defaultModelOptions: ModelOptions = {
  temperature: 0.04,
  k: 9,
  maxNeighbourWeight: 0.6,
  tenantTemperature: 0.05,
  tenantWeight: 0.8
}

/**
 * Cosine similarity between a profile and an archetype, where each slot of the archetype is
 * matched by the best of its interchangeable apps (a GitHub shop and a GitLab shop look alike).
 */
export const archetypeSimilarity = (vector: SparseVector, archetype: Archetype): { score: number; evidence: Array<[string, number]> } => {
  let dot = 0
  let norm = 0
  const evidence: Array<[string, number]> = []
  for (const slot of archetype.slots) {
    norm += slot.weight * slot.weight
    let best = 0
    let bestApp: string | undefined
    for (const app of slot.apps) {
      const x = vector.get(app) ?? 0
      if (x > best) {
        best = x
        bestApp = app
      }
    }
    if (bestApp !== undefined) {
      dot += slot.weight * best
      evidence.push([bestApp, slot.weight * best])
    }
  }
  return { score: norm === 0 ? 0 : dot / Math.sqrt(norm), evidence: evidence.sort((a, b) => b[1] - a[1]) }
}

const softmax = (scores: ReadonlyArray<number>, temperature: number): Array<number> => {
  const max = Math.max(...scores)
  const exp = scores.map((s) => Math.exp((s - max) / temperature))
  const total = exp.reduce((a, b) => a + b, 0)
  return exp.map((e) => e / total)
}

/**
 * What the tenant's own users say about its apps: per category, the centroid (a unit vector) of
 * its users' profiles here. A categorized user counts for their category; any other for each
 * category by the probability the archetypes give it (one step of soft k-means seeded by the
 * archetypes). A centroid weighs the apps by how much of its users' activity they carry in this
 * tenant, IDF-weighted like the profiles: the in-house tool only one team opens, the deploy
 * console SREs live in and backend engineers only visit, apps the catalog does not know at all;
 * so a profile's cosine to the centroids separates neighbouring roles by what sets them apart
 * here, where the archetypes (written for every company) see two similar mixes.
 */
export type RoleCentroids = ReadonlyMap<CategoryId, SparseVector>

/** A category's share of an uncategorized user below this adds nothing to its centroid (it would not move it). */
const NEGLIGIBLE = 1e-4

/**
 * Learns the tenant's role centroids from its users, visited once by `each` (see `RoleCentroids`):
 * linear in the tenant's (user, app) pairs, times the categories an uncategorized user may be in.
 */
export const learnRoleCentroids = (
  each: (visit: (category: CategoryId | null, vector: SparseVector) => void) => void,
  archetypes: Archetypes,
  options: ModelOptions = defaultModelOptions
): RoleCentroids => {
  const candidates = archetypes.archetypes
  const known = new Set<string>(candidates.map((a) => a.category))
  const sums = new Map<CategoryId, Map<string, number>>()
  const add = (category: CategoryId, weight: number, vector: SparseVector) => {
    let sum = sums.get(category)
    if (sum === undefined) sums.set(category, (sum = new Map()))
    for (const [app, x] of vector) sum.set(app, (sum.get(app) ?? 0) + weight * x)
  }
  each((category, vector) => {
    if (category !== null && known.has(category)) return add(category, 1, vector)
    const shares = softmax(candidates.map((a) => archetypeSimilarity(vector, a).score), options.temperature)
    shares.forEach((share, c) => share >= NEGLIGIBLE && add(candidates[c]!.category, share, vector))
  })
  return new Map([...sums].map(([category, sum]) => [category, normalize(sum)]))
}

export interface ModelOutput {
  readonly category: CategoryId
  readonly confidence: number
  readonly alternatives: ReadonlyArray<ScoredCategory>
  readonly evidenceApps: ReadonlyArray<string>
  readonly archetypeScore: number
  /** Neighbours that agree with the chosen category. */
  readonly agreeing: number
}

/**
 * The offline categorizer: a probability per category from the profile's similarity to each
 * role archetype and (given them) to the tenant's own role centroids,
 * blended with the similarity-weighted vote of the nearest categorized colleagues (their weight
 * grows with how close they are, up to `maxNeighbourWeight`).
 */
export const categorize = (
  vector: SparseVector,
  archetypes: Archetypes,
  allowed: ReadonlyArray<CategoryId>,
  neighbours: ReadonlyArray<Neighbour>,
  options: ModelOptions = defaultModelOptions,
  centroids?: RoleCentroids
): ModelOutput => {
  const candidates = archetypes.archetypes.filter((a) => allowed.includes(a.category))
  const similarities = candidates.map((a) => archetypeSimilarity(vector, a))
  let prior = softmax(similarities.map((s) => s.score), options.temperature)

  if (centroids !== undefined && centroids.size > 0) {
    // A category nobody here is in yet competes with its archetype, so a new role is still seen.
    const nearness = candidates.map((a, j) => {
      const centroid = centroids.get(a.category)
      return centroid === undefined ? similarities[j]!.score : cosine(vector, centroid)
    })
    const fromTenant = softmax(nearness, options.tenantTemperature)
    prior = prior.map((p, j) => (1 - options.tenantWeight) * p + options.tenantWeight * fromTenant[j]!)
  }

  const voters = neighbours.slice(0, options.k)
  const vote = new Map<string, number>()
  let voteTotal = 0
  for (const n of voters) {
    const w = Math.max(0, n.similarity) ** 2
    vote.set(n.category, (vote.get(n.category) ?? 0) + w)
    voteTotal += w
  }
  const closeness = voters.length === 0 ? 0 : voters.reduce((acc, n) => acc + Math.max(0, n.similarity), 0) / options.k
  const alpha = voteTotal === 0 ? 0 : options.maxNeighbourWeight * Math.min(1, closeness)
  const scores = candidates.map((a, i) => (1 - alpha) * prior[i]! + (alpha * (vote.get(a.category) ?? 0)) / (voteTotal || 1))
  const ranked = candidates.map((a, i) => ({ category: a.category, score: scores[i]! })).sort((a, b) => b.score - a.score)
  const best = ranked[0]!
  const bestIndex = candidates.findIndex((a) => a.category === best.category)
  return {
    category: best.category,
    confidence: Math.min(1, Math.max(0, best.score)),
    alternatives: ranked.slice(1, 4),
    evidenceApps: similarities[bestIndex]!.evidence.slice(0, 5).map(([app]) => app),
    archetypeScore: similarities[bestIndex]!.score,
    agreeing: voters.filter((n) => n.category === best.category).length
  }
}
