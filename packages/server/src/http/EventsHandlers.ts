import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { HrIngest, hrInputValues, Ingest, jsonValues } from "@workcat/pipeline"
import type { TenantId } from "@workcat/tenancy"
import { Cause, Config, Effect, Option, Stream } from "effect"
import { PayloadTooLarge, Unavailable, WorkcatApi } from "../Api.js"
import { authorize } from "../Auth.js"
import { forTenant } from "../TenantServices.js"
import { readLimited } from "./Bodies.js"
import { isDatabaseUnreachable } from "./Failures.js"

/**
 * Reads a body of at most `maxBytes`: a declared length over it is refused before reading, a
 * longer chunked body as soon as it passes it (Node discards the rest, never holding it; the 413
 * closes the connection). Deep nesting is not refused here: each record is judged on its own (a
 * truncated line leaves its brackets open), and intake handles any depth without recursion.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    const tooLarge = new PayloadTooLarge({ message: `The request body is larger than ${maxBytes} bytes; send the events in smaller batches`, maxBytes })
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBytes) return yield* tooLarge
    const text = yield* readLimited(request, maxBytes)
    if (Option.isNone(text)) return yield* tooLarge
    return text.value
  })

/** Day partitions one request may add: a month of backfill; older days go in separate requests (or files). */
const MAX_NEW_DAYS_PER_REQUEST = 31

export const EventsLive = HttpApiBuilder.group(WorkcatApi, "events", (handlers) =>
  Effect.gen(function* () {
    const maxBytes = yield* Config.integer("WORKCAT_MAX_BODY_BYTES").pipe(Config.withDefault(64 * 1024 * 1024))
    // The body is read by the handler, under the limit, and only once the caller may write events.
    const bodyOf = (tenant: TenantId, request: HttpServerRequest.HttpServerRequest) =>
      authorize(tenant, "events:write").pipe(Effect.zipRight(readBody(request, maxBytes)))
    return handlers
      .handle("oktaVerify", ({ headers, path }) =>
        authorize(path.tenant, "events:write").pipe(Effect.as({ verification: headers["x-okta-verification-challenge"] }))
      )
      .handleRaw("sso", ({ path, request }) =>
        // NDJSON, a JSON array, or one JSON document (even pretty-printed): see `jsonValues`.
        Effect.flatMap(bodyOf(path.tenant, request), (body) =>
          Effect.flatMap(Ingest, (ingest) =>
            ingest.events(path.format, jsonValues(Stream.make(body)), { source: `http:${path.format}`, maxNewDays: MAX_NEW_DAYS_PER_REQUEST })
          ).pipe(
            forTenant(path.tenant, "events:write"),
            // The database went away mid-way: nothing was lost, what committed is idempotent, so the
            // sender retries the whole body. Any other warehouse error is no reason to retry (a 500).
            Effect.catchTag("WarehouseError", (e) =>
              isDatabaseUnreachable(Cause.fail(e.cause)) ? new Unavailable({ message: "The events could not all be stored; send them again" }) : Effect.die(e)
            )
          )
        )
      )
      .handleRaw("hr", ({ path, request, urlParams }) =>
        // CSV, or JSON (NDJSON, an array, a Workday or BambooHR report): see `hrInputValues`.
        Effect.flatMap(bodyOf(path.tenant, request), (body) =>
          Effect.flatMap(HrIngest, (hr) => hr.records(hrInputValues(Stream.make(body)), { source: "http:hr", asOf: urlParams.asOf })).pipe(
            forTenant(path.tenant, "events:write")
          )
        )
      )
  })
)
