import { HttpApiBuilder } from "@effect/platform"
import { HrIngest, Ingest } from "@workcat/pipeline"
import { Effect, Stream } from "effect"
import { WorkcatApi } from "../Api.js"
import { forTenant } from "../TenantServices.js"

/**
 * A request body as lines, whatever its content type: text as NDJSON (or a JSON array), a
 * parsed JSON array one element per line, a single parsed object as one line.
 */
const bodyLines = (body: unknown): ReadonlyArray<string> => {
  if (body instanceof Uint8Array) return bodyLines(new TextDecoder().decode(body))
  if (Array.isArray(body)) return body.map((e) => JSON.stringify(e))
  if (typeof body !== "string") return [JSON.stringify(body)]
  if (body.trimStart().startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(body)
      if (Array.isArray(parsed)) return bodyLines(parsed)
    } catch {
      // not a JSON array after all: every line is judged on its own
    }
  }
  return body.split("\n")
}

export const EventsLive = HttpApiBuilder.group(WorkcatApi, "events", (handlers) =>
  handlers
    .handle("okta", ({ path, payload }) =>
      Effect.flatMap(Ingest, (ingest) => ingest.okta(Stream.fromIterable(bodyLines(payload)), { source: "http:okta" })).pipe(
        forTenant(path.tenant, "events:write")
      )
    )
    .handle("hr", ({ path, payload }) =>
      Effect.flatMap(HrIngest, (hr) => hr.records(Stream.fromIterable(bodyLines(payload)), { source: "http:hr" })).pipe(
        forTenant(path.tenant, "events:write")
      )
    )
)
