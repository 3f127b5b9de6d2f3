import { describe, expect, it } from "@effect/vitest"
import { freshTenant, testDatabaseUrl } from "@workcat/pipeline/testing"
import { ControlSql } from "@workcat/tenancy"
import { type FlakyProxy, flakyProxy } from "@workcat/pipeline/testing/proxy"
import { Context, Effect, Layer, TestClock } from "effect"
import { call, oktaLine, serverLayer, token } from "./support.js"

const tenant = freshTenant("down")
const broken = freshTenant("broken")

/** A proxy in front of the shared test database: cutting it is PostgreSQL going away, for this server only. */
class DatabaseProxy extends Context.Tag("test/DatabaseProxy")<DatabaseProxy, FlakyProxy>() {}

/** The server reaches PostgreSQL only through a proxy the test can cut. */
const proxied = Layer.unwrapEffect(Effect.map(DatabaseProxy, (proxy) => serverLayer([tenant, broken], { DATABASE_URL: proxy.url }))).pipe(
  Layer.provideMerge(Layer.scoped(DatabaseProxy, flakyProxy(testDatabaseUrl())))
)

/** Past what the server reuses of its reads (a second, `FRESH`, on the tests' clock): the next answer is read anew. */
const stale = TestClock.adjust("1100 millis")

describe("the database out of reach", () => {
  it.layer(proxied, { timeout: 120_000 })((it) => {
    it.effect("every route answers 503 with Retry-After while PostgreSQL is down (past the second it reuses reads), and works again once it is back", () =>
      Effect.gen(function* () {
        const proxy = yield* DatabaseProxy
        const analyst = yield* token(tenant, "analyst")
        const ingest = yield* token(tenant, "ingest")
        const requests = [
          call("GET", "/healthz"),
          call("GET", `/api/v1/tenants/${tenant}/metrics/productivity`, { token: analyst }),
          call("POST", `/api/v1/tenants/${tenant}/events/okta`, { token: ingest, text: oktaLine("down-1") })
        ]
        const statuses = Effect.forEach(requests, (request) => Effect.map(request, (a) => a.status))
        expect(yield* statuses).toEqual([200, 200, 200])

        yield* proxy.cut
        yield* stale
        for (const request of requests) {
          const answer = yield* request
          expect({ status: answer.status, retryAfter: answer.headers["retry-after"], tag: answer.body?._tag }).toEqual({
            status: 503,
            retryAfter: "5",
            tag: "Unavailable"
          })
          expect(answer.body.message).toEqual(expect.any(String))
        }

        yield* proxy.restore
        expect(yield* statuses).toEqual([200, 200, 200])
      }))

    it.effect("any other failure answers 500 with a JSON body that gives nothing away", () =>
      Effect.gen(function* () {
        const analyst = yield* token(broken, "analyst")
        const path = `/api/v1/tenants/${broken}/categories`
        expect((yield* call("GET", path, { token: analyst })).status).toBe(200)
        const sql = yield* ControlSql
        yield* sql.unsafe(`DROP TABLE tenant_${broken}.work_categories CASCADE`)
        yield* stale
        const answer = yield* call("GET", path, { token: analyst })
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 500, body: { _tag: "InternalServerError", message: "Internal server error" } })
        expect(answer.headers["content-type"]).toContain("application/json")
      }))
  })
})
