import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Data, Effect, Exit, Fiber, Redacted, Schedule, TestServices, Tracer } from "effect"
import Pg from "pg"
import { ControlSql, DatabaseUrl } from "../src/Database.js"
import { MasterKey } from "../src/MasterKey.js"
import publicSchema0002 from "../src/migrations/0002_public_schema.js"
import { scramSha256Verifier } from "../src/Scram.js"
import { tenantRole } from "../src/TenantId.js"
import { sealContext, TenantRegistry } from "../src/TenantRegistry.js"
import { controlPlane, freshTenant } from "./support.js"

class Undo extends Data.TaggedError("Undo")<{ readonly seen: unknown }> {}

/** Runs `effect` in a control-plane transaction that is rolled back: no other session ever sees it. */
const rolledBack = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(ControlSql, (sql) =>
    sql.withTransaction(Effect.flatMap(effect, (seen) => new Undo({ seen }))).pipe(
      Effect.flip,
      Effect.flatMap((e) => (e instanceof Undo ? Effect.succeed(e.seen as A) : Effect.die(e)))
    )
  )

/** Runs `effect` with a tracer that keeps every span it starts, as an exporter would see them. */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const base = yield* Effect.tracer
    const spans: Array<Tracer.Span> = []
    const recording = Tracer.make({
      span: (...args) => {
        const span = base.span(...args)
        spans.push(span)
        return span
      },
      context: (f, fiber) => base.context(f, fiber)
    })
    const result = yield* Effect.withTracer(effect, recording)
    return { result, spans }
  })

/** Whether `user` can log in with `password`, asked of the server itself. */
const logsIn = (user: string, password: string) =>
  Effect.gen(function* () {
    const target = new URL(Redacted.value((yield* DatabaseUrl).url))
    target.username = user
    target.password = password
    return yield* Effect.promise(async () => {
      const client = new Pg.Client(target.toString())
      try {
        await client.connect()
        await client.query("SELECT 1")
        return true
      } catch {
        return false
      } finally {
        await client.end().catch(() => {})
      }
    })
  })

describe("tenant database roles", () => {
  it.layer(controlPlane(), { timeout: 60_000 })((it) => {
    it.effect("get a SCRAM verifier, never the plaintext password, in the statement that creates them", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("scram")
        const registry = yield* TenantRegistry
        const { spans } = yield* traced(registry.create(tenant))
        const record = yield* registry.get(tenant)
        const password = Buffer.from(
          Redacted.value(yield* Effect.flatMap(MasterKey, (box) => box.open(record.sealedDbPassword, sealContext.dbPassword(tenant))))
        ).toString("utf8")

        const statements = spans.flatMap((s) => [...s.attributes].filter(([k]) => k === "db.query.text").map(([, v]) => String(v)))
        const create = statements.find((s) => s.startsWith("CREATE ROLE"))
        expect(create).toMatch(/PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}='$/)
        for (const span of spans) expect(JSON.stringify([...span.attributes])).not.toContain(password)

        expect(yield* logsIn(tenantRole(tenant), password)).toBe(true)
        expect(yield* logsIn(tenantRole(tenant), `${password}x`)).toBe(false)
      }))

    it.effect("are granted CONNECT and TEMPORARY themselves (key rotation needs TEMP), nothing in public or the control plane", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("rights")
        yield* Effect.flatMap(TenantRegistry, (r) => r.create(tenant))
        const sql = yield* ControlSql
        const granted = yield* sql<{ privilege: string }>`
          SELECT a.privilege_type AS privilege FROM pg_database d, aclexplode(d.datacl) a
          WHERE d.datname = current_database() AND a.grantee = ${tenantRole(tenant)}::regrole ORDER BY 1`
        expect(granted.map((g) => g.privilege)).toEqual(["CONNECT", "TEMPORARY"])
        const [rights] = yield* sql<{ publicSchema: boolean; controlSchema: boolean }>`
          SELECT has_schema_privilege(${tenantRole(tenant)}, 'public', 'CREATE') AS "publicSchema",
                 has_schema_privilege(${tenantRole(tenant)}, 'workcat', 'USAGE') AS "controlSchema"`
        expect(rights).toEqual({ publicSchema: false, controlSchema: false })
      }))

    it.effect("are not created where PUBLIC may create objects in another schema (public, up to PostgreSQL 14)", () =>
      Effect.gen(function* () {
        const sql = yield* ControlSql
        const registry = yield* TenantRegistry
        const tenant = freshTenant("pg14")
        // PostgreSQL 14's default, in a transaction rolled back.
        const undone = yield* rolledBack(
          Effect.gen(function* () {
            yield* sql`GRANT CREATE ON SCHEMA public TO PUBLIC`
            const created = yield* Effect.exit(registry.create(tenant))
            const [role] = yield* sql<{ roles: number }>`SELECT count(*)::int AS roles FROM pg_roles WHERE rolname = ${tenantRole(tenant)}`
            return { created, roles: role!.roles }
          })
        )
        if (Exit.isSuccess(undone.created)) return expect.fail("a tenant role that can create in public was created")
        expect(Cause.pretty(undone.created.cause)).toContain('REVOKE CREATE ON SCHEMA "public" FROM PUBLIC')
        expect(undone.roles).toBe(0)
        const [after] = yield* sql<{ open: boolean }>`SELECT has_schema_privilege('public', 'public', 'CREATE') AS open`
        expect(after!.open).toBe(false)
      }))

    it.effect("lose PUBLIC's CREATE on schema public where PostgreSQL 14 and older grant it, by a control-plane migration", () =>
      Effect.gen(function* () {
        const sql = yield* ControlSql
        const open = yield* rolledBack(
          Effect.gen(function* () {
            yield* sql`GRANT CREATE ON SCHEMA public TO PUBLIC`
            yield* Effect.provideService(publicSchema0002, SqlClient.SqlClient, sql)
            const [row] = yield* sql<{ open: boolean }>`SELECT has_schema_privilege('public', 'public', 'CREATE') AS open`
            return row!.open
          })
        )
        expect(open).toBe(false)
      }))

    it.effect("computes the verifier PostgreSQL itself would store", () =>
      Effect.gen(function* () {
        const sql = yield* ControlSql
        const role = `workcat_scram_${freshTenant("v")}`
        yield* sql.unsafe(`CREATE ROLE ${role} LOGIN PASSWORD 'pencil'`)
        const [row] = yield* sql<{ verifier: string }>`SELECT rolpassword AS verifier FROM pg_authid WHERE rolname = ${role}`
        yield* sql.unsafe(`DROP ROLE ${role}`)
        const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(row!.verifier)!
        expect(scramSha256Verifier("pencil", Buffer.from(salt!, "base64"), Number(iterations))).toBe(row!.verifier)
      }))
  })
})

describe("key versions", () => {
  it.layer(controlPlane(), { timeout: 60_000 })((it) => {
    it.effect("two rotations appending a key at once store one key; the other fails and says why", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("keys")
        const registry = yield* TenantRegistry
        const control = yield* ControlSql
        yield* registry.create(tenant)

        // Hold the tenant's row, so both appends read the key list and then queue on their update.
        const { url } = yield* DatabaseUrl
        const locker = yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const client = new Pg.Client(Redacted.value(url))
            await client.connect()
            return client
          }),
          (client) => Effect.promise(() => client.end())
        )
        yield* Effect.promise(() => locker.query("BEGIN"))
        yield* Effect.promise(() => locker.query("SELECT 1 FROM workcat.tenants WHERE id = $1 FOR UPDATE", [tenant]))
        const lockerPid = (yield* Effect.promise(() => locker.query("SELECT pg_backend_pid() AS pid"))).rows[0].pid as number
        const appends = yield* Effect.all([registry.appendKey(tenant, 0), registry.appendKey(tenant, 0)].map(Effect.exit), {
          concurrency: 2
        }).pipe(Effect.fork)
        // Both wait: the first on the locker, the second on the first.
        yield* control<{ waiting: number }>`
          WITH direct AS (SELECT pid FROM pg_stat_activity WHERE ${lockerPid} = ANY (pg_blocking_pids(pid)))
          SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE pid IN (SELECT pid FROM direct) OR pg_blocking_pids(pid) && ARRAY(SELECT pid FROM direct)`.pipe(
          Effect.repeat({ until: ([row]) => row!.waiting === 2, schedule: Schedule.spaced("50 millis") }),
          Effect.timeoutFail({ duration: "45 seconds", onTimeout: () => new Error("the appends never queued on the row lock") })
        )
        yield* Effect.promise(() => locker.query("COMMIT"))
        const exits = yield* Fiber.join(appends)

        expect(exits.filter(Exit.isSuccess).map((e) => e.value)).toEqual([1])
        const failure = exits.find(Exit.isFailure)
        if (failure === undefined) return expect.fail("both appends succeeded")
        expect(Cause.pretty(failure.cause)).toContain("Another key rotation")
        const keys = (yield* registry.get(tenant)).sealedKeys
        expect(keys).toHaveLength(2)
        const box = yield* MasterKey
        yield* Effect.forEach(keys, (sealed, version) => box.open(sealed, sealContext.key(tenant, version)))
        // The next rotation still works.
        expect(yield* registry.appendKey(tenant, 1)).toBe(2)
        expect((yield* registry.get(tenant)).sealedKeys).toHaveLength(3)
      }).pipe(Effect.scoped, TestServices.provideLive))
  })
})
