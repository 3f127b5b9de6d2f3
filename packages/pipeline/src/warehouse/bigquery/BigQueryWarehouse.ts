import { Effect, Layer } from "effect"
import { EventWarehouse } from "../EventWarehouse.js"
import { EventStore } from "../postgres/EventStore.js"
import { makePostgresWarehouse } from "../postgres/PostgresWarehouse.js"
import { WindowSource } from "../WindowSource.js"
import { BigQueryExport } from "./BigQueryExport.js"

/**
 * The event warehouse of a tenant whose events go to BigQuery: what the PostgreSQL adapter does
 * for the last days (`postgresDays`: the intake's duplicate check, dead letters, the rollup's
 * users), every settle followed by the export of the settled days to the tenant's dataset
 * (`BigQueryExport`), which then empties the older days in PostgreSQL; a key rotation reaches
 * the dataset at once, a forget at the start of the next night. The night's window sums come from BigQuery (`BigQueryWindowSourceLive`).
 */
export const BigQueryWarehouseLive = Layer.effect(
  EventWarehouse,
  Effect.gen(function* () {
    const { rekeyHere, warehouse: postgres } = yield* makePostgresWarehouse
    const bigquery = yield* BigQueryExport
    // An intake's settle has stored its events either way: a failed export stays pending for the
    // next load, and is logged; a night's settle (`BigQueryWindowSourceLive`) fails instead.
    const logged = (what: string) => <A, E>(self: Effect.Effect<A, E>) =>
      self.pipe(Effect.asVoid, Effect.catchAllCause((cause) => Effect.logWarning(`${what} failed; the next settle tries again`, cause)))
    const exported = <A>(settled: Effect.Effect<A>) =>
      Effect.tap(settled, () => Effect.zipRight(bigquery.flush.pipe(logged("exporting events to BigQuery")), bigquery.trim.pipe(logged("emptying exported days in PostgreSQL"))))
    return {
      ...postgres,
      settle: exported(postgres.settle),
      settleBefore: (day) => exported(postgres.settleBefore(day)),
      dropBefore: (cutoff) => Effect.tap(postgres.dropBefore(cutoff), () => bigquery.dropBefore(cutoff).pipe(Effect.orDie)),
      // The dataset's rows go at the start of the next night (`erase`): counted as queued.
      forget: (userId) => Effect.flatMap(postgres.forget(userId), (here) => Effect.map(bigquery.forget(userId).pipe(Effect.orDie), (queued) => ({ ...here, "bigquery.queued": queued }))),
      // The queued forgets applied first (the night's reads leave them out either way: a failure is logged, not the night's).
      beforeNight: Effect.gen(function* () {
        yield* bigquery.erase.pipe(
          Effect.catchAllCause((cause) => Effect.logError("applying forgets in BigQuery failed; the next night tries again", cause))
        )
        yield* exported(Effect.void)
      }),
      publishResults: ({ date, runId }) => bigquery.publish(runId, date),
      rekey: (next) => Effect.flatMap(rekeyHere(next), (here) => bigquery.rekey(next, here).pipe(Effect.orDie))
    } satisfies EventWarehouse["Type"]
  })
).pipe(Layer.provide(BigQueryExport.Default))

/** The night's window sums are computed in BigQuery from its rollup, once the settled days are exported there. */
export const BigQueryWindowSourceLive = Layer.effect(
  WindowSource,
  Effect.gen(function* () {
    const store = yield* EventStore
    const bigquery = yield* BigQueryExport
    // Everything in BigQuery and rolled up there before the night reads.
    return { settle: Effect.tap(store.settle, () => bigquery.flush.pipe(Effect.orDie)), sums: (w) => bigquery.windowSums(w).pipe(Effect.orDie) }
  })
).pipe(Layer.provide(BigQueryExport.Default))
