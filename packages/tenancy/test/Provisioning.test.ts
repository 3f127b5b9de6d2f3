import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Redacted, Schedule, TestServices, Tracer } from "effect"
import Pg from "pg"
import { ControlSql, DatabaseUrl } from "../src/Database.js"
import { MasterKey } from "../src/MasterKey.js"
import { scramSha256Verifier } from "../src/Scram.js"
import { tenantRole } from "../src/TenantId.js"
import { sealContext, TenantRegistry } from "../src/TenantRegistry.js"
import { controlPlane, freshTenant } from "./support.js"

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
