import { HttpApiBuilder } from "@effect/platform"
import { formatParseError } from "@workcat/core"
import { changedSettings, patchSettings, TenantRegistry } from "@workcat/tenancy"
import { Effect, Either } from "effect"
import { BadRequest, WorkcatApi } from "../Api.js"
import { FreshSettings } from "../Fresh.js"
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
        const registry = yield* TenantRegistry
        // Who may sign in, and as what, is the operator's to set (`workcat tenants sign-in`): an
        // admin must not map itself to hr_admin, nor point the sign-in at a provider of its own.
        if (payload.oidc !== undefined) {
          return yield* new BadRequest({ message: "oidc: sign-in is set with `workcat tenants sign-in`, not over the API" })
        }
        // The payload is valid on its own; a rule between a field it changes and one it leaves is checked here.
        const patched = patchSettings((yield* registry.get(path.tenant).pipe(Effect.orDie)).settings, payload)
        if (Either.isLeft(patched)) return yield* new BadRequest({ message: formatParseError(patched.left) })
        const settings = yield* registry.update(path.tenant, payload).pipe(Effect.orDie)
        yield* Effect.flatMap(FreshSettings, (f) => f.changed(path.tenant))
        yield* audit("tenant.settings.update", { changed: changedSettings(payload) })
        return settings
      }).pipe(forTenant(path.tenant, "settings:write"))
    )
)
