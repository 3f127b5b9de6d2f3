import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import { EventWarehouse, ValuesRefused, WarehouseError } from "../EventWarehouse.js"
import { EventStore } from "../EventStore.js"
import { Profiles } from "../Profiles.js"

const sqlState = (e: SqlError) => (e.cause as { code?: string } | undefined)?.code

/** PostgreSQL refused a value: data exceptions (22), constraints (23), limits such as index row size (54). */
const refusal = (e: SqlError) => {
  const code = sqlState(e) ?? ""
  return /^(22|23|54)/.test(code) ? new ValuesRefused({ code }) : new WarehouseError({ cause: e })
}
const failure = (e: SqlError) => new WarehouseError({ cause: e })

/** The event warehouse in the tenant's PostgreSQL schema: day-partitioned `sso_events` and the `user_app_daily` rollup. */
export const PostgresWarehouseLive = Layer.effect(
  EventWarehouse,
  Effect.gen(function* () {
    const store = yield* EventStore
    const profiles = yield* Profiles
    return {
      append: (events) => store.insert(events).pipe(Effect.mapError(refusal)),
      knownDays: store.hasDay,
      prepareDays: (days) => store.ensureDays(days).pipe(Effect.mapError(failure)),
      settle: store.settle,
      dropBefore: store.dropBefore,
      profiles: profiles.load
    }
  })
)
