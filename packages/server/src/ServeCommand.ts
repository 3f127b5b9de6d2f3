import { Command, Options } from "@effect/cli"
import { RuntimeLive } from "@workcat/pipeline"
import { Layer, Option } from "effect"
import { ServerLive } from "./Server.js"

export const serveCommand = Command.make(
  "serve",
  {
    port: Options.integer("port").pipe(Options.optional, Options.withDescription("Port (default: PORT or 8080)")),
    host: Options.text("host").pipe(Options.optional, Options.withDescription("Interface (default: HOST or 127.0.0.1)"))
  },
  (args) =>
    Layer.launch(
      ServerLive({ port: Option.getOrUndefined(args.port), host: Option.getOrUndefined(args.host) }).pipe(
        Layer.provide(RuntimeLive)
      )
    )
).pipe(Command.withDescription("Serve the HTTP API and its docs until interrupted"))
