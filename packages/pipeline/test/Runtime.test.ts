import { describe, expect, it } from "@effect/vitest"
import { IllegalTransition } from "@workcat/core"
import { TenantRegistry } from "@workcat/tenancy"
import { Effect, Fiber, Layer, Schema } from "effect"
import { Executor } from "../src/durable/Executor.js"
import * as Pipeline from "../src/durable/Pipeline.js"
import { Pipelines } from "../src/durable/Pipelines.js"
import { RunLedger } from "../src/durable/RunLedger.js"
import { Runs } from "../src/durable/Runs.js"
import { runWorker } from "../src/durable/Worker.js"
import { CategorizerLive } from "../src/app/Layers.js"
import { runsFor } from "../src/app/Runtime.js"
import { freshTenant, liveTests, provision, TestBase } from "./support/TestLayers.js"

/** What the test pipelines did, per item key: every call, from every worker. */
const calls = new Map<string, number>()
const failOnce = new Set<string>()
const slow = { ms: 0 }
const called = (key: string) => calls.set(key, (calls.get(key) ?? 0) + 1)

/**
 * The two-stage example of the README: a once-stage that decides the items, and a fan-out that
 * processes each of them, checkpointed per item.
 */
const Squares = Pipeline.make({
  name: "squares",
  input: Schema.Struct({ upTo: Schema.Int }),
  output: Schema.Struct({ sum: Schema.Int, failed: Schema.Int }),
  key: ({ upTo }) => `up-to-${upTo}`,
  run: ({ upTo }) =>
    Effect.gen(function* () {
      const numbers = yield* Pipeline.step(
        "numbers",
        Schema.Array(Schema.Int),
        Effect.sync(() => {
          called(`numbers-${upTo}`)
          return Array.from({ length: upTo }, (_, i) => i + 1)
        })
      )
      const squares = yield* Pipeline.fanOut(
        "square",
        { items: numbers, key: (n) => String(n).padStart(4, "0"), item: Schema.Int, output: Schema.Int },
        (n) =>
          Effect.gen(function* () {
            called(`${upTo}:${n}`)
            if (slow.ms > 0) yield* Effect.sleep(slow.ms)
            if (failOnce.delete(`${upTo}:${n}`)) return yield* Effect.fail(new Error(`${n} failed`))
            return n * n
          })
      )
      return { sum: squares.done.reduce((acc, s) => acc + s.output, 0), failed: squares.failed.length }
    })
})

/** Each prefetch's items, in order; a prefetch fails when its batch holds `prefetchFailsOn`. */
const prefetched: Array<ReadonlyArray<number>> = []
const prefetchFailsOn = { n: 0 }
const Prefetched = Pipeline.make({
  name: "prefetched",
  input: Schema.Struct({ upTo: Schema.Int }),
  output: Schema.Struct({ outputs: Schema.Array(Schema.Int), failed: Schema.Array(Schema.String) }),
  key: ({ upTo }) => `prefetched-${upTo}`,
  run: ({ upTo }) =>
    Effect.gen(function* () {
      const out = yield* Pipeline.fanOut(
        "tenfold",
        {
          items: Array.from({ length: upTo }, (_, i) => i + 1),
          key: (n) => String(n).padStart(4, "0"),
          item: Schema.Int,
          output: Schema.Int,
          prefetch: (batch) =>
            Effect.suspend(() => {
              prefetched.push(batch)
              return batch.includes(prefetchFailsOn.n)
                ? Effect.fail(new Error(`the batch of ${prefetchFailsOn.n} could not be loaded`))
                : Effect.succeed(new Map(batch.map((n) => [n, n * 10])))
            })
        },
        (n, tenfold) => Effect.succeed(tenfold.get(n)!)
      )
      return { outputs: out.done.map((d) => d.output), failed: out.failed.map((f) => `${f.key}: ${f.reason}`) }
    })
})

/** A pipeline whose only step fails while `brokenStep.on` is set. */
const brokenStep = { on: true }
const Flaky = Pipeline.make({
  name: "flaky",
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.String,
  key: ({ id }) => id,
  run: ({ id }) =>
    Pipeline.step(
      "only",
      Schema.String,
      Effect.suspend(() => (brokenStep.on ? Effect.fail(new Error("the step broke")) : Effect.succeed(`ok ${id}`)))
    )
})

const tenant = freshTenant("runtime")
/**
 * The tenant whose limit a test raises. An executor reads a tenant's limit at most every five
 * seconds, so a raised limit outlives the test that raised it, whatever the registry says later:
 * tests that need the default limit of one (`tenant`) must never share a tenant with it.
 */
const roomy = freshTenant("runtime")
const Runtime = runsFor(Pipelines.layer(Squares, Flaky, Prefetched)).pipe(
  Layer.provide(provision(tenant, roomy)),
  Layer.provideMerge(CategorizerLive),
  Layer.provideMerge(TestBase)
)

const count = (prefix: string) => [...calls].filter(([k]) => k.startsWith(prefix)).reduce((n, [, c]) => n + c, 0)

describe("the durable run runtime", () => {
  it.layer(Runtime, { timeout: 60_000 })((it) => {
    /** These tests wait for real: leases, polls and sleeps run on the live clock. */
    const live = liveTests(it)

    live("runs a two-stage pipeline once; starting the key again returns its result", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const { run } = yield* runs.start("squares", tenant, { upTo: 10 })
        const done = yield* runs.await(run.id)
        expect(done).toMatchObject({ state: "READY", result: { sum: 385, failed: 0 } })
        const again = yield* runs.start("squares", tenant, { upTo: 10 })
        expect(again.run).toMatchObject({ id: run.id, state: "READY", result: { sum: 385, failed: 0 } })
        expect(count("numbers-10")).toBe(1)
        expect(count("10:")).toBe(10)
        const transitions = yield* Effect.flatMap(RunLedger, (l) => l.transitions(run.id))
        expect(transitions.map((t) => `${t.from ?? "-"}→${t.to}`)).toEqual(["-→QUEUED", "QUEUED→PROCESSING", "PROCESSING→READY"])
      }))

    live("ends DEGRADED when items fail, and a retry runs only the failed items", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        failOnce.add("12:3")
        failOnce.add("12:7")
        const { run } = yield* runs.start("squares", tenant, { upTo: 12 })
        const degraded = yield* runs.await(run.id)
        expect(degraded).toMatchObject({ state: "DEGRADED", result: { failed: 2 } })
        const status = yield* runs.status(run.id)
        expect(status.failures.map((f) => [f.key, f.error])).toEqual([
          ["0003", "3 failed"],
          ["0007", "7 failed"]
        ])
        const before = new Map(calls)
        yield* runs.retry(run.id)
        const ready = yield* runs.await(run.id)
        expect(ready).toMatchObject({ state: "READY", result: { sum: 650, failed: 0 } })
        const rerun = [...calls].filter(([k, n]) => k.startsWith("12:") && n !== (before.get(k) ?? 0)).map(([k]) => k)
        expect(rerun.sort()).toEqual(["12:3", "12:7"])
        expect(count("numbers-12")).toBe(1)
        // Illegal moves are refused: a READY run cannot be retried or cancelled.
        expect((yield* Effect.flip(runs.retry(run.id)))._tag).toBe("IllegalTransition")
        expect(yield* Effect.flip(runs.cancel(run.id, "test"))).toBeInstanceOf(IllegalTransition)
      }))

    live("a fan-out's prefetch loads each claimed batch once and hands each item its batch", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        prefetched.length = 0
        const { run } = yield* runs.start("prefetched", tenant, { upTo: 20 })
        // Concurrency 2: claims of 4 items.
        const done = yield* runs.await(run.id, { concurrency: 2 })
        expect(done).toMatchObject({ state: "READY", result: { outputs: Array.from({ length: 20 }, (_, i) => (i + 1) * 10), failed: [] } })
        expect(prefetched.map((b) => b.length)).toEqual([4, 4, 4, 4, 4])
        expect(prefetched.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      }))

    live("a prefetch that fails fails the items of its batch, not the run", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        prefetched.length = 0
        prefetchFailsOn.n = 6
        const { run } = yield* runs.start("prefetched", tenant, { upTo: 8 })
        const done = yield* runs.await(run.id, { concurrency: 2 })
        prefetchFailsOn.n = 0
        expect(done.state).toBe("DEGRADED")
        expect(done.result).toEqual({
          outputs: [10, 20, 30, 40],
          failed: ["0005", "0006", "0007", "0008"].map((k) => `${k}: the batch of 6 could not be loaded`)
        })
      }))

    live("cancels a processing run: the driver stops, unprocessed items stay unprocessed", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        slow.ms = 100
        const { run } = yield* runs.start("squares", tenant, { upTo: 60 })
        const driver = yield* Effect.fork(runs.await(run.id, { concurrency: 2 }))
        yield* Effect.sleep("700 millis")
        yield* runs.cancel(run.id, "test")
        const ended = yield* Fiber.join(driver)
        slow.ms = 0
        expect(ended.state).toBe("CANCELLED")
        expect(count("60:")).toBeGreaterThan(0)
        expect(count("60:")).toBeLessThan(60)
      }))

    live("queues runs beyond the tenant's limit, with their position, and admits them as slots free", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const first = yield* runs.start("squares", roomy, { upTo: 20 })
        const second = yield* runs.start("squares", roomy, { upTo: 21 })
        const third = yield* runs.start("squares", roomy, { upTo: 22 })
        expect([first.run.state, second.run.state, third.run.state]).toEqual(["PROCESSING", "QUEUED", "QUEUED"])
        expect([first.queuePosition, second.queuePosition, third.queuePosition]).toEqual([null, 1, 2])
        yield* runs.await(first.run.id)
        const next = yield* runs.status(second.run.id)
        expect(next.run.state).toBe("PROCESSING")
        expect((yield* runs.status(third.run.id)).queuePosition).toBe(1)
        yield* Effect.flatMap(TenantRegistry, (r) => r.update(roomy, { maxConcurrentRuns: 2 }))
        yield* Effect.all([runs.await(second.run.id), runs.await(third.run.id)], { concurrency: 2 })
      }))

    live("two workers share one run: no item is processed twice while both live", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        slow.ms = 20
        const { run } = yield* runs.start("squares", tenant, { upTo: 80 })
        const other = yield* Layer.build(Layer.fresh(Executor.Default))
        const [mine, theirs] = yield* Effect.all(
          [runs.await(run.id, { concurrency: 4 }), Executor.pipe(Effect.flatMap((e) => e.execute(run.id, { concurrency: 4 })), Effect.provide(other))],
          { concurrency: 2 }
        )
        slow.ms = 0
        expect([mine.state, theirs.state]).toEqual(["READY", "READY"])
        const perItem = [...calls].filter(([k]) => k.startsWith("80:")).map(([, n]) => n)
        expect(perItem).toHaveLength(80)
        expect(perItem.every((n) => n === 1)).toBe(true)
        const workers = yield* Effect.flatMap(RunLedger, (l) => l.transitions(run.id))
        expect(workers.at(-1)?.to).toBe("READY")
      }))

    live("a worker picks up queued runs and drives them", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const { run } = yield* runs.start("squares", tenant, { upTo: 5 })
        const worker = yield* Effect.fork(runWorker({ maxRuns: 2, pollInterval: "100 millis", tenants: [tenant] }))
        let state = run.state
        for (let i = 0; i < 50 && state !== "READY"; i++) {
          yield* Effect.sleep("100 millis")
          state = (yield* runs.status(run.id)).run.state
        }
        yield* Fiber.interrupt(worker)
        expect(state).toBe("READY")
      }))

    live("a failing stage fails the run; a retry runs it again; unfinished runs can be cancelled", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const { run } = yield* runs.start("flaky", tenant, { id: "a" })
        const failed = yield* runs.await(run)
        expect(failed).toMatchObject({ state: "FAILED", error: "the step broke" })
        brokenStep.on = false
        yield* runs.retry(run.id)
        expect(yield* runs.await(run.id)).toMatchObject({ state: "READY", result: "ok a" })

        // QUEUED → CANCELLED: the tenant's single slot (its default limit, see `roomy`) is taken by a slow run.
        slow.ms = 200
        const busy = yield* runs.start("squares", tenant, { upTo: 30 })
        const waiting = yield* runs.start("flaky", tenant, { id: "b" })
        expect(waiting.run.state).toBe("QUEUED")
        expect((yield* runs.cancel(waiting.run.id, "test")).run.state).toBe("CANCELLED")
        yield* runs.cancel(busy.run.id, "test")
        slow.ms = 0

        // DEGRADED → CANCELLED.
        failOnce.add("13:1")
        const degraded = yield* runs.start("squares", tenant, { upTo: 13 })
        expect((yield* runs.await(degraded.run)).state).toBe("DEGRADED")
        expect((yield* runs.cancel(degraded.run.id, "test")).run.state).toBe("CANCELLED")
        const moves = yield* Effect.flatMap(RunLedger, (l) => l.transitions(degraded.run.id))
        expect(moves.map((t) => `${t.from ?? "-"}→${t.to}`)).toEqual(["-→QUEUED", "QUEUED→PROCESSING", "PROCESSING→DEGRADED", "DEGRADED→CANCELLED"])
        expect(moves.at(-1)?.reason).toBe("test")
      }))

    live("refuses unknown pipelines and invalid input", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        expect((yield* Effect.flip(runs.start("nope", tenant, {})))._tag).toBe("InvalidRunRequest")
        expect((yield* Effect.flip(runs.start("squares", tenant, { upTo: "ten" })))._tag).toBe("InvalidRunRequest")
      }))
  })
})
