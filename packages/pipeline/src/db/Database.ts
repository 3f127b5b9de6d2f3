import { DatabaseUrl, WorkcatHome } from "@workcat/tenancy"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import * as path from "node:path"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"

/**
 * `DATABASE_URL` when set; otherwise an embedded PostgreSQL in `$WORKCAT_HOME/pg`, started for
 * the lifetime of the layer (or joined, if another workcat process runs it already).
 */
export const DatabaseLive = Layer.scoped(
  DatabaseUrl,
  Effect.gen(function* () {
    const configured = yield* Config.option(Config.redacted("DATABASE_URL"))
    if (Option.isSome(configured) && Redacted.value(configured.value).trim() !== "") return { url: configured.value, embedded: false }
    const home = yield* WorkcatHome
    const server = yield* EmbeddedPostgres.start({ dataDir: path.join(home, "pg") })
    yield* Effect.logDebug(`embedded PostgreSQL ${server.owned ? "started" : "joined"} in ${server.dataDir}`)
    return { url: Redacted.make(server.url), embedded: true }
  })
)
