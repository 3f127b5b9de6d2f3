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
