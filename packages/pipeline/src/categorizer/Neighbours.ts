import { type CategoryId, idfOf, type Neighbour, profileVector, type SparseVector, type UserId } from "@workcat/core"
import { Effect, Stream } from "effect"
import type { UserApps } from "../warehouse/EventWarehouse.js"

export interface LabeledVector {
  readonly userId: UserId
  readonly category: CategoryId
  readonly vector: SparseVector
}

/**
 * Nearest already-categorized users by cosine similarity, through an inverted index by app:
 * only users sharing at least one app with the query are scored. Postings are typed arrays (12
 * bytes per user and app) and a query's scores live in one reused array, so a tenant's index
 * costs little memory and a query allocates nothing per candidate.
 */
export const makeNeighbourIndex = (labeled: ReadonlyArray<LabeledVector>) => {
  const counts = new Map<string, number>()
  for (const l of labeled) for (const app of l.vector.keys()) counts.set(app, (counts.get(app) ?? 0) + 1)
  const postings = new Map<string, { readonly users: Int32Array; readonly weights: Float64Array; size: number }>()
  for (const [app, count] of counts) postings.set(app, { users: new Int32Array(count), weights: new Float64Array(count), size: 0 })
  labeled.forEach((l, i) => {
    for (const [app, weight] of l.vector) {
      const list = postings.get(app)!
      list.users[list.size] = i
      list.weights[list.size++] = weight
    }
  })
  const scores = new Float64Array(labeled.length)
  const seen = new Uint8Array(labeled.length)
  const touched = new Int32Array(labeled.length)

  const nearest = (vector: SparseVector, k: number, exclude?: UserId): ReadonlyArray<Neighbour> => {
    // Candidates in the order they were first reached, as ties are broken by it.
    let reached = 0
    for (const [app, weight] of vector) {
      const list = postings.get(app)
      if (list === undefined) continue
      for (let j = 0; j < list.size; j++) {
        const i = list.users[j]!
        if (seen[i] === 0) {
          seen[i] = 1
          scores[i] = 0
          touched[reached++] = i
        }
        scores[i] = scores[i]! + weight * list.weights[j]!
      }
    }
    const top: Array<Neighbour> = []
    for (let t = 0; t < reached; t++) {
      const i = touched[t]!
      seen[i] = 0
      const l = labeled[i]!
      const similarity = scores[i]!
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

/**
 * The neighbour index of a night, and the apps' IDF, from every active user's apps (see
 * `EventWarehouse.appActivity`), read once as a stream: each app's user count for the IDF, and the
 * categorized users' active days per app, from which their `profileVector`s are built at the end.
 */
export const neighbourIndexFrom = <E, R>(users: Stream.Stream<UserApps, E, R>) =>
  Effect.gen(function* () {
    const appUsers = new Map<string, number>()
    const labeled: Array<{ readonly userId: UserId; readonly category: CategoryId; readonly apps: UserApps["apps"] }> = []
    const population = yield* Stream.runFold(users, 0, (n, u) => {
      for (const a of u.apps) appUsers.set(a.app, (appUsers.get(a.app) ?? 0) + 1)
      if (u.category !== null) labeled.push({ userId: u.userId, category: u.category, apps: u.apps })
      return n + 1
    })
    const idf = idfOf(population, appUsers)
    const index = makeNeighbourIndex(
      labeled.map((l) => ({ userId: l.userId, category: l.category, vector: profileVector({ apps: l.apps }, idf) }))
    )
    return { idf, index } as const
  })
