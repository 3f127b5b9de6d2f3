import { Command, Options } from "@effect/cli"
import { Alerts, CliOptions, runWorker, RuntimeLive, watchAlerts } from "@workcat/pipeline"
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
          ? runWorker({ maxRuns: args.workerRuns, ...(args.workerTenants.length === 0 ? {} : { tenants: args.workerTenants }) })
          : Effect.never,
        // A worker also watches for alerts (once per tenant, condition and day, however many workers).
        args.workerRuns > 0 ? watchAlerts(args.workerTenants.length === 0 ? undefined : args.workerTenants) : Effect.never
      ],
      { concurrency: 3, discard: true }
    ).pipe(Effect.provide(Alerts.Default.pipe(Layer.provideMerge(RuntimeLive))))
).pipe(Command.withDescription("Serve the HTTP API and its docs, and work on queued runs, until interrupted"))
