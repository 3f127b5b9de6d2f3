/**
 * A nightly run in a process of its own, for the crash test: the real runtime and pipeline, with
 * the offline categorizer slowed down and every call logged (synchronously, before the result,
 * like a paid LLM call that counts as soon as it is sent).
 * Usage: nightlyChild.ts TENANT DATE CALLS_FILE DELAY_MS
 */
import { NodeRuntime } from "@effect/platform-node"
import { type CategorizationInput, Categorizer } from "@workcat/core"
import { TenantId } from "@workcat/tenancy"
import { Console, Effect, Layer } from "effect"
import { appendFileSync } from "node:fs"
import { OfflineCategorizerLive } from "../../src/categorizer/OfflineCategorizer.js"
import { BaseLive } from "../../src/app/Layers.js"
import { runNightly } from "../../src/nightly/RunNightly.js"
import { RunsLive } from "../../src/app/Runtime.js"

const [tenant, date, callsFile, delayMs] = process.argv.slice(2) as [string, string, string, string]

const SlowLoggedCategorizer = Layer.effect(
  Categorizer,
  Effect.map(Categorizer, (offline) => ({
    name: offline.name,
    categorize: (input: CategorizationInput) =>
      Effect.sync(() => appendFileSync(callsFile, `${input.profile.userId}\n`)).pipe(
        Effect.zipRight(Effect.sleep(Number(delayMs))),
        Effect.zipRight(offline.categorize(input))
      )
  }))
).pipe(Layer.provide(OfflineCategorizerLive))

runNightly(TenantId.make(tenant), date, { concurrency: 4 }).pipe(
  Effect.flatMap(({ run }) => Console.log(JSON.stringify({ state: run.state, id: run.id }))),
  Effect.provide(RunsLive.pipe(Layer.provideMerge(SlowLoggedCategorizer), Layer.provideMerge(BaseLive))),
  NodeRuntime.runMain
)
