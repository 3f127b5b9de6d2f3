import { HttpApiBuilder, HttpIncomingMessage, type HttpServerRequest } from "@effect/platform"
import { HrIngest, Ingest, jsonValues } from "@workcat/pipeline"
import type { TenantId } from "@workcat/tenancy"
import { Config, Effect, Option, Stream } from "effect"
import { PayloadTooLarge, Unavailable, WorkcatApi } from "../Api.js"
import { authorize } from "../Auth.js"
import { forTenant } from "../TenantServices.js"

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
    // NDJSON, a JSON array, or one JSON document (even pretty-printed): see `jsonValues`.
    const valuesFor = (tenant: TenantId, request: HttpServerRequest.HttpServerRequest) =>
      authorize(tenant, "events:write").pipe(
        Effect.zipRight(readBody(request, maxBytes)),
        Effect.map((body) => jsonValues(Stream.make(body)))
      )
    return handlers
      .handle("oktaVerify", ({ headers, path }) =>
        authorize(path.tenant, "events:write").pipe(Effect.as({ verification: headers["x-okta-verification-challenge"] }))
      )
      .handleRaw("sso", ({ path, request }) =>
        Effect.flatMap(valuesFor(path.tenant, request), (values) =>
          Effect.flatMap(Ingest, (ingest) => ingest.events(path.format, values, { source: `http:${path.format}` })).pipe(
            forTenant(path.tenant, "events:write"),
            // Nothing was lost: what committed is idempotent, so the sender retries the whole body.
            Effect.catchTag("SqlError", (e) => new Unavailable({ message: `The events could not be stored (${e.message}); send them again` }))
          )
        )
      )
      .handleRaw("hr", ({ path, request }) =>
        Effect.flatMap(valuesFor(path.tenant, request), (values) =>
          Effect.flatMap(HrIngest, (hr) => hr.records(values, { source: "http:hr" })).pipe(forTenant(path.tenant, "events:write"))
        )
      )
  })
)
