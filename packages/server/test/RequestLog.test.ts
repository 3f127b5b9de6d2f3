import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Cause, Effect, Exit, HashMap, Layer, Logger, LogLevel, type Tracer } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("logs")

/** Everything the server logs, its Debug lines (one per request) too: message and annotations, as text. */
const lines: Array<string> = []
const recordLogs = Layer.merge(
  Logger.add(
    Logger.make(({ annotations, message }) => {
      lines.push(JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }))
    })
  ),
  Logger.minimumLogLevel(LogLevel.Debug)
)

/** Every span the server starts, with its attributes (read when the test looks, so after they end). */
const spans: Array<Tracer.Span> = []
const recordSpans = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (tracer) =>
    Layer.setTracer({
      ...tracer,
      span: (...args) => {
        const span = tracer.span(...args)
        spans.push(span)
        return span
      }
    })
  )
)

describe("request logs and traces", () => {
  it.layer(serverLayer([tenant], {}, Layer.merge(recordLogs, recordSpans)), { timeout: 120_000 })((it) => {
    it.effect("never hold a token sent in the query string, only the request's path", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const secret = `wct_0123456789_${"s".repeat(43)}`
        const path = `/api/v1/tenants/${tenant}/metrics/productivity`
        const query = `?token=${secret}&access_token=${secret}&api_key=${secret}&key=${secret}`
        expect((yield* call("GET", path + query, { token: analyst })).status).toBe(200)
        expect((yield* call("GET", `/healthz${query}`)).status).toBe(200)
        // A mistyped path: the router's "not found" named the whole URL.
        expect((yield* call("GET", `/api/v1/tenants/${tenant}/metric/productivity${query}`, { token: analyst })).status).toBe(404)

        const served = lines.filter((line) => line.includes('"http.url"'))
        expect(served.map((line) => JSON.parse(line).annotations["http.url"])).toEqual(expect.arrayContaining([path, "/healthz"]))
        const server = spans.filter((span) => span.kind === "server")
        expect(server.map((span) => span.attributes.get("url.path"))).toEqual(expect.arrayContaining([path, "/healthz"]))

        const ended = (span: Tracer.Span) => (span.status._tag === "Ended" ? Cause.pretty(Exit.isFailure(span.status.exit) ? span.status.exit.cause : Cause.empty) : "")
        const recorded = [...lines, ...spans.filter((span) => span.kind !== "client").map((span) => JSON.stringify([...span.attributes]) + ended(span))]
        expect(recorded.filter((text) => text.includes("s".repeat(43)))).toEqual([])
      }))
  })
})
