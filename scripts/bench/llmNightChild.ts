/**
 * One worker process of `bench:categorize`'s fleet part: drives tenant TENANT's night DATE with
 * the LLM categorizer against the OpenAI-compatible test server at URL (the API key's limit RPM
 * a minute, shared with the other workers through the control plane), LANES users at a time,
 * and prints the run's state. The settings are `LlmFleet.ts`'s.
 *
 *   tsx --conditions=workcat-source scripts/bench/llmNightChild.ts TENANT DATE URL RPM LANES
 */
import { NodeRuntime } from "@effect/platform-node"
import { BaseLive, RunsLive, runNightly } from "@workcat/pipeline"
import { TenantId } from "@workcat/tenancy"
import { Console, Effect, Layer } from "effect"
import { llmLayer } from "./LlmFleet.js"

const [tenant = "", date = "", url = "", rpm = "500", lanes = "32"] = process.argv.slice(2)

runNightly(TenantId.make(tenant), date, { concurrency: Number(lanes) }).pipe(
  Effect.flatMap(({ run }) => Console.log(JSON.stringify({ state: run.state, id: run.id }))),
  Effect.provide(RunsLive.pipe(Layer.provideMerge(llmLayer(url, Number(rpm))), Layer.provideMerge(BaseLive))),
  NodeRuntime.runMain
)
