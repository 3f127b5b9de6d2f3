import { HttpApiBuilder } from "@effect/platform"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import { Unavailable, WorkcatApi } from "../Api.js"

export const HealthLive = HttpApiBuilder.group(WorkcatApi, "health", (handlers) =>
  handlers.handle("healthz", () =>
    Effect.gen(function* () {
      const sql = yield* ControlSql
      yield* sql`SELECT 1`.pipe(
        Effect.timeout("2 seconds"),
        Effect.mapError(() => new Unavailable({ message: "database unreachable" }))
      )
      return { status: "ok", database: "ok" } as const
    })
  )
)
