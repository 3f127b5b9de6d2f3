/**
 * A worker process for the shared budget's test: categorizes users `FIRST` to `FIRST + COUNT - 1`
 * (`developer(i)`) of tenant `TENANT` with the LLM categorizer against the test server at `URL`,
 * four at a time, printing `ok`, `refused` or `failed` per user, and `warning` for each budget
 * warning this process logs.
 *
 *   node --conditions=workcat-source --import tsx budgetChild.ts TENANT URL FIRST COUNT
 */
import { NodeRuntime } from "@effect/platform-node"
import { TenantId } from "@workcat/tenancy"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { BaseLive, PipelineLive } from "../../src/app/Layers.js"
import { makeLlmCategorizer } from "../../src/categorizer/llm/LlmCategorizer.js"
import { developer, llmSettings } from "./LlmInputs.js"

const [tenant = "", url = "", first = "0", count = "0"] = process.argv.slice(2)

const warnings = Logger.make(({ logLevel }) => {
  if (logLevel === LogLevel.Warning) process.stdout.write("warning\n")
})

const program = Effect.gen(function* () {
  const categorizer = yield* makeLlmCategorizer(llmSettings(url))
  yield* Effect.forEach(
    Array.from({ length: Number(count) }, (_, i) => Number(first) + i),
    (i) =>
      categorizer.categorize(developer(i)).pipe(
        Effect.match({
          onFailure: (e) => (e.reason === "budget exhausted" ? "refused" : `failed ${e.reason}`),
          onSuccess: () => "ok"
        }),
        Effect.tap((outcome) => Effect.sync(() => process.stdout.write(`${outcome}\n`)))
      ),
    { concurrency: 4, discard: true }
  )
})

NodeRuntime.runMain(
  program.pipe(
    Effect.provide(PipelineLive(TenantId.make(tenant)).pipe(Layer.provideMerge(BaseLive))),
    Effect.provide(Logger.replace(Logger.defaultLogger, warnings))
  )
)
