import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ControlSql } from "@workcat/tenancy"
import { Chunk, Effect, Stream } from "effect"
import { MAX_JSON_BODY_BYTES } from "../src/Server.js"
import { call, oktaLine, serverLayer, token } from "./support.js"

const tenant = freshTenant("limit")
const MAX = 4096

/** NDJSON of `n` distinct events. */
const ndjson = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => oktaLine(`${prefix}-${i}`)).join("\n")

/** A POST whose body is streamed in chunks, with no Content-Length: the server learns its size only by reading. */
const postChunked = (path: string, bearer: string, body: string) =>
  Effect.gen(function* () {
    const bytes = new TextEncoder().encode(body)
    const chunks = Chunk.fromIterable(Array.from({ length: Math.ceil(bytes.length / 512) }, (_, i) => bytes.subarray(i * 512, (i + 1) * 512)))
    const request = HttpClientRequest.post(path).pipe(
      HttpClientRequest.bearerToken(bearer),
      HttpClientRequest.bodyStream(Stream.fromChunk(chunks), { contentType: "application/x-ndjson" })
    )
    const response = yield* Effect.flatMap(HttpClient.HttpClient, (c) => c.execute(request))
    return { status: response.status as number | "cut off", body: (yield* response.json.pipe(Effect.orElseSucceed(() => null))) as any }
  }).pipe(
    Effect.scoped,
    // The server stops reading past the limit: a client still sending sees the connection end.
    Effect.catchTag("RequestError", (e) => (e.reason === "Transport" ? Effect.succeed({ status: "cut off" as const, body: null }) : Effect.die(e))),
    Effect.orDie
  )

describe("event bodies", () => {
  it.layer(serverLayer([tenant], { WORKCAT_MAX_BODY_BYTES: String(MAX) }), { timeout: 120_000 })((it) => {
    it.effect("over WORKCAT_MAX_BODY_BYTES are refused with 413, declared or streamed, on every events route", () =>
      Effect.gen(function* () {
        const ingest = yield* token(tenant, "ingest")
        const big = ndjson(30, "big")
        expect(new TextEncoder().encode(big).length).toBeGreaterThan(MAX)

        for (const route of ["okta", "hr"]) {
          const answer = yield* call("POST", `/api/v1/tenants/${tenant}/events/${route}`, { token: ingest, text: big })
          expect([route, answer.status, answer.body]).toEqual([
            route,
            413,
            { _tag: "PayloadTooLarge", maxBytes: MAX, message: `The request body is larger than ${MAX} bytes; send the events in smaller batches` }
          ])
        }
        const streamed = yield* postChunked(`/api/v1/tenants/${tenant}/events/okta`, ingest, ndjson(300, "streamed"))
        expect(streamed.status === "cut off" ? streamed.status : [streamed.status, streamed.body?._tag]).toSatisfy(
          (s) => s === "cut off" || (Array.isArray(s) && s[0] === 413 && s[1] === "PayloadTooLarge")
        )

        // A body under the limit still goes in, declared or streamed; nothing of the refused ones did.
        const small = yield* call("POST", `/api/v1/tenants/${tenant}/events/okta`, { token: ingest, text: ndjson(3, "small") })
        expect([small.status, small.body]).toEqual([200, { accepted: 3, duplicates: 0, rejected: 0, reasons: {} }])
        const chunked = yield* postChunked(`/api/v1/tenants/${tenant}/events/okta`, ingest, ndjson(3, "chunked"))
        expect([chunked.status, chunked.body]).toEqual([200, { accepted: 3, duplicates: 0, rejected: 0, reasons: {} }])
        const sql = yield* ControlSql
        const stored = yield* sql.unsafe<{ events: number }>(`SELECT count(*)::int AS events FROM tenant_${tenant}.sso_events`)
        expect(stored).toEqual([{ events: 6 }])
      }))

    it.effect("of other routes are refused with 413 over 1 MiB, before any handler runs", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const huge = { displayName: "x".repeat(MAX_JSON_BODY_BYTES) }
        for (const [method, path] of [
          ["PATCH", `/api/v1/tenants/${tenant}/settings`],
          ["POST", "/api/v1/pipeline/push"]
        ] as const) {
          const answer = yield* call(method, path, { token: analyst, json: huge })
          expect([path, answer.status, answer.body?._tag, answer.body?.maxBytes]).toEqual([path, 413, "PayloadTooLarge", MAX_JSON_BODY_BYTES])
        }
        // Under the limit, the same request is judged as usual: this token may not change settings.
        expect((yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: analyst, json: { displayName: "x" } })).status).toBe(403)
      }))

    it.effect("are read in any shape providers send: NDJSON, a JSON array, one (pretty-printed) JSON object", () =>
      Effect.gen(function* () {
        const ingest = yield* token(tenant, "ingest")
        const post = (json: unknown) => call("POST", `/api/v1/tenants/${tenant}/events/okta`, { token: ingest, json })
        expect((yield* post([JSON.parse(oktaLine("arr-1")), JSON.parse(oktaLine("arr-2"))])).body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 0 })
        expect((yield* post(JSON.parse(oktaLine("one-1")))).body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 })
        const pretty = JSON.stringify(JSON.parse(oktaLine("pretty-1")), null, 2)
        const answer = yield* call("POST", `/api/v1/tenants/${tenant}/events/okta`, { token: ingest, text: pretty })
        expect(answer.body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 })
      }))
  })
})
