import { HttpApiBuilder } from "@effect/platform"
import { isoDate } from "@workcat/core"
import { RunLedger, type RunRecord, Runs } from "@workcat/pipeline"
import type { TenantId } from "@workcat/tenancy"
import { Effect } from "effect"
import { BadRequest, Conflict, WorkcatApi } from "../Api.js"
import { auditDenied, authorize, NotFound } from "../Auth.js"
import { audit } from "../TenantServices.js"

const view = (run: RunRecord, queuePosition: number | null) => ({
  runId: run.id,
  tenant: run.tenant,
  pipeline: run.pipeline,
  key: run.runKey,
  state: run.state,
  queuePosition,
  createdAt: run.createdAt,
  startedAt: run.startedAt,
  finishedAt: run.finishedAt,
  costUsd: run.costUsd,
  error: run.error,
  result: run.result
})

const notFound = () => new NotFound({ message: "Not found" })

/** The run, if the caller may manage its tenant's runs; an unknown run and another tenant's look alike. */
const ownRun = (runId: string) =>
  Effect.gen(function* () {
    const run = yield* Effect.flatMap(RunLedger, (l) => l.find(runId)).pipe(Effect.mapError(notFound))
    yield* authorize(run.tenant as TenantId, "runs:manage")
    return run
  })

const start = (request: { readonly tenant: TenantId; readonly pipeline: string; readonly date?: string | undefined }, options: { readonly audit?: boolean } = {}) =>
  Effect.gen(function* () {
    yield* authorize(request.tenant, "runs:manage", options)
    const started = yield* Effect.flatMap(Runs, (r) => r.start(request.pipeline, request.tenant, { date: request.date ?? isoDate(new Date()) })).pipe(
      Effect.catchTags({
        InvalidRunRequest: (e) => Effect.fail(new BadRequest({ message: e.message })),
        RunNotFound: (e) => Effect.die(e) // the run of a key it just started
      })
    )
    yield* audit("runs.start", { runId: started.run.id, pipeline: request.pipeline, key: started.run.runKey })
    return view(started.run, started.queuePosition)
  })

export const PipelineLive = HttpApiBuilder.group(WorkcatApi, "pipeline", (handlers) =>
  handlers
    .handle("push", ({ payload }) => start(payload))
    .handle("batch", ({ payload }) =>
      Effect.forEach(payload.runs, (request) =>
        start(request, { audit: false }).pipe(
          Effect.map((run) => ({ tenant: request.tenant, date: request.date ?? null, status: 202, run, error: null })),
          Effect.catchAll((e) =>
            Effect.succeed({
              tenant: request.tenant,
              date: request.date ?? null,
              status: e._tag === "NotFound" ? 404 : e._tag === "Forbidden" ? 403 : 400,
              run: null,
              error: e.message
            })
          )
        )
      ).pipe(
        // One audit entry for the runs refused for want of access, not one per run.
        Effect.tap((results) => {
          const refused = results.filter((r) => r.status === 403 || r.status === 404).map((r) => ({ tenant: r.tenant, status: r.status }))
          return refused.length === 0 ? Effect.void : auditDenied({ status: 202, reason: "runs refused", refused })
        }),
        Effect.map((results) => ({ results }))
      )
    )
    .handle("status", ({ path }) =>
      Effect.gen(function* () {
        yield* ownRun(path.runId)
        const status = yield* Effect.flatMap(Runs, (r) => r.status(path.runId)).pipe(Effect.orDie)
        yield* audit("runs.status", { runId: path.runId })
        const running = status.stages.find((s) => s.state === "RUNNING")
        return {
          ...view(status.run, status.queuePosition),
          currentStage: running?.stage ?? null,
          stages: status.stages,
          failures: status.failures.map((f) => ({ stage: f.stage, item: f.key, reason: f.error, attempts: f.attempts })),
          transitions: status.transitions
        }
      })
    )
    .handle("retry", ({ path }) =>
      Effect.gen(function* () {
        yield* ownRun(path.runId)
        const retried = yield* Effect.flatMap(Runs, (r) => r.retry(path.runId)).pipe(
          Effect.catchTags({ IllegalTransition: (e) => Effect.fail(new Conflict({ message: e.message })), RunNotFound: () => Effect.fail(notFound()) })
        )
        yield* audit("runs.retry", { runId: path.runId })
        return view(retried.run, retried.queuePosition)
      })
    )
    .handle("cancel", ({ path }) =>
      Effect.gen(function* () {
        yield* ownRun(path.runId)
        const cancelled = yield* Effect.flatMap(Runs, (r) => r.cancel(path.runId, "cancelled over the API")).pipe(
          Effect.catchTags({ IllegalTransition: (e) => Effect.fail(new Conflict({ message: e.message })), RunNotFound: () => Effect.fail(notFound()) })
        )
        yield* audit("runs.cancel", { runId: path.runId })
        return view(cancelled.run, cancelled.queuePosition)
      })
    )
    .handle("history", ({ path, urlParams }) =>
      Effect.gen(function* () {
        yield* authorize(path.tenant, "runs:manage")
        const page = urlParams.page ?? 1
        const pageSize = urlParams.pageSize ?? 50
        const { items, total } = yield* Effect.flatMap(RunLedger, (l) => l.history(path.tenant, { limit: pageSize, offset: (page - 1) * pageSize }))
        return { items: items.map((run) => view(run, null)), page, pageSize, total }
      })
    )
)
