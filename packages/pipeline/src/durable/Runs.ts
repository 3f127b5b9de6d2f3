import { IllegalTransition, isRetryable } from "@workcat/core"
import type { TenantId } from "@workcat/tenancy"
import { Effect, Option, Schema } from "effect"
import { Checkpoints } from "./Checkpoints.js"
import { Executor, type ExecuteOptions } from "./Executor.js"
import { Pipelines } from "./Pipelines.js"
import { RunLedger, type RunRecord } from "./RunLedger.js"
import { TenantRuntimes } from "./TenantRuntimes.js"

/** No pipeline by that name, or an input it does not accept. */
export class InvalidRunRequest extends Schema.TaggedError<InvalidRunRequest>()("InvalidRunRequest", { message: Schema.String }) {}

export interface RunStatus {
  readonly run: RunRecord
  readonly queuePosition: number | null
}

/**
 * What schedulers, the CLI and the HTTP API ask of runs: start a key (resuming or returning
 * it), retry, cancel, inspect, and wait for the end.
 */
export class Runs extends Effect.Service<Runs>()("workcat/Runs", {
  effect: Effect.gen(function* () {
    const ledger = yield* RunLedger
    const executor = yield* Executor
    const pipelines = yield* Pipelines
    const tenants = yield* TenantRuntimes

    const inTenant = <A, E>(tenant: string, effect: Effect.Effect<A, E, Checkpoints>) =>
      Effect.flatMap(tenants.runtime(tenant as TenantId), (runtime) => Effect.provide(effect, runtime)).pipe(Effect.scoped, Effect.orDie)

    const withPosition = (run: RunRecord) => Effect.map(ledger.queuePosition(run), (queuePosition): RunStatus => ({ run, queuePosition }))

    /**
     * Queues a FAILED, DEGRADED or STALE run again and prepares its checkpoints (`reset`). The
     * move comes first, held from admission, so that of concurrent callers only the one that
     * moved the run resets it, and never under a live driver; the others get the run as it is
     * now (restarted already). Should this process die before the reset, the hold lapses after
     * a minute and the run is admitted unchanged (it ends as it did).
     */
    const restart = (run: RunRecord, reason: string, reset: (checkpoints: Checkpoints) => Effect.Effect<void>) =>
      Effect.gen(function* () {
        const expect = run.state === "STALE" ? (["STALE"] as const) : (["FAILED", "DEGRADED"] as const)
        const moved = yield* ledger.transition(run.id, "QUEUED", reason, { expect, hold: true }).pipe(
          Effect.map(Option.some),
          Effect.catchTag("IllegalTransition", () => Effect.succeedNone)
        )
        if (Option.isSome(moved)) {
          yield* inTenant(run.tenant, Effect.flatMap(Checkpoints, reset))
          yield* ledger.release(run.id)
          yield* executor.admit(run.tenant)
        }
        return yield* withPosition(yield* ledger.find(run.id))
      })

    const retry = Effect.fn("Runs.retry")(function* (runId: string, reason = "retry") {
      const run = yield* ledger.find(runId)
      if (!isRetryable(run.state)) {
        return yield* new IllegalTransition({ runId, from: run.state, to: "QUEUED", message: `A ${run.state} run cannot be retried` })
      }
      return yield* restart(run, reason, (c) => c.resetFailed(run.id))
    })

    /**
     * Starts the run of `input`'s key. A new key is queued; a finished (READY) key returns its
     * result; a processing or queued one is joined; a failed or degraded one is retried (only
     * its failed work); a stale one starts over. A cancelled key stays cancelled.
     */
    const start = Effect.fn("Runs.start")(function* (pipelineName: string, tenant: TenantId, input: unknown) {
      const pipeline = pipelines.get(pipelineName)
      if (pipeline === undefined) return yield* new InvalidRunRequest({ message: `No pipeline named ${pipelineName}` })
      const decoded = yield* Schema.decodeUnknown(pipeline.input)(input).pipe(
        Effect.mapError((e) => new InvalidRunRequest({ message: `Invalid input for ${pipelineName}: ${e.message}` }))
      )
      const encoded = yield* Schema.encode(pipeline.input)(decoded).pipe(Effect.orDie)
      const { created, run } = yield* ledger.start(tenant, pipelineName, pipeline.key(decoded), encoded, yield* executor.limitOf(tenant), executor.driver)
      if (created && run.state === "PROCESSING") yield* executor.startedHere(run.id)
      if (isRetryable(run.state)) return yield* restart(run, "started again", (c) => c.resetFailed(run.id))
      if (run.state === "STALE") return yield* restart(run, "started again after its inputs changed", (c) => c.clear(run.id))
      return run.state === "QUEUED" ? yield* withPosition(run) : ({ run, queuePosition: null } satisfies RunStatus)
    })

    /**
     * Cancels an unfinished run. Its drivers stop their bodies within a second; the run keeps
     * its tenant's slot until they have (admission counts runs with a live driver), and the last
     * one to stop admits the next run.
     */
    const cancel = Effect.fn("Runs.cancel")(function* (runId: string, reason: string) {
      const run = yield* ledger.find(runId)
      yield* ledger.transition(run.id, "CANCELLED", reason)
      yield* executor.dropFresh(run.id)
      yield* executor.admit(run.tenant) // frees the slot at once when no driver is left
      return yield* withPosition(yield* ledger.find(runId))
    })

    /** The run, its transitions, and (from the tenant's checkpoints) progress and failed items. */
    const status = Effect.fn("Runs.status")(function* (runId: string) {
      const run = yield* ledger.find(runId)
      const [position, transitions, detail] = yield* Effect.all([
        ledger.queuePosition(run),
        ledger.transitions(run.id),
        inTenant(
          run.tenant,
          Effect.flatMap(Checkpoints, (c) => Effect.all({ stages: c.progress(run.id), failures: c.failedItems(run.id, 100) }))
        )
      ])
      return { run, queuePosition: position, transitions, ...detail }
    })

    /**
     * Drives a run to its end from this process (sharing the work with any other worker), and
     * waits while it is queued. `onQueued` hears the queue position. While it waits, it first
     * drives the tenant's abandoned runs (PROCESSING, no live driver: their process died) to
     * their end, so a scheduler's next run does not wait for them forever; `onTakeOver` hears of
     * each.
     */
    const await_ = Effect.fn("Runs.await")(function* (
      runOrId: RunRecord | string,
      options: ExecuteOptions & { readonly onQueued?: (position: number | null) => void } = {}
    ) {
      let current: RunRecord | string = runOrId
      while (true) {
        const run: RunRecord = yield* executor.execute(current, options)
        current = run.id
        if (run.state !== "QUEUED" && run.state !== "PROCESSING") return run
        if (run.state === "QUEUED") {
          const abandoned = yield* executor.abandoned(run.tenant)
          for (const stuck of abandoned) {
            options.onTakeOver?.(stuck)
            yield* executor.execute(stuck, options)
          }
          if (abandoned.length === 0) options.onQueued?.(yield* ledger.queuePosition(run))
        }
        yield* Effect.sleep("1 second")
      }
    })

    return { start, retry, cancel, status, await: await_ } as const
  })
}) {}
