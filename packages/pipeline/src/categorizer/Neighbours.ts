import { type AppKey, type CategoryId, DefaultArchetypes, idfOf, type Neighbour, profileVector, type SparseVector, type UserId } from "@workcat/core"
import { Effect, Stream } from "effect"
import { learnRoleCentroids } from "./OfflineModel.js"
import type { UserApps } from "../warehouse/EventWarehouse.js"

export interface LabeledVector {
  readonly userId: UserId
  readonly category: CategoryId
  readonly vector: SparseVector
}

/**
 * Nearest already-categorized users by cosine similarity, through an inverted index by app:
 * only users sharing at least one app with the query are scored. Postings are typed arrays, and
 * so is each user's own list of apps and weights (12 bytes per user and app each); a query's
 * scores live in one reused array, so a tenant's index costs little memory and a query
 * allocates nothing per candidate.
 *
 * Exact, with max-score pruning: the query's apps are taken by how much they can add at most
 * (the query's weight times the list's largest), and once what the remaining ones can add is
 * below the k-th best score so far, nobody not reached yet can enter the top k. Of those
 * reached, only the ones whose score plus what the remaining apps can add still reaches that
 * k-th score can (scores only grow): their scores are completed from their own lists of apps,
 * and the top k is chosen among them, rather than walking the lists of the apps everybody uses
 * (the whole tenant). Ties go to the user earlier in the index (the stream's order).
 */
export const makeNeighbourIndex = (labeled: ReadonlyArray<LabeledVector>) =>
  packIndex((visit) => labeled.forEach((l) => visit(l.userId, l.category, l.vector)))

/**
 * Packs the index from its users, visited twice in the same order (`each` calls `visit` once per
 * user): first to size every array, then to fill them. Nothing but the typed arrays and the
 * users' ids and categories is kept, and nothing grows on the way: a caller can build each
 * vector as it visits and drop it at once.
 */
const packIndex = (each: (visit: (userId: UserId, category: CategoryId, vector: SparseVector) => void) => void) => {
  const appNumbers = new Map<string, number>()
  const sizes: Array<number> = []
  let users = 0
  let entries = 0
  each((_, __, vector) => {
    users++
    for (const app of vector.keys()) {
      let number = appNumbers.get(app)
      if (number === undefined) appNumbers.set(app, (number = sizes.push(0) - 1))
      sizes[number]!++
      entries++
    }
  })
  const postings = sizes.map((size): Postings => ({ users: new Int32Array(size), weights: new Float64Array(size), size: 0, max: 0 }))
  const own: OwnLists = { ends: new Int32Array(users), apps: new Int32Array(entries), weights: new Float64Array(entries) }
  const userIds: Array<UserId> = []
  const categories: Array<CategoryId> = []
  let at = 0
  each((userId, category, vector) => {
    const i = userIds.length
    userIds.push(userId)
    categories.push(category)
    for (const [app, weight] of vector) {
      const number = appNumbers.get(app)!
      const list = postings[number]!
      list.users[list.size] = i
      list.weights[list.size++] = weight
      list.max = Math.max(list.max, weight)
      own.apps[at] = number
      own.weights[at++] = weight
    }
    own.ends[i] = at
  })
  return indexOf(userIds, categories, appNumbers, postings, own)
}

/** The users (by their place in the index) with an app, and their weights for it. */
interface Postings {
  readonly users: Int32Array
  readonly weights: Float64Array
  size: number
  max: number
}

/** Each user's apps (by number) and weights: user `i`'s are at `ends[i - 1]` (0 for the first) up to `ends[i]`. */
interface OwnLists {
  readonly ends: Int32Array
  readonly apps: Int32Array
  readonly weights: Float64Array
}

const indexOf = (
  userIds: ReadonlyArray<UserId>,
  categories: ReadonlyArray<CategoryId>,
  appNumbers: ReadonlyMap<string, number>,
  postings: ReadonlyArray<Postings>,
  own: OwnLists
) => {
  const scores = new Float64Array(userIds.length)
  const seen = new Uint8Array(userIds.length)
  const touched = new Int32Array(userIds.length)
  const contenders = new Int32Array(userIds.length)
  /** The query's weight of each app still to add, while completing scores. */
  const pending = new Float64Array(postings.length)
  /** Whether `a` ranks before `b`: a higher score, or the same and earlier in the index. */
  const before = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b)

  /** The k best of the first `count` users of `among` (but `exclude`), best first: a small sorted insertion list. */
  const best = (among: Int32Array, count: number, k: number, exclude: UserId | undefined): Array<number> => {
    const top: Array<number> = []
    for (let t = 0; t < count; t++) {
      const i = among[t]!
      if ((top.length === k && !before(i, top[k - 1]!)) || userIds[i] === exclude) continue
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
    const terms: Array<{ readonly app: number; readonly weight: number; readonly bound: number }> = []
    for (const [name, weight] of vector) {
      const app = appNumbers.get(name)
      if (app !== undefined) terms.push({ app, weight, bound: weight * postings[app]!.max })
    }
    terms.sort((a, b) => b.bound - a.bound)
    let rest = terms.reduce((acc, t) => acc + t.bound, 0)
    let reached = 0
    let top: Array<number> | undefined
    let next = 0
    for (; next < terms.length; next++) {
      const { app, bound, weight } = terms[next]!
      const list = postings[app]!
      // Before a list longer than the users reached: can anyone not reached still make the top k?
      if (k > 0 && list.size > reached) {
        const sofar = best(touched, reached, k, exclude)
        if (sofar.length === k && rest < scores[sofar[k - 1]!]!) {
          top = sofar
          break
        }
      }
      rest -= bound
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
    if (top !== undefined) {
      // Closed: only those who may still reach the k-th score (a hair below it, for rounding) are completed.
      const floor = scores[top[k - 1]!]! - rest - 1e-12
      let count = 0
      for (let t = 0; t < reached; t++) if (scores[touched[t]!]! >= floor) contenders[count++] = touched[t]!
      for (let t = next; t < terms.length; t++) pending[terms[t]!.app] = terms[t]!.weight
      for (let c = 0; c < count; c++) {
        const i = contenders[c]!
        let score = scores[i]!
        for (let u = i === 0 ? 0 : own.ends[i - 1]!; u < own.ends[i]!; u++) score += pending[own.apps[u]!]! * own.weights[u]!
        scores[i] = score
      }
      for (let t = next; t < terms.length; t++) pending[terms[t]!.app] = 0
      top = best(contenders, count, k, exclude)
    } else top = best(touched, reached, k, exclude)
    for (let t = 0; t < reached; t++) seen[touched[t]!] = 0
    return top.map((i) => ({ userId: userIds[i]!, category: categories[i]!, similarity: scores[i]! }))
  }

  return { size: userIds.length, nearest } as const
}

/**
 * The neighbour index of a night, the apps' IDF and the tenant's role centroids, from every active
 * user's apps (see `EventWarehouse.appActivity`), read once as a stream: each app's user count for
 * the IDF, and every user's active days per app, kept packed (an app number and a day count each)
 * until the IDF is known. Then each user's `profileVector` is built when needed and dropped: for
 * the centroids (`learnRoleCentroids`: every user, once) and, for the categorized
 * users, as the index is packed.
 */
export const neighbourIndexFrom = <E, R>(users: Stream.Stream<UserApps, E, R>) =>
  Effect.gen(function* () {
    const appUsers = new Map<string, number>()
    const appNumbers = new Map<string, number>()
    const apps: Array<AppKey> = []
    const everyone: Array<{ readonly userId: UserId; readonly category: CategoryId | null; readonly from: number; readonly end: number }> = []
    const usedApps: Array<number> = []
    const usedDays: Array<number> = []
    const population = yield* Stream.runFold(users, 0, (n, u) => {
      const from = usedApps.length
      for (const a of u.apps) {
        appUsers.set(a.app, (appUsers.get(a.app) ?? 0) + 1)
        let number = appNumbers.get(a.app)
        if (number === undefined) appNumbers.set(a.app, (number = apps.push(a.app) - 1))
        usedApps.push(number)
        usedDays.push(a.activeDays)
      }
      everyone.push({ userId: u.userId, category: u.category, from, end: usedApps.length })
      return n + 1
    })
    const idf = idfOf(population, appUsers)
    const vectorOf = (u: (typeof everyone)[number]) =>
      profileVector({ apps: Array.from({ length: u.end - u.from }, (_, j) => ({ app: apps[usedApps[u.from + j]!]!, activeDays: usedDays[u.from + j]! })) }, idf)
    const roleCentroids = learnRoleCentroids((visit) => everyone.forEach((u) => visit(u.category, vectorOf(u))), DefaultArchetypes)
    const labeled = everyone.filter((u) => u.category !== null)
    const index = packIndex((visit) => labeled.forEach((u) => visit(u.userId, u.category!, vectorOf(u))))
    return { idf, index, roleCentroids } as const
  })
