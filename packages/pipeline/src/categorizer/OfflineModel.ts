import type { Archetype, Archetypes, CategoryId, Neighbour, ScoredCategory, SparseVector } from "@workcat/core"

/** Version of the offline model, recorded with every result it produces. */
export const OFFLINE_MODEL = "offline-knn/1"

export interface ModelOptions {
  /** Softmax temperature over archetype similarities: lower is more decisive. */
  readonly temperature: number
  /** How many neighbours vote. */
  readonly k: number
  /** The most weight the neighbours' vote gets against the archetypes'. */
  readonly maxNeighbourWeight: number
}

export const defaultModelOptions: ModelOptions = { temperature: 0.04, k: 9, maxNeighbourWeight: 0.6 }

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
 * role archetype, blended with the similarity-weighted vote of the nearest categorized
 * colleagues (their weight grows with how close they are, up to `maxNeighbourWeight`).
 */
export const categorize = (
  vector: SparseVector,
  archetypes: Archetypes,
  allowed: ReadonlyArray<CategoryId>,
  neighbours: ReadonlyArray<Neighbour>,
  options: ModelOptions = defaultModelOptions
): ModelOutput => {
  const candidates = archetypes.archetypes.filter((a) => allowed.includes(a.category))
  const similarities = candidates.map((a) => archetypeSimilarity(vector, a))
  const fromArchetypes = softmax(similarities.map((s) => s.score), options.temperature)

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

  const probabilities = candidates.map((a, i) => ({
    category: a.category,
    score: (1 - alpha) * fromArchetypes[i]! + (alpha * (vote.get(a.category) ?? 0)) / (voteTotal || 1)
  }))
  const ranked = [...probabilities].sort((a, b) => b.score - a.score)
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
