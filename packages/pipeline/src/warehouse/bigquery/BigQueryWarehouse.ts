import { Effect, Layer } from "effect"
import { EventWarehouse } from "../EventWarehouse.js"
import { EventStore } from "../postgres/EventStore.js"
import { makePostgresWarehouse } from "../postgres/PostgresWarehouse.js"
import { WindowSource } from "../WindowSource.js"
import { BigQueryExport } from "./BigQueryExport.js"

/**
 * The event warehouse of a tenant whose events go to BigQuery: what the PostgreSQL adapter does
 * (the intake's duplicate check and the nightly's reads stay there for now), and every settle
 * followed by the export of the settled days to the tenant's dataset (`BigQueryExport`); a forget
 * and a key rotation reach the dataset too.
 */
export const BigQueryWarehouseLive = Layer.effect(
  EventWarehouse,
  Effect.gen(function* () {
    const postgres = yield* makePostgresWarehouse
    const bigquery = yield* BigQueryExport
    // An intake's settle has stored its events either way: a failed export stays pending for the
    // next load, and is logged; a night's settle (`BigQueryWindowSourceLive`) fails instead.
    const exported = <A>(settled: Effect.Effect<A>) =>
      Effect.tap(settled, () =>
        bigquery.flush.pipe(Effect.catchAllCause((cause) => Effect.logWarning("exporting events to BigQuery failed; the next load tries again", cause)))
      )
    return {
      ...postgres,
      settle: exported(postgres.settle),
      settleBefore: (day) => exported(postgres.settleBefore(day)),
      dropBefore: (cutoff) => Effect.tap(postgres.dropBefore(cutoff), () => bigquery.dropBefore(cutoff).pipe(Effect.orDie)),
      forget: (userId) => Effect.tap(postgres.forget(userId), () => bigquery.forget(userId).pipe(Effect.orDie)),
      publishResults: ({ date, runId }) => bigquery.publish(runId, date),
      rekey: (next) =>
        Effect.tap(postgres.rekey(next), (changed) => bigquery.rekey([...changed].map((old) => ({ old, new: next(old) }))).pipe(Effect.orDie))
    } satisfies EventWarehouse["Type"]
  })
).pipe(Layer.provide(BigQueryExport.Default))

/** The night's window sums are computed in BigQuery from its rollup, once the settled days are exported there. */
export const BigQueryWindowSourceLive = Layer.effect(
  WindowSource,
  Effect.gen(function* () {
    const store = yield* EventStore
    const bigquery = yield* BigQueryExport
    return { settle: Effect.tap(store.settle, () => bigquery.flush.pipe(Effect.orDie)), sums: (w) => bigquery.windowSums(w).pipe(Effect.orDie) }
  })
).pipe(Layer.provide(BigQueryExport.Default))
