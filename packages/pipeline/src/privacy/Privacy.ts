import * as SqlClient from "@effect/sql/SqlClient"
import { CurrentTenant, TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { EventStore } from "../warehouse/EventStore.js"
import { PSEUDONYM_COLUMNS } from "./PseudonymousData.js"

export interface ForgetResult {
  /** Identifies the request in the audit log; nothing in it identifies the person. */
  readonly requestId: string
  /** Rows removed per table. */
  readonly deleted: Readonly<Record<string, number>>
}

/**
 * The privacy operations on a tenant's data: forgetting a person, and rotating the
 * pseudonymization key. Both run in one transaction that holds the tenant's key version.
 */
export class Privacy extends Effect.Service<Privacy>()("workcat/Privacy", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tenant = yield* CurrentTenant
    const registry = yield* TenantRegistry
    const store = yield* EventStore

    /** Removes every row about the person with this login: events, rollups, HR, categories. */
    const forget = Effect.fn("Privacy.forget")(function* (login: string) {
      const userId = tenant.pseudonyms.user(login)
      const deleted: Record<string, number> = {}
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* store.holdKeyVersion
          for (const { column, table } of PSEUDONYM_COLUMNS.user) {
            const rows = yield* sql`DELETE FROM ${sql(table)} WHERE ${sql(column)} = ${userId} RETURNING 1`
            deleted[table] = rows.length
          }
        })
      ).pipe(Effect.orDie)
      return { requestId: randomUUID(), deleted } satisfies ForgetResult
    })

    /**
     * Moves the tenant to a new key: every stored pseudonym becomes the HMAC of itself under the
     * new key, so joins survive and the old key alone no longer links a login to a pseudonym.
     * Intake running meanwhile waits, and then stops with a message to re-run it.
     */
    const rotateKey = Effect.fn("Privacy.rotateKey")(function* () {
      const version = yield* registry.appendKey(tenant.id, tenant.keyVersion)
      const rekey = yield* registry.rekeyer(tenant.id, version)
      return yield* sql.withTransaction(
        Effect.gen(function* () {
          const [state] = yield* sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state FOR UPDATE`
          if (state?.keyVersion !== tenant.keyVersion) {
            return yield* Effect.dieMessage(`The key of tenant ${tenant.id} was rotated meanwhile by another process; nothing changed`)
          }
          let rekeyed = 0
          for (const [kind, columns] of Object.entries(PSEUDONYM_COLUMNS)) {
            const ids = yield* sql.unsafe<{ id: string }>(
              `SELECT DISTINCT id FROM (${columns.map((c) => `SELECT ${c.column} AS id FROM ${c.table}`).join(" UNION ALL ")}) ids WHERE id IS NOT NULL`
            )
            if (ids.length === 0) continue
            rekeyed += ids.length
            const map = `rekey_${kind}`
            yield* sql`CREATE TEMP TABLE ${sql(map)} (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP`
            yield* sql`INSERT INTO ${sql(map)} SELECT * FROM unnest(${ids.map((r) => r.id)}::text[], ${ids.map((r) => rekey(r.id))}::text[])`
            for (const c of columns) {
              yield* sql`UPDATE ${sql(c.table)} t SET ${sql(c.column)} = m.new FROM ${sql(map)} m WHERE t.${sql(c.column)} = m.old`
            }
          }
          yield* sql`UPDATE tenant_state SET key_version = ${version}`
          return { keyVersion: version, rekeyed }
        })
      ).pipe(Effect.orDie)
    })

    return { forget, rotateKey } as const
  }),
  dependencies: [EventStore.Default]
}) {}
