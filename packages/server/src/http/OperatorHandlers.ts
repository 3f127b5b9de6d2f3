import { HttpApiBuilder } from "@effect/platform"
import { FleetHealth } from "@workcat/pipeline"
import { can } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { FleetOverview, WorkcatApi } from "../Api.js"
import { auditDenied, CurrentPrincipal, Forbidden } from "../Auth.js"
import { encodedJson, freshCache, jsonResponse } from "../Fresh.js"

const encodeFleet = encodedJson(FleetOverview)

export const OperatorLive = HttpApiBuilder.group(WorkcatApi, "operator", (handlers) =>
  Effect.gen(function* () {
    const health = yield* FleetHealth
    // However many operators look, the fleet is read at most once per `FRESH` (from the control plane only).
    const fleet = yield* freshCache(
      (_: "fleet") =>
        Effect.gen(function* () {
          const at = new Date()
          return yield* encodeFleet({ slaHours: health.slaHours, at, tenants: yield* health.overview(at) })
        }),
      { capacity: 1 }
    )
    return handlers.handle("tenants", () =>
      Effect.gen(function* () {
        const principal = yield* CurrentPrincipal
        if (!can(principal.role, "operator:read")) {
          yield* auditDenied({ status: 403, reason: "role lacks operator:read" })
          return yield* new Forbidden({ message: `The ${principal.role} role may not read the operators' view` })
        }
        return jsonResponse(yield* fleet.get("fleet"))
      })
    )
  })
).pipe(Layer.provide(FleetHealth.Default))
