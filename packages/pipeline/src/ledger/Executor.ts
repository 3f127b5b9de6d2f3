import { IllegalTransition, type RunState } from "@workcat/core"
import { type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Cause, Config, Effect, Exit, Fiber, Option, Schedule, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as os from "node:os"
import { TenantLayers } from "../TenantLayers.js"
import { Checkpoints } from "./Checkpoints.js"
import { RunContext, type RunContextService } from "./Pipeline.js"
import { Pipelines } from "./Pipelines.js"
import { RunLedger, type RunRecord } from "./RunLedger.js"

export interface ExecuteOptions {
  /** Items this worker processes at once in a fan-out (default `WORKCAT_CONCURRENCY` or 8). */
  readonly concurrency?: number | undefined
  readonly onProgress?: ((stage: string, done: number, total: number) => void) | undefined
}

/** Another worker finished the run first, or it was cancelled meanwhile: nothing to record. */
const ignoreIllegal = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.catchIf(self, (e): e is Extract<E, IllegalTransition> => e instanceof IllegalTransition, () => Effect.void)

/**
 * Drives runs: admits queued runs within their tenant's limit, replays a processing run's body
 * in the tenant's layer while heartbeating this worker's leases and watching for cancellation,
 * and records how it ended. Several executors (processes, machines) may drive one run at once.
 */
export class Executor extends Effect.Service<Executor>()("workcat/Executor", {
  effect: Effect.gen(function* () {
    const ledger = yield* RunLedger
    const registry = yield* TenantRegistry
    const pipelines = yield* Pipelines
    const tenants = yield* TenantLayers
    const leaseMs = (yield* Config.number("WORKCAT_LEASE_SECONDS").pipe(Config.withDefault(30))) * 1000
    const defaultConcurrency = yield* Config.integer("WORKCAT_CONCURRENCY").pipe(Config.withDefault(8))
    const worker = `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`

    /** Starts queued runs of the tenant while its limit allows. */
    const admit = (tenant: string) =>
      registry.get(tenant as TenantId).pipe(
        Effect.flatMap((t) => ledger.admit(tenant, t.settings.maxConcurrentRuns)),
        Effect.catchTag("TenantNotFound", () => Effect.succeed([]))
      )

    const finish = (run: RunRecord, to: RunState, reason: string, options: { readonly result?: unknown; readonly error?: string }) =>
      ledger.transition(run.id, to, reason, { expect: ["PROCESSING"], ...options }).pipe(ignoreIllegal, Effect.asVoid)

    const drive = (run: RunRecord, options: ExecuteOptions) =>
      Effect.gen(function* () {
        const pipeline = pipelines.get(run.pipeline)!
        const input = yield* Schema.decodeUnknown(pipeline.input)(run.input).pipe(Effect.option)
        if (Option.isNone(input)) return yield* finish(run, "FAILED", "invalid input", { error: "The run's input does not match its pipeline" })
        let ordinal = 0
        const context: RunContextService = {
          runId: run.id,
          tenant: run.tenant,
          worker,
          leaseMs,
          concurrency: options.concurrency ?? defaultConcurrency,
          nextOrdinal: () => ordinal++,
          addCost: (usd) => ledger.addCost(run.id, usd),
          onProgress: options.onProgress ?? (() => {})
        }
        const checkpoints = yield* Checkpoints
        const body = yield* Effect.fork(pipeline.run(input.value).pipe(Effect.provideService(RunContext, context)))
        // Keep our leases alive, and stop the body within a second of the run being cancelled.
        yield* checkpoints.heartbeat(run.id, worker, leaseMs).pipe(
          Effect.repeat(Schedule.spaced(Math.max(200, Math.floor(leaseMs / 3)))),
          Effect.forkScoped
        )
        yield* ledger.find(run.id).pipe(
          Effect.orDie,
          Effect.flatMap((current) => (current.state === "CANCELLED" ? Fiber.interrupt(body) : Effect.void)),
          Effect.repeat(Schedule.spaced("1 second")),
          Effect.forkScoped
        )
        const exit = yield* Fiber.await(body)
        if (Exit.isSuccess(exit)) {
          const failed = yield* checkpoints.failedCount(run.id)
          const result = yield* Schema.encode(pipeline.output)(exit.value).pipe(Effect.orDie)
          yield* finish(run, failed === 0 ? "READY" : "DEGRADED", failed === 0 ? `completed by ${worker}` : `${failed} items failed`, { result })
        } else if (!Cause.isInterruptedOnly(exit.cause)) {
          const failure = Cause.squash(exit.cause) as { message?: string }
          yield* finish(run, "FAILED", "a stage failed", { error: String(failure?.message ?? Cause.pretty(exit.cause)) })
        }
      }).pipe(Effect.provide(tenants.get(run.tenant as TenantId)), Effect.scoped)

    /** Whether this executor has the run's pipeline (workers built with other pipelines leave it alone). */
    const knows = (run: RunRecord) => pipelines.has(run.pipeline)

    /**
     * Advances a run as far as this worker can: admits it if queued, drives it if processing.
     * Returns the run as it is afterwards (still QUEUED while its tenant is at its limit).
     */
    const execute = Effect.fn("Executor.execute")(function* (runId: string, options: ExecuteOptions = {}) {
      let run = yield* ledger.find(runId)
      if (!knows(run)) return run
      if (run.state === "QUEUED") {
        yield* admit(run.tenant)
        run = yield* ledger.find(runId)
      }
      if (run.state === "PROCESSING") {
        yield* drive(run, options).pipe(
          Effect.catchAll((e) => finish(run, "FAILED", "the tenant cannot be opened", { error: String((e as { message?: string }).message ?? e) }))
        )
        yield* admit(run.tenant)
      }
      return yield* ledger.find(runId)
    })

    return { execute, admit, knows, worker } as const
  })
}) {}
