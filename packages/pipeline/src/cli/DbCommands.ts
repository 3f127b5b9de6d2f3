import { Command, Options } from "@effect/cli"
import { WorkcatHome } from "@workcat/tenancy"
import { Console, Effect, Option } from "effect"
import * as path from "node:path"
import * as EmbeddedPostgres from "../db/EmbeddedPostgres.js"
import * as Opt from "./Options.js"

const start = Command.make(
  "start",
  {
    dataDir: Options.directory("data-dir").pipe(
      Options.optional,
      Options.withDescription("Cluster directory (default: $WORKCAT_HOME/pg)")
    ),
    noFsync: Options.boolean("no-fsync").pipe(
      Options.withDescription("Skip fsync: faster, but a crash can lose data; for throwaway test clusters only")
    ),
    json: Opt.json
  },
  (args) =>
    Effect.gen(function* () {
      const dataDir = Option.isSome(args.dataDir) ? args.dataDir.value : path.join(yield* WorkcatHome, "pg")
      const settings = args.noFsync ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}
      const server = yield* EmbeddedPostgres.start({ dataDir, settings })
      yield* args.json
        ? Console.log(JSON.stringify({ url: server.url, dataDir: server.dataDir, owned: server.owned }))
        : Console.log(
            `PostgreSQL ${server.owned ? "running" : "already running"} in ${server.dataDir}\nDATABASE_URL=${server.url}\n(Ctrl-C to stop)`
          )
      if (server.owned) yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Start the embedded PostgreSQL and keep it running until interrupted"))

export const dbCommand = Command.make("db").pipe(
  Command.withDescription("The embedded PostgreSQL"),
  Command.withSubcommands([start])
)

