import { NodeSdk } from "@effect/opentelemetry"
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  Categorizer,
  costUsd,
  DefaultTaxonomy,
  type IsoDate,
  LlmMeter
} from "@workcat/core"
import { type SettingsPatch, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Context, Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CostLedger } from "../src/categorizer/llm/CostLedger.js"
import { makeLlmCategorizer } from "../src/categorizer/llm/LlmCategorizer.js"
import { DEFAULT_PRICES, type LlmSettings } from "../src/categorizer/llm/LlmSettings.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { PersonalData } from "../src/privacy/PersonalData.js"
import { OfflineCategorizerLive } from "../src/categorizer/OfflineCategorizer.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { fileValues } from "../src/ingest/Framing.js"
import { PipelineLive } from "../src/app/Layers.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { RunsLive } from "../src/app/Runtime.js"
import { generate } from "../src/synthetic/Generate.js"
import { type Behaviour, type FakeOpenAiOptions, makeFakeOpenAi } from "./support/FakeOpenAi.js"
import { developer, llmSettings, usage } from "./support/LlmInputs.js"
import { freshTenant, provision, TestBase } from "./support/TestLayers.js"

const settings = llmSettings
const input = developer

/** A provisioned tenant with these settings, and every pipeline service for it. */
const tenantLayer = (tenant: TenantId, patch: SettingsPatch = {}) =>
  PipelineLive(tenant).pipe(
    Layer.provide(Layer.effectDiscard(Effect.flatMap(TenantRegistry, (r) => r.update(tenant, patch)))),
    Layer.provide(provision(tenant)),
    Layer.provideMerge(TestBase)
  )

/** A fake server and a categorizer talking to it. */
const setup = (server: FakeOpenAiOptions, over: Partial<LlmSettings> = {}) =>
  Effect.gen(function* () {
    const fake = yield* makeFakeOpenAi(server)
    const categorizer = yield* makeLlmCategorizer(settings(fake.url, over))
    return { fake, categorizer }
  })

const isCategorize = (request: { readonly response_format?: unknown }) => request.response_format !== undefined

describe("the LLM categorizer, with the real openai client against an OpenAI-compatible test server", () => {
  it.scopedLive("makes two calls per user, a structured categorize and an explain, and records what each cost", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({})
      const first = yield* categorizer.categorize(input(1))
      const second = yield* categorizer.categorize(input(2))
      expect(DefaultTaxonomy.ids).toContain(first.category)
      expect(first.explanation).toContain("Jira")
      expect(first.confidence).toBeGreaterThan(0)
      expect(first.recommendations.length).toBeGreaterThan(0)
      expect(second.categorizer).toMatch(/^openai:gpt-4\.1-mini\+gpt-4\.1-nano\/prompt-\d+$/)
      expect(fake.stats.requests).toBe(4)

      // The structured output's schema allows exactly the tenant's categories, all fields required.
      const request = fake.stats.requestsSeen.find(isCategorize)!
      const schema = (request.response_format as unknown as { json_schema: { strict: boolean; schema: Record<string, any> } }).json_schema
      expect(schema.strict).toBe(true)
      expect(schema.schema.properties.category.enum).toEqual([...DefaultTaxonomy.ids])
      expect(schema.schema.required).toEqual(["category", "confidence", "evidence_apps"])
      expect(schema.schema.additionalProperties).toBe(false)
      // Static part first: the second user's categorize prompt starts with the same system message.
      expect(request.messages[0]!.role).toBe("system")
      expect(request.messages[0]!.content).toContain("Taxonomy")

      const sql = yield* SqlClient.SqlClient
      const calls = yield* sql<{ operation: string; model: string; inputTokens: number; cachedTokens: number; outputTokens: number; costUsd: number }>`
        SELECT operation, model, input_tokens AS "inputTokens", cached_tokens AS "cachedTokens", output_tokens AS "outputTokens",
               cost_usd::float AS "costUsd"
        FROM llm_calls ORDER BY id`
      expect(calls.map((c) => c.operation)).toEqual(["categorize", "explain", "categorize", "explain"])
      for (const c of calls) {
        expect(c.inputTokens).toBeGreaterThan(0)
        expect(c.costUsd).toBeCloseTo(costUsd(DEFAULT_PRICES[c.model]!, c), 8)
      }
      // The repeated system prompt was served from the provider's cache, and billed as such.
      expect(calls[0]!.cachedTokens).toBe(0)
      expect(calls[2]!.cachedTokens).toBeGreaterThan(100)
      expect(calls[2]!.costUsd).toBeLessThan(calls[0]!.costUsd)

      const report = yield* Effect.flatMap(CostLedger, (l) => l.report)
      expect(report.days).toHaveLength(1)
      expect(report.days[0]!.calls).toBe(4)
      expect(report.days[0]!.costUsd).toBeCloseTo(calls.reduce((n, c) => n + c.costUsd, 0), 8)
      expect(report.months[0]!.costUsd).toBeCloseTo(report.days[0]!.costUsd, 8)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)

  it.scopedLive("retries 429 (waiting for Retry-After) and 500 with backoff, within a bounded number of attempts", () =>
    Effect.gen(function* () {
      const flaky = (_: unknown, n: number): Behaviour =>
        n === 1 ? { kind: "rate_limited", retryAfterSeconds: 1 } : n === 2 ? { kind: "server_error" } : { kind: "ok" }
      const { categorizer, fake } = yield* setup({ script: flaky })
      const started = Date.now()
      yield* categorizer.categorize(input(1))
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000)
      expect(fake.stats.outcomes).toEqual({ rate_limited: 1, server_error: 1, ok: 2 })

      const down = yield* setup({ script: () => ({ kind: "server_error" }) }, { maxAttempts: 3 })
      const error = yield* Effect.flip(down.categorizer.categorize(input(2)))
      expect(error.reason).toMatch(/^LLM request failed: 500/)
      expect(error.retryable).toBe(true)
      expect(down.fake.stats.requests).toBe(3)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)

  it.scopedLive("retries invalid output once with the validation error, then fails the user with the reason", () =>
    Effect.gen(function* () {
      let categorizeCalls = 0
      const onceWrong = (request: Parameters<NonNullable<FakeOpenAiOptions["script"]>>[0]): Behaviour =>
        isCategorize(request) && ++categorizeCalls === 1 ? { kind: "schema_violation" } : { kind: "ok" }
      const { categorizer, fake } = yield* setup({ script: onceWrong })
      yield* categorizer.categorize(input(1))
      const retried = fake.stats.requestsSeen.filter(isCategorize)[1]!
      expect(retried.messages.at(-1)!.content).toMatch(/That answer is invalid \(.*astronaut/)
      expect(retried.messages.at(-2)!.role).toBe("assistant")

      for (const kind of ["schema_violation", "truncated", "not_json"] as const) {
        const broken = yield* setup({ script: (request) => (isCategorize(request) ? { kind } : { kind: "ok" }) })
        const error = yield* Effect.flip(broken.categorizer.categorize(input(2)))
        expect(error.reason).toMatch(/^invalid categorize output after a retry: /)
        expect(error.retryable).toBe(false)
        expect(broken.fake.stats.requests).toBe(2)
      }
      // Invalid answers are paid for too: they are in the ledger, marked as such.
      const sql = yield* SqlClient.SqlClient
      const invalid = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM llm_calls WHERE status = 'invalid'`
      expect(invalid[0]!.n).toBe(7)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)

  it.scopedLive("keeps a tenant's calls under its concurrency cap", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({ latencyMs: () => 100 })
      yield* Effect.forEach([...Array(12).keys()], (i) => categorizer.categorize(input(i)), { concurrency: 12, discard: true })
      expect(fake.stats.requests).toBe(24)
      expect(fake.stats.maxInFlight).toBe(3)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm"), { llm: { concurrency: 3 } }))), 60_000)

  it.scopedLive("paces requests to the process's requests-per-minute limit, shared by every tenant", () =>
    Effect.gen(function* () {
      // 240 a minute: a burst of 4 (one second's worth), then the other 236 spread over the minute,
      // so 24 requests take (24 - 4) / (236 / 60) = 5.1 s at least.
      const fake = yield* makeFakeOpenAi({})
      const categorizer = yield* makeLlmCategorizer(settings(fake.url, { requestsPerMinute: 240 }))
      const a = yield* tenantMeter(freshTenant("llm"))
      const b = yield* tenantMeter(freshTenant("llm"))
      const started = Date.now()
      yield* Effect.forEach(
        [...Array(12).keys()],
        (i) => categorizer.categorize(input(i)).pipe(Effect.provideService(LlmMeter, i % 2 === 0 ? a : b)),
        { concurrency: 12, discard: true }
      )
      const elapsed = Date.now() - started
      expect(fake.stats.requests).toBe(24)
      expect(elapsed).toBeGreaterThanOrEqual(5_000)
      // Never more than the burst plus one second's worth in any one-second window.
      const arrivals = fake.stats.arrivals
      for (const t of arrivals) expect(arrivals.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(4 + 4)
    }).pipe(Effect.provide(TestBase)), 60_000)

  it.scopedLive("pays once for an exact request: the same user's inputs again are answered from the tenant's kept answers", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({})
      const first = yield* categorizer.categorize(input(21))
      const again = yield* categorizer.categorize(input(21))
      expect({ ...again, route: null }).toEqual({ ...first, route: null })
      expect(first.route!.costUsd).toBeGreaterThan(0)
      expect(again.route!.costUsd).toBe(0)
      expect(fake.stats.requests).toBe(2)
      const sql = yield* SqlClient.SqlClient
      const [calls] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM llm_calls`
      expect(calls!.n).toBe(2)
      // Another user, other inputs: paid for.
      yield* categorizer.categorize(input(22))
      expect(fake.stats.requests).toBe(4)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)

  it.scopedLive("sends identical requests in flight at once as one", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({ latencyMs: () => 200 })
      const results = yield* Effect.all(Array.from({ length: 6 }, () => categorizer.categorize(input(31))), { concurrency: "unbounded" })
      expect(new Set(results.map((r) => r.category)).size).toBe(1)
      expect(fake.stats.requests).toBe(2)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)

  it.scopedLive("keeps answers per tenant: another tenant's identical request is its own, paid for", () =>
    Effect.gen(function* () {
      const fake = yield* makeFakeOpenAi({})
      const categorizer = yield* makeLlmCategorizer(settings(fake.url))
      for (const meter of [yield* tenantMeter(freshTenant("llm")), yield* tenantMeter(freshTenant("llm"))]) {
        yield* categorizer.categorize(input(41)).pipe(Effect.provideService(LlmMeter, meter))
      }
      expect(fake.stats.requests).toBe(4)
    }).pipe(Effect.provide(TestBase)), 60_000)

  it.scopedLive("forgets a person's kept answers with them", () =>
    Effect.gen(function* () {
      const { categorizer } = yield* setup({})
      yield* categorizer.categorize(input(51))
      yield* categorizer.categorize(input(52))
      const sql = yield* SqlClient.SqlClient
      const kept = (user: string) => Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM llm_responses WHERE user_id = ${user}`, ([r]) => r!.n)
      expect(yield* kept(input(51).profile.userId)).toBe(2)
      yield* Effect.flatMap(PersonalData, (p) => p.forget(input(51).profile.userId)).pipe(Effect.provide(PersonalData.Default))
      expect(yield* kept(input(51).profile.userId)).toBe(0)
      expect(yield* kept(input(52).profile.userId)).toBe(2)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)

  it.scopedLive("routes a user the offline model is sure of past both thresholds to an explain call only, keeping its category", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({})
      const offline = yield* Effect.flatMap(Effect.provide(Categorizer, OfflineCategorizerLive), (c) => c.categorize(input(61)))
      const result = yield* categorizer.categorize(input(61))
      expect(result.category).toBe(offline.category)
      expect(result.route).toEqual({ name: "explain", offlineCategory: offline.category, costUsd: expect.any(Number) })
      expect(result.route!.costUsd).toBeGreaterThan(0)
      expect(fake.stats.requestsSeen.map(isCategorize)).toEqual([false])
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm"), { llm: { routing: "explain", routeMinConfidence: 0, routeMinMargin: 0 } }))), 60_000)

  it.scopedLive("does not call the LLM for a sure user when the tenant routes them offline", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({})
      const result = yield* categorizer.categorize(input(62))
      expect(result.route).toMatchObject({ name: "offline", costUsd: 0 })
      expect(result.categorizer).toMatch(/^offline-/)
      expect(fake.stats.requests).toBe(0)
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm"), { llm: { routing: "offline", routeMinConfidence: 0, routeMinMargin: 0 } }))), 60_000)

  it.scopedLive("sends a user the offline model is unsure of to the hard model, and records the offline model's category", () =>
    Effect.gen(function* () {
      const { categorizer, fake } = yield* setup({}, { models: { categorize: "gpt-4.1-mini", explain: "gpt-4.1-nano", hard: "gpt-4.1" } })
      const offline = yield* Effect.flatMap(Effect.provide(Categorizer, OfflineCategorizerLive), (c) => c.categorize(input(63)))
      const result = yield* categorizer.categorize(input(63))
      expect(result.route).toMatchObject({ name: "llm", offlineCategory: offline.category })
      expect(fake.stats.requestsSeen.map((r) => [isCategorize(r), r.model])).toEqual([[true, "gpt-4.1"], [false, "gpt-4.1-nano"]])
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm"), { llm: { routing: "explain", routeMinConfidence: 1, routeMinMargin: 0 } }))), 60_000)

  it.scopedLive("decides the route by the offline model's confidence and its lead over the runner-up", () =>
    Effect.gen(function* () {
      const { categorizer } = yield* setup({})
      const offline = yield* Effect.provide(Categorizer, OfflineCategorizerLive)
      const thresholds = { routeMinConfidence: 0.6, routeMinMargin: 0.3 }
      const routes = new Set<string>()
      // Developers between backend and frontend work, and developers who mostly design.
      for (const i of [71, 72, 73, 74]) {
        const user = i % 2 === 0 ? input(i) : { ...input(i), profile: { ...input(i).profile, apps: [...input(i).profile.apps, usage("figma", 900, 40)] } }
        const judged = yield* offline.categorize(user)
        const sure = judged.confidence >= thresholds.routeMinConfidence && judged.confidence - (judged.alternatives[0]?.score ?? 0) >= thresholds.routeMinMargin
        const route = (yield* categorizer.categorize(user)).route!.name
        expect(route).toBe(sure ? "explain" : "llm")
        routes.add(route)
      }
      expect(routes).toEqual(new Set(["explain", "llm"]))
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm"), { llm: { routing: "explain", routeMinConfidence: 0.6, routeMinMargin: 0.3 } }))), 60_000)

  it.scopedLive("traces every LLM call as a GenAI span with tokens, cost, tenant and user pseudonym", () =>
    Effect.gen(function* () {
      const exporter = new KeptSpans()
      const { categorizer } = yield* setup({})
      yield* categorizer.categorize(input(7)).pipe(
        Effect.withSpan("test"),
        Effect.provide(NodeSdk.layer(() => ({ resource: { serviceName: "test" }, spanProcessor: new SimpleSpanProcessor(exporter) })))
      )
      const spans = exporter.getFinishedSpans()
      const names = spans.map((s) => s.name)
      for (const tool of ["query_user_app_history", "query_app_cooccurrence", "categorize", "explain", "suggest_optimizations"]) {
        expect(names).toContain(`tool.${tool}`)
      }
      const llm = spans.filter((s) => s.name.startsWith("llm."))
      expect(llm.map((s) => s.name).sort()).toEqual(["llm.categorize", "llm.explain"])
      const tenant = yield* Effect.map(LlmMeter, (m) => m.tenant)
      for (const span of llm) {
        expect(span.attributes).toMatchObject({
          "gen_ai.operation.name": "chat",
          "gen_ai.system": "openai",
          "workcat.tenant": tenant,
          "workcat.user": input(7).profile.userId
        })
        expect(span.attributes["gen_ai.request.model"]).toBe(span.name === "llm.categorize" ? "gpt-4.1-mini" : "gpt-4.1-nano")
        expect(span.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0)
        expect(span.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0)
        expect(span.attributes["workcat.cost_usd"]).toBeGreaterThan(0)
      }
    }).pipe(Effect.provide(tenantLayer(freshTenant("llm")))), 60_000)
})

/** An in-memory exporter whose spans outlive the tracer provider's shutdown (which empties the stock one). */
class KeptSpans extends InMemorySpanExporter {
  override shutdown() {
    return Promise.resolve()
  }
}

/** A tenant's meter, built in the enclosing scope. */
const tenantMeter = (tenant: TenantId) =>
  Effect.map(Layer.build(tenantLayer(tenant)), Context.get(LlmMeter))

describe("the nightly run with the LLM categorizer", () => {
  it.scopedLive("ends DEGRADED with \"budget exhausted\" once the tenant's monthly budget is spent, not crashed", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("budget")
      const fake = yield* makeFakeOpenAi({})
      const llm = Layer.effect(Categorizer, makeLlmCategorizer(settings(fake.url)))
      const runtime = RunsLive.pipe(Layer.provideMerge(llm), Layer.provideMerge(TestBase))
      const files = yield* generate({ tenant, employees: 30, days: 30, seed: "budget", end: "2026-11-23" as IsoDate, out: mkdtempSync(join(tmpdir(), "workcat-llm-")) })
      // Less than a tenth of a cent a user: the budget lasts for a handful of them.
      const night = yield* Effect.gen(function* () {
        yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
        yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
        return yield* runNightly(tenant, "2026-11-23", { concurrency: 1 })
      }).pipe(Effect.provide(tenantLayer(tenant, { llm: { monthlyBudgetUsd: 0.004, concurrency: 1 } }).pipe(Layer.provideMerge(runtime))))
      expect(night.run.state).toBe("DEGRADED")
      const summary = night.summary!
      expect(summary.categorized).toBeGreaterThan(0)
      expect(summary.failureReasons).toEqual({ "budget exhausted": summary.failed })
      expect(summary.categorized + summary.failed).toBe(summary.selected)
      expect(summary.categorizer).toMatch(/^openai:/)
      // Routing off: every user on the LLM's route, with what it cost and how often it agreed with the offline model.
      expect(Object.keys(summary.routes)).toEqual(["llm"])
      expect(summary.routes.llm!.users).toBe(summary.categorized)
      expect(summary.routes.llm!.costUsd).toBeCloseTo(night.run.costUsd, 5)
      expect(summary.routes.llm!.agreeing).toBeLessThanOrEqual(summary.categorized)
      // Spend stopped short of the budget: a call started only while its estimated cost (an upper bound) still fitted.
      expect(night.run.costUsd).toBeGreaterThan(0)
      expect(night.run.costUsd).toBeLessThanOrEqual(0.004)
      expect(fake.stats.requests - 2 * summary.categorized).toBeGreaterThanOrEqual(0)
      expect(fake.stats.requests - 2 * summary.categorized).toBeLessThanOrEqual(1)
    }), 120_000)
})
