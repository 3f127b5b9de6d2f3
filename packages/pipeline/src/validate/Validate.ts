import * as SqlClient from "@effect/sql/SqlClient"
import { categoryOfTitle, DefaultTitleMapping } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect, Option, Schema } from "effect"
import * as Pipeline from "../durable/Pipeline.js"
import { RunDate } from "../nightly/Nightly.js"
import { accuracyAlert, Alerts } from "../operations/Alerts.js"
import { Validations } from "./Validations.js"

export const ValidateInput = Schema.Struct({
  date: RunDate,
  /** People sampled among the categorized (1–10,000). */
  sample: Schema.Int.pipe(Schema.between(1, 10_000))
})
export type ValidateInput = typeof ValidateInput.Type

const PerCategory = Schema.Record({ key: Schema.String, value: Schema.Struct({ judged: Schema.Int, agreed: Schema.Int }) })

export const ValidateSummary = Schema.Struct({
  sampled: Schema.Int,
  /** Of the sampled, those whose HR title maps to a category: the only ones that can be judged. */
  judged: Schema.Int,
  agreed: Schema.Int,
  /** agreed / judged; null when nobody could be judged. */
  accuracy: Schema.NullOr(Schema.Number),
  /** By the category the title maps to. */
  byCategory: PerCategory,
  /** Whether this run raised the accuracy alert (below the tenant's `alerts.minAccuracy`). */
  alerted: Schema.Boolean
})
export type ValidateSummary = typeof ValidateSummary.Type

const Sample = Schema.Array(Schema.Struct({ category: Schema.String, title: Schema.NullOr(Schema.String) }))

/**
 * The weekly check, as a pipeline on the durable runtime (`workcat run validate`): a random
 * sample of the tenant's categorizations (the same sample for the same date: the run key's),
 * compared with what their HR titles map to (`titleMapping`, or the built-in rules), the accuracy
 * recorded in the control plane over time, and an alert raised when it is below the tenant's
 * `alerts.minAccuracy`. Nobody's title or pseudonym leaves the tenant's schema: only counts.
 */
export const ValidatePipeline = Pipeline.make({
  name: "validate",
  input: ValidateInput,
  output: ValidateSummary,
  key: (input) => input.date,
  run: ({ date, sample }) =>
    Effect.gen(function* () {
      const tenant = yield* CurrentTenant
      const sql = yield* SqlClient.SqlClient
      const mapping = tenant.settings.titleMapping ?? DefaultTitleMapping
      const drawn = yield* Pipeline.step(
        "sample",
        Sample,
        sql<{ category: string; title: string | null }>`
          SELECT c.category, e.title FROM work_categories c LEFT JOIN employees e USING (user_id)
          ORDER BY md5(c.user_id || ${date}), c.user_id LIMIT ${sample}`.pipe(Effect.orDie)
      )
      const byCategory: Record<string, { judged: number; agreed: number }> = {}
      let judged = 0
      let agreed = 0
      for (const person of drawn) {
        const expected = categoryOfTitle(mapping, person.title)
        if (expected === undefined) continue
        const tally = (byCategory[expected] ??= { judged: 0, agreed: 0 })
        judged++
        tally.judged++
        if (expected === person.category) {
          agreed++
          tally.agreed++
        }
      }
      const accuracy = judged === 0 ? null : agreed / judged
      const { runId } = yield* Pipeline.RunContext
      const alerted = yield* Pipeline.step(
        "record",
        Schema.Boolean,
        Effect.gen(function* () {
          yield* Effect.flatMap(Validations, (v) => v.record({ runId, sampled: drawn.length, judged, agreed, accuracy, byCategory }))
          // The accuracy alert now, from this sample, rather than at a worker's next look.
          const alert = accuracyAlert(tenant.id, { accuracy, judged, sampled: drawn.length, validatedAt: new Date() }, tenant.settings)
          return Option.isNone(alert) ? false : yield* Effect.flatMap(Alerts, (a) => a.raise(alert.value, new Date()))
        }),
        { exclusive: true }
      )
      return { sampled: drawn.length, judged, agreed, accuracy, byCategory, alerted } satisfies ValidateSummary
    })
})
