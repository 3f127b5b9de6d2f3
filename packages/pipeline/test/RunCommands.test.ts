import { CliConfig, CommandDescriptor } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { runCommand } from "../src/cli/RunCommands.js"

/** The `--concurrency` that `workcat run …args` hands to its subcommand (which passes it on to the executor). */
const concurrencyOf = (...args: ReadonlyArray<string>) =>
  CommandDescriptor.parse(runCommand.descriptor, ["run", ...args], CliConfig.defaultConfig).pipe(
    Effect.map((directive) => {
      if (directive._tag !== "UserDefined") throw new Error(`not a command line to run: ${directive._tag}`)
      // A `Command` subcommand parses to its context tag and its values.
      const sub: unknown = Option.getOrThrow(directive.value.subcommand)
      return ((Array.isArray(sub) ? sub[1] : sub) as { readonly concurrency: unknown }).concurrency
    }),
    Effect.provide(NodeContext.layer)
  )

describe("run commands", () => {
  it.effect("leave the concurrency to WORKCAT_CONCURRENCY unless --concurrency is given", () =>
    Effect.gen(function* () {
      const id = "0e0be78b-a760-4387-95fe-266713d1eeee"
      expect(yield* concurrencyOf("nightly", "--tenant", "acme")).toEqual(Option.none())
      expect(yield* concurrencyOf("retry", id)).toEqual(Option.none())
      expect(yield* concurrencyOf("nightly", "--tenant", "acme", "--concurrency", "3")).toEqual(Option.some(3))
      expect(yield* concurrencyOf("retry", "--concurrency", "5", id)).toEqual(Option.some(5))
    }))
})
