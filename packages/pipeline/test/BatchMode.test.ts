import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { costUsd, type IsoDate } from "@workcat/core"
import { type SettingsPatch, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PipelineLive } from "../src/app/Layers.js"
import { RunsLive } from "../src/app/Runtime.js"
import { llmCategorizerContext, makeLlmCategorizer } from "../src/categorizer/llm/LlmCategorizer.js"
import { DEFAULT_PRICES, type LlmSettings } from "../src/categorizer/llm/LlmSettings.js"
import { fileValues } from "../src/ingest/Framing.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { generate } from "../src/synthetic/Generate.js"
import { type FakeOpenAiOptions, makeFakeOpenAi } from "./support/FakeOpenAi.js"
import { llmSettings } from "./support/LlmInputs.js"
import { freshTenant, provision, TestBase, testDatabaseUrl, testMasterKey } from "./support/TestLayers.js"

const end = "2026-11-23" as IsoDate

/** A tenant in batch mode with a generated company of `employees` ingested. */
const seeded = (tenant: TenantId, employees: number, patch: SettingsPatch = {}) =>
  Effect.gen(function* () {
    yield* Effect.flatMap(TenantRegistry, (r) => r.update(tenant, { llm: { mode: "batch", concurrency: 4, ...patch.llm } }))
    const files = yield* generate({ tenant, employees, days: 30, seed: "batch", end, out: mkdtempSync(join(tmpdir(), "workcat-batch-")) })
    yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr })).pipe(Effect.provide(PipelineLive(tenant)))
    yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events })).pipe(Effect.provide(PipelineLive(tenant)))
  }).pipe(Effect.provide(provision(tenant)))

/** A night of `tenant` with the LLM categorizer (and its batch side) against a test server. */
const night = (tenant: TenantId, server: FakeOpenAiOptions, over: Partial<LlmSettings> = {}) =>
  Effect.gen(function* () {
    const fake = yield* makeFakeOpenAi(server)
    const llm = Layer.effectContext(Effect.map(makeLlmCategorizer(llmSettings(fake.url, { batchPollMs: 100, ...over })), llmCategorizerContext))
    const result = yield* runNightly(tenant, end, { concurrency: 4 }).pipe(
      Effect.provide(PipelineLive(tenant).pipe(Layer.provideMerge(RunsLive.pipe(Layer.provideMerge(llm), Layer.provideMerge(TestBase)))))
    )
    const calls = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ operation: string; model: string; inputTokens: number; cachedTokens: number; outputTokens: number; costUsd: number }>`
        SELECT operation, model, input_tokens AS "inputTokens", cached_tokens AS "cachedTokens", output_tokens AS "outputTokens", cost_usd::float8 AS "costUsd"
        FROM llm_calls`
    ).pipe(Effect.provide(PipelineLive(tenant)))
    return { fake, result, calls }
  })

describe("batch mode", () => {
  it.scopedLive("sends the night's requests as Batch API files, one model a file, at half price, and nothing synchronously", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("batch")
      yield* seeded(tenant, 24)
      const { calls, fake, result } = yield* night(tenant, {}, { batchMaxLines: 10 })
      expect(result.run.state).toBe("READY")
      const summary = result.summary!
      expect(summary.categorized).toBe(summary.selected)
      // Round 1 the categorize calls, round 2 the explain calls: files of at most 10 lines, one model each.
      expect(fake.stats.batches.map((b) => b.models)).toEqual([
        ...Array.from({ length: Math.ceil(summary.selected / 10) }, () => ["gpt-4.1-mini"]),
        ...Array.from({ length: Math.ceil(summary.selected / 10) }, () => ["gpt-4.1-nano"])
      ])
      expect(Math.max(...fake.stats.batches.map((b) => b.lines))).toBeLessThanOrEqual(10)
      expect(fake.stats.batchLines).toBe(2 * summary.selected)
      expect(fake.stats.arrivals).toHaveLength(0)
      expect(calls).toHaveLength(2 * summary.selected)
      for (const c of calls) expect(c.costUsd).toBeCloseTo(costUsd(DEFAULT_PRICES[c.model]!, c) / 2, 9)
      expect(result.run.costUsd).toBeCloseTo(calls.reduce((n, c) => n + c.costUsd, 0), 5)
    }).pipe(Effect.provide(TestBase)), 120_000)

  it.scopedLive("falls back to synchronous calls for the lines a batch did not answer (expired, or failed)", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("batch")
      yield* seeded(tenant, 16)
      const { fake, result } = yield* night(tenant, { batches: { end: "expired", expiredAfter: 5, failLine: (n) => n === 2 } })
      expect(result.run.state).toBe("READY")
      const summary = result.summary!
      expect(summary.categorized).toBe(summary.selected)
      // Round 1: 4 categorize answers (5 lines before it expired, the second failed); round 2: their 4 explain calls, 3 answered.
      expect(fake.stats.batches.map((b) => b.lines)).toEqual([summary.selected, 4])
      // The rest synchronously, once each.
      expect(fake.stats.arrivals).toHaveLength(2 * summary.selected - 4 - 3)
    }).pipe(Effect.provide(TestBase)), 120_000)

  it.scopedLive("ends DEGRADED with the reasons when a line fails in the batch and synchronously", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("batch")
      yield* seeded(tenant, 12)
      const { result } = yield* night(
        tenant,
        { batches: { end: "failed" }, script: () => ({ kind: "server_error" }) },
        { maxAttempts: 2 }
      )
      expect(result.run.state).toBe("DEGRADED")
      expect(Object.keys(result.summary!.failureReasons)).toEqual([expect.stringMatching(/^LLM request failed: 500/)])
    }).pipe(Effect.provide(TestBase)), 120_000)

  it.scopedLive("a worker killed while waiting for a batch: the next one waits for the same batch, submits nothing again", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("batch")
      yield* seeded(tenant, 12)
      const fake = yield* makeFakeOpenAi({ batches: { durationMs: 3_000 } })
      const child = (): ChildProcess =>
        spawn(process.execPath, ["--conditions=workcat-source", "--import", "tsx", "packages/pipeline/test/support/batchNightlyChild.ts", tenant, end, fake.url], {
          env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_LEASE_SECONDS: "2" },
          stdio: ["ignore", "pipe", "inherit"]
        })
      const first = child()
      while (fake.stats.batchPolls < 2) yield* Effect.sleep("50 millis")
      first.kill("SIGKILL")
      yield* Effect.promise(() => once(first, "exit"))
      expect(fake.stats.batches).toHaveLength(1)

      const second = child()
      let output = ""
      second.stdout!.on("data", (chunk) => (output += String(chunk)))
      const [code] = yield* Effect.promise(() => once(second, "exit"))
      expect(code).toBe(0)
      expect(JSON.parse(output.trim().split("\n").at(-1)!).state).toBe("READY")
      // One batch a round: the first round's was waited for again, not submitted again.
      expect(fake.stats.batches.map((b) => b.models)).toEqual([["gpt-4.1-mini"], ["gpt-4.1-nano"]])
      expect(fake.stats.arrivals).toHaveLength(0)
    }).pipe(Effect.provide(TestBase)), 120_000)
})
