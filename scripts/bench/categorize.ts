/**
 * `npm run bench:categorize -- [--employees 653] [--rpm 500] [--latency-ms 1500] [--lanes 32] [--accuracy-employees 2000] [--seeds 1,2,3] [--skip-llm]`
 *
 * 1. Speed: a generated tenant's first night with the LLM categorizer (the real `openai` client)
 *    against the OpenAI-compatible test server answering with a log-normal latency (median
 *    `--latency-ms`) and enforcing `--rpm` requests a minute itself. Two calls per user make the
 *    rate-limit bound 2 x users / rpm minutes; prints the wall time and its ratio to that bound,
 *    the server's 429s, and the cost per categorized user at list prices of the default models.
 * 2. Accuracy: the offline categorizer on `--accuracy-employees` generated employees (90 days) of
 *    each company in `--seeds`,
 *    against the generator's ground truth; and on the same tenant, the anomaly trigger against
 *    the generator's role switchers (who moved 10 to 21 days before the run date).
 * PostgreSQL: a fresh embedded cluster, or DATABASE_URL.
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { addDays, Categorizer, type IsoDate } from "@workcat/core"
import {
  BaseLive,
  CliOutput,
  CostLedger,
  Evaluator,
  fileValues,
  generate,
  HrIngest,
  Ingest,
  EventWarehouse,
  OfflineCategorizerLive,
  PipelineLive,
  RunsLive,
  runNightly,
  type TruthRecord,
} from "@workcat/pipeline"
import { DEFAULT_PRICES, makeLlmCategorizer } from "@workcat/pipeline/llm"
import { makeFakeOpenAi } from "@workcat/pipeline/testing/openai"
import { CurrentTenant, defaultNightly, type SettingsPatch, TenantId, TenantRegistry } from "@workcat/tenancy"
import { Console, Effect, Layer, Redacted } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { benchDatabase } from "./Database.js"

const END = "2026-11-23" as IsoDate

/** Log-normal milliseconds with the given median (sigma 0.5: p90 about 1.9 x the median). */
const logNormal = (median: number) => () => {
  const u = 1 - Math.random()
  const v = Math.random()
  return median * Math.exp(0.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v))
}

/**
 * The anomaly trigger's drift of every categorized user, split by whether the generator made them
 * switch roles (at least 5 days before the run date, so the recent window shows it).
 */
const anomalyScores = (truthFile: string) =>
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    // Every drift the warehouse measures: no threshold (drifts are at least 0).
    const found = yield* Effect.flatMap(EventWarehouse, (w) => w.candidates({ ...defaultNightly, date: END, anomalyThreshold: -1 }))
    const scores = new Map(found.flatMap((c) => (c.drift === null ? [] : [[c.userId, c.drift] as const])))
    const truth = readFileSync(truthFile, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as TruthRecord)
    const switchers: Array<number> = []
    const others: Array<number> = []
    for (const t of truth) {
      const score = scores.get(tenant.pseudonyms.user(t.login))
      if (score === undefined) continue
      ;(t.drift !== null && t.drift.since <= addDays(END, -5) ? switchers : others).push(score)
    }
    return { switchers, others, threshold: tenant.settings.anomalyThreshold }
  })

/**
 * A tenant with generated data ingested (the data depends on the tenant id and seed only, so
 * runs are comparable); returns its files. A tenant left by an earlier run is replaced.
 */
const seedTenant = (tenant: TenantId, employees: number, seed: string, patch: SettingsPatch) =>
  Effect.gen(function* () {
    const registry = yield* TenantRegistry
    yield* registry.remove(tenant).pipe(Effect.catchTag("TenantNotFound", () => Effect.void))
    yield* registry.create(tenant)
    yield* registry.update(tenant, patch)
    const files = yield* generate({ tenant, employees, days: 90, seed, end: END, out: mkdtempSync(join(tmpdir(), "workcat-bench-")) })
    yield* Effect.gen(function* () {
      yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
      yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
    }).pipe(Effect.provide(PipelineLive(tenant)))
    return files
  })

const bench = Command.make(
  "bench-categorize",
  {
    employees: Options.integer("employees").pipe(Options.withDefault(653)),
    rpm: Options.integer("rpm").pipe(Options.withDefault(500)),
    latencyMs: Options.integer("latency-ms").pipe(Options.withDefault(1500)),
    lanes: Options.integer("lanes").pipe(Options.withDefault(32)),
    accuracyEmployees: Options.integer("accuracy-employees").pipe(Options.withDefault(2000)),
    skipLlm: Options.boolean("skip-llm").pipe(Options.withDescription("Only the offline part")),
    seeds: Options.text("seeds").pipe(Options.withDefault("1,2,3"), Options.withDescription("Companies (generator seeds) of the accuracy part, comma-separated"))
  },
  (args) =>
    Effect.gen(function* () {
      const { config } = yield* benchDatabase
      const base = BaseLive.pipe(Layer.provide(config))

      // 1. Speed against the rate-limit bound.
      if (!args.skipLlm) {
      const fake = yield* makeFakeOpenAi({ latencyMs: logNormal(args.latencyMs), requestsPerMinute: args.rpm })
      const settings = {
        apiKey: Redacted.make("sk-bench"),
        baseUrl: fake.url,
        models: { categorize: "gpt-4.1-mini", explain: "gpt-4.1-nano" },
        prices: DEFAULT_PRICES,
        requestsPerMinute: args.rpm,
        // The test server limits requests only; tokens are not what this measures.
        tokensPerMinute: 100_000_000,
        timeoutMs: 60_000,
        maxAttempts: 5
      }
      const llm = Layer.effect(Categorizer, makeLlmCategorizer(settings))
      const tenant = TenantId.make("bench_llm")
      yield* Console.log(`generating and ingesting ${args.employees} employees x 90 days …`)
      yield* seedTenant(tenant, args.employees, "1", { llm: { concurrency: args.lanes, monthlyBudgetUsd: 1_000 } }).pipe(Effect.provide(base))
      yield* Console.log(`categorizing with the LLM agent: test server at median ${args.latencyMs} ms, ${args.rpm} requests/min …`)
      const started = Date.now()
      const night = yield* runNightly(tenant, END, { concurrency: args.lanes }).pipe(
        Effect.provide(RunsLive.pipe(Layer.provideMerge(llm), Layer.provideMerge(base)))
      )
      const seconds = (Date.now() - started) / 1000
      const summary = night.summary
      if (summary === null) return yield* Effect.dieMessage(`the run ended ${night.run.state}: ${night.run.error}`)
      const spend = yield* Effect.flatMap(CostLedger, (l) => l.report).pipe(Effect.provide(PipelineLive(tenant).pipe(Layer.provide(base))))
      const month = spend.months[0]!
      const boundSeconds = ((2 * summary.selected) / args.rpm) * 60
      yield* Console.log(
        [
          `selected users              ${summary.selected} (categorized ${summary.categorized}, failed ${summary.failed})`,
          `LLM calls                   ${month.calls} (server 429s: ${fake.stats.outcomes.rejected_by_limit ?? 0}, max in flight ${fake.stats.maxInFlight})`,
          `wall time                   ${seconds.toFixed(1)} s`,
          `rate-limit bound            ${boundSeconds.toFixed(1)} s (2 x ${summary.selected} calls at ${args.rpm}/min)`,
          `ratio to the bound          ${(seconds / boundSeconds).toFixed(3)}`,
          `tokens per call             ${Math.round(month.inputTokens / month.calls)} in (${Math.round((100 * month.cachedTokens) / month.inputTokens)}% cached), ${Math.round(month.outputTokens / month.calls)} out`,
          `cost per categorized user   $${(month.costUsd / summary.categorized).toFixed(5)} (gpt-4.1-mini + gpt-4.1-nano list prices; $${month.costUsd.toFixed(4)} in all)`
        ].join("\n")
      )

      }

      // 2. Offline accuracy and the anomaly trigger, on companies of several seeds.
      for (const seed of args.seeds.split(",")) {
        const offline = TenantId.make(`bench_offline_${seed}`)
        yield* Console.log(`\ngenerating and ingesting ${args.accuracyEmployees} employees x 90 days (seed ${seed}) for the offline categorizer …`)
        const files = yield* seedTenant(offline, args.accuracyEmployees, seed, {}).pipe(Effect.provide(base))
        const offlineStarted = Date.now()
        const { anomaly, evaluation } = yield* Effect.gen(function* () {
          const run = yield* runNightly(offline, END)
          if (run.run.state !== "READY") return yield* Effect.dieMessage(`the offline run ended ${run.run.state}`)
          const evaluation = yield* Effect.flatMap(Evaluator, (e) => e.fromFile(files.truth))
          return { evaluation, anomaly: yield* anomalyScores(files.truth) }
        }).pipe(
          Effect.provide(PipelineLive(offline).pipe(Layer.provideMerge(RunsLive), Layer.provideMerge(OfflineCategorizerLive), Layer.provideMerge(base)))
        )
        const above = (xs: ReadonlyArray<number>) => xs.filter((x) => x > anomaly.threshold).length
        const percent = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`
        yield* Console.log(
          [
            `offline accuracy            ${percent(evaluation.overall.accuracy * evaluation.overall.total, evaluation.overall.total)} of ${evaluation.overall.total} employees (night: ${((Date.now() - offlineStarted) / 1000).toFixed(1)} s)`,
            `anomaly trigger at ${anomaly.threshold}      selects ${above(anomaly.switchers)} of ${anomaly.switchers.length} role switchers (${percent(above(anomaly.switchers), anomaly.switchers.length)}) and ${above(anomaly.others)} of ${anomaly.others.length} others (${percent(above(anomaly.others), anomaly.others.length)})`
          ].join("\n")
        )
      }
    }).pipe(Effect.scoped)
)

Command.run(bench, { name: "bench-categorize", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
