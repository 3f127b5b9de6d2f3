import { type Duration, Effect, Schedule } from "effect"
import { Executor } from "./Executor.js"
import { type LedgerSweepSchedule, sweepLedgersPeriodically } from "./Retention.js"
import { RunLedger, type RunRecord } from "./RunLedger.js"

export interface WorkerOptions {
  /** Runs this process drives at once. */
  readonly maxRuns: number
  readonly pollInterval?: Duration.DurationInput
  /** Only runs of these tenants (default: every tenant's). */
  readonly tenants?: ReadonlyArray<string>
  /** When to look for the tenants' ledgers due for retention (see `sweepDueLedgers`). */
  readonly ledgerSweep?: LedgerSweepSchedule
}

/**
 * A worker: every poll it admits queued runs within their tenants' limits and joins processing
 * runs it is not driving yet, sharing their items with whoever else drives them. Beside that, it
 * sweeps each tenant's run ledger of finished runs past the tenant's retention, once a day (a
 * claim in the control plane makes that once across workers), outside any run. Runs forever.
 */
export const runWorker = (options: WorkerOptions) =>
  Effect.gen(function* () {
    const ledger = yield* RunLedger
    const executor = yield* Executor
    const driving = new Set<string>()
    const mine = (run: RunRecord) => executor.knows(run) && (options.tenants === undefined || options.tenants.includes(run.tenant))
    const poll = Effect.gen(function* () {
      const active = (yield* ledger.active).filter(mine)
      for (const tenant of new Set(active.filter((r) => r.state === "QUEUED").map((r) => r.tenant))) yield* executor.admit(tenant)
      for (const run of (yield* ledger.active).filter(mine)) {
        if (run.state !== "PROCESSING" || driving.has(run.id) || driving.size >= options.maxRuns) continue
        driving.add(run.id)
        yield* executor.execute(run.id).pipe(
          Effect.catchAllCause((cause) => Effect.logWarning(`worker: run ${run.id}`, cause)),
          Effect.ensuring(Effect.sync(() => driving.delete(run.id))),
          Effect.forkScoped
        )
      }
    })
    yield* Effect.forkScoped(sweepLedgersPeriodically(options.tenants, options.ledgerSweep))
    yield* Effect.logInfo(`worker ${executor.worker} polling for runs`)
    return yield* poll.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("worker poll failed", cause)),
      Effect.repeat(Schedule.spaced(options.pollInterval ?? "1 second")),
      Effect.zipRight(Effect.never)
    )
  }).pipe(Effect.scoped)
