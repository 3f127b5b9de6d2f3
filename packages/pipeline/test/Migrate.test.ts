import { describe, expect, it } from "@effect/vitest"
import { ControlSql, CurrentTenant, Tenant, type TenantId, TenantMigrations, TenantRegistry, tenantRole, tenantSchema } from "@workcat/tenancy"
import { Context, Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Pg from "pg"
import { BaseLive, TenantLive } from "../src/app/Layers.js"
import { tenantMigrations } from "../src/db/Migrations.js"
import { freshTenant, TestBase, testConfig, testDatabaseUrl, testMasterKey } from "./support/TestLayers.js"

/** The latest tenant migration of this build. */
const latest = Effect.map(Effect.orDie(tenantMigrations), (ms) => Math.max(...ms.map(([id]) => id)))

/** What an older build created tenants with: migrations up to 5, before `tenant_state` was a migration's. */
const OLDER_BUILD = 5

/** A registry that creates tenants as an older workcat did: their schemas stop at migration 5. */
const OlderRegistry = TenantRegistry.Default.pipe(
  Layer.provide(TenantMigrations.layer(Effect.map(tenantMigrations, (ms) => ms.filter(([id]) => id <= OLDER_BUILD))))
)

const createWithOlderBuild = (tenant: TenantId) => Effect.flatMap(TenantRegistry, (r) => r.create(tenant)).pipe(Effect.provide(OlderRegistry))

/** A tenant schema's latest applied migration, as the database owner sees it. */
const appliedIn = (tenant: TenantId) =>
  Effect.flatMap(ControlSql, (sql) =>
    sql.unsafe<{ version: number }>(`SELECT max(migration_id)::int AS version FROM ${tenantSchema(tenant)}.schema_migrations`)
  ).pipe(Effect.map(([row]) => row?.version))

describe("tenant schema migrations", () => {
  it.layer(TestBase, { timeout: 120_000 })((it) => {
    it.effect("a tenant is created with its schema migrated, its tables owned by its own role", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("mig_new")
        yield* Effect.flatMap(TenantRegistry, (r) => r.create(tenant))
        expect(yield* appliedIn(tenant)).toBe(yield* latest)
        const sql = yield* ControlSql
        const owners = yield* sql<{ owner: string }>`SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = ${tenantSchema(tenant)}`
        expect(owners).toEqual([{ owner: tenantRole(tenant) }])
      }))

    it.scoped("opening a tenant whose schema is behind this build fails with TenantSchemaOutdated, naming `workcat migrate`", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("mig_old")
        yield* createWithOlderBuild(tenant)
        const error = yield* Layer.build(TenantLive(tenant)).pipe(Effect.flip)
        const needs = yield* latest
        expect(error).toMatchObject({
          _tag: "TenantSchemaOutdated",
          at: OLDER_BUILD,
          needs,
          message: `tenant ${tenant}'s schema is at migration ${OLDER_BUILD} of ${needs}: run \`workcat migrate --tenant ${tenant}\``
        })
      }))

    it.scoped("migrating a schema an older build left at migration 5 brings it up, and the tenant then opens", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("mig_up")
        yield* createWithOlderBuild(tenant)
        expect(yield* Tenant.migrate(tenant)).toEqual({ before: OLDER_BUILD, after: yield* latest })
        const opened = yield* Layer.build(TenantLive(tenant))
        expect(Context.get(opened, CurrentTenant).keyVersion).toBe(0)
      }))

    it.scoped("a schema a newer workcat migrated further is refused with its own message, and migrate leaves it as it is", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("mig_new_build")
        yield* Effect.flatMap(TenantRegistry, (r) => r.create(tenant))
        const known = yield* latest
        const sql = yield* ControlSql
        yield* sql.unsafe(`INSERT INTO ${tenantSchema(tenant)}.schema_migrations (migration_id, name) VALUES (${known + 1}, 'from_a_newer_build')`)
        const message = `tenant ${tenant}'s schema is at migration ${known + 1}, newer than this workcat knows (${known}): use a workcat as new as the one that migrated it`
        expect(yield* Layer.build(TenantLive(tenant)).pipe(Effect.flip)).toMatchObject({ _tag: "TenantSchemaAhead", at: known + 1, knows: known, message })
        expect(yield* Tenant.migrate(tenant).pipe(Effect.flip)).toMatchObject({ _tag: "TenantSchemaAhead", message })
        expect(yield* appliedIn(tenant)).toBe(known + 1)
      }))

    it.effect("two migrations of one tenant at once apply each migration once: one does the work, the other finds it done", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("mig_race")
        yield* createWithOlderBuild(tenant)
        const results = yield* Effect.all([Tenant.migrate(tenant), Tenant.migrate(tenant)], { concurrency: 2 })
        const after = yield* latest
        expect([...results].sort((a, b) => a.before - b.before)).toEqual([
          { before: OLDER_BUILD, after },
          { before: after, after }
        ])
      }))
  })
})

/**
 * The CLI against a database of its own in the test cluster (dropped afterwards): `--all-tenants`
 * there sees only this test's tenants, never those other test files are creating or removing.
 */
const ownDatabase = Effect.acquireRelease(
  Effect.promise(async () => {
    const name = `workcat_migrate_${randomBytes(4).toString("hex")}`
    const admin = new Pg.Client(testDatabaseUrl())
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end())
    const url = new URL(testDatabaseUrl())
    url.pathname = `/${name}`
    return { name, url: url.toString() }
  }),
  ({ name }) =>
    Effect.promise(async () => {
      const admin = new Pg.Client(testDatabaseUrl())
      await admin.connect()
      try {
        // Tenant roles are the cluster's: those granted CONNECT on this database were made for it.
        const roles = await admin.query<{ role: string }>(
          `SELECT DISTINCT r.rolname AS role FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee
           WHERE d.datname = $1 AND r.rolname LIKE 'workcat\\_tenant\\_%'`,
          [name]
        )
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`)
        for (const { role } of roles.rows) await admin.query(`DROP ROLE IF EXISTS ${Pg.escapeIdentifier(role)}`)
      } finally {
        await admin.end()
      }
    })
)

/** This build's services (and an older build's registry) against `url`. */
const basesIn = (url: string) => {
  const base = BaseLive.pipe(Layer.provide(testConfig({ DATABASE_URL: url })))
  return { base, older: OlderRegistry.pipe(Layer.provideMerge(base)) }
}

const home = mkdtempSync(join(tmpdir(), "workcat-migrate-"))

/** Runs the `workcat` binary as an operator would, against `url`. */
const workcat = (url: string, ...args: ReadonlyArray<string>) =>
  Effect.async<{ code: number; stdout: string; stderr: string }>((resume) => {
    execFile(
      process.execPath,
      ["packages/server/bin/workcat.mjs", ...args],
      { env: { ...process.env, DATABASE_URL: url, WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: home, WORKCAT_DEBUG: "" } },
      (error, stdout, stderr) => resume(Effect.succeed({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }))
    )
  })

describe("workcat migrate", () => {
  it.scoped(
    "a command on a tenant whose schema is behind says in one line to run `workcat migrate --tenant T`, which brings it up",
    () =>
      Effect.gen(function* () {
        const { url } = yield* ownDatabase
        const tenant = freshTenant("cli_old")
        yield* createWithOlderBuild(tenant).pipe(Effect.provide(basesIn(url).older))
        const needs = yield* latest

        const refused = yield* workcat(url, "dead-letters", "list", "--tenant", tenant)
        expect({ code: refused.code, stderr: refused.stderr }).toEqual({
          code: 1,
          stderr: `workcat: tenant ${tenant}'s schema is at migration ${OLDER_BUILD} of ${needs}: run \`workcat migrate --tenant ${tenant}\`\n`
        })

        const migrated = yield* workcat(url, "migrate", "--tenant", tenant)
        expect(migrated).toEqual({ code: 0, stdout: `control plane: up to date\n${tenant}: ${OLDER_BUILD} → ${needs}\n`, stderr: "" })
      }),
    90_000
  )

  it.scoped(
    "--all-tenants goes on past a tenant that fails, one line per tenant, and exits 1 naming the one that failed",
    () =>
      Effect.gen(function* () {
        const { url } = yield* ownDatabase
        const [behind, current, broken] = [freshTenant("cli_behind"), freshTenant("cli_current"), freshTenant("cli_broken")]
        const { base, older } = basesIn(url)
        yield* Effect.gen(function* () {
          yield* createWithOlderBuild(behind)
          yield* createWithOlderBuild(broken)
          // Migration 6 renames dead_letters: without it, it fails for this tenant only.
          yield* Effect.flatMap(ControlSql, (sql) => sql.unsafe(`DROP TABLE ${tenantSchema(broken)}.dead_letters`))
        }).pipe(Effect.provide(older))
        yield* Effect.flatMap(TenantRegistry, (r) => r.create(current)).pipe(Effect.provide(base))
        const needs = yield* latest

        const run = yield* workcat(url, "migrate", "--all-tenants")
        const [first, ...perTenant] = run.stdout.trim().split("\n")
        expect(first).toBe("control plane: up to date")
        const lineOf = new Map(perTenant.map((line) => [line.slice(0, line.indexOf(":")), line]))
        expect(perTenant).toHaveLength(3)
        expect(lineOf.get(behind)).toBe(`${behind}: ${OLDER_BUILD} → ${needs}`)
        expect(lineOf.get(current)).toBe(`${current}: ${needs} (up to date)`)
        expect(lineOf.get(broken)).toMatch(new RegExp(`^${broken}: failed: Migration "6_sealed_dead_letters" failed: .*relation "dead_letters" does not exist$`))
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: `workcat: 1 of 3 tenants failed to migrate (the others did): ${broken}\n` })
        // The failed one was left as it was, whole: its migration 6 rolled back.
        const versions = yield* Effect.all([appliedIn(behind), appliedIn(broken)]).pipe(Effect.provide(base))
        expect(versions).toEqual([needs, OLDER_BUILD])
      }),
    90_000
  )

  it.effect(
    "--tenant with --all-tenants, or an unknown tenant, is exit 3 with one line",
    () =>
      Effect.gen(function* () {
        const nosuch = freshTenant("nosuch")
        const both = yield* workcat(testDatabaseUrl(), "migrate", "--tenant", nosuch, "--all-tenants")
        expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 3, stderr: "workcat: give --tenant T or --all-tenants, not both\n" })
        const unknown = yield* workcat(testDatabaseUrl(), "migrate", "--tenant", nosuch)
        expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 3, stderr: `workcat: Unknown tenant "${nosuch}"\n` })
      }),
    90_000
  )
})
