import { Taxonomy } from "@workcat/core"
import { Schema } from "effect"

/** What to do with metrics of groups smaller than `minGroupSize`: drop them, or merge them into one. */
export const SmallGroupPolicy = Schema.Literal("suppress", "rollup")
export type SmallGroupPolicy = typeof SmallGroupPolicy.Type

/**
 * How much LLM work a tenant may cause. Requests and tokens per minute are limited per process
 * (the API key is shared by all tenants); each tenant has its own budget and concurrency cap.
 */
const llmLimits = {
  /** New LLM calls are refused once the month's spend reaches this. */
  monthlyBudgetUsd: Schema.Number.pipe(Schema.nonNegative()),
  /** A warning is logged once the month's spend passes this share of the budget. */
  budgetWarnAt: Schema.Number.pipe(Schema.between(0, 1)),
  /** LLM calls of this tenant in flight at once, across its runs in one process. */
  concurrency: Schema.Int.pipe(Schema.positive())
}
export const LlmLimits = Schema.Struct({
  ...llmLimits,
  // Settings stored before the field existed read as the default.
  budgetWarnAt: Schema.optionalWith(llmLimits.budgetWarnAt, { default: () => 0.8 })
})
export type LlmLimits = typeof LlmLimits.Type

/** A user whose recent 14-day app mix drifted this far (0..1, see `driftScore`) is recategorized. */
const AnomalyThreshold = Schema.Number.pipe(Schema.between(0, 1))

/** A tenant's settings: everything but its secrets. */
export const TenantSettings = Schema.Struct({
  displayName: Schema.NonEmptyString,
  taxonomy: Taxonomy,
  /** Raw events older than this are dropped. */
  retentionDays: Schema.Int.pipe(Schema.between(1, 3650)),
  /** Metrics of groups with fewer employees are never shown raw. */
  minGroupSize: Schema.Int.pipe(Schema.between(1, 1000)),
  smallGroupPolicy: SmallGroupPolicy,
  /** Loaded cost of an employee hour, to turn wasted hours into money. */
  loadedCostPerHour: Schema.Number.pipe(Schema.nonNegative()),
  /** Runs of this tenant processing at once; more wait QUEUED. */
  maxConcurrentRuns: Schema.Int.pipe(Schema.between(1, 100)),
  anomalyThreshold: Schema.optionalWith(AnomalyThreshold, { default: () => 0.3 }),
  llm: LlmLimits
})
export type TenantSettings = typeof TenantSettings.Type

/** The settings a tenant starts with. */
export const defaultSettings = (displayName: string, taxonomy: Taxonomy): TenantSettings => ({
  displayName,
  taxonomy,
  retentionDays: 730,
  minGroupSize: 5,
  smallGroupPolicy: "suppress",
  loadedCostPerHour: 75,
  maxConcurrentRuns: 1,
  anomalyThreshold: 0.3,
  llm: { monthlyBudgetUsd: 100, budgetWarnAt: 0.8, concurrency: 8 }
})

/** A change to some settings (the taxonomy is replaced whole). */
export const SettingsPatch = Schema.partial(
  Schema.Struct({
    displayName: TenantSettings.fields.displayName,
    taxonomy: TenantSettings.fields.taxonomy,
    retentionDays: TenantSettings.fields.retentionDays,
    minGroupSize: TenantSettings.fields.minGroupSize,
    smallGroupPolicy: SmallGroupPolicy,
    loadedCostPerHour: TenantSettings.fields.loadedCostPerHour,
    maxConcurrentRuns: TenantSettings.fields.maxConcurrentRuns,
    anomalyThreshold: AnomalyThreshold,
    llm: Schema.partial(Schema.Struct(llmLimits))
  })
)
export type SettingsPatch = typeof SettingsPatch.Type

export const applyPatch = (settings: TenantSettings, patch: SettingsPatch): TenantSettings => ({
  ...settings,
  ...Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && k !== "llm")),
  llm: { ...settings.llm, ...Object.fromEntries(Object.entries(patch.llm ?? {}).filter(([, v]) => v !== undefined)) }
})
