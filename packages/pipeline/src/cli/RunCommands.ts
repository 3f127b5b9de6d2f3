import { Command, Options } from "@effect/cli"
import { DefaultTaxonomy } from "@workcat/core"
import { Console, Effect } from "effect"
import { TenantCommandLive } from "../Layers.js"
import { Nightly, type NightlySummary } from "../nightly/Nightly.js"
import { formatNumber, makeProgress, printJson } from "./Output.js"
import * as Opt from "./Options.js"

/** Exit codes for schedulers: 0 every selected user categorized, 2 some failed (results kept). */
export const EXIT = { ready: 0, failed: 1, degraded: 2, invalidInput: 3 } as const

export const describeRun = (s: NightlySummary): string => {
  const lines = [
    `run ${s.runId} for ${s.tenant} on ${s.date}: ${s.state} in ${(s.wallMs / 1000).toFixed(1)} s (${s.categorizer})`,
    `  selected ${formatNumber(s.selected)} (${Object.entries(s.byReason).map(([r, n]) => `${r} ${n}`).join(", ") || "none"}), categorized ${formatNumber(s.categorized)}, failed ${s.failed.length}, deferred ${s.deferred} (no activity yet)`
  ]
  const byCategory = Object.entries(s.byCategory).sort((a, b) => b[1] - a[1])
  if (byCategory.length > 0) {
    lines.push("  categories:")
    for (const [id, n] of byCategory) lines.push(`    ${(DefaultTaxonomy.find(id)?.name ?? id).padEnd(24)} ${String(n).padStart(6)}`)
  }
  for (const f of s.failed.slice(0, 10)) lines.push(`  failed ${f.userId}: ${f.reason}`)
  return lines.join("\n")
}

const nightly = Command.make(
  "nightly",
  {
    tenant: Opt.tenant,
    date: Opt.date,
    json: Opt.json,
    concurrency: Options.integer("concurrency").pipe(Options.withDefault(8), Options.withDescription("Users categorized at once"))
  },
  (args) =>
    Effect.gen(function* () {
      const nightly = yield* Nightly
      const progress = makeProgress()
      const summary = yield* nightly.run({
        date: args.date,
        concurrency: args.concurrency,
        onProgress: (done, total) => progress.update(() => `categorizing ${formatNumber(done)}/${formatNumber(total)}`)
      })
      yield* progress.done
      yield* args.json ? printJson(summary) : Console.log(describeRun(summary))
      process.exitCode = summary.state === "READY" ? EXIT.ready : EXIT.degraded
    }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Run the nightly categorization of a tenant for a date"))

export const runCommand = Command.make("run").pipe(
  Command.withDescription("Run a pipeline"),
  Command.withSubcommands([nightly])
)
