/**
 * `npm run demo`: the whole nightly job on the embedded defaults, then the HTTP API.
 * Embedded PostgreSQL, a synthetic tenant "demo", the offline categorizer; no keys, no network.
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { DefaultTaxonomy, isoDate } from "@workcat/core"
import {
  CliOutput,
  Evaluator,
  fileValues,
  generate,
  HrIngest,
  Ingest,
  type IngestCounts,
  PipelineLive,
  RuntimeLive,
  runNightly
} from "@workcat/pipeline"
import { ServerLive } from "@workcat/server"
import { ApiTokens, TenantId, TenantRegistry, WebSessions, WorkcatHome } from "@workcat/tenancy"
import { Config, Console, Duration, Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

const TENANT = TenantId.make("demo")
const { formatNumber, makeProgress, seconds } = CliOutput

const step = (label: string, text: string) => Console.log(`  ${label.padEnd(10)} ${text}`)

/** Generates the demo data unless the same data is already there. */
const demoData = (options: { employees: number; days: number; seed: string }) =>
  Effect.gen(function* () {
    const out = path.join(yield* WorkcatHome, "demo-data")
    const manifest = { tenant: TENANT, ...options, end: isoDate(new Date()), malformedRate: 0.0002 }
    const manifestFile = path.join(out, "manifest.json")
    const same = fs.existsSync(manifestFile) && fs.readFileSync(manifestFile, "utf8") === JSON.stringify(manifest)
    const files = { events: path.join(out, "okta-events.ndjson"), hr: path.join(out, "hr.ndjson"), truth: path.join(out, "truth.ndjson") }
    if (same) {
      yield* step("data", `reusing ${out}`)
      return { ...files, end: manifest.end }
    }
    const started = Date.now()
    const progress = makeProgress()
    const generated = yield* generate({
      ...manifest,
      out,
      onProgress: (d, days, n) => progress.update(() => `  generating day ${d}/${days}: ${formatNumber(n)} events`)
    })
    yield* progress.done
    fs.writeFileSync(manifestFile, JSON.stringify(manifest))
    yield* step("generated", `${formatNumber(generated.eventCount)} Okta events, ${formatNumber(generated.employees)} employees (${seconds(started)} s)`)
    return { ...files, end: manifest.end }
  })

const ingestWithProgress = <E, R>(label: string, run: (onProgress: (c: IngestCounts) => void) => Effect.Effect<IngestCounts, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const progress = makeProgress()
    const counts = yield* run((c) => progress.update(() => `  ${label}: ${formatNumber(c.accepted + c.duplicates + c.rejected)} lines`))
    yield* progress.done
    const total = counts.accepted + counts.duplicates + counts.rejected
    const rate = Math.round(total / Math.max(0.001, (Date.now() - started) / 1000))
    yield* step(
      label,
      `${formatNumber(counts.accepted)} accepted, ${formatNumber(counts.duplicates)} duplicates, ${formatNumber(counts.rejected)} rejected (${seconds(started)} s, ${formatNumber(rate)}/s)`
    )
  })

/** The tenant's pipeline, from a clean schema so every demo shows a first run. */
const pipeline = (files: { events: string; hr: string; truth: string; end: ReturnType<typeof isoDate> }) =>
  Effect.gen(function* () {
    const hr = yield* HrIngest
    const ingest = yield* Ingest
    yield* ingestWithProgress("HR", (onProgress) => hr.records(fileValues(files.hr), { source: files.hr, onProgress }))
    yield* ingestWithProgress("ingested", (onProgress) => ingest.events("okta", fileValues(files.events), { source: files.events, onProgress }))
    const progress = makeProgress()
    const started = Date.now()
    const { run: finished, summary } = yield* runNightly(TENANT, files.end, {
      onProgress: (stage, done, total) => progress.update(() => `  ${stage} ${done}/${total}`)
    })
    yield* progress.done
    if (summary === null) return yield* Effect.fail(new Error(`The nightly run ended ${finished.state}: ${finished.error ?? "no result"}`))
    const run = summary
    yield* step(
      "nightly",
      `${finished.state}: ${formatNumber(run.selected)} selected, ${formatNumber(run.categorized)} categorized, ${run.failed} failed, ${run.deferred} deferred (no activity yet) in ${seconds(started)} s`
    )
    const report = yield* Effect.flatMap(Evaluator, (e) => e.fromFile(files.truth))
    yield* step(
      "accuracy",
      `${(report.overall.accuracy * 100).toFixed(1)}% (${report.overall.correct}/${report.overall.total}) against the generated ground truth`
    )
    yield* Console.log(`  ${"category".padEnd(24)} categorized   correct of true members`)
    for (const [id, n] of Object.entries(run.byCategory).sort((a, b) => b[1] - a[1])) {
      const truth = report.perCategory[id]
      yield* Console.log(
        `  ${(DefaultTaxonomy.find(id)?.name ?? id).padEnd(24)} ${String(n).padStart(11)}   ${truth ? `${truth.correct}/${truth.total}` : "-"}`
      )
    }
  })

/** The demo tenant starts empty on every run, so every demo shows a first night. */
const resetTenant = Effect.gen(function* () {
  const registry = yield* TenantRegistry
  yield* registry.remove(TENANT).pipe(Effect.catchTag("TenantNotFound", () => Effect.void))
  yield* registry.create(TENANT, { displayName: "Demo" })
})

const demo = Command.make(
  "demo",
  {
    employees: Options.integer("employees").pipe(Options.withDefault(500)),
    days: Options.integer("days").pipe(Options.withDefault(90)),
    seed: Options.text("seed").pipe(Options.withDefault("1")),
    serve: Options.boolean("no-serve", { negationNames: [] }).pipe(
      Options.map((noServe) => !noServe),
      Options.withDescription("Exit after the summary instead of serving the API")
    )
  },
  (args) =>
    Effect.gen(function* () {
      const started = Date.now()
      yield* Console.log(`workcat demo: tenant "${TENANT}", ${args.employees} employees, ${args.days} days, offline categorizer`)
      yield* resetTenant
      const files = yield* demoData(args)
      yield* pipeline(files).pipe(Effect.provide(PipelineLive(TENANT)))
      yield* step("wall time", `${seconds(started)} s`)
      if (!args.serve) return
      const port = yield* Config.port("PORT").pipe(Config.withDefault(8080))
      const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
      // The API takes bearer tokens: one analyst token for the demo, valid for a day; the dashboard
      // a session, which a one-time link opens (the token never goes in a URL).
      const { id, token } = yield* Effect.flatMap(ApiTokens, (t) => t.create(TENANT, "analyst", { expiresIn: Duration.days(1), description: "demo" }))
      const { code } = yield* Effect.flatMap(WebSessions, (s) => s.link({ tenant: TENANT, role: "analyst", actor: `token:${id}`, tokenId: id })).pipe(
        Effect.provide(WebSessions.Default)
      )
      yield* Layer.launch(
        ServerLive({ port, host }).pipe(
          Layer.tap(() =>
            Effect.gen(function* () {
              const base = `http://${host}:${port}`
              yield* Console.log(
                [
                  "",
                  `dashboard    ${base}/`,
                  `sign in      ${base}/signin?code=${Redacted.value(code)}  (once, within 15 minutes; or paste the token below)`,
                  `API docs     ${base}/docs`,
                  `health       ${base}/healthz`,
                  `analyst token (valid 24 h): TOKEN=${Redacted.value(token)}`,
                  `categories   curl -H "Authorization: Bearer $TOKEN" '${base}/api/v1/tenants/${TENANT}/categories?pageSize=5'`,
                  `metrics      curl -H "Authorization: Bearer $TOKEN" '${base}/api/v1/tenants/${TENANT}/metrics/productivity?groupBy=category'`,
                  "Ctrl-C stops the server and the database."
                ].join("\n")
              )
            })
          )
        )
      )
    })
)

Command.run(demo, { name: "workcat demo", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(Layer.mergeAll(RuntimeLive, NodeContext.layer)),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
