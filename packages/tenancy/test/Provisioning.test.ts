import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Tracer } from "effect"
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
