import { HttpApiBuilder } from "@effect/platform"
import { Metrics } from "@workcat/pipeline"
import { TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { WorkcatApi } from "../Api.js"
import { forTenant } from "../TenantServices.js"

export const MetricsLive = HttpApiBuilder.group(WorkcatApi, "metrics", (handlers) =>
  handlers.handle("productivity", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const groupBy = urlParams.groupBy ?? "department"
      // Settings are read fresh: the tenant's layer is cached, a privacy setting must apply at once.
      const { settings } = yield* Effect.flatMap(TenantRegistry, (r) => r.get(path.tenant)).pipe(Effect.orDie)
      const snapshot = yield* Effect.flatMap(Metrics, (m) => m.snapshot(groupBy, { asOf: urlParams.asOf, privacy: settings }))
      const cost = settings.loadedCostPerHour
      return {
        ...snapshot,
        groupBy,
        loadedCostPerHour: cost,
        groups: snapshot.groups.map((g) => ({ ...g, wasteCostUsd: (g.authWasteHours + g.contextSwitchWasteHours) * cost }))
      }
    }).pipe(forTenant(path.tenant, "metrics:read"))
  )
)
