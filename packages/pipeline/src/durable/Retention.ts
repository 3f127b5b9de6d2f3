import { CurrentTenant, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { type Duration, Effect, Option, Schedule } from "effect"
import { Checkpoints } from "./Checkpoints.js"
import { RunLedger } from "./RunLedger.js"
import { type Expired, TenantRetention } from "./TenantRetention.js"
import { TenantRuntimes } from "./TenantRuntimes.js"

/** What a sweep of one tenant's run ledger removed (or, dry, would remove). */
export interface LedgerSweep {
  readonly tenant: string
  readonly retentionDays: number
  /** Runs deleted, with their transitions. */
  readonly runs: number
  readonly transitions: number
  /** Checkpoint rows of those runs, and of runs deleted before whose checkpoints were left over. */
  readonly stages: number
  readonly items: number
  /** What else expired with the ledger (`TenantRetention`): cost-ledger calls unlinked from their run and person, and deleted. */
  readonly other: Expired
}

/** Runs deleted a statement; their checkpoint rows go `ROWS` a statement. */
const RUNS = 100
const ROWS = 5_000

/**
 * Deletes what the run ledger keeps of the tenant's runs that ended longer ago than its
 * `ledgerRetentionDays` (see `RunLedger.deleteExpired` for which stay: never a QUEUED or
 * PROCESSING run, never the latest READY run of a pipeline), and what expires with it
 * (`TenantRetention`: the cost ledger). The
 * control-plane rows go first: a run the ledger no longer has cannot be driven or restarted, so
 * its checkpoints are nobody's when they are deleted after; should the process die between the
 * two, the next sweep finds the checkpoints left over. With `dryRun`, only counts.
 */
export const sweepLedger = Effect.fn("Retention.sweepLedger")(function* (tenant: TenantId, options: { readonly dryRun?: boolean } = {}) {
  const ledger = yield* RunLedger
  const runtime = yield* Effect.flatMap(TenantRuntimes, (t) => t.runtime(tenant))
  const inTenant = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, runtime)
  const { checkpoints, days, other } = yield* inTenant(
    Effect.all({
      checkpoints: Checkpoints,
      days: Effect.map(CurrentTenant, (t) => t.settings.ledgerRetentionDays),
      other: Effect.serviceOption(TenantRetention)
    })
  )

  const leftOver = Effect.gen(function* () {
    const candidates = yield* checkpoints.runsStartedBefore(days, 1_000)
    const kept = yield* ledger.existing(candidates)
    return candidates.filter((id) => !kept.has(id))
  })

  if (options.dryRun === true) {
    const expired = yield* ledger.expired(tenant, days)
    const rows = yield* checkpoints.countOf([...expired.map((r) => r.id), ...(yield* leftOver)])
    return {
      tenant,
      retentionDays: days,
      runs: expired.length,
      transitions: expired.reduce((n, r) => n + r.transitions, 0),
      ...rows,
      other: Option.isSome(other) ? yield* other.value.expiring(days) : {}
    } satisfies LedgerSweep
  }

  const batch = ledger.deleteExpired(tenant, days, RUNS).pipe(
    Effect.flatMap(({ ids, transitions }) => Effect.map(checkpoints.forget(ids, ROWS), (rows) => ({ runs: ids.length, transitions, ...rows })))
  )
  const totals = yield* Effect.iterate(
    { runs: 0, transitions: 0, stages: 0, items: 0, last: RUNS },
    {
      while: (t) => t.last >= RUNS,
      body: (t) =>
        Effect.map(batch, (b) => ({
          runs: t.runs + b.runs,
          transitions: t.transitions + b.transitions,
          stages: t.stages + b.stages,
          items: t.items + b.items,
          last: b.runs
        }))
    }
  )
  const orphans = yield* checkpoints.forget(yield* leftOver, ROWS)
  return {
    tenant,
    retentionDays: days,
    runs: totals.runs,
    transitions: totals.transitions,
    stages: totals.stages + orphans.stages,
    items: totals.items + orphans.items,
    other: Option.isSome(other) ? yield* other.value.expire(days, ROWS) : {}
  } satisfies LedgerSweep
}, Effect.scoped)

/**
 * Sweeps the ledger of each tenant (of `tenants`, or every one) not swept in the last day by any
 * worker: the claim is taken in the control plane first. One tenant after the other; a tenant
 * that fails is logged and tried again the next day.
 */
export const sweepDueLedgers = (tenants?: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const ledger = yield* RunLedger
    const all = (yield* Effect.flatMap(TenantRegistry, (r) => r.list())).map((t) => t.id)
    const due = tenants === undefined ? all : all.filter((id) => tenants.includes(id))
    yield* Effect.forEach(
      due,
      (tenant) =>
        ledger.claimSweep(tenant).pipe(
          Effect.flatMap((claimed) =>
            claimed
              ? sweepLedger(tenant).pipe(
                  Effect.tap((swept) => ledger.recordSweep(tenant, swept)),
                  Effect.tap((swept) =>
                    swept.runs + swept.items + swept.stages + Object.values(swept.other).reduce((a, b) => a + b, 0) > 0
                      ? Effect.logInfo(`ledger retention of tenant ${tenant}`, swept)
                      : Effect.void
                  )
                )
              : Effect.void
          ),
          Effect.catchAllCause((cause) => Effect.logWarning(`ledger retention of tenant ${tenant} failed; tried again tomorrow`, cause))
        ),
      { discard: true }
    )
  }).pipe(Effect.withSpan("Retention.sweepDueLedgers"))

export interface LedgerSweepSchedule {
  /** How often a worker looks for tenants due (default an hour); each is swept at most once a day. */
  readonly every?: Duration.DurationInput
  /** The first look, after the worker starts (default a minute: not while it catches up on runs). */
  readonly firstAfter?: Duration.DurationInput
}

/** `sweepDueLedgers` on a schedule, forever; a failed look is logged. */
export const sweepLedgersPeriodically = (tenants: ReadonlyArray<string> | undefined, schedule: LedgerSweepSchedule = {}) =>
  sweepDueLedgers(tenants).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("ledger retention: looking for tenants due failed", cause)),
    Effect.repeat(Schedule.spaced(schedule.every ?? "1 hour")),
    Effect.delay(schedule.firstAfter ?? "1 minute"),
    Effect.zipRight(Effect.never)
  )
