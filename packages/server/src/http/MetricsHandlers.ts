import { HttpApiBuilder } from "@effect/platform"
import { Metrics } from "@workcat/pipeline"
import { Effect, Layer } from "effect"
import { WorkcatApi } from "../Api.js"
import { TenantServices, withTenant } from "../TenantServices.js"

export const MetricsLive = HttpApiBuilder.group(WorkcatApi, "metrics", (handlers) =>
  handlers.handle("productivity", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const groupBy = urlParams.groupBy ?? "department"
      const snapshot = yield* metrics.snapshot(groupBy, urlParams.asOf)
      return { ...snapshot, groupBy }
    }).pipe(withTenant(path.tenant))
  )
).pipe(Layer.provide(TenantServices.Default))
