import { Taxonomy } from "@workcat/core"
import { Schema } from "effect"

/** What to do with metrics of groups smaller than `minGroupSize`: drop them, or merge them into one. */
export const SmallGroupPolicy = Schema.Literal("suppress", "rollup")
export type SmallGroupPolicy = typeof SmallGroupPolicy.Type

/** How much LLM work a tenant may cause (used by the LLM categorizer). */
export const LlmLimits = Schema.Struct({
  monthlyBudgetUsd: Schema.Number.pipe(Schema.nonNegative()),
  requestsPerMinute: Schema.Int.pipe(Schema.positive()),
  tokensPerMinute: Schema.Int.pipe(Schema.positive()),
  concurrency: Schema.Int.pipe(Schema.positive())
})
export type LlmLimits = typeof LlmLimits.Type

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
  llm: { monthlyBudgetUsd: 100, requestsPerMinute: 500, tokensPerMinute: 200_000, concurrency: 8 }
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
    llm: Schema.partial(LlmLimits)
  })
)
export type SettingsPatch = typeof SettingsPatch.Type

export const applyPatch = (settings: TenantSettings, patch: SettingsPatch): TenantSettings => ({
  ...settings,
  ...Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && k !== "llm")),
  llm: { ...settings.llm, ...Object.fromEntries(Object.entries(patch.llm ?? {}).filter(([, v]) => v !== undefined)) }
})
