import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { ControlSql } from "@workcat/tenancy"
import { Effect, Exit, Fiber, Layer, Option, Schema, Stream } from "effect"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { jsonValues } from "../src/ingest/Framing.js"
import { Executor } from "../src/durable/Executor.js"
import * as Pipeline from "../src/durable/Pipeline.js"
import { Pipelines } from "../src/durable/Pipelines.js"
import { RunLedger } from "../src/durable/RunLedger.js"
import { Runs } from "../src/durable/Runs.js"
import { CategorizerLive } from "../src/app/Layers.js"
import { runsFor } from "../src/app/Runtime.js"
import { freshTenant, liveTests, provision, TestBase, testTenantLayer } from "./support/TestLayers.js"

/** Every call of the test pipelines' work, per `run id:item` or step name, from every worker. */
const calls = new Map<string, number>()
const called = (key: string) => {
  const n = (calls.get(key) ?? 0) + 1
  calls.set(key, n)
  return n
}
/** How an item behaves on its first call (later calls succeed at once). */
const firstCall = new Map<string, { readonly ms?: number; readonly fail?: boolean; readonly uninterruptible?: boolean }>()
const interrupted = new Set<string>()
/** When the first call of an item that waits finished waiting. */
const finishedAt = new Map<string, number>()

const work = (key: string) =>
  Effect.gen(function* () {
    const plan = called(key) === 1 ? firstCall.get(key) : undefined
    if (plan?.ms !== undefined) {
      const wait = Effect.sleep(plan.ms).pipe(
        Effect.zipRight(Effect.sync(() => finishedAt.set(key, Date.now()))),
        Effect.onInterrupt(() => Effect.sync(() => interrupted.add(key)))
      )
      yield* plan.uninterruptible ? Effect.uninterruptible(wait) : wait
    }
    if (plan?.fail) return yield* Effect.fail(new Error(`${key} failed`))
    return "mine"
  })

/** A fan-out over `items` items, keyed by `id`. */
const Work = Pipeline.make({
  name: "work",
  input: Schema.Struct({ id: Schema.String, items: Schema.Int }),
  output: Schema.Struct({ done: Schema.Int, failed: Schema.Int, outputs: Schema.Array(Schema.String) }),
  key: ({ id }) => id,
  run: ({ id, items }) =>
    Pipeline.fanOut(
      "items",
      { items: Array.from({ length: items }, (_, i) => `i${i}`), key: (k) => k, item: Schema.String, output: Schema.String },
      (item) => work(`${id}:${item}`)
    ).pipe(Effect.map((r) => ({ done: r.done.length, failed: r.failed.length, outputs: r.done.map((d) => d.output) })))
})

/** An exclusive step with an external effect that takes a second. */
const Exclusive = Pipeline.make({
  name: "exclusive",
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.Number,
  key: ({ id }) => id,
  run: ({ id }) =>
    Pipeline.step("charge", Schema.Number, Effect.sync(() => called(`charge:${id}`)).pipe(Effect.zipLeft(Effect.sleep("1 second"))), {
      exclusive: true
    })
})

/** A step whose first run succeeds slowly and whose duplicate fails fast (it conflicts with the first). */
const Duplicated = Pipeline.make({
  name: "duplicated",
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.String,
  key: ({ id }) => id,
  run: ({ id }) =>
    Pipeline.step(
      "publish",
      Schema.String,
      Effect.suspend(() =>
        called(`publish:${id}`) === 1
          ? Effect.sleep("1500 millis").pipe(Effect.as("published by the first worker"))
          : Effect.fail(new Error("conflicts with the first worker's publication"))
      )
    )
})

/** Each test has its own tenant: admission is per tenant (at most one processing run by default). */
const tenants = {
  queue: freshTenant("lg"),
  exclusive: freshTenant("lg"),
  duplicated: freshTenant("lg"),
  ended: freshTenant("lg"),
  lost: freshTenant("lg"),
  takeover: freshTenant("lg"),
  cancel: freshTenant("lg"),
  restart: freshTenant("lg"),
  stale: freshTenant("lg")
}

const Runtime = runsFor(Pipelines.layer(Work, Exclusive, Duplicated)).pipe(
  Layer.provide(provision(...Object.values(tenants))),
  Layer.provideMerge(CategorizerLive),
  Layer.provideMerge(TestBase)
)

/** Another worker process: an executor of its own (its own worker id). */
const otherWorker = Layer.fresh(Executor.Default)

const transitions = (runId: string) =>
  Effect.flatMap(RunLedger, (l) => l.transitions(runId)).pipe(Effect.map((ts) => ts.map((t) => `${t.from ?? "-"}→${t.to}`)))

const until = (condition: () => boolean) => Effect.sleep("20 millis").pipe(Effect.repeat({ until: condition }))

describe("the run ledger", () => {
  it.layer(Runtime, { timeout: 60_000 })((it) => {
    /** These tests wait for real: leases, polls and sleeps run on the live clock. */
    const live = liveTests(it)

    live("a malformed run id is an unknown run, not an error", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        for (const id of ["0".repeat(36), "-".repeat(36), "g0000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000"]) {
          expect((yield* Effect.flip(runs.status(id)))._tag).toBe("RunNotFound")
          expect((yield* Effect.flip(runs.retry(id)))._tag).toBe("RunNotFound")
          expect((yield* Effect.flip(runs.cancel(id, "test")))._tag).toBe("RunNotFound")
        }
        expect((yield* Effect.flip(runs.status("6F9619FF-8B86-D011-B42D-00C04FC964FF")))._tag).toBe("RunNotFound")
      }))

    live("queue positions follow admission order, also for runs queued within one millisecond", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const sql = yield* ControlSql
        const busy = yield* runs.start("work", tenants.queue, { id: "q0", items: 1 })
        const b = yield* runs.start("work", tenants.queue, { id: "q-b", items: 1 })
        const c = yield* runs.start("work", tenants.queue, { id: "q-c", items: 1 })
        yield* sql`UPDATE runs SET queued_at = '2020-01-01 00:00:00.000700+00' WHERE id = ${b.run.id}`
        yield* sql`UPDATE runs SET queued_at = '2020-01-01 00:00:00.000300+00' WHERE id = ${c.run.id}`
        const positions = [(yield* runs.status(c.run.id)).queuePosition, (yield* runs.status(b.run.id)).queuePosition]
        for (const r of [busy, b, c]) yield* runs.cancel(r.run.id, "cleanup")
        expect(positions).toEqual([1, 2])
      }))

    live("an exclusive step runs once when two workers drive the run; the waiting one returns its checkpoint", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const { run } = yield* runs.start("exclusive", tenants.exclusive, { id: "x1" })
        const other = yield* Layer.build(otherWorker)
        const [mine, theirs] = yield* Effect.all(
          [
            runs.await(run.id),
            // The second worker comes while the first one holds the step.
            until(() => calls.has("charge:x1")).pipe(Effect.zipRight(Executor.pipe(Effect.flatMap((e) => e.execute(run.id)), Effect.provide(other))))
          ],
          { concurrency: 2 }
        )
        expect(calls.get("charge:x1")).toBe(1)
        expect([mine.state, theirs.state]).toEqual(["READY", "READY"])
        expect(mine.result).toBe(1)
      }))

    live("a duplicate's failure of a step does not beat the first worker's success", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const { run } = yield* runs.start("duplicated", tenants.duplicated, { id: "d1" })
        const other = yield* Layer.build(otherWorker)
        const [mine, theirs] = yield* Effect.all(
          [
            runs.await(run.id),
            // The second worker comes while the first one runs the step (and holds it).
            until(() => calls.has("publish:d1")).pipe(Effect.zipRight(Executor.pipe(Effect.flatMap((e) => e.execute(run.id)), Effect.provide(other))))
          ],
          { concurrency: 2 }
        )
        expect(calls.get("publish:d1")).toBe(2) // both ran it: the step is not exclusive
        expect(mine).toMatchObject({ state: "READY", result: "published by the first worker" })
        expect(theirs.state).toBe("READY")
      }))

    live("a driver stops its body when another worker ends the run", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        firstCall.set("e1:i0", { ms: 10_000 })
        firstCall.set("e1:i1", { ms: 10_000 })
        const { run } = yield* runs.start("work", tenants.ended, { id: "e1", items: 2 })
        const driver = yield* Effect.fork(runs.await(run.id))
        yield* until(() => calls.has("e1:i0") && calls.has("e1:i1"))
        yield* Effect.flatMap(RunLedger, (l) =>
          l.finish(run.id, "FAILED", "another worker's stage failed", { error: "the stage broke", limit: 1, worker: "elsewhere" })
        )
        const stopping = Date.now()
        expect((yield* Fiber.join(driver)).state).toBe("FAILED")
        expect(Date.now() - stopping).toBeLessThan(5_000)
        expect([...interrupted].filter((k) => k.startsWith("e1:")).sort()).toEqual(["e1:i0", "e1:i1"])
      }))

    live("a worker that lost an item's lease to another worker neither overwrites nor counts its outcome", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const sql = yield* ControlSql
        const schema = `"tenant_${tenants.lost}"`
        firstCall.set("l1:i0", { ms: 1500 })
        const { run } = yield* runs.start("work", tenants.lost, { id: "l1", items: 3 })
        const progress: Array<string> = []
        const driver = yield* Effect.fork(runs.await(run.id, { onProgress: (stage, done, total) => progress.push(`${stage} ${done}/${total}`) }))
        yield* until(() => calls.has("l1:i0"))
        // Another worker took the item over (this worker's lease had lapsed) and finishes it.
        yield* sql.unsafe(`UPDATE ${schema}.run_items SET lease_owner = 'other', lease_expires_at = now() + interval '1 hour' WHERE run_id = $1 AND item_key = 'i0'`, [
          run.id
        ])
        yield* until(() => finishedAt.has("l1:i0"))
        yield* Effect.sleep("500 millis")
        yield* sql.unsafe(
          `UPDATE ${schema}.run_items SET state = 'DONE', result = '"theirs"', lease_owner = NULL, lease_expires_at = NULL WHERE run_id = $1 AND item_key = 'i0'`,
          [run.id]
        )
        const ended = yield* Fiber.join(driver)
        expect(ended).toMatchObject({ state: "READY", result: { done: 3, outputs: ["theirs", "mine", "mine"] } })
        expect(progress).toEqual(["items 1/3", "items 2/3"])
      }))

    live("a run whose driver stopped without ending it is driven to its end by the next run's await", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const control = yield* ControlSql
        firstCall.set("night-1:i0", { ms: 60_000 })
        const { run: dead } = yield* runs.start("work", tenants.takeover, { id: "night-1", items: 2 })
        // Its driver got SIGTERM mid-run (a scheduler's timeout) and nothing drives it since.
        const driver = yield* Effect.fork(runs.await(dead.id))
        yield* until(() => calls.has("night-1:i0"))
        yield* Fiber.interrupt(driver)
        const next = yield* runs.start("work", tenants.takeover, { id: "night-2", items: 2 })
        expect(next.run.state).toBe("QUEUED")

        // While it may still be starting (admitted moments ago), it is not taken over.
        const takenOver: Array<string> = []
        const early = yield* runs.await(next.run.id, { onTakeOver: (r) => takenOver.push(r.id) }).pipe(Effect.timeout("1500 millis"), Effect.option)
        expect(early._tag).toBe("None")
        expect(takenOver).toEqual([])

        // The next night: it was admitted long ago, and its items' leases have lapsed.
        yield* control`UPDATE runs SET updated_at = now() - interval '1 day' WHERE id = ${dead.id}`
        yield* control.unsafe(`UPDATE "tenant_${tenants.takeover}".run_items SET lease_expires_at = now() - interval '1 hour' WHERE run_id = $1`, [dead.id])
        const done = yield* runs.await(next.run.id, { onTakeOver: (r) => takenOver.push(r.id) }).pipe(Effect.timeout("20 seconds"))
        expect(done).toMatchObject({ state: "READY", result: { done: 2 } })
        expect(takenOver).toEqual([dead.id])
        expect((yield* runs.status(dead.id)).run).toMatchObject({ state: "READY", result: { done: 2 } })
      }))

    live("cancelling a processing run admits the next one only once the cancelled body has stopped", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        // The cancelled run is inside a transaction that cannot be interrupted (materialize).
        firstCall.set("c1:i0", { ms: 2500, uninterruptible: true })
        const { run: first } = yield* runs.start("work", tenants.cancel, { id: "c1", items: 1 })
        const { run: second } = yield* runs.start("work", tenants.cancel, { id: "c2", items: 1 })
        expect([first.state, second.state]).toEqual(["PROCESSING", "QUEUED"])
        const driver = yield* Effect.fork(runs.await(first.id))
        yield* until(() => calls.has("c1:i0"))
        yield* runs.cancel(first.id, "test")
        expect((yield* runs.status(second.id)).run.state).toBe("QUEUED")
        expect((yield* runs.await(second.id)).state).toBe("READY")
        expect((yield* Fiber.join(driver)).state).toBe("CANCELLED")
        const admitted = (yield* Effect.flatMap(RunLedger, (l) => l.transitions(second.id))).find((t) => t.to === "PROCESSING")!
        expect(admitted.at.getTime()).toBeGreaterThanOrEqual(finishedAt.get("c1:i0")!)
      }))

    live("concurrent starts of a DEGRADED key all succeed with the same run, which is reset once", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        firstCall.set("deg:i1", { fail: true })
        const { run } = yield* runs.start("work", tenants.restart, { id: "deg", items: 3 })
        expect((yield* runs.await(run.id)).state).toBe("DEGRADED")
        const starts = yield* Effect.all(
          Array.from({ length: 12 }, () => Effect.exit(runs.start("work", tenants.restart, { id: "deg", items: 3 }))),
          { concurrency: 12 }
        )
        expect(starts.filter(Exit.isFailure)).toEqual([])
        expect(new Set(starts.map((e) => Exit.isSuccess(e) && e.value.run.id))).toEqual(new Set([run.id]))
        expect(yield* runs.await(run.id)).toMatchObject({ state: "READY", result: { done: 3, failed: 0 } })
        expect([calls.get("deg:i0"), calls.get("deg:i1"), calls.get("deg:i2")]).toEqual([1, 2, 1])
        expect((yield* transitions(run.id)).filter((t) => t === "DEGRADED→QUEUED")).toHaveLength(1)
      }))

    live("a run whose inputs change while it runs, or before a retry resumes it, ends STALE; started again it runs afresh", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        const ledger = yield* RunLedger
        firstCall.set("2026-11-20:i0", { ms: 1500 })
        const { run } = yield* runs.start("work", tenants.stale, { id: "2026-11-20", items: 2 })
        const driver = yield* Effect.fork(runs.await(run.id))
        yield* until(() => calls.has("2026-11-20:i0"))
        yield* ledger.markStale(tenants.stale, "work", { after: "2026-11-19", upTo: "2026-11-30" }, "new events")
        expect((yield* Fiber.join(driver)).state).toBe("STALE")
        expect((yield* transitions(run.id)).slice(-2)).toEqual(["PROCESSING→READY", "READY→STALE"])
        expect(yield* runs.await((yield* runs.start("work", tenants.stale, { id: "2026-11-20", items: 2 })).run.id)).toMatchObject({
          state: "READY"
        })
        expect(calls.get("2026-11-20:i1")).toBe(2) // from scratch

        // A DEGRADED run resumes from its checkpoints on retry: they predate the change.
        firstCall.set("2026-11-21:i0", { fail: true })
        const { run: degraded } = yield* runs.start("work", tenants.stale, { id: "2026-11-21", items: 2 })
        expect((yield* runs.await(degraded.id)).state).toBe("DEGRADED")
        yield* ledger.markStale(tenants.stale, "work", { after: "2026-11-19", upTo: "2026-11-30" }, "new events")
        yield* runs.retry(degraded.id)
        expect((yield* runs.await(degraded.id)).state).toBe("STALE")
        // A run that has not started yet will read the new inputs.
        const { run: queued } = yield* ledger.start(tenants.stale, "work", "2026-11-22", { id: "2026-11-22", items: 1 }, 0)
        yield* ledger.markStale(tenants.stale, "work", { after: "2026-11-19", upTo: "2026-11-30" }, "new events")
        expect(yield* ledger.admit(tenants.stale, 1)).toEqual([queued.id])
        const ended = yield* ledger.finish(queued.id, "READY", "test", { result: {}, limit: 1, worker: "test" })
        expect(ended.pipe(Option.map((r) => r.state), Option.getOrNull)).toBe("READY")
      }))
  })
})

describe("HR intake", () => {
  const tenant = freshTenant("lghr")
  it.effect("makes nightly runs from the change's effective date on STALE", () =>
    Effect.gen(function* () {
      const ledger = yield* RunLedger
      const ids = new Map<string, string>()
      for (const date of ["2026-11-18", "2026-11-20", "2026-11-22"]) {
        const { run } = yield* ledger.start(tenant, "nightly", date, { date }, 10)
        yield* ledger.finish(run.id, "READY", "test", { result: {}, limit: 10, worker: "test" })
        ids.set(date, run.id)
      }
      const line = JSON.stringify({ eventId: "e1", type: "role_change", login: "ana@example.com", effectiveDate: "2026-11-20", title: "Lead" })
      const ingest = Effect.flatMap(HrIngest, (h) => h.records(jsonValues(Stream.make(line)), { source: "hr.ndjson" }))
      yield* ingest
      const states = Effect.forEach([...ids.values()], (id) => Effect.map(ledger.find(id), (r) => r.state))
      expect(yield* states).toEqual(["READY", "STALE", "STALE"])
      const sql = yield* SqlClient.SqlClient
      expect((yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM hr_events`)[0]!.n).toBe(1)
    }).pipe(Effect.provide(testTenantLayer(tenant))))
})
