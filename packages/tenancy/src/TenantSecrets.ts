import { Effect, Option, Redacted } from "effect"
import { ControlSql } from "./Database.js"
import { MasterKey } from "./MasterKey.js"
import type { TenantId } from "./TenantId.js"

/** The secrets a tenant may hold, by name. */
export type SecretName = "oidc.clientSecret" | `alerts.${string}`

const context = (tenant: TenantId, name: SecretName) => `tenant-secret:${tenant}:${name}`

/**
 * A tenant's secrets apart from its settings (which the API shows): AES-256-GCM under the master
 * key, bound to the tenant and the secret's name, never printed or logged.
 */
export class TenantSecrets extends Effect.Service<TenantSecrets>()("workcat/TenantSecrets", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const box = yield* MasterKey

    const put = Effect.fn("TenantSecrets.put")(function* (tenant: TenantId, name: SecretName, value: Redacted.Redacted<string>) {
      const sealed = box.seal(Buffer.from(Redacted.value(value), "utf8"), context(tenant, name))
      yield* sql`
        INSERT INTO tenant_secrets (tenant, name, sealed) VALUES (${tenant}, ${name}, ${sealed})
        ON CONFLICT (tenant, name) DO UPDATE SET sealed = excluded.sealed, updated_at = now()`.pipe(Effect.orDie)
    })

    const get = Effect.fn("TenantSecrets.get")(function* (tenant: TenantId, name: SecretName) {
      const [row] = yield* sql<{ sealed: string }>`SELECT sealed FROM tenant_secrets WHERE tenant = ${tenant} AND name = ${name}`.pipe(Effect.orDie)
      if (row === undefined) return Option.none<Redacted.Redacted<string>>()
      const opened = yield* box.open(row.sealed, context(tenant, name))
      return Option.some(Redacted.make(Buffer.from(Redacted.value(opened)).toString("utf8")))
    })

    const remove = Effect.fn("TenantSecrets.remove")(function* (tenant: TenantId, name: SecretName) {
      const rows = yield* sql`DELETE FROM tenant_secrets WHERE tenant = ${tenant} AND name = ${name} RETURNING name`.pipe(Effect.orDie)
      return rows.length > 0
    })

    return { put, get, remove } as const
  })
}) {}
