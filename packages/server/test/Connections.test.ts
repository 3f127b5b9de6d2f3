import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect } from "effect"
import { MAX_JSON_BODY_BYTES } from "../src/Server.js"
import { chunked, exchange, head, serverPort } from "./RawHttp.js"
import { serverLayer, token } from "./support.js"

const tenant = freshTenant("conn")
const MAX = 4096

describe("connections after a refused body", () => {
  it.layer(serverLayer([tenant], { WORKCAT_MAX_BODY_BYTES: String(MAX) }), { timeout: 120_000 })((it) => {
    it.effect("a declared length over the limit is answered 413 at once and the connection closed, not left hanging", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const admin = yield* token(tenant, "admin")
        const ingest = yield* token(tenant, "ingest")
        for (const [path, bearer, length, contentType] of [
          [`/api/v1/tenants/${tenant}/settings`, admin, MAX_JSON_BODY_BYTES + 1, "application/json"],
          [`/api/v1/tenants/${tenant}/events/okta`, ingest, MAX + 1, "application/x-ndjson"]
        ] as const) {
          // The client waits for an answer before sending its body, as one sending `Expect: 100-continue` would.
          const method = path.endsWith("/settings") ? "PATCH" : "POST"
          const sent = head(method, path, { authorization: `Bearer ${bearer}`, "content-type": contentType, "content-length": String(length) })
          const answer = yield* exchange(port, [sent])
          expect({ path, status: answer.status, closed: answer.closed, tag: JSON.parse(answer.body)._tag }).toEqual({
            path,
            status: 413,
            closed: true,
            tag: "PayloadTooLarge"
          })
          expect(answer.head.toLowerCase()).toContain("connection: close")
        }
        // A next request, on a fresh connection, is served as usual.
        const next = yield* exchange(port, [head("GET", `/api/v1/tenants/${tenant}/settings`, { authorization: `Bearer ${admin}`, connection: "close" })])
        expect(next.status).toBe(200)
      }))

    it.effect("a streamed body over the limit gets a readable 413 and the connection is closed", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const admin = yield* token(tenant, "admin")
        const ingest = yield* token(tenant, "ingest")
        for (const [path, bearer, length] of [
          [`/api/v1/tenants/${tenant}/events/okta`, ingest, MAX * 4],
          [`/api/v1/tenants/${tenant}/settings`, admin, MAX_JSON_BODY_BYTES + 100_000]
        ] as const) {
          const method = path.endsWith("/settings") ? "PATCH" : "POST"
          const sent = head(method, path, { authorization: `Bearer ${bearer}`, "content-type": "application/json", "transfer-encoding": "chunked" })
          const answer = yield* exchange(port, [sent, ...chunked(length)])
          expect({ path, status: answer.status, closed: answer.closed }).toEqual({ path, status: 413, closed: true })
          expect(JSON.parse(answer.body)).toMatchObject({ _tag: "PayloadTooLarge", maxBytes: path.endsWith("/settings") ? MAX_JSON_BODY_BYTES : MAX })
          expect(answer.head.toLowerCase()).toContain("connection: close")
        }
      }))
  })
})
