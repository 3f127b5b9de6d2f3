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
 *
 * Exact, with max-score pruning: the query's apps are taken by how much they can add at most
 * (the query's weight times the list's largest), and once what the remaining ones can add is
 * below the k-th best score so far, nobody not reached yet can enter the top k: the remaining
 * apps (the ones everybody uses, typically) only complete the scores of those reached, and the
 * top k is chosen among them rather than among the whole tenant. Ties go to the user earlier in
 * the index (the stream's order).
 */
export const makeNeighbourIndex = (labeled: ReadonlyArray<LabeledVector>) => {
  const counts = new Map<string, number>()
  for (const l of labeled) for (const app of l.vector.keys()) counts.set(app, (counts.get(app) ?? 0) + 1)
  const postings = new Map<string, { readonly users: Int32Array; readonly weights: Float64Array; size: number; max: number }>()
  for (const [app, count] of counts) postings.set(app, { users: new Int32Array(count), weights: new Float64Array(count), size: 0, max: 0 })
  labeled.forEach((l, i) => {
    for (const [app, weight] of l.vector) {
      const list = postings.get(app)!
      list.users[list.size] = i
      list.weights[list.size++] = weight
      list.max = Math.max(list.max, weight)
    }
  })
  const scores = new Float64Array(labeled.length)
  const seen = new Uint8Array(labeled.length)
  const touched = new Int32Array(labeled.length)
  /** Whether `a` ranks before `b`: a higher score, or the same and earlier in the index. */
  const before = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b)

  /** The k best of the `reached` users (but `exclude`), best first: a small sorted insertion list. */
  const best = (reached: number, k: number, exclude: UserId | undefined): Array<number> => {
    const top: Array<number> = []
    for (let t = 0; t < reached; t++) {
      const i = touched[t]!
      if ((top.length === k && !before(i, top[k - 1]!)) || labeled[i]!.userId === exclude) continue
      let at = top.length === k ? k - 1 : top.length
      while (at > 0 && before(i, top[at - 1]!)) {
        top[at] = top[at - 1]!
        at--
      }
      top[at] = i
    }
    return top
  }

  const nearest = (vector: SparseVector, k: number, exclude?: UserId): ReadonlyArray<Neighbour> => {
    const terms: Array<{ readonly weight: number; readonly bound: number; readonly list: NonNullable<ReturnType<typeof postings.get>> }> = []
    for (const [app, weight] of vector) {
      const list = postings.get(app)
      if (list !== undefined) terms.push({ weight, bound: weight * list.max, list })
    }
    terms.sort((a, b) => b.bound - a.bound)
    let rest = terms.reduce((acc, t) => acc + t.bound, 0)
    let reached = 0
    let open = true
    for (const { bound, list, weight } of terms) {
      // Before a list longer than the users reached: can anyone not reached still make the top k?
      if (open && k > 0 && list.size > reached) {
        const top = best(reached, k, exclude)
        if (top.length === k && rest < scores[top[k - 1]!]!) open = false
      }
      rest -= bound
      if (open) {
        for (let j = 0; j < list.size; j++) {
          const i = list.users[j]!
          if (seen[i] === 0) {
            seen[i] = 1
            scores[i] = 0
            touched[reached++] = i
          }
          scores[i] = scores[i]! + weight * list.weights[j]!
        }
      } else {
        for (let j = 0; j < list.size; j++) {
          const i = list.users[j]!
          if (seen[i] === 1) scores[i] = scores[i]! + weight * list.weights[j]!
        }
      }
    }
    const top = best(reached, k, exclude)
    for (let t = 0; t < reached; t++) seen[touched[t]!] = 0
    return top.map((i) => ({ userId: labeled[i]!.userId, category: labeled[i]!.category, similarity: scores[i]! }))
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
