import * as SqlClient from "@effect/sql/SqlClient"
import type { UserId } from "@workcat/core"
import { Effect } from "effect"
import { forgetKey, inWarehouse, PSEUDONYM_COLUMNS } from "./PseudonymousData.js"

/** A dead letter's sealed record, and the key version it was sealed under. */
export interface SealedLetter {
  readonly id: number
  readonly sealed: string
  readonly keyVersion: number
}

/**
 * The pseudonyms and sealed records in the tenant's own PostgreSQL tables (HR, employees,
 * categories, dead letters, the cost ledger; not the event warehouse's, nor the checkpoints'):
 * what right-to-forget removes and key rotation re-keys. Callers run these inside their
 * transaction, under the tenant's key-version lock.
 */
export class PersonalData extends Effect.Service<PersonalData>()("workcat/PersonalData", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /**
     * Deletes the person's rows, the dead letters naming them (by pseudonym or HR employee id, and
     * every letter naming too many people to link), and unlinks them where the row is not about
     * them (a colleague's manager, an LLM call's cost). Rows per table (`forgetKey`).
     */
    const forget = (userId: UserId) =>
      Effect.gen(function* () {
        // A manager field names the person by pseudonym, or by their HR employee id's hash.
        const refs = yield* sql<{ ref: string }>`
          SELECT DISTINCT employee_ref AS ref FROM hr_events WHERE user_id = ${userId} AND employee_ref IS NOT NULL`
        const names = [userId, ...refs.map((r) => r.ref)]
        const deleted: Record<string, number> = {}
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
        return deleted
      }).pipe(Effect.orDie)

    /** Every stored pseudonym becomes `rekey` of itself; the distinct values re-keyed. */
    const rekey = (rekey: (old: string) => string) =>
      Effect.gen(function* () {
        const rekeyed = new Set<string>()
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
        return rekeyed as ReadonlySet<string>
      }).pipe(Effect.orDie)

    /** The dead letters' sealed records, to be opened with their key and sealed again. */
    const sealedLetters = sql<SealedLetter>`
      SELECT id, sealed, key_version AS "keyVersion" FROM dead_letters WHERE sealed IS NOT NULL`.pipe(Effect.orDie)

    /** Stores the letters sealed again (`sealed[i]` for `letters[i]`), and marks every letter as of key `version`. */
    const reseal = (letters: ReadonlyArray<SealedLetter>, sealed: ReadonlyArray<string>, version: number) =>
      Effect.gen(function* () {
        if (letters.length > 0) {
          yield* sql`
            UPDATE dead_letters d SET sealed = r.sealed FROM unnest(${letters.map((l) => l.id)}::bigint[], ${sealed}::text[]) AS r(id, sealed)
            WHERE d.id = r.id`
        }
        yield* sql`UPDATE dead_letters SET key_version = ${version}`
      }).pipe(Effect.orDie)

    /** Locks the tenant's key version for a rotation (until commit) and returns it. */
    const lockKeyVersion = sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state FOR UPDATE`.pipe(
      Effect.map(([row]) => row?.keyVersion),
      Effect.orDie
    )

    /** The tenant's pseudonyms are under key `version` from now on. */
    const setKeyVersion = (version: number) => Effect.orDie(sql`UPDATE tenant_state SET key_version = ${version}`)

    return { forget, rekey, sealedLetters, reseal, lockKeyVersion, setKeyVersion } as const
  })
}) {}
