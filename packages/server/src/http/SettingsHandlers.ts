import { HttpApiBuilder } from "@effect/platform"
import { TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { WorkcatApi } from "../Api.js"
import { audit, forTenant } from "../TenantServices.js"

export const SettingsLive = HttpApiBuilder.group(WorkcatApi, "settings", (handlers) =>
  handlers
    .handle("get", ({ path }) =>
      Effect.flatMap(TenantRegistry, (r) => r.get(path.tenant)).pipe(
        Effect.map((t) => t.settings),
        Effect.orDie,
        forTenant(path.tenant, "settings:read")
      )
    )
    .handle("update", ({ path, payload }) =>
      Effect.gen(function* () {
        const settings = yield* Effect.flatMap(TenantRegistry, (r) => r.update(path.tenant, payload)).pipe(Effect.orDie)
        yield* audit("tenant.settings.update", { changed: Object.keys(payload) })
        return settings
      }).pipe(forTenant(path.tenant, "settings:write"))
    )
)
