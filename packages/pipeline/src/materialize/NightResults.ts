import * as SqlClient from "@effect/sql/SqlClient"
import { Array as Arr, Effect } from "effect"
import { Checkpoints } from "../durable/Checkpoints.js"
import { EventWarehouse, type NightWindows } from "../warehouse/EventWarehouse.js"
import { EventStore } from "../warehouse/postgres/EventStore.js"
import { type Categorized, CategoryStore } from "./CategoryStore.js"
import { Metrics } from "./Metrics.js"

/** What a night writes: its categorized users, and the metrics of its date. */
export interface Night<A extends Categorized> {
  readonly runId: string
  /** The night's date and windows: the metrics are those of its metrics window. */
  readonly windows: NightWindows
  readonly done: ReadonlyArray<A>
}

/**
 * The night's results, committed together or not at all, under the key version the run used: a
 * person forgotten while the run was categorizing is not brought back (their items go too).
 */
export class NightResults extends Effect.Service<NightResults>()("workcat/NightResults", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore
    const warehouse = yield* EventWarehouse
    const checkpoints = yield* Checkpoints
    const categories = yield* CategoryStore
    const metrics = yield* Metrics

    /** The users stored (without the forgotten ones) and the metric rows written. */
    const commit = <A extends Categorized>(night: Night<A>) =>
      Effect.gen(function* () {
        yield* store.holdKeyVersion
        const users = night.done.map((d) => d.result.userId)
        const present = yield* warehouse.usersWithActivity(users)
        const successes = night.done.filter((d) => present.has(d.result.userId))
        yield* checkpoints.dropItemsOf(users.filter((u) => !present.has(u)))
        const at = new Date()
        yield* Effect.forEach(Arr.chunksOf(successes, 1_000), (chunk) => categories.upsert(chunk, night.runId, at), { discard: true })
        return { successes, metricRows: yield* metrics.materialize(night.windows, night.runId) }
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("NightResults.commit", { attributes: { date: night.windows.date, users: night.done.length } }))

    return { commit } as const
  }),
  dependencies: [Checkpoints.Default, CategoryStore.Default, Metrics.Default]
}) {}
