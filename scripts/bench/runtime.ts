/**
 * `npm run bench:runtime -- [--runs 500] [--items 5000] [--concurrency 8] [--skip-dbos]`
 *
 * Throughput of the durable run ledger against DBOS Transact on the same PostgreSQL server
 * (a fresh embedded cluster, or DATABASE_URL): N two-step runs, and one run fanning out over N
 * items. Steps are trivial, so the figures measure the runtimes' own cost per durable step.
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { BaseLive, CategorizerLive, CliOutput, Pipeline, Pipelines, Runs, runsFor } from "@workcat/pipeline"
import { TenantId, TenantRegistry } from "@workcat/tenancy"
import { Console, Effect, Layer, Schema } from "effect"
import { benchDatabase } from "./Database.js"
import { benchDbos } from "./dbos.js"

const TwoSteps = Pipeline.make({
  name: "bench-two-steps",
  input: Schema.Struct({ n: Schema.Int }),
  output: Schema.Int,
  key: ({ n }) => `two-steps-${n}`,
  run: ({ n }) =>
    Effect.gen(function* () {
      const a = yield* Pipeline.step("first", Schema.Int, Effect.succeed(n))
      return yield* Pipeline.step("second", Schema.Int, Effect.succeed(a * 2))
    })
})

const FanOut = Pipeline.make({
  name: "bench-fan-out",
  input: Schema.Struct({ items: Schema.Int }),
  output: Schema.Int,
  key: ({ items }) => `fan-out-${items}`,
  run: ({ items }) =>
    Effect.gen(function* () {
      const numbers = Array.from({ length: items }, (_, i) => i)
      const out = yield* Pipeline.fanOut(
        "square",
        { items: numbers, key: (n) => String(n).padStart(8, "0"), item: Schema.Int, output: Schema.Int },
        (n) => Effect.succeed(n * n)
      )
      return out.done.length
    })
})

const rate = (steps: number, ms: number) => Math.round(steps / (ms / 1000))

const ours = (options: { readonly runs: number; readonly items: number; readonly concurrency: number }) =>
  Effect.gen(function* () {
    const tenant = TenantId.make(`bench_${Date.now().toString(36)}`)
    const registry = yield* TenantRegistry
    yield* registry.create(tenant)
    yield* registry.update(tenant, { maxConcurrentRuns: options.concurrency })
    const runs = yield* Runs

    let started = Date.now()
    const done = yield* Effect.forEach(
      Array.from({ length: options.runs }, (_, n) => n),
      (n) => Effect.flatMap(runs.start("bench-two-steps", tenant, { n }), (s) => runs.await(s.run)),
      { concurrency: options.concurrency }
    )
    const workflowsMs = Date.now() - started
    if (done.some((r) => r.state !== "READY")) return yield* Effect.dieMessage("a two-step run did not finish READY")

    started = Date.now()
    const { run } = yield* runs.start("bench-fan-out", tenant, { items: options.items })
    const fanned = yield* runs.await(run, { concurrency: options.concurrency })
    const fanOutMs = Date.now() - started
    if (fanned.result !== options.items) return yield* Effect.dieMessage("the fan-out run did not process every item")
    return {
      workflows: { count: options.runs, seconds: workflowsMs / 1000, stepsPerSecond: rate(2 * options.runs, workflowsMs) },
      fanOut: { items: options.items, seconds: fanOutMs / 1000, stepsPerSecond: rate(options.items, fanOutMs) }
    }
  })

const bench = Command.make(
  "bench-runtime",
  {
    runs: Options.integer("runs").pipe(Options.withDefault(500)),
    items: Options.integer("items").pipe(Options.withDefault(5000)),
    concurrency: Options.integer("concurrency").pipe(Options.withDefault(8)),
    skipDbos: Options.boolean("skip-dbos")
  },
  (args) =>
    Effect.gen(function* () {
      const { config, label, url } = yield* benchDatabase
      yield* Console.log(`runs ${args.runs}, items ${args.items}, concurrency ${args.concurrency}; PostgreSQL ${label}`)

      const workcat = yield* ours(args).pipe(
        Effect.provide(
          runsFor(Pipelines.layer(TwoSteps, FanOut)).pipe(
            Layer.provideMerge(CategorizerLive),
            Layer.provideMerge(BaseLive),
            Layer.provide(config)
          )
        )
      )
      const dbos = args.skipDbos ? null : yield* Effect.promise(() => benchDbos({ databaseUrl: url, runs: args.runs, items: args.items, concurrency: args.concurrency }))

      const row = (name: string, w: { stepsPerSecond: number; seconds: number }, d?: { stepsPerSecond: number; seconds: number }) =>
        `${name.padEnd(26)} ${String(Math.round(w.stepsPerSecond)).padStart(9)} steps/s (${w.seconds.toFixed(2)} s)` +
        (d ? `   ${String(Math.round(d.stepsPerSecond)).padStart(9)} steps/s (${d.seconds.toFixed(2)} s)   ratio ${(w.stepsPerSecond / d.stepsPerSecond).toFixed(2)}` : "")
      yield* Console.log(`${"".padEnd(26)} ${"workcat ledger".padStart(24)}   ${dbos ? "DBOS Transact".padStart(24) : ""}`)
      yield* Console.log(row(`${args.runs} two-step runs`, workcat.workflows, dbos?.workflows))
      yield* Console.log(row(`one run of ${args.items} items`, workcat.fanOut, dbos?.fanOut))
    }).pipe(Effect.scoped)
)

Command.run(bench, { name: "bench-runtime", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
