import { HttpApiBuilder, HttpIncomingMessage, type HttpServerRequest } from "@effect/platform"
import { HrIngest, Ingest } from "@workcat/pipeline"
import type { TenantId } from "@workcat/tenancy"
import { Config, Effect, Option, Stream } from "effect"
import { PayloadTooLarge, WorkcatApi } from "../Api.js"
import { authorize } from "../Auth.js"
import { forTenant } from "../TenantServices.js"

/**
 * A request body as lines, whatever its content type: a JSON array one element per line, a
 * single JSON object (even pretty-printed) as one line, anything else as NDJSON.
 */
const bodyLines = (body: string): ReadonlyArray<string> => {
  const start = body.trimStart()[0]
  if (start === "[" || start === "{") {
    try {
      const parsed: unknown = JSON.parse(body)
      return Array.isArray(parsed) ? parsed.map((e) => JSON.stringify(e)) : [JSON.stringify(parsed)]
    } catch {
      // not one JSON value after all (NDJSON): every line is judged on its own
    }
  }
  return body.split("\n")
}

/**
 * Reads a body of at most `maxBytes`: a declared length over it is refused before reading, a
 * longer chunked body as soon as it passes it (Node discards the rest, never holding it).
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    const tooLarge = Effect.fail(
      new PayloadTooLarge({ message: `The request body is larger than ${maxBytes} bytes; send the events in smaller batches`, maxBytes })
    )
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBytes) return yield* tooLarge
    return yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBytes)),
      Effect.catchAll((e) => ((e.cause as Error | undefined)?.message === "maxBytes exceeded" ? tooLarge : Effect.die(e)))
    )
  })

export const EventsLive = HttpApiBuilder.group(WorkcatApi, "events", (handlers) =>
  Effect.gen(function* () {
    const maxBytes = yield* Config.integer("WORKCAT_MAX_BODY_BYTES").pipe(Config.withDefault(64 * 1024 * 1024))
    // The body is read by the handler, under the limit, and only once the caller may write events.
    const linesFor = (tenant: TenantId, request: HttpServerRequest.HttpServerRequest) =>
      authorize(tenant, "events:write").pipe(Effect.zipRight(readBody(request, maxBytes)), Effect.map(bodyLines))
    return handlers
      .handleRaw("okta", ({ path, request }) =>
        Effect.flatMap(linesFor(path.tenant, request), (lines) =>
          Effect.flatMap(Ingest, (ingest) => ingest.okta(Stream.fromIterable(lines), { source: "http:okta" })).pipe(
            forTenant(path.tenant, "events:write")
          )
        )
      )
      .handleRaw("hr", ({ path, request }) =>
        Effect.flatMap(linesFor(path.tenant, request), (lines) =>
          Effect.flatMap(HrIngest, (hr) => hr.records(Stream.fromIterable(lines), { source: "http:hr" })).pipe(
            forTenant(path.tenant, "events:write")
          )
        )
      )
  })
)
