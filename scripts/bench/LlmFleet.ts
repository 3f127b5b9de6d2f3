/**
 * The LLM part of `bench:categorize`: one generated company ingested into three tenants (the
 * same people, so their nights compare), each night driven with the real `openai` client against
 * the OpenAI-compatible test server (log-normal latency of median `latencyMs`, its own limit of
 * `rpm` requests over a sliding minute):
 *
 * 1. Fleet: three worker processes (`llmNightChild.ts`) drive one night together, sharing the API
 *    key's limit through the control plane. Two calls per user make the rate-limit bound
 *    2 x users / rpm minutes: prints the wall time beside it, the server's 429s and the most
 *    requests it saw in any 60 s, and the cost per categorized user at list prices.
 * 2. Routing: the same night on a tenant with `llm.routing` `explain` at the default thresholds:
 *    cost per user beside (1)'s, users and cost per route, and how often the LLM agreed with the
 *    offline model (the test server answers a hash of the request, not a judgement: agreement
 *    measures nothing here but the plumbing, and accuracy cannot be judged against it).
 * 3. Batch: the same night on a tenant with `llm.mode` `batch`: requests sent in batch files and
 *    synchronously, and the cost per user beside (1)'s.
 */
import * as Shell from "@effect/platform/Command"
import { Categorizer } from "@workcat/core"
import { BaseLive, CostLedger, type NightlySummary, PipelineLive, RunsLive, runNightly } from "@workcat/pipeline"
import { DEFAULT_PRICES, type LlmSettings, llmCategorizerContext, makeLlmCategorizer } from "@workcat/pipeline/llm"
import { type FakeOpenAiStats, makeFakeOpenAi } from "@workcat/pipeline/testing/openai"
import { type ControlSql, type SettingsPatch, TenantId } from "@workcat/tenancy"
import { Console, Duration, Effect, Layer, Redacted, Schema, Stream } from "effect"
import { fileURLToPath } from "node:url"
import { BENCH_MASTER_KEY } from "./Database.js"
import { END, generateFor, seedTenant } from "./Seed.js"

const CHILD = fileURLToPath(new URL("./llmNightChild.ts", import.meta.url))
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))
const WORKERS = 3

export interface LlmBenchOptions {
  readonly employees: number
  readonly rpm: number
  readonly latencyMs: number
  readonly lanes: number
  /** The bench database: its URL (for the worker processes) and the configuration pointing at it. */
  readonly url: string
  readonly config: Layer.Layer<never, never, never>
}

/** Log-normal milliseconds with the given median (sigma 0.5: p90 about 1.9 x the median). */
const logNormal = (median: number) => () => {
  const u = 1 - Math.random()
  const v = Math.random()
  return median * Math.exp(0.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v))
}

/** The most of these times (ms) within any `windowMs`. */
const mostInWindow = (times: ReadonlyArray<number>, windowMs: number) => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let from = 0, to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= windowMs) from++
    most = Math.max(most, to - from + 1)
  }
  return most
}

/** The LLM settings of every night here: the default models at list prices, the test server's limit as the key's. */
export const settingsFor = (url: string, rpm: number): LlmSettings => ({
  apiKey: Redacted.make("sk-bench"),
  baseUrl: url,
  models: { categorize: "gpt-4.1-mini", explain: "gpt-4.1-nano" },
  prices: DEFAULT_PRICES,
  requestsPerMinute: rpm,
  // The test server limits requests only; tokens are not what this measures.
  tokensPerMinute: 100_000_000,
  timeoutMs: 60_000,
  maxAttempts: 5,
  batchPollMs: 500
})

/** The LLM categorizer with these settings, and its batch mode (typed as the categorizer alone, as `CategorizerLive` is). */
export const llmLayer = (url: string, rpm: number): Layer.Layer<Categorizer, never, ControlSql> =>
  Layer.effectContext(Effect.map(makeLlmCategorizer(settingsFor(url, rpm)), llmCategorizerContext))

const WorkerReport = Schema.parseJson(Schema.Struct({ state: Schema.String, id: Schema.String }))

/** One worker process driving the tenant's night; fails unless it ends READY. */
const worker = (tenant: TenantId, url: string, dbUrl: string, options: LlmBenchOptions) =>
  Effect.gen(function* () {
    const child = yield* Shell.make(TSX, "--conditions=workcat-source", CHILD, tenant, END, url, String(options.rpm), String(options.lanes)).pipe(
      Shell.env({ DATABASE_URL: dbUrl, WORKCAT_MASTER_KEY: BENCH_MASTER_KEY }),
      Shell.stderr("inherit"),
      Shell.start
    )
    const [stdout, exitCode] = yield* Effect.all([child.stdout.pipe(Stream.decodeText(), Stream.mkString), child.exitCode], { concurrency: 2 })
    const report = yield* Schema.decode(WorkerReport)(stdout.trim().split("\n").at(-1) ?? "").pipe(
      Effect.orElse(() => Effect.dieMessage(`a worker exited with ${exitCode}:\n${stdout}`))
    )
    if (report.state !== "READY") return yield* Effect.dieMessage(`a worker saw the night end ${report.state}`)
  }).pipe(Effect.scoped)

export const benchLlm = (options: LlmBenchOptions) =>
  Effect.gen(function* () {
    const base = BaseLive.pipe(Layer.provide(options.config))
    const budget: SettingsPatch = { llm: { concurrency: options.lanes, monthlyBudgetUsd: 1_000 } }
    const fleet = TenantId.make("bench_llm")
    yield* Console.log(`generating ${options.employees} employees x 90 days, ingested into three tenants …`)
    const files = yield* generateFor(fleet, options.employees, "1")
    const tenants = {
      fleet,
      routed: TenantId.make("bench_llm_routed"),
      batch: TenantId.make("bench_llm_batch")
    }
    yield* seedTenant(tenants.fleet, budget, files).pipe(Effect.provide(base))
    yield* seedTenant(tenants.routed, { llm: { ...budget.llm, routing: "explain" } }, files).pipe(Effect.provide(base))
    yield* seedTenant(tenants.batch, { llm: { ...budget.llm, mode: "batch" } }, files).pipe(Effect.provide(base))

    /** A finished night's summary and spend (the night run again returns its recorded result). */
    const outcome = (tenant: TenantId, url: string) =>
      Effect.gen(function* () {
        const night = yield* runNightly(tenant, END, { concurrency: options.lanes })
        const summary = night.summary
        if (night.run.state !== "READY" || summary === null) return yield* Effect.dieMessage(`the night of ${tenant} ended ${night.run.state}: ${night.run.error}`)
        const spend = yield* Effect.flatMap(CostLedger, (l) => l.report).pipe(Effect.provide(PipelineLive(tenant).pipe(Layer.provide(base))))
        const month = spend.months[0]!
        return { summary, month, perUser: month.costUsd / summary.categorized }
      }).pipe(Effect.provide(RunsLive.pipe(Layer.provideMerge(llmLayer(url, options.rpm)), Layer.provideMerge(base))))
    const server = (batchMs = 0) =>
      makeFakeOpenAi({ latencyMs: logNormal(options.latencyMs), requestsPerMinute: options.rpm, batches: { durationMs: batchMs } })
    const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.map(Effect.timed(effect), ([duration, a]) => ({ seconds: Duration.toSeconds(duration), result: a }))
    const rejected = (stats: FakeOpenAiStats) => stats.outcomes.rejected_by_limit ?? 0
    const usd = (x: number) => `$${x.toFixed(5)}`

    // 1. Three workers on one night, sharing the key's limit.
    const one = yield* server()
    yield* Console.log(`\n1. ${WORKERS} worker processes drive one night: test server at median ${options.latencyMs} ms, ${options.rpm} requests/min …`)
    const started = Date.now()
    const fleetNight = yield* timed(
      Effect.all(Array.from({ length: WORKERS }, () => worker(tenants.fleet, one.url, options.url, options)), { concurrency: "unbounded" })
    )
    const sync = yield* outcome(tenants.fleet, one.url)
    const boundSeconds = ((2 * sync.summary.selected) / options.rpm) * 60
    yield* Console.log(
      [
        `selected users              ${sync.summary.selected} (categorized ${sync.summary.categorized}, failed ${sync.summary.failed})`,
        `LLM calls                   ${sync.month.calls} (server 429s: ${rejected(one.stats)}; most in any 60 s: ${mostInWindow(one.stats.arrivals, 60_000)}, limit ${options.rpm})`,
        `wall time                   ${fleetNight.seconds.toFixed(1)} s (${WORKERS} processes, from their start to the last one's exit)`,
        `of which                    ${((Math.min(...one.stats.arrivals) - started) / 1000).toFixed(1)} s to the first request (processes starting, the select stage), ${((Math.max(...one.stats.arrivals) - Math.min(...one.stats.arrivals)) / 1000).toFixed(1)} s from the first request to the last`,
        `rate-limit bound            ${boundSeconds.toFixed(1)} s (2 x ${sync.summary.selected} calls at ${options.rpm}/min)`,
        `ratio to the bound          ${(fleetNight.seconds / boundSeconds).toFixed(3)}`,
        `tokens per call             ${Math.round(sync.month.inputTokens / sync.month.calls)} in (${Math.round((100 * sync.month.cachedTokens) / sync.month.inputTokens)}% cached), ${Math.round(sync.month.outputTokens / sync.month.calls)} out`,
        `cost per categorized user   ${usd(sync.perUser)} (gpt-4.1-mini + gpt-4.1-nano list prices; $${sync.month.costUsd.toFixed(4)} in all)`
      ].join("\n")
    )

    // 2. Routing by difficulty.
    const two = yield* server()
    yield* Console.log(`\n2. the same night routed (llm.routing explain, default thresholds) …`)
    const { result: routed, seconds: routedSeconds } = yield* timed(outcome(tenants.routed, two.url))
    yield* Console.log(
      [
        `cost per categorized user   ${usd(routed.perUser)} routed, ${usd(sync.perUser)} not: ${(sync.perUser / routed.perUser).toFixed(2)}x cheaper (${routed.month.calls} LLM calls against ${sync.month.calls}; ${routedSeconds.toFixed(1)} s)`,
        ...routeLines(routed.summary),
        `(the test server's categories are a hash of the request, not a judgement: agreement shows the plumbing only, accuracy cannot be judged here)`
      ].join("\n")
    )

    // 3. Batch mode.
    const three = yield* server(2_000)
    yield* Console.log(`\n3. the same night in batch mode (llm.mode batch) …`)
    const { result: batched, seconds: batchedSeconds } = yield* timed(outcome(tenants.batch, three.url))
    yield* Console.log(
      [
        `requests                    ${three.stats.batchLines} in ${three.stats.batches.length} batch files, ${three.stats.arrivals.length} synchronous`,
        `cost per categorized user   ${usd(batched.perUser)} batched, ${usd(sync.perUser)} synchronous: ${(batched.perUser / sync.perUser).toFixed(3)} of the price (${batchedSeconds.toFixed(1)} s)`
      ].join("\n")
    )
  })

/** Users, LLM cost and agreement with the offline model per route. */
const routeLines = (summary: NightlySummary) => {
  const users = Object.values(summary.routes).reduce((n, r) => n + r.users, 0)
  return Object.entries(summary.routes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([route, r]) =>
        `route ${route.padEnd(22)}${r.users} users (${((100 * r.users) / Math.max(1, users)).toFixed(1)}%), $${(r.costUsd / Math.max(1, r.users)).toFixed(5)} each, LLM agreed with the offline model for ${r.agreeing}`
    )
}
