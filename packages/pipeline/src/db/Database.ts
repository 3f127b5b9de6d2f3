import { DatabaseUrl, WorkcatHome } from "@workcat/tenancy"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import * as path from "node:path"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"

/**
 * `DATABASE_URL` when set; otherwise the embedded PostgreSQL in `$WORKCAT_HOME/pg`, started or
 * joined (another workcat process may run it already) and leased for the lifetime of the layer:
 * it stays up while any workcat process uses it, and the last one to leave stops it.
 */
export const DatabaseLive = Layer.scoped(
  DatabaseUrl,
  Effect.gen(function* () {
    const configured = yield* Config.option(Config.redacted("DATABASE_URL"))
    if (Option.isSome(configured) && Redacted.value(configured.value).trim() !== "") return { url: configured.value, embedded: false }
    const home = yield* WorkcatHome
    const server = yield* EmbeddedPostgres.start({ dataDir: path.join(home, "pg") })
    const how = server.owned ? "started" : server.adopted ? "adopted (its previous users are gone)" : "joined"
    yield* Effect.logDebug(`embedded PostgreSQL ${how} in ${server.dataDir}`)
    return { url: Redacted.make(server.url), embedded: true }
  })
)
