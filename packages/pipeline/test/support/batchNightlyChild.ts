/**
 * A nightly run in batch mode in a process of its own, for the batch crash test: the real
 * runtime and the LLM categorizer against the test server at URL, looking at batches every 100 ms.
 * Usage: batchNightlyChild.ts TENANT DATE URL
 */
import { NodeRuntime } from "@effect/platform-node"
import { TenantId } from "@workcat/tenancy"
import { Console, Effect, Layer } from "effect"
import { BaseLive } from "../../src/app/Layers.js"
import { RunsLive } from "../../src/app/Runtime.js"
import { llmCategorizerContext, makeLlmCategorizer } from "../../src/categorizer/llm/LlmCategorizer.js"
import { runNightly } from "../../src/nightly/RunNightly.js"
import { llmSettings } from "./LlmInputs.js"

const [tenant, date, url] = process.argv.slice(2) as [string, string, string]

const llm = Layer.effectContext(Effect.map(makeLlmCategorizer(llmSettings(url, { batchPollMs: 100 })), llmCategorizerContext))

runNightly(TenantId.make(tenant), date, { concurrency: 4 }).pipe(
  Effect.flatMap(({ run }) => Console.log(JSON.stringify({ state: run.state, id: run.id }))),
  Effect.provide(RunsLive.pipe(Layer.provideMerge(llm), Layer.provideMerge(BaseLive))),
  NodeRuntime.runMain
)
