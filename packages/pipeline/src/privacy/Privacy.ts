import * as SqlClient from "@effect/sql/SqlClient"
import { CurrentTenant, TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { Checkpoints } from "../durable/Checkpoints.js"
import { RunLedger } from "../durable/RunLedger.js"
import { EventStore } from "../warehouse/postgres/EventStore.js"
import { EventWarehouse } from "../warehouse/EventWarehouse.js"
import { PersonalData } from "./PersonalData.js"

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
    const personal = yield* PersonalData
    const checkpoints = yield* Checkpoints

    /**
     * Removes every row about the person with this login: events and rollups (the warehouse's), HR, categories, dead
     * letters naming them (by login or HR employee id; and every letter naming too many people to
     * link), run checkpoints; colleagues' records name them as manager no more. It
     * holds the key version exclusively, so a run materializing meanwhile either finishes first (and
     * its rows are removed here) or sees the person gone (and skips them).
     */
    const forget = Effect.fn("Privacy.forget")(function* (login: string) {
      const userId = tenant.pseudonyms.user(login)
      const deleted: Readonly<Record<string, number>> = yield* Effect.gen(function* () {
        yield* store.lockKeyVersion
        return {
          ...(yield* warehouse.forget(userId)),
          ...(yield* personal.forget(userId)),
          ...(yield* checkpoints.forgetPerson(userId))
        }
      }).pipe(sql.withTransaction, Effect.orDie)
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
      return yield* Effect.gen(function* () {
        if ((yield* personal.lockKeyVersion) !== tenant.keyVersion) {
          return yield* Effect.dieMessage(`The key of tenant ${tenant.id} was rotated meanwhile by another process; nothing changed`)
        }
        const other = (yield* personal.rekey(rekey)).size
        // Dead letters are opened with the old key and sealed again with the new one.
        const sealed = yield* personal.sealedLetters
        const resealed = yield* Effect.forEach(sealed, (l) => Effect.map(tenant.letters.open(l.sealed, l.keyVersion), (text) => letters.seal(text)))
        yield* personal.reseal(sealed, resealed, version)
        yield* checkpoints.clearAll
        // The warehouse last: a BigQuery dataset's update commits there before this transaction does.
        const rekeyed = { warehouse: yield* warehouse.rekey(rekey), other }
        yield* personal.setKeyVersion(version)
        return { keyVersion: version, rekeyed }
      }).pipe(sql.withTransaction, Effect.orDie)
    })

    return { forget, rotateKey } as const
  }),
  dependencies: [EventStore.Default, PersonalData.Default, Checkpoints.Default]
}) {}
