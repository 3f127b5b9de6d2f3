import * as SqlClient from "@effect/sql/SqlClient"
import { DefaultTaxonomy, rekeyIdentifier, type Taxonomy } from "@workcat/core"
import { Effect, Option, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import Pg from "pg"
import { CONTROL_SCHEMA, ControlSql } from "./Database.js"
import { makeLetterBox } from "./LetterBox.js"
import { MasterKey } from "./MasterKey.js"
import { runMigrations, TENANT_MIGRATIONS_TABLE, TenantMigrations } from "./Migrate.js"
import { scramSha256Verifier } from "./Scram.js"
import { TenantExists, type TenantId, TenantNotFound, tenantRole, tenantSchema } from "./TenantId.js"
import { applyPatch, defaultSettings, type SettingsPatch, TenantSettings } from "./TenantSettings.js"

/** A tenant as the registry stores it; the secrets stay sealed until a tenant layer opens them. */
export interface TenantRecord {
  readonly id: TenantId
  readonly settings: TenantSettings
  readonly sealedKeys: ReadonlyArray<string>
  readonly sealedDbPassword: string
  readonly createdAt: Date
  readonly updatedAt: Date
  /** Changes with every change of the record (its `updated_at`, to the microsecond): what a cache compares. */
  readonly revision: string
}

/** Seal contexts: a ciphertext opens only for its own tenant and purpose. */
export const sealContext = {
  key: (tenant: string, version: number) => `tenant:${tenant}:pseudonym-key:${version}`,
  dbPassword: (tenant: string) => `tenant:${tenant}:db-password`
}

const decodeSettings = Schema.decodeUnknownSync(TenantSettings)
const encodeSettings = Schema.encodeSync(TenantSettings)

/**
 * The tenant registry (`workcat.tenants`). Creating a tenant also creates its database role and
 * its schema, owned by that role: tenant data is isolated by PostgreSQL privileges, not only by
 * the queries we write. The schema gets its tables (`TenantMigrations`) in the same transaction.
 */
export class TenantRegistry extends Effect.Service<TenantRegistry>()("workcat/TenantRegistry", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const box = yield* MasterKey
    const migrations = yield* TenantMigrations

    type Row = {
      id: TenantId
      settings: unknown
      keys: ReadonlyArray<string>
      dbPassword: string
      createdAt: Date
      updatedAt: Date
      revision: string
    }
    const toRecord = (r: Row): TenantRecord => ({
      id: r.id,
      settings: decodeSettings(r.settings),
      sealedKeys: r.keys,
      sealedDbPassword: r.dbPassword,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      revision: r.revision
    })

    /**
     * Creating and removing a tenant both change the database's own catalog row (its grants):
     * PostgreSQL fails the second of two such changes at once ("tuple concurrently updated"), and a
     * creation's transaction lasts as long as its migrations. One at a time, then.
     */
    const lockRoleChanges = sql`SELECT pg_advisory_xact_lock(hashtext('workcat:tenant-roles'))`

    const find = (id: TenantId) =>
      sql<Row>`
        SELECT id, settings, keys, db_password AS "dbPassword", created_at AS "createdAt", updated_at AS "updatedAt",
               extract(epoch FROM updated_at)::text AS revision
        FROM tenants WHERE id = ${id}`.pipe(Effect.orDie)

    const get = Effect.fn("TenantRegistry.get")(function* (id: TenantId) {
      const [row] = yield* find(id)
      if (row === undefined) return yield* new TenantNotFound({ tenant: id, message: `Unknown tenant "${id}"` })
      return toRecord(row)
    })

    /** The tenant's current `revision`, in one cheap query; none for an unknown tenant. */
    const revision = Effect.fn("TenantRegistry.revision")(function* (id: TenantId) {
      const [row] = yield* sql<{ revision: string }>`SELECT extract(epoch FROM updated_at)::text AS revision FROM tenants WHERE id = ${id}`.pipe(
        Effect.orDie
      )
      return Option.fromNullable(row?.revision)
    })

    const list = Effect.fn("TenantRegistry.list")(function* () {
      const rows = yield* sql<Row>`
        SELECT id, settings, keys, db_password AS "dbPassword", created_at AS "createdAt", updated_at AS "updatedAt",
               extract(epoch FROM updated_at)::text AS revision
        FROM tenants ORDER BY id`.pipe(Effect.orDie)
      return rows.map(toRecord)
    })

    const create = Effect.fn("TenantRegistry.create")(function* (
      id: TenantId,
      options: { readonly displayName?: string | undefined; readonly taxonomy?: Taxonomy | undefined } = {}
    ) {
      const settings = defaultSettings(options.displayName ?? id, options.taxonomy ?? DefaultTaxonomy)
      const password = randomBytes(24).toString("base64url")
      const role = tenantRole(id)
      const schema = tenantSchema(id)
      const created = yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* lockRoleChanges
          const rows = yield* sql<{ id: string }>`
            INSERT INTO tenants (id, settings, keys, db_password)
            VALUES (${id}, ${JSON.stringify(encodeSettings(settings))}, ${JSON.stringify([box.seal(randomBytes(32), sealContext.key(id, 0))])},
                    ${box.seal(Buffer.from(password, "utf8"), sealContext.dbPassword(id))})
            ON CONFLICT (id) DO NOTHING RETURNING id`
          if (rows.length === 0) return false
          const [me] = yield* sql<{ superuser: boolean }>`SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`
          yield* sql.unsafe(`CREATE ROLE ${Pg.escapeIdentifier(role)} LOGIN NOINHERIT PASSWORD ${Pg.escapeLiteral(scramSha256Verifier(password))}`)
          // A non-superuser creator must be able to SET ROLE to own a schema for it.
          if (me?.superuser !== true) yield* sql.unsafe(`GRANT ${Pg.escapeIdentifier(role)} TO CURRENT_USER`)
          yield* sql.unsafe(`CREATE SCHEMA ${Pg.escapeIdentifier(schema)} AUTHORIZATION ${Pg.escapeIdentifier(role)}`)
          yield* sql.unsafe(`REVOKE ALL ON SCHEMA ${Pg.escapeIdentifier(schema)} FROM PUBLIC`)
          // What the role needs of the database, granted to it rather than left to PUBLIC (key
          // rotation uses a temporary table): an operator may revoke CONNECT and TEMP from PUBLIC.
          const [db] = yield* sql<{ name: string }>`SELECT current_database() AS name`
          yield* sql.unsafe(`GRANT CONNECT, TEMPORARY ON DATABASE ${Pg.escapeIdentifier(db!.name)} TO ${Pg.escapeIdentifier(role)}`)
          const writable = yield* sql<{ schema: string }>`
            SELECT nspname AS schema FROM pg_namespace
            WHERE nspname <> ${schema} AND has_schema_privilege(${role}, oid, 'CREATE') ORDER BY nspname`
          if (writable.length > 0) {
            const names = writable.map((w) => Pg.escapeIdentifier(w.schema)).join(", ")
            return yield* Effect.dieMessage(
              `A tenant's role could create objects in schema ${names}, outside its own: as the owner, run ` +
                `REVOKE CREATE ON SCHEMA ${names} FROM PUBLIC (PostgreSQL 14 and older grant it on public), then add the tenant again`
            )
          }
          // The tables, as the tenant's role (which then owns them) and in the tenant's schema: a
          // tenant exists migrated, or not at all. Reset after, for a caller's own transaction.
          yield* sql.unsafe(`SET LOCAL ROLE ${Pg.escapeIdentifier(role)}`)
          yield* sql.unsafe(`SET LOCAL search_path TO ${Pg.escapeIdentifier(schema)}`)
          yield* runMigrations(migrations.loader, TENANT_MIGRATIONS_TABLE).pipe(Effect.provideService(SqlClient.SqlClient, sql))
          yield* sql`RESET ROLE`
          yield* sql`RESET search_path`
          return true
        })
      ).pipe(Effect.orDie)
      if (!created) return yield* new TenantExists({ tenant: id, message: `Tenant "${id}" exists already` })
      return settings
    })

    const update = Effect.fn("TenantRegistry.update")(function* (id: TenantId, patch: SettingsPatch) {
      const current = yield* get(id)
      const settings = decodeSettings(applyPatch(current.settings, patch))
      yield* sql`UPDATE tenants SET settings = ${JSON.stringify(encodeSettings(settings))}, updated_at = now() WHERE id = ${id}`.pipe(Effect.orDie)
      return settings
    })

    /**
     * Appends a new key version (sealed) unless one is already waiting to be applied. The append
     * holds only if the list is still as long as when it was read: two rotations appending at once
     * would otherwise store two keys, the second sealed for the wrong version. The loser dies.
     */
    const appendKey = Effect.fn("TenantRegistry.appendKey")(function* (id: TenantId, appliedVersion: number) {
      const current = yield* get(id)
      if (current.sealedKeys.length > appliedVersion + 1) return appliedVersion + 1
      const version = current.sealedKeys.length
      const appended = yield* sql`
        UPDATE tenants SET keys = keys || ${JSON.stringify([box.seal(randomBytes(32), sealContext.key(id, version))])}::jsonb,
               updated_at = now()
        WHERE id = ${id} AND jsonb_array_length(keys) = ${version}
        RETURNING 1`.pipe(Effect.orDie)
      if (appended.length === 0) {
        yield* get(id) // removed meanwhile: say that instead
        return yield* Effect.dieMessage(
          `Another key rotation of tenant ${id} added key version ${version} meanwhile; nothing changed here. ` +
            "Let it finish, then rotate again if needed"
        )
      }
      return version
    })

    /**
     * What moving to key version `version` needs: re-keying identifiers (the HMAC of the old
     * pseudonym under the new key) and the box that seals dead letters under the new key.
     */
    const rekeyer = Effect.fn("TenantRegistry.rekeyer")(function* (id: TenantId, version: number) {
      const sealed = (yield* get(id)).sealedKeys[version]
      if (sealed === undefined) return yield* Effect.dieMessage(`Tenant ${id} has no key version ${version}`)
      const key = Redacted.value(yield* box.open(sealed, sealContext.key(id, version)))
      return { rekey: <A extends string>(identifier: A): A => rekeyIdentifier(key, identifier), letters: makeLetterBox(id, version, key) }
    })

    /** Drops the tenant: its schema with all data, its role, its tokens, its runs. The audit log stays. */
    const remove = Effect.fn("TenantRegistry.remove")(function* (id: TenantId) {
      yield* get(id)
      const role = Pg.escapeIdentifier(tenantRole(id))
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* lockRoleChanges
          yield* sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${tenantRole(id)}`
          yield* sql.unsafe(`DROP SCHEMA IF EXISTS ${Pg.escapeIdentifier(tenantSchema(id))} CASCADE`)
          const roles = yield* sql`SELECT 1 FROM pg_roles WHERE rolname = ${tenantRole(id)}`
          if (roles.length > 0) {
            yield* sql.unsafe(`DROP OWNED BY ${role}`)
            yield* sql.unsafe(`DROP ROLE ${role}`)
          }
          // The run ledger belongs to the pipeline's migrations and may not exist here. A tenant
          // created again under this id must not inherit its runs (nor their keys, nor runs
          // PROCESSING against its limit).
          const [ledger] = yield* sql<{ exists: boolean }>`SELECT to_regclass(${`${CONTROL_SCHEMA}.runs`}) IS NOT NULL AS exists`
          if (ledger?.exists === true) {
            yield* sql`DELETE FROM run_transitions WHERE run_id IN (SELECT id FROM runs WHERE tenant = ${id})`
            yield* sql`DELETE FROM runs WHERE tenant = ${id}`
          }
          yield* sql`DELETE FROM tenants WHERE id = ${id}`
        })
      ).pipe(Effect.orDie)
    })

    return { get, revision, list, create, update, appendKey, rekeyer, remove } as const
  })
}) {}
