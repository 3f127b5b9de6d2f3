import { Args, Command, Options } from "@effect/cli"
import { type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Console, Effect, Option, Schema } from "effect"
import type { RunRecord } from "../durable/RunLedger.js"
import { Runs } from "../durable/Runs.js"
import { NightlySummary } from "../nightly/Nightly.js"
import { runNightly } from "../nightly/RunNightly.js"
import { runWorkerWatching } from "../operations/Alerts.js"
import { ValidateSummary } from "../validate/Validate.js"
import { RuntimeLive } from "../app/Runtime.js"
import { EXIT, formatNumber, InvalidInput, makeProgress, printJson } from "./Output.js"
import * as Opt from "./Options.js"

/** Exit code for schedulers: 0 READY, 2 DEGRADED (some users failed, the rest kept), 1 anything else. */
const exitCode = (state: RunRecord["state"]) => (state === "READY" ? EXIT.ok : state === "DEGRADED" ? EXIT.partial : EXIT.failed)

const seconds = (run: RunRecord) =>
  run.startedAt && run.finishedAt ? `${((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1)} s` : "-"

const summaryOf = (run: RunRecord) => Schema.decodeUnknownOption(NightlySummary)(run.result)

export const describeRun = (run: RunRecord): string => {
  const lines = [`run ${run.id} ${run.pipeline} ${run.tenant} ${run.runKey}: ${run.state} in ${seconds(run)}`]
  if (run.error) lines.push(`  error: ${run.error}`)
  const validated = Schema.decodeUnknownOption(ValidateSummary)(run.result)
  if (run.pipeline === "validate" && Option.isSome(validated)) {
    const v = validated.value
    lines.push(
      `  sampled ${v.sampled}, judged ${v.judged} (their HR title maps to a category), agreed ${v.agreed}: accuracy ${v.accuracy === null ? "not measured" : `${(v.accuracy * 100).toFixed(1)}%`}${v.alerted ? " (alert raised)" : ""}`
    )
  }
  const summary = summaryOf(run)
  if (Option.isSome(summary)) {
    const s = summary.value
    const reasons = Object.entries(s.byReason).map(([r, n]) => `${r} ${n}`).join(", ") || "none"
    lines.push(
      `  ${s.categorizer}: selected ${formatNumber(s.selected)} (${reasons}), categorized ${formatNumber(s.categorized)}, failed ${s.failed}, deferred ${s.deferred} (no activity yet)`
    )
    for (const [reason, n] of Object.entries(s.failureReasons)) lines.push(`  failed ${n}: ${reason}`)
    if (s.failed > 0) lines.push(`  per-user failures: workcat run status ${run.id}`)
  }
  return lines.join("\n")
}

/**
 * Users categorized at once by this process; without it, `WORKCAT_CONCURRENCY` (default 8).
 * Exported for its test.
 */
export const concurrencyOption = Opt.integer("concurrency", 1).pipe(
  Options.optional,
  Options.withDescription("Users categorized at once (default: WORKCAT_CONCURRENCY, or 8)")
)

/** A line on stderr that stays (after any progress line), for logs of scheduled runs too. */
const note = (line: string) => process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}${line}\n`)

/** A tenant's night, with progress on a terminal. */
const runNight = (tenant: TenantId, date: string, options: { readonly concurrency: Option.Option<number>; readonly quiet: boolean }) =>
  Effect.gen(function* () {
    const progress = makeProgress()
    const { run } = yield* runNightly(tenant, date, {
      concurrency: Option.getOrUndefined(options.concurrency),
      onProgress: (stage, done, total) => options.quiet || progress.update(() => `${tenant}: ${stage} ${formatNumber(done)}/${formatNumber(total)}`),
      onQueued: (position) => options.quiet || progress.update(() => `${tenant}: queued at position ${position ?? "?"}`),
      onTakeOver: (stuck) =>
        note(`${tenant}: run ${stuck.id} (${stuck.pipeline} ${stuck.runKey}) was left PROCESSING by a process that stopped; driving it to its end first`)
    })
    yield* progress.done
    return run
  })

const nightly = Command.make(
  "nightly",
  {
    tenant: Opt.tenant.pipe(Options.optional),
    allTenants: Options.boolean("all-tenants").pipe(Options.withDescription("Run every tenant, one after the other")),
    date: Opt.date,
    json: Opt.json,
    concurrency: concurrencyOption
  },
  (args) =>
    Effect.gen(function* () {
      if (Option.isSome(args.tenant) === args.allTenants) return yield* new InvalidInput({ message: "give either --tenant T or --all-tenants" })
      const registry = yield* TenantRegistry
      // An unknown tenant is refused before anything is stored (exit 3), not run into a FAILED run.
      const tenants = Option.isSome(args.tenant) ? [(yield* registry.get(args.tenant.value)).id] : (yield* registry.list()).map((t) => t.id)
      const finished: Array<RunRecord> = []
      for (const tenant of tenants) {
        const run = yield* runNight(tenant, args.date, { concurrency: args.concurrency, quiet: args.json })
        finished.push(run)
        if (!args.json) yield* Console.log(describeRun(run))
      }
      if (args.json) {
        const report = finished.map((run) => ({ run, summary: Option.getOrNull(summaryOf(run)) }))
        yield* printJson(args.allTenants ? report : report[0])
      }
      // The worst outcome decides: any FAILED → 1, else any DEGRADED → 2.
      const codes = finished.map((r) => exitCode(r.state))
      process.exitCode = codes.includes(EXIT.failed) ? EXIT.failed : codes.includes(EXIT.partial) ? EXIT.partial : EXIT.ok
    }).pipe(Effect.provide(RuntimeLive))
).pipe(Command.withDescription("Run (or resume) the nightly categorization of a tenant, or of all tenants, for a date"))

const runId = Args.text({ name: "RUN_ID" })

const status = Command.make("status", { runId, json: Opt.json }, (args) =>
  Effect.flatMap(Runs, (runs) => runs.status(args.runId)).pipe(
    Effect.flatMap((s) =>
      args.json
        ? printJson(s)
        : Console.log(
            [
              describeRun(s.run),
              ...(s.queuePosition !== null ? [`  queued at position ${s.queuePosition}`] : []),
              ...s.stages.map((st) => `  stage ${st.stage} (${st.kind}): ${st.state}${st.total > 0 ? `, ${st.done}/${st.total} done, ${st.failed} failed` : ""}`),
              ...s.failures.map((f) => `  failed ${f.key} after ${f.attempts} attempts: ${f.error}`),
              ...s.transitions.map((t) => `  ${t.at.toISOString()} ${t.from ?? "-"} → ${t.to}: ${t.reason}`)
            ].join("\n")
          )
    ),
    Effect.provide(RuntimeLive)
  )
).pipe(Command.withDescription("A run's state, stages, failed items and transitions"))

const retry = Command.make("retry", { runId, concurrency: concurrencyOption }, (args) =>
  Effect.gen(function* () {
    const runs = yield* Runs
    yield* runs.retry(args.runId)
    const run = yield* runs.await(args.runId, {
      concurrency: Option.getOrUndefined(args.concurrency),
      onTakeOver: (stuck) => note(`run ${stuck.id} (${stuck.pipeline} ${stuck.runKey}) was left PROCESSING by a process that stopped; driving it to its end first`)
    })
    yield* Console.log(describeRun(run))
    process.exitCode = exitCode(run.state)
  }).pipe(Effect.provide(RuntimeLive))
).pipe(Command.withDescription("Retry a FAILED or DEGRADED run: only its failed work runs again"))

const cancel = Command.make("cancel", { runId }, (args) =>
  Effect.flatMap(Runs, (runs) => runs.cancel(args.runId, "cancelled from the command line")).pipe(
    Effect.flatMap(({ run }) => Console.log(`run ${run.id}: ${run.state}`)),
    Effect.provide(RuntimeLive)
  )
).pipe(Command.withDescription("Cancel a run that has not finished"))

const validate = Command.make(
  "validate",
  {
    tenant: Opt.tenant,
    date: Opt.date,
    sample: Opt.integer("sample", 1).pipe(Options.withDefault(100), Options.withDescription("People sampled among the categorized (default 100)")),
    json: Opt.json
  },
  (args) =>
    Effect.gen(function* () {
      const tenant = (yield* Effect.flatMap(TenantRegistry, (r) => r.get(args.tenant))).id
      if (args.sample > 10_000) return yield* new InvalidInput({ message: "--sample: at most 10000" })
      const runs = yield* Runs
      const { run } = yield* runs.start("validate", tenant, { date: args.date, sample: args.sample })
      const finished = yield* runs.await(run, {})
      if (args.json) yield* printJson({ run: finished, summary: Option.getOrNull(Schema.decodeUnknownOption(ValidateSummary)(finished.result)) })
      else yield* Console.log(describeRun(finished))
      process.exitCode = exitCode(finished.state)
    }).pipe(Effect.provide(RuntimeLive))
).pipe(
  Command.withDescription(
    "The weekly check: compare a random sample of categorizations with what the people's HR titles map to, record the accuracy, alert below the tenant's threshold"
  )
)

export const runCommand = Command.make("run").pipe(
  Command.withDescription("Run pipelines and inspect runs"),
  Command.withSubcommands([nightly, validate, status, retry, cancel])
)

export const workerCommand = Command.make(
  "worker",
  { maxRuns: Opt.integer("max-runs", 1).pipe(Options.withDefault(4), Options.withDescription("Runs driven at once")), tenants: Opt.workerTenants("tenant") },
  (args) => runWorkerWatching({ maxRuns: args.maxRuns, ...(args.tenants.length === 0 ? {} : { tenants: args.tenants }) }).pipe(Effect.provide(RuntimeLive))
).pipe(Command.withDescription("Join queued and in-flight runs as an extra worker, and watch the tenants for alerts, until interrupted"))
