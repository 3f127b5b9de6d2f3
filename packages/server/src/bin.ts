import { Command } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import {
  CliOutput,
  costsCommand,
  dbCommand,
  deadLettersCommand,
  evalCommand,
  forgetCommand,
  generateCommand,
  hrCommand,
  ingestCommand,
  migrateCommand,
  runCommand,
  taxonomyCommand,
  tenantsCommand,
  tokensCommand,
  workerCommand
} from "@workcat/pipeline"
import { Effect } from "effect"
import { serveCommand } from "./ServeCommand.js"

/**
 * The `workcat` command. It lives in the server package because `serve` needs the server and
 * dependencies point one way (core ← tenancy ← pipeline ← server).
 */
const workcat = Command.make("workcat").pipe(
  Command.withDescription("Work categorization pipeline: ingest SSO and HR events, categorize, serve results"),
  Command.withSubcommands([
    generateCommand,
    tenantsCommand,
    tokensCommand,
    ingestCommand,
    hrCommand,
    deadLettersCommand,
    runCommand,
    evalCommand,
    costsCommand,
    forgetCommand,
    taxonomyCommand,
    dbCommand,
    migrateCommand,
    workerCommand,
    serveCommand
  ])
)

const cli = Command.run(workcat, { name: "workcat", version: "0.1.0" })

cli(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
