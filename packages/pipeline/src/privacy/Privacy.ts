import * as SqlClient from "@effect/sql/SqlClient"
import { CurrentTenant, TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { RunLedger } from "../durable/RunLedger.js"
import { EventStore } from "../warehouse/postgres/EventStore.js"
import { EventWarehouse } from "../warehouse/EventWarehouse.js"
import { forgetKey, inWarehouse, PSEUDONYM_COLUMNS } from "./PseudonymousData.js"

export interface ForgetResult {
  /** Identifies the request in the audit log; nothing in it identifies the person. */
  readonly requestId: string
  /** Rows removed per table (for `llm_calls`, unlinked from the person: the spend stays). */
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
    const warehouse = yield* EventWarehouse
    const ledger = yield* RunLedger

    /**
     * Removes every row about the person with this login: events and rollups (the warehouse's), HR, categories, dead
     * letters naming them (by login or HR employee id; and every letter naming too many people to
     * link), run checkpoints; colleagues' records name them as manager no more. It
     * holds the key version exclusively, so a run materializing meanwhile either finishes first (and
     * its rows are removed here) or sees the person gone (and skips them).
     */
    const forget = Effect.fn("Privacy.forget")(function* (login: string) {
      const userId = tenant.pseudonyms.user(login)
      const deleted: Record<string, number> = {}
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* store.lockKeyVersion
          // A manager field names the person by pseudonym, or by their HR employee id's hash.
          const refs = yield* sql<{ ref: string }>`
            SELECT DISTINCT employee_ref AS ref FROM hr_events WHERE user_id = ${userId} AND employee_ref IS NOT NULL`
          const names = [userId, ...refs.map((r) => r.ref)]
          Object.assign(deleted, yield* warehouse.forget(userId))
          for (const c of PSEUDONYM_COLUMNS.user) {
            if (inWarehouse(c)) continue
            const { column, table } = c
            const rows =
              c.forget === "delete"
                ? yield* sql`DELETE FROM ${sql(table)} WHERE ${sql(column)} = ${userId} RETURNING 1`
                : c.forget === "letters"
                  ? yield* sql`
                      DELETE FROM dead_letters
                      WHERE names_many OR id IN (SELECT letter_id FROM ${sql(table)} WHERE ${sql(column)} = ANY(${names}::text[]))
                      RETURNING 1`
                  : yield* sql`UPDATE ${sql(table)} SET ${sql(column)} = NULL WHERE ${sql(column)} = ANY(${names}::text[]) RETURNING 1`
            deleted[forgetKey(c)] = rows.length
          }
          const items = yield* sql`DELETE FROM run_items WHERE item_key = ${userId} RETURNING 1`
          const stages = yield* sql`DELETE FROM run_stages WHERE strpos(result::text, ${userId}) > 0 RETURNING 1`
          deleted.run_items = items.length
          deleted.run_stages = stages.length
        })
      ).pipe(Effect.orDie)
      return { requestId: randomUUID(), deleted } satisfies ForgetResult
    })

    /**
     * Moves the tenant to a new key: every stored pseudonym becomes the HMAC of itself under the
     * new key, so joins survive and the old key alone no longer links a login to a pseudonym.
     * Intake running meanwhile waits, and then stops with a message to re-run it. Refused while a
     * run of the tenant is queued or processing; the checkpoints of finished runs are deleted (a
     * run retried afterwards starts over).
     */
    const rotateKey = Effect.fn("Privacy.rotateKey")(function* () {
      const active = (yield* ledger.active).filter((r) => r.tenant === tenant.id)
      if (active.length > 0) {
        return yield* Effect.dieMessage(
          `Tenant ${tenant.id} has ${active.length} run(s) queued or processing (${active.map((r) => r.id).join(", ")}); ` +
            "wait for them to end or cancel them, then rotate the key"
        )
      }
      const version = yield* registry.appendKey(tenant.id, tenant.keyVersion)
      const { letters, rekey } = yield* registry.rekeyer(tenant.id, version)
      return yield* sql.withTransaction(
        Effect.gen(function* () {
          const [state] = yield* sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state FOR UPDATE`
          if (state?.keyVersion !== tenant.keyVersion) {
            return yield* Effect.dieMessage(`The key of tenant ${tenant.id} was rotated meanwhile by another process; nothing changed`)
          }
          const rekeyed = new Set(yield* warehouse.rekey(rekey))
          for (const [kind, all] of Object.entries(PSEUDONYM_COLUMNS)) {
            const columns = all.filter((c) => !inWarehouse(c))
            if (columns.length === 0) continue
            const ids = yield* sql.unsafe<{ id: string }>(
              `SELECT DISTINCT id FROM (${columns.map((c) => `SELECT ${c.column} AS id FROM ${c.table}`).join(" UNION ALL ")}) ids WHERE id IS NOT NULL`
            )
            if (ids.length === 0) continue
            for (const { id } of ids) rekeyed.add(id)
            const map = `rekey_${kind}`
            yield* sql`CREATE TEMP TABLE ${sql(map)} (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP`
            yield* sql`INSERT INTO ${sql(map)} SELECT * FROM unnest(${ids.map((r) => r.id)}::text[], ${ids.map((r) => rekey(r.id))}::text[])`
            for (const c of columns) {
              yield* sql`UPDATE ${sql(c.table)} t SET ${sql(c.column)} = m.new FROM ${sql(map)} m WHERE t.${sql(c.column)} = m.old`
            }
          }
          // Dead letters are opened with the old key and sealed again with the new one.
          const sealed = yield* sql<{ id: number; sealed: string; keyVersion: number }>`
            SELECT id, sealed, key_version AS "keyVersion" FROM dead_letters WHERE sealed IS NOT NULL`
          const resealed = yield* Effect.forEach(sealed, (l) => Effect.map(tenant.letters.open(l.sealed, l.keyVersion), (text) => letters.seal(text)))
          if (sealed.length > 0) {
            yield* sql`
              UPDATE dead_letters d SET sealed = r.sealed FROM unnest(${sealed.map((l) => l.id)}::bigint[], ${resealed}::text[]) AS r(id, sealed)
              WHERE d.id = r.id`
          }
          yield* sql`UPDATE dead_letters SET key_version = ${version}`
          yield* sql`DELETE FROM run_items`
          yield* sql`DELETE FROM run_stages`
          yield* sql`UPDATE tenant_state SET key_version = ${version}`
          return { keyVersion: version, rekeyed: rekeyed.size }
        })
      ).pipe(Effect.orDie)
    })

    return { forget, rotateKey } as const
  }),
  dependencies: [EventStore.Default]
}) {}
