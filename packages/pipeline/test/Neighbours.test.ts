import { describe, expect, it } from "@effect/vitest"
import { type AppKey, type CategoryId, cosine, idfOf, normalize, profileVector, type SparseVector, type UserId } from "@workcat/core"
import { Effect, Stream } from "effect"
import { type LabeledVector, makeNeighbourIndex, neighbourIndexFrom } from "../src/categorizer/Neighbours.js"
import type { UserApps } from "../src/warehouse/EventWarehouse.js"

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * A tenant's vectors with the shape that makes pruning matter: four apps nearly everyone uses,
 * up to four of 30 team apps each (weighing more), some people with identical vectors (exact ties).
 */
const tenant = (people: number, next: () => number): Array<LabeledVector> => {
  const out: Array<LabeledVector> = []
  for (let p = 0; p < people; p++) {
    if (p > 0 && next() < 0.1) {
      out.push({ ...out[Math.floor(next() * out.length)]!, userId: `u_${p}` as UserId })
      continue
    }
    const v = new Map<string, number>()
    for (const app of ["slack", "zoom", "gmail", "okta"]) if (next() < 0.95) v.set(app, 0.2 + next() * 1.5)
    const team = Math.floor(next() * 10)
    for (let a = Math.floor(next() * 5); a > 0; a--) v.set(`team_${(team * 3 + Math.floor(next() * 6)) % 30}`, 1 + next() * 3)
    if (v.size === 0) v.set("slack", 1)
    out.push({ userId: `u_${p}` as UserId, category: `c${team}` as CategoryId, vector: normalize(v) })
  }
  return out
}

/** Every labeled user scored, best first, ties by their place in the index. */
const bruteForce = (labeled: ReadonlyArray<LabeledVector>, query: SparseVector, k: number, exclude?: UserId) =>
  labeled
    .map((l, i) => ({ i, userId: l.userId, similarity: cosine(query, l.vector) }))
    .filter((s) => s.similarity > 0 && s.userId !== exclude)
    .sort((a, b) => b.similarity - a.similarity || a.i - b.i)
    .slice(0, k + 1)

describe("the neighbour index", () => {
  it("finds exactly the k most similar users a scan of everyone finds, pruning or not", () => {
    const next = random(7)
    const labeled = tenant(3_000, next)
    const index = makeNeighbourIndex(labeled)
    for (let q = 0; q < 200; q++) {
      const k = [1, 5, 20][q % 3]!
      const me = labeled[Math.floor(next() * labeled.length)]!
      const exclude = q % 2 === 0 ? me.userId : undefined
      // A colleague's vector, or one whose team app weighs little beside the apps everybody uses.
      const query = q % 4 < 2 ? me.vector : normalize(new Map([["slack", 1 + next()], ["zoom", next()], [`team_${q % 30}`, next() * 0.5]]))
      const found = index.nearest(query, k, exclude)
      const expected = bruteForce(labeled, query, k, exclude)
      expect(found.map((n) => n.similarity)).toEqual(expected.slice(0, k).map((e) => expect.closeTo(e.similarity, 12)))
      // The same people, wherever the k-th and the next are not a tie (sums taken in another order may differ in the last bit).
      const boundary = expected.length <= k || expected[k - 1]!.similarity - expected[k]!.similarity > 1e-12
      if (boundary) expect(new Set(found.map((n) => n.userId))).toEqual(new Set(expected.slice(0, k).map((e) => e.userId)))
    }
  })

  it("keeps walking the common apps while someone reached only through them can still outrank the best so far", () => {
    // The team app can add the most (0.6), so it is taken first and reaches only the teammate;
    // the two common apps together can still add 0.8, and the colleague who uses only them scores 0.8.
    const teammate = { userId: "u_team" as UserId, category: "design" as CategoryId, vector: normalize(new Map([["figma", 1]])) }
    const others = ["u_x", "u_y"].map((userId) => ({
      userId: userId as UserId,
      category: "sales" as CategoryId,
      vector: normalize(new Map([["slack", 1], ["zoom", 1]]))
    }))
    const query = normalize(new Map([["figma", 0.6], ["slack", 0.566], ["zoom", 0.566]]))
    const [first] = makeNeighbourIndex([teammate, ...others]).nearest(query, 1)
    expect(first?.userId).toBe("u_x")
    expect(first?.similarity).toBeCloseTo(cosine(query, others[0]!.vector), 12)
  })

  it("breaks a tie between identical colleagues by their place in the index", () => {
    const v = normalize(new Map([["figma", 2], ["slack", 1]]))
    const labeled = ["u_a", "u_b", "u_c"].map((userId) => ({ userId: userId as UserId, category: "design" as CategoryId, vector: v }))
    expect(makeNeighbourIndex(labeled).nearest(v, 2).map((n) => n.userId)).toEqual(["u_a", "u_b"])
    expect(makeNeighbourIndex(labeled).nearest(v, 2, "u_a" as UserId).map((n) => n.userId)).toEqual(["u_b", "u_c"])
  })

  it.effect("built from a night's app activity: the IDF of every active user, the index of the categorized ones", () =>
    Effect.gen(function* () {
      const next = random(11)
      const activity: Array<UserApps> = Array.from({ length: 400 }, (_, p) => ({
        userId: `u_${p}` as UserId,
        category: next() < 0.2 ? null : (`c${p % 5}` as CategoryId),
        apps: ["slack", "zoom", `team_${p % 5}`, `team_${(p * 7) % 13}`]
          .filter((_, a) => a === 0 || next() < 0.7)
          .map((app) => ({ app: app as AppKey, activeDays: 1 + Math.floor(next() * 60) }))
      }))
      const { idf, index } = yield* neighbourIndexFrom(Stream.fromIterable(activity))
      const users = new Map<string, number>()
      for (const u of activity) for (const a of u.apps) users.set(a.app, (users.get(a.app) ?? 0) + 1)
      expect(idf).toEqual(idfOf(activity.length, users))
      const labeled = activity.flatMap((u) => (u.category === null ? [] : [{ userId: u.userId, category: u.category, vector: profileVector(u, idf) }]))
      expect(index.size).toBe(labeled.length)
      for (const u of activity.slice(0, 50)) {
        const query = profileVector(u, idf)
        expect(index.nearest(query, 5, u.userId)).toEqual(makeNeighbourIndex(labeled).nearest(query, 5, u.userId))
      }
    }))

  it.effect("learns the role centroids from every active user, categorized or not", () =>
    Effect.gen(function* () {
      const activity: Array<UserApps> = Array.from({ length: 40 }, (_, p) => ({
        userId: `u_${p}` as UserId,
        category: p < 5 ? ("customer_support" as CategoryId) : null,
        apps: [
          { app: "slack" as AppKey, activeDays: 40 },
          { app: (p % 2 === 0 ? "zendesk" : "salesforce") as AppKey, activeDays: 30 },
          ...(p % 2 === 0 ? [{ app: "acme_console" as AppKey, activeDays: 20 }] : [])
        ]
      }))
      const { roleCentroids: centroids } = yield* neighbourIndexFrom(Stream.fromIterable(activity))
      // The uncategorized users of the in-house console (with zendesk: support, by the archetypes) make it support's app, nobody else's…
      const console = [...centroids].map(([category, c]) => [category, c.get("acme_console") ?? 0] as const).sort((a, b) => b[1] - a[1])
      expect(console[0]![0]).toBe("customer_support")
      expect(console[1]![1]).toBeLessThan(console[0]![1] / 10)
      // …and the two salesforce users categorized in support count for it, whatever the archetypes say of salesforce.
      expect(centroids.get("customer_support" as CategoryId)!.get("salesforce")).toBeGreaterThan(0)
    }))
})
