import { type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Cache, Cause, Clock, Config, Effect, Exit, Fiber, Option, Schedule, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as os from "node:os"
import { Checkpoints } from "./Checkpoints.js"
import { RunContext, type RunContextService } from "./Pipeline.js"
import { Pipelines } from "./Pipelines.js"
import { RunLedger, type RunRecord } from "./RunLedger.js"
import { TenantRuntimes } from "./TenantRuntimes.js"

export interface ExecuteOptions {
  /** Items this worker processes at once in a fan-out (default `WORKCAT_CONCURRENCY` or 8). */
  readonly concurrency?: number | undefined
  readonly onProgress?: ((stage: string, done: number, total: number) => void) | undefined
  /** Hears of an abandoned run of the tenant that this process drives before its own queued run. */
  readonly onTakeOver?: ((run: RunRecord) => void) | undefined
}

/**
 * Drives runs: admits queued runs within their tenant's limit, replays a processing run's body
 * in the tenant's layer while heartbeating this worker's leases and its driving of the run and
 * watching the run's state, and records how it ended. Several executors (processes, machines)
 * may drive one run at once.
 */
export class Executor extends Effect.Service<Executor>()("workcat/Executor", {
  effect: Effect.gen(function* () {
    const ledger = yield* RunLedger
    const registry = yield* TenantRegistry
    const pipelines = yield* Pipelines
    const tenants = yield* TenantRuntimes
    const leaseMs = (yield* Config.number("WORKCAT_LEASE_SECONDS").pipe(Config.withDefault(30))) * 1000
    const defaultConcurrency = yield* Config.integer("WORKCAT_CONCURRENCY").pipe(Config.withDefault(8))
    const worker = `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`
    /**
     * A driver not heard of for this long is gone (a few missed heartbeats are not enough):
     * its run no longer counts it, and a PROCESSING run without any is abandoned.
     */
    const driverTtlMs = 3 * leaseMs
    const heartbeatEvery = Math.max(200, Math.floor(leaseMs / 3))

    /** A tenant's limit of processing runs, read at most every few seconds (admission is on every run's path). */
    const limits = yield* Cache.make({
      capacity: 10_000,
      timeToLive: "5 seconds",
      lookup: (tenant: string) => Effect.map(registry.get(tenant as TenantId), (t) => t.settings.maxConcurrentRuns)
    })

    /** Starts queued runs of the tenant while its limit allows; the ids it started. */
    const admit = (tenant: string) =>
      limits.get(tenant).pipe(
        Effect.flatMap((limit) => ledger.admit(tenant, limit)),
        Effect.catchTag("TenantNotFound", () => Effect.succeed([] as ReadonlyArray<string>))
      )

    /**
     * Records how the run ended and lets the tenant's next queued run in; another worker
     * finishing first, or a cancel, leaves nothing to record.
     */
    const finish = (run: RunRecord, to: "READY" | "DEGRADED" | "FAILED", reason: string, options: { readonly result?: unknown; readonly error?: string }) =>
      limits.get(run.tenant).pipe(
        Effect.orElseSucceed(() => 1),
        Effect.flatMap((limit) => ledger.finish(run.id, to, reason, { ...options, limit, worker }))
      )

    /**
     * Drives the run while this worker is recorded as its driver: the record is removed only
     * once the body has stopped (the scope of `driveIn` closes first), so the run keeps its
     * tenant's slot until then even when it was cancelled.
     */
    /**
     * Runs this worker created, admitted at once and recorded as their driver for a heartbeat
     * period (`Runs.start`), with when: driven within it, they need neither that record written
     * nor their (absent) checkpoints read, two round trips of a short run. Not driven, the record
     * lapses by itself (or is dropped on a cancel).
     */
    const fresh = new Map<string, number>()
    const startDriver = { worker, ttlMs: heartbeatEvery }
    /** A run this worker registered for but will not drive (cancelled): its record goes at once. */
    const dropFresh = (id: string) =>
      Effect.suspend(() => (fresh.delete(id) ? ledger.stoppedDriving(id, worker) : Effect.void))
    const startedHere = (id: string) =>
      Effect.sync(() => {
        const now = Date.now()
        for (const [key, at] of fresh) if (now - at > heartbeatEvery) fresh.delete(key)
        fresh.set(id, now)
      })
    const takeFresh = (id: string) =>
      Effect.sync(() => {
        const at = fresh.get(id)
        fresh.delete(id)
        return at !== undefined && Date.now() - at <= heartbeatEvery
      })

    const drive = (run: RunRecord, options: ExecuteOptions) =>
      Effect.gen(function* () {
        let ended = false // by this worker: ending the run ended its driving too (see `RunLedger.finish`)
        const isFresh = yield* takeFresh(run.id)
        yield* Effect.acquireRelease(isFresh ? Effect.void : ledger.driving(run.id, worker, driverTtlMs), () =>
          ended
            ? Effect.void
            : ledger.stoppedDriving(run.id, worker).pipe(
                Effect.catchAllCause((cause) => Effect.logWarning(`run ${run.id}: could not record that ${worker} stopped driving it`, cause))
              )
        )
        // The tenant's services, from the shared per-tenant map (a runtime, cheaper to provide than a
        // layer); a build found current in the last two seconds is trusted (a run starts with it).
        const runtime = yield* tenants.runtime(run.tenant as TenantId, 2_000)
        const outcome = yield* driveIn(run, options, isFresh).pipe(Effect.provide(runtime))
        ended = Option.isSome(outcome)
        return outcome
      }).pipe(Effect.scoped)

    /**
     * Renews this worker's leases in the run and its driver record, every third of a lease.
     * A failed renewal is logged and tried again; once the leases have not been renewed for a
     * whole lease, other workers may have taken this worker's items, so the body stops (the
     * caller drives the run again, from its checkpoints). An item finished after its lease was
     * taken over is not recorded (see `Checkpoints.finishItem`).
     */
    const keepAlive = (run: RunRecord, body: Fiber.RuntimeFiber<unknown, unknown>) =>
      Effect.gen(function* () {
        const checkpoints = yield* Checkpoints
        let renewedAt = yield* Clock.currentTimeMillis
        const leases = checkpoints.heartbeat(run.id, worker, leaseMs).pipe(
          Effect.timeout(heartbeatEvery), // a connection that hangs counts as a failure
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.map((now) => void (renewedAt = now)),
          Effect.catchAllCause((cause) =>
            Effect.gen(function* () {
              const silentMs = (yield* Clock.currentTimeMillis) - renewedAt
              if (silentMs < leaseMs) return yield* Effect.logWarning(`run ${run.id}: renewing leases failed; trying again`, cause)
              yield* Effect.logError(`run ${run.id}: leases not renewed for ${silentMs} ms; stopping work that other workers may take over`, cause)
              yield* Fiber.interrupt(body)
            })
          )
        )
        const seen = ledger.driving(run.id, worker, driverTtlMs).pipe(
          Effect.catchAllCause((cause) => Effect.logWarning(`run ${run.id}: recording that ${worker} drives it failed; trying again`, cause))
        )
        return yield* Effect.all([leases, seen], { discard: true }).pipe(
          Effect.delay(heartbeatEvery),
          Effect.repeat(Schedule.spaced(heartbeatEvery)),
          Effect.forkScoped
        )
      })

    /**
     * Stops the body within a second of the run leaving PROCESSING (cancelled, or ended by
     * another worker) or disappearing; a failed look is logged and tried again.
     */
    const watch = (run: RunRecord, body: Fiber.RuntimeFiber<unknown, unknown>) =>
      ledger.get(run.id).pipe(
        Effect.flatMap((current) =>
          Option.isSome(current) && current.value.state === "PROCESSING"
            ? Effect.void
            : Effect.logInfo(`run ${run.id} is ${Option.match(current, { onNone: () => "gone", onSome: (r) => r.state })}: ${worker} stops driving it`).pipe(
                Effect.zipRight(Fiber.interrupt(body))
              )
        ),
        Effect.catchAllCause((cause) => Effect.logWarning(`run ${run.id}: reading its state failed; trying again`, cause)),
        Effect.delay("1 second"),
        Effect.repeat(Schedule.forever),
        Effect.forkScoped
      )

    const driveIn = (run: RunRecord, options: ExecuteOptions, isFresh: boolean) =>
      Effect.gen(function* () {
        const pipeline = pipelines.get(run.pipeline)!
        const input = yield* Schema.decodeUnknown(pipeline.input)(run.input).pipe(Effect.option)
        if (Option.isNone(input)) return yield* finish(run, "FAILED", "invalid input", { error: "The run's input does not match its pipeline" })
        const checkpoints = yield* Checkpoints
        const checkpointed = isFresh ? new Map() : yield* checkpoints.stages(run.id)
        let ordinal = 0
        let failed = 0
        const context: RunContextService = {
          runId: run.id,
          tenant: run.tenant,
          worker,
          leaseMs,
          concurrency: options.concurrency ?? defaultConcurrency,
          nextOrdinal: () => ordinal++,
          checkpointed,
          addCost: (usd) => ledger.addCost(run.id, usd),
          othersDriving: ledger.othersDriving(run.id, worker),
          addFailed: (items) => void (failed += items),
          onProgress: options.onProgress ?? (() => {})
        }
        // Scoped: when this is interrupted, the scope stops the body before `drive` ends.
        const body = yield* Effect.forkScoped(pipeline.run(input.value).pipe(Effect.provideService(RunContext, context)))
        yield* keepAlive(run, body)
        yield* watch(run, body)
        const exit = yield* Fiber.await(body)
        if (Exit.isSuccess(exit)) {
          const result = yield* Schema.encode(pipeline.output)(exit.value).pipe(Effect.orDie)
          return yield* finish(run, failed === 0 ? "READY" : "DEGRADED", failed === 0 ? `completed by ${worker}` : `${failed} items failed`, {
            result
          })
        }
        // Stopped: the run left PROCESSING, or this worker lost its leases.
        if (Cause.isInterruptedOnly(exit.cause)) return Option.none<RunRecord>()
        const failure = Cause.squash(exit.cause) as { message?: string }
        return yield* finish(run, "FAILED", "a stage failed", { error: String(failure?.message ?? Cause.pretty(exit.cause)) })
      }).pipe(Effect.scoped)

    /** Whether this executor has the run's pipeline (workers built with other pipelines leave it alone). */
    const knows = (run: RunRecord) => pipelines.has(run.pipeline)

    /**
     * Advances a run as far as this worker can: admits it if queued, drives it if processing.
     * Returns the run as it is afterwards (still QUEUED while its tenant is at its limit).
     */
    const execute = Effect.fn("Executor.execute")(function* (runOrId: RunRecord | string, options: ExecuteOptions = {}) {
      let run = typeof runOrId === "string" ? yield* ledger.find(runOrId) : runOrId
      if (!knows(run)) return run
      if (run.state === "QUEUED") {
        if (!(yield* admit(run.tenant)).includes(run.id)) return yield* ledger.find(run.id)
        run = { ...run, state: "PROCESSING" }
      }
      if (run.state !== "PROCESSING") return run
      const ended = yield* drive(run, options).pipe(
        Effect.catchAll((e) =>
          finish(run, "FAILED", "the tenant cannot be opened", { error: e.message })
        )
      )
      if (Option.isSome(ended)) return ended.value
      // The run did not end here (cancelled, ended by another worker, or this worker stopped):
      // our body has stopped, which may free the tenant's slot.
      yield* admit(run.tenant)
      return yield* ledger.find(run.id)
    })

    /** The tenant's limit of processing runs (cached). */
    const limitOf = (tenant: string) => limits.get(tenant).pipe(Effect.orElseSucceed(() => 1))

    /** PROCESSING runs of the tenant that this worker could drive and no live worker drives. */
    const abandoned = (tenant: string) => Effect.map(ledger.abandoned(tenant, driverTtlMs), (runs) => runs.filter(knows))

    return { execute, admit, limitOf, knows, abandoned, worker, driver: startDriver, startedHere, dropFresh } as const
  })
}) {}
