import { Command, Options } from "@effect/cli"
import { CliOptions, RuntimeLive, runWorkerWatching } from "@workcat/pipeline"
import { Effect, Layer, Option } from "effect"
import { ServerLive } from "./Server.js"

export const serveCommand = Command.make(
  "serve",
  {
    port: CliOptions.integer("port", 0).pipe(Options.optional, Options.withDescription("Port (default: PORT or 8080)")),
    host: Options.text("host").pipe(Options.optional, Options.withDescription("Interface (default: HOST or 127.0.0.1)")),
    workerRuns: CliOptions.integer("worker-runs", 0).pipe(
      Options.withDefault(4),
      Options.withDescription("Runs this process drives at once as a worker (0: none; pushed runs then wait for `workcat worker`)")
    ),
    workerTenants: CliOptions.workerTenants("worker-tenant")
  },
  (args) =>
    Effect.all(
      [
        Layer.launch(ServerLive({ port: Option.getOrUndefined(args.port), host: Option.getOrUndefined(args.host) })),
        args.workerRuns > 0
          ? runWorkerWatching({ maxRuns: args.workerRuns, ...(args.workerTenants.length === 0 ? {} : { tenants: args.workerTenants }) })
          : Effect.never
      ],
      { concurrency: 2, discard: true }
    ).pipe(Effect.provide(RuntimeLive))
).pipe(Command.withDescription("Serve the HTTP API and its docs, and work on queued runs, until interrupted"))
