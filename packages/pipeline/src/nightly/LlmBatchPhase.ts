import type { CategorizationInput, UserId } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Effect, Option, Schema } from "effect"
import { type BatchLine, BatchMode, customId } from "../categorizer/llm/BatchMode.js"
import { BatchOutcome, LlmBatchStore } from "../categorizer/llm/BatchStore.js"
import * as Pipeline from "../durable/Pipeline.js"

const Submitted = Schema.Struct({
  batches: Schema.Array(Schema.Struct({ id: Schema.String, model: Schema.String, lines: Schema.Int })),
  /** Lines left to synchronous calls: their file's estimated cost did not fit in the budget. */
  unbudgeted: Schema.Int
})
const Collected = Schema.Array(Schema.Struct({ id: Schema.String, status: Schema.String, outcome: BatchOutcome }))

/** The batch files of a round: one model a file, at most `maxLines` lines. */
const filesOf = (lines: ReadonlyArray<BatchLine>, maxLines: number) =>
  Object.values(Arr.groupBy(lines, (l) => l.request.model)).flatMap((same) => Arr.chunksOf(same, maxLines))

/**
 * Batch mode (tenant setting `llm.mode: batch`, with the LLM categorizer): before the night's
 * categorization, every selected user's LLM requests go through the provider's Batch API at half
 * price, in rounds (the categorize calls, then the explain calls that need their answers), each
 * round two durable steps: the files written and submitted (the batch ids checkpointed, so a
 * worker that dies while waiting resumes waiting instead of submitting again), then the
 * batches waited for and their answers kept. The night's categorization then finds them kept;
 * a line that failed, expired or was cut off is sent synchronously then, as in sync mode.
 */
export const llmBatchPhase = <B, E, R>(options: {
  readonly users: ReadonlyArray<UserId>
  readonly prefetch: (users: ReadonlyArray<UserId>) => Effect.Effect<B, E, R>
  /** The user's categorization input, or undefined when their kept result stands (inputs unchanged) or they have no activity. */
  readonly inputOf: (userId: UserId, fetched: B) => Effect.Effect<CategorizationInput | undefined, E, R>
}) =>
  Effect.gen(function* () {
    const found = yield* Effect.serviceOption(BatchMode)
    const tenant = yield* CurrentTenant
    if (Option.isNone(found) || tenant.settings.llm.mode !== "batch") return
    const mode = found.value
    const store = yield* LlmBatchStore
    const { runId } = yield* Pipeline.RunContext

    const submit = (round: number) =>
      Effect.gen(function* () {
        const lines = new Map<string, BatchLine>()
        for (const page of Arr.chunksOf(options.users, 2_000)) {
          const fetched = yield* options.prefetch(page)
          for (const userId of page) {
            const input = yield* options.inputOf(userId, fetched)
            if (input === undefined) continue
            // A user the plan cannot judge is left to the night's categorization, which says why.
            const line = yield* mode.plan(input).pipe(Effect.orElseSucceed(() => Option.none<BatchLine>()))
            // A request a round before this one did not answer (failed, expired) is left to a synchronous call.
            if (Option.isSome(line) && line.value.step === round) lines.set(customId(line.value.request), line.value)
          }
        }
        const batches: Array<typeof Submitted.Type["batches"][number]> = []
        let unbudgeted = 0
        for (const [part, file] of filesOf([...lines.values()], mode.maxLines).entries()) {
          const model = file[0]!.request.model
          const reservationId = yield* store.reserve(file.reduce((n, l) => n + l.estimatedUsd, 0))
          if (reservationId === null) {
            unbudgeted += file.length
            continue
          }
          const submitted = yield* Effect.either(mode.submit(file, `${runId}/${round}/${part}`))
          if (submitted._tag === "Left") {
            yield* store.release(reservationId)
            yield* Effect.logWarning(`LLM batch of ${file.length} ${model} requests not submitted, left to synchronous calls: ${submitted.left.message}`)
            continue
          }
          const id = submitted.right
          yield* store.submitted({ id, runId, round, model, reservationId }, file)
          yield* Effect.logInfo(`LLM batch ${id}: ${file.length} ${model} requests submitted (round ${round})`)
          batches.push({ id, model, lines: file.length })
        }
        if (unbudgeted > 0) yield* Effect.logWarning(`${unbudgeted} LLM requests not batched: their estimated cost does not fit in the budget`)
        return { batches, unbudgeted }
      })

    /** Waits for a batch to end (cancelled past the wait), then keeps its answers. */
    const collect = (batch: typeof Submitted.Type["batches"][number]) =>
      Effect.gen(function* () {
        const started = Date.now()
        let status = yield* mode.status(batch.id)
        while (!["completed", "failed", "expired", "cancelled"].includes(status.status)) {
          if (Date.now() - started > mode.maxWaitMs && status.status !== "cancelling") {
            yield* Effect.logWarning(`LLM batch ${batch.id} still ${status.status} after ${Math.round(mode.maxWaitMs / 60_000)} min: cancelled`)
            yield* mode.cancel(batch.id)
          } else {
            yield* Effect.logInfo(`LLM batch ${batch.id}: ${status.status}, ${status.counts.completed + status.counts.failed} of ${batch.lines} done`)
          }
          yield* Effect.sleep(mode.pollMs)
          status = yield* mode.status(batch.id)
        }
        const results = (yield* Effect.forEach([status.outputFileId, status.errorFileId], (file) => (file === null ? Effect.succeed([]) : mode.results(file)))).flat()
        const outcome = yield* store.collect(batch.id, runId, results, mode.cost)
        // Null: collected already, by a worker that died before its checkpoint.
        const kept = outcome ?? { answered: 0, failed: 0, cutOff: 0, costUsd: 0 }
        if (outcome !== null) yield* Effect.flatMap(Pipeline.RunContext, (ctx) => ctx.addCost(outcome.costUsd))
        yield* Effect.logInfo(
          `LLM batch ${batch.id} ${status.status}${status.failure ? ` (${status.failure})` : ""}: ${kept.answered} answers kept, ${kept.failed} failed, ${kept.cutOff} cut off`
        )
        return { id: batch.id, status: status.status, outcome: kept }
      })

    // Round 1: every user's first call (categorize, or explain where the offline model's category is kept); round 2: the explain calls that needed a categorize answer.
    for (const round of [1, 2] as const) {
      const submitted = yield* Pipeline.step(`llm-batch-${round}`, Submitted, submit(round), { exclusive: true })
      if (submitted.batches.length === 0) return
      yield* Pipeline.step(`llm-batch-${round}-results`, Collected, Effect.forEach(submitted.batches, collect), { exclusive: true })
    }
  }).pipe(Effect.withSpan("Nightly.llmBatches"))
