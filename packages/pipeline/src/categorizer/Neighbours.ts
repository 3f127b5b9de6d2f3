import type { CategoryId, Neighbour, SparseVector, UserId } from "@workcat/core"

export interface LabeledVector {
  readonly userId: UserId
  readonly category: CategoryId
  readonly vector: SparseVector
}

/**
 * Nearest already-categorized users by cosine similarity, through an inverted index by app:
 * only users sharing at least one app with the query are scored.
 */
export const makeNeighbourIndex = (labeled: ReadonlyArray<LabeledVector>) => {
  const postings = new Map<string, Array<readonly [number, number]>>()
  labeled.forEach((l, i) => {
    for (const [app, weight] of l.vector) {
      const list = postings.get(app)
      if (list) list.push([i, weight])
      else postings.set(app, [[i, weight]])
    }
  })

  const nearest = (vector: SparseVector, k: number, exclude?: UserId): ReadonlyArray<Neighbour> => {
    const scores = new Map<number, number>()
    for (const [app, weight] of vector) {
      for (const [i, w] of postings.get(app) ?? []) scores.set(i, (scores.get(i) ?? 0) + weight * w)
    }
    const top: Array<Neighbour> = []
    for (const [i, similarity] of scores) {
      const l = labeled[i]!
      if (l.userId === exclude) continue
      if (top.length < k || similarity > top[top.length - 1]!.similarity) {
        top.push({ userId: l.userId, category: l.category, similarity })
        top.sort((a, b) => b.similarity - a.similarity)
        if (top.length > k) top.pop()
      }
    }
    return top
  }

  return { size: labeled.length, nearest } as const
}
