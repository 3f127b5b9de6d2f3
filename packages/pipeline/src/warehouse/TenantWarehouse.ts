import { BigQueryWarehouse, CurrentTenant, type WarehouseSettings } from "@workcat/tenancy"
import { Config, Context, Effect, Layer, Schema } from "effect"

/** Where the current tenant's events live: its own setting, or the process's default. */
export class TenantWarehouse extends Context.Tag("workcat/TenantWarehouse")<TenantWarehouse, WarehouseSettings>() {}

/**
 * The tenant's `warehouse` setting; without one, `WORKCAT_WAREHOUSE` (`postgres`, the default, or
 * `bigquery` with `WORKCAT_BQ_PROJECT`, `WORKCAT_BQ_LOCATION` and the dataset `workcat_<tenant>`).
 */
export const TenantWarehouseLive = Layer.effect(
  TenantWarehouse,
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    if (tenant.settings.warehouse !== null) return tenant.settings.warehouse
    const kind = yield* Config.literal("postgres", "bigquery")("WORKCAT_WAREHOUSE").pipe(Config.withDefault("postgres" as const))
    if (kind === "postgres") return { kind }
    const project = yield* Config.string("WORKCAT_BQ_PROJECT")
    const location = yield* Config.string("WORKCAT_BQ_LOCATION")
    return yield* Schema.decodeUnknown(BigQueryWarehouse)({ kind, project, location, dataset: `workcat_${tenant.id}` })
  }).pipe(Effect.orDie)
)

