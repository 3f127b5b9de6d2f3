import { HttpApiBuilder } from "@effect/platform"
import { DeadLetters, Privacy } from "@workcat/pipeline"
import { AuditLog } from "@workcat/tenancy"
import { Effect } from "effect"
import { WorkcatApi } from "../Api.js"
import { FreshSettings } from "../Fresh.js"
import { audit, forTenant } from "../TenantServices.js"

export const PrivacyLive = HttpApiBuilder.group(WorkcatApi, "privacy", (handlers) =>
  handlers.handle("forget", ({ path, payload }) =>
    Effect.gen(function* () {
      const result = yield* Effect.flatMap(Privacy, (p) => p.forget(payload.login))
      // This server's answers naming the person go at once (other servers' within a second).
      yield* Effect.flatMap(FreshSettings, (f) => f.changed(path.tenant))
      yield* audit("privacy.forget", result)
      return result
    }).pipe(forTenant(path.tenant, "privacy:forget"))
  )
)

export const AuditLive = HttpApiBuilder.group(WorkcatApi, "audit", (handlers) =>
  handlers.handle("list", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const limit = urlParams.limit ?? 100
      const items = yield* Effect.flatMap(AuditLog, (log) => log.page(path.tenant, { limit, before: urlParams.before }))
      // Recorded after the read, so a page never shows its own reading.
      yield* audit("audit.read", { limit, before: urlParams.before ?? null, returned: items.length })
      return { items, next: items.length === limit ? (items[items.length - 1]?.id ?? null) : null }
    }).pipe(forTenant(path.tenant, "audit:read"))
  )
)

export const DeadLettersLive = HttpApiBuilder.group(WorkcatApi, "deadLetters", (handlers) =>
  handlers.handle("counts", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const counts = yield* Effect.flatMap(DeadLetters, (d) => d.counts({ since: urlParams.since, reason: urlParams.reason }))
      return { total: counts.reduce((n, c) => n + c.count, 0), counts }
    }).pipe(forTenant(path.tenant, "deadletters:read"))
  )
)
