import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { DatabaseUrl, MasterKey, MasterKeyLive, WorkcatHome } from "@workcat/tenancy"
import { Config, Console, Effect, Layer, Option, Redacted, Schedule } from "effect"
import * as path from "node:path"
import * as EmbeddedPostgres from "../db/EmbeddedPostgres.js"
import * as Opt from "./Options.js"

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

/**
 * How commands that set `DATABASE_URL` get the master key the others use. Never the key itself:
 * it would stay in the terminal's scrollback and in logs of whatever runs `db start`.
 */
const masterKeyHint = (home: string, defaultDataDir: boolean, url: string) =>
  Effect.gen(function* () {
    const file = path.join(home, "master.key")
    if (Option.isSome(yield* Config.option(Config.redacted("WORKCAT_MASTER_KEY")))) {
      return { file: null, line: "  and the same WORKCAT_MASTER_KEY as this command was given" }
    }
    if (defaultDataDir) {
      // The key the commands that join by themselves use (and create on first use): create it now,
      // so `cat` finds it before they ran.
      const embedded = Layer.succeed(DatabaseUrl, { url: Redacted.make(url), embedded: true })
      yield* MasterKey.pipe(Effect.provide(MasterKeyLive.pipe(Layer.provide(embedded))))
    }
    if (defaultDataDir || (yield* (yield* FileSystem.FileSystem).exists(file).pipe(Effect.orElseSucceed(() => false)))) {
      return { file, line: `  export WORKCAT_MASTER_KEY="$(cat ${shellQuote(file)})"` }
    }
    return {
      file: null,
      line: "  export WORKCAT_MASTER_KEY=...  # 32 random bytes, base64 (openssl rand -base64 32): one key for every command on this database, kept safe"
    }
  })

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
    json: Opt.json,
    exitWithParent: Options.boolean("exit-with-parent").pipe(
      Options.withDescription("Leave (release the lease) when the process that started this one ends: for test harnesses and supervisors")
    )
  },
  (args) =>
    Effect.gen(function* () {
      const home = path.resolve(yield* WorkcatHome)
      const dataDir = Option.isSome(args.dataDir) ? args.dataDir.value : path.join(home, "pg")
      const settings = args.noFsync ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}
      const server = yield* EmbeddedPostgres.start({ dataDir, settings })
      const key = yield* masterKeyHint(home, Option.isNone(args.dataDir), server.url)
      if (args.json) {
        const { adopted, dataDir, logFile, owned, url } = server
        yield* Console.log(JSON.stringify({ url, dataDir, owned, adopted, logFile, masterKeyFile: key.file }))
      } else {
        const how = server.owned
          ? "started"
          : server.adopted
          ? "running with no users left (they were killed); adopted it"
          : "already running; joined it"
        yield* Console.log(
          [
            `PostgreSQL ${how} in ${server.dataDir} (log: ${server.logFile})`,
            ...(Option.isNone(args.dataDir)
              ? [`Commands run with WORKCAT_HOME=${home} and no DATABASE_URL use it by themselves.`]
              : []),
            "Other commands use it with:",
            `  export DATABASE_URL=${shellQuote(server.url)}`,
            key.line,
            "It runs while this or another workcat command started without DATABASE_URL uses it; the last one to finish stops it.",
            "Commands given the DATABASE_URL above hold no lease on it: keep this running while they work. Ctrl-C to leave."
          ].join("\n")
        )
      }
      // The lease is held until interrupted (Ctrl-C, SIGTERM): the scope closes and releases it.
      const parent = process.ppid
      yield* args.exitWithParent
        ? Effect.repeat(Effect.sync(() => process.ppid === parent), { schedule: Schedule.spaced("1 second"), while: (alive) => alive })
        : Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Start (or join) the embedded PostgreSQL and keep it running until interrupted; other workcat commands share it"
  )
)

export const dbCommand = Command.make("db").pipe(
  Command.withDescription("The embedded PostgreSQL"),
  Command.withSubcommands([start])
)
