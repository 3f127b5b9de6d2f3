import { HrMapping, Taxonomy } from "@workcat/core"
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
  monthlyBudgetUsd: Schema.Number.pipe(Schema.finite(), Schema.between(0, 10_000_000)),
  /** A warning is logged once the month's spend passes this share of the budget. */
  budgetWarnAt: Schema.Number.pipe(Schema.between(0, 1)),
  /** LLM calls of this tenant in flight at once, across its runs in one process. */
  concurrency: Schema.Int.pipe(Schema.between(1, 1000))
}
export const LlmLimits = Schema.Struct({
  ...llmLimits,
  // Settings stored before the field existed read as the default.
  budgetWarnAt: Schema.optionalWith(llmLimits.budgetWarnAt, { default: () => 0.8 })
})
export type LlmLimits = typeof LlmLimits.Type

/** A user whose recent 14-day app mix drifted this far (0..1, see `driftScore`) is recategorized. */
const AnomalyThreshold = Schema.Number.pipe(Schema.between(0, 1))

/** Dead letters (refused records, sealed) are deleted after this many days. */
const DeadLetterRetentionDays = Schema.Int.pipe(Schema.between(1, 365))

/** A tenant's settings: everything but its secrets. */
export const TenantSettings = Schema.Struct({
  displayName: Schema.NonEmptyString.pipe(Schema.maxLength(200)),
  taxonomy: Taxonomy,
  /** Raw events older than this are dropped. */
  retentionDays: Schema.Int.pipe(Schema.between(1, 3650)),
  /** Metrics of groups with fewer employees are never shown raw. */
  minGroupSize: Schema.Int.pipe(Schema.between(1, 1000)),
  smallGroupPolicy: SmallGroupPolicy,
  /** Loaded cost of an employee hour, to turn wasted hours into money. */
  loadedCostPerHour: Schema.Number.pipe(Schema.finite(), Schema.between(0, 100_000)),
  /** Runs of this tenant processing at once; more wait QUEUED. */
  maxConcurrentRuns: Schema.Int.pipe(Schema.between(1, 100)),
  anomalyThreshold: Schema.optionalWith(AnomalyThreshold, { default: () => 0.3 }),
  deadLetterRetentionDays: Schema.optionalWith(DeadLetterRetentionDays, { default: () => 14 }),
  /** How the tenant's HR exports are read (see `HrMapping`); none: the generic preset. */
  hrMapping: Schema.optionalWith(Schema.NullOr(HrMapping), { default: () => null }),
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
  deadLetterRetentionDays: 14,
  hrMapping: null,
  llm: { monthlyBudgetUsd: 100, budgetWarnAt: 0.8, concurrency: 8 }
})

/** The path of the first string (key or value) holding a NUL character, which PostgreSQL cannot store. */
const nulAt = (value: unknown, path: ReadonlyArray<PropertyKey> = []): ReadonlyArray<PropertyKey> | undefined => {
  if (typeof value === "string") return value.includes("\u0000") ? path : undefined
  if (typeof value !== "object" || value === null) return undefined
  for (const [key, item] of Object.entries(value)) {
    if (key.includes("\u0000")) return path
    const found = nulAt(item, [...path, Array.isArray(value) ? Number(key) : key])
    if (found !== undefined) return found
  }
  return undefined
}

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
    deadLetterRetentionDays: DeadLetterRetentionDays,
    hrMapping: Schema.NullOr(HrMapping),
    llm: Schema.partial(Schema.Struct(llmLimits))
  })
).pipe(
  Schema.filter((patch) => {
    const path = nulAt(patch)
    return path === undefined || { path, message: "must not contain NUL characters" }
  })
)
export type SettingsPatch = typeof SettingsPatch.Type

export const applyPatch = (settings: TenantSettings, patch: SettingsPatch): TenantSettings => ({
  ...settings,
  ...Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && k !== "llm")),
  llm: { ...settings.llm, ...Object.fromEntries(Object.entries(patch.llm ?? {}).filter(([, v]) => v !== undefined)) }
})
