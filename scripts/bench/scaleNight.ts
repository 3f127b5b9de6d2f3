/**
 * One nightly run in a process of its own, for `bench:scale`: the real runtime, pipeline and
 * offline categorizer. Prints one JSON line: the run's state and id, its wall time and this
 * process's peak RSS. Usage: scaleNight.ts TENANT DATE (DATABASE_URL and WORKCAT_MASTER_KEY set).
 */
import { NodeRuntime } from "@effect/platform-node"
import { BaseLive, OfflineCategorizerLive, runNightly, RunsLive } from "@workcat/pipeline"
import { TenantId } from "@workcat/tenancy"
import { Console, Effect, Layer } from "effect"

const [tenant, date] = process.argv.slice(2) as [string, string]

Effect.gen(function* () {
  const started = performance.now()
  const { run, summary } = yield* runNightly(TenantId.make(tenant), date)
  const seconds = (performance.now() - started) / 1000
  yield* Console.log(JSON.stringify({ state: run.state, id: run.id, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024, summary }))
}).pipe(Effect.provide(RunsLive.pipe(Layer.provideMerge(OfflineCategorizerLive), Layer.provideMerge(BaseLive))), NodeRuntime.runMain)
