import { HrMapping, Taxonomy, TitleMapping } from "@workcat/core"
import { type Either, type ParseResult, Schema } from "effect"

/** What to do with metrics of groups smaller than `minGroupSize`: drop them, or merge them into one. */
export const SmallGroupPolicy = Schema.Literal("suppress", "rollup")
export type SmallGroupPolicy = typeof SmallGroupPolicy.Type

/**
 * Where a user's categorization goes when the LLM categorizer is on: `off`, every user to the
 * LLM; `explain`, users the offline model is sure of keep its category and the LLM only
 * explains it; `offline`, those users are not sent to the LLM at all.
 */
export const LlmRouting = Schema.Literal("off", "explain", "offline")
export type LlmRouting = typeof LlmRouting.Type

/** `sync`: one request at a time as the night goes; `batch`: the night's requests through the provider's Batch API, at half price. */
export const LlmMode = Schema.Literal("sync", "batch")
export type LlmMode = typeof LlmMode.Type

/**
 * How much LLM work a tenant may cause. Requests and tokens per minute are the API key's,
 * shared by every tenant and process using it; each tenant has its own budget (shared by its
 * processes), concurrency cap, routing and mode.
 */
const llmLimits = {
  /** A call is refused once its estimated cost no longer fits in what is left of the month's budget. */
  monthlyBudgetUsd: Schema.Number.pipe(Schema.finite(), Schema.between(0, 10_000_000)),
  /** A warning is logged once the month's spend passes this share of the budget. */
  budgetWarnAt: Schema.Number.pipe(Schema.between(0, 1)),
  /** LLM calls of this tenant in flight at once, across its runs in one process. */
  concurrency: Schema.Int.pipe(Schema.between(1, 1000)),
  routing: LlmRouting,
  /** The offline model is sure of a user when its top category's probability is at least this… */
  routeMinConfidence: Schema.Number.pipe(Schema.between(0, 1)),
  /** …and leads the runner-up's by at least this. */
  routeMinMargin: Schema.Number.pipe(Schema.between(0, 1)),
  mode: LlmMode
}
export const defaultLlm = {
  monthlyBudgetUsd: 100,
  budgetWarnAt: 0.8,
  concurrency: 8,
  routing: "off",
  routeMinConfidence: 0.9,
  routeMinMargin: 0.5,
  mode: "sync"
} as const satisfies { readonly [K in keyof typeof llmLimits]: Schema.Schema.Type<(typeof llmLimits)[K]> }

// Settings stored before a field existed read as its default.
export const LlmLimits = Schema.Struct({
  ...llmLimits,
  budgetWarnAt: Schema.optionalWith(llmLimits.budgetWarnAt, { default: () => defaultLlm.budgetWarnAt }),
  routing: Schema.optionalWith(llmLimits.routing, { default: () => defaultLlm.routing }),
  routeMinConfidence: Schema.optionalWith(llmLimits.routeMinConfidence, { default: () => defaultLlm.routeMinConfidence }),
  routeMinMargin: Schema.optionalWith(llmLimits.routeMinMargin, { default: () => defaultLlm.routeMinMargin }),
  mode: Schema.optionalWith(llmLimits.mode, { default: () => defaultLlm.mode })
})
export type LlmLimits = typeof LlmLimits.Type

/** A user whose recent app mix drifted this far (0..1, see `driftScore`) is recategorized. */
const AnomalyThreshold = Schema.Number.pipe(Schema.between(0, 1))

/** Dead letters (refused records, sealed) are deleted after this many days. */
const DeadLetterRetentionDays = Schema.Int.pipe(Schema.between(1, 365))

/** A whole number from `min` to `max` (a multiple of `step`), refused with the reason for the range. */
const wholeNumber = (min: number, max: number, why: string, step = 1) =>
  (step === 1 ? Schema.Int.pipe(Schema.between(min, max)) : Schema.Int.pipe(Schema.between(min, max), Schema.multipleOf(step))).annotations({
    message: () => ({
      message: `must be ${step === 1 ? "a whole number" : `a multiple of ${step}`} from ${min} to ${max}: ${why}`,
      override: true
    })
  })

/**
 * The checkpoints, transitions and run records of runs that ended (READY, DEGRADED, FAILED,
 * CANCELLED, STALE) this many days ago are deleted; the latest READY run of each pipeline stays.
 */
const LedgerRetentionDays = wholeNumber(7, 3650, "under a week, a run that failed on a Friday could not be retried on Monday")

/**
 * The nightly job's windows and trigger thresholds. Every window ends the day before the run
 * date. Defaults are what the nightly did before they were settings.
 */
const nightlyFields = {
  /** The profile a user is categorized from covers this many days. */
  profileWindowDays: wholeNumber(7, 365, "a week says too little of someone's work, and over a year mixes in work they no longer do"),
  /** The anomaly trigger compares the app mix of this many recent days with the rest of the profile window. */
  recentWindowDays: wholeNumber(3, 60, "fewer than 3 days of activity are noise, more than 60 are no longer recent"),
  /** A hire within this many days is recategorized every night while their profile fills up (0: never). */
  newHireDays: wholeNumber(0, 60, "0 turns the new-hire trigger off; after 60 days a hire has a profile like anyone's"),
  /** Every categorized user is recategorized once per this many days, a rotating slice a night. */
  periodicDays: wholeNumber(7, 365, "under a week the nightly recategorizes a seventh of the staff every night, over a year categories go stale"),
  /** Categorized colleagues with the most similar profile, offered to the categorizer per user. */
  neighbours: wholeNumber(1, 100, "more than 100 only lengthen what the categorizer reads"),
  /** Drift is measured only for users with at least this many accesses in the recent window... */
  anomalyMinAccesses: wholeNumber(1, 10_000, "too little recent activity says nothing about drift"),
  /** ...on at least this many days. */
  anomalyMinDays: wholeNumber(1, 60, "too few active days say nothing about drift"),
  /** The productivity metrics materialized each night cover this many days (whole weeks). */
  metricsWindowDays: wholeNumber(7, 364, "waste per employee-week over part of a week would count weekends unevenly", 7)
}

type NightlyFields = { readonly [K in keyof typeof nightlyFields]: number }

/** The nightly settings a tenant starts with (and that settings stored before they existed read as). */
export const defaultNightly: NightlyFields = {
  profileWindowDays: 90,
  recentWindowDays: 14,
  newHireDays: 7,
  periodicDays: 60,
  neighbours: 20,
  anomalyMinAccesses: 30,
  anomalyMinDays: 3,
  metricsWindowDays: 28
}

/**
 * Rules between nightly settings, checked on the settings and on a patch that gives both sides
 * (a patch against stored settings is checked once applied: `patchSettings`).
 */
const nightlyRules = (n: { readonly [K in keyof NightlyFields]?: number | undefined }): ReadonlyArray<Schema.FilterIssue> => {
  const issues: Array<Schema.FilterIssue> = []
  const rule = (ok: boolean | undefined, field: keyof NightlyFields, message: string) => {
    if (ok === false) issues.push({ path: [field], message })
  }
  const both = <A extends keyof NightlyFields, B extends keyof NightlyFields>(a: A, b: B, holds: (a: number, b: number) => boolean) =>
    n[a] === undefined || n[b] === undefined ? undefined : holds(n[a], n[b])
  rule(
    both("recentWindowDays", "profileWindowDays", (recent, profile) => recent < profile),
    "recentWindowDays",
    "must be shorter than the profile window: the rest of it is the baseline the recent app mix is compared with"
  )
  rule(
    both("anomalyMinDays", "recentWindowDays", (days, recent) => days <= recent),
    "anomalyMinDays",
    "must not exceed the recent window: no one is active on more days than it has"
  )
  rule(
    both("newHireDays", "profileWindowDays", (hire, profile) => hire <= profile),
    "newHireDays",
    "must not exceed the profile window: a hire's profile is complete by then"
  )
  rule(
    both("metricsWindowDays", "profileWindowDays", (metrics, profile) => metrics <= profile),
    "metricsWindowDays",
    "must not exceed the profile window: new events mark stale only the nights whose profile window holds them"
  )
  return issues
}

export const NightlySettings = Schema.Struct(
  Object.fromEntries(
    Object.entries(nightlyFields).map(([k, schema]) => [k, Schema.optionalWith(schema, { default: () => defaultNightly[k as keyof NightlyFields] })])
  ) as { readonly [K in keyof typeof nightlyFields]: Schema.optionalWith<(typeof nightlyFields)[K], { default: () => number }> }
).pipe(Schema.filter((n) => nightlyRules(n)))
export type NightlySettings = typeof NightlySettings.Type

/**
 * Where a tenant's SSO events and their daily rollup live: PostgreSQL (the tenant's schema, the
 * default), or a BigQuery dataset of the tenant's. Everything else (control plane, run ledger,
 * labels, HR, the API's read model) stays in PostgreSQL either way.
 */
export const PostgresWarehouse = Schema.Struct({ kind: Schema.Literal("postgres") })
export const BigQueryWarehouse = Schema.Struct({
  kind: Schema.Literal("bigquery"),
  /** The Google Cloud project the dataset and the query jobs belong to. */
  project: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/), Schema.annotations({ message: () => "must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)" })),
  /** The tenant's dataset (created if missing). */
  dataset: Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/), Schema.annotations({ message: () => "must be a BigQuery dataset id (letters, digits, underscores)" })),
  /** Where the dataset is (`EU`, `US`, `europe-west3`, …); jobs run there. */
  location: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9-]{2,40}$/), Schema.annotations({ message: () => "must be a BigQuery location such as EU, US or europe-west3" })),
  /** The Cloud KMS key the dataset's tables are encrypted with (CMEK); null: Google-managed keys. */
  kmsKeyName: Schema.optionalWith(
    Schema.NullOr(Schema.String.pipe(Schema.pattern(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/), Schema.annotations({ message: () => "must be a key name projects/P/locations/L/keyRings/R/cryptoKeys/K" }))),
    { default: () => null }
  ),
  /** No query job of this tenant may bill more bytes than this: BigQuery itself refuses it (`maximumBytesBilled`). */
  maxBytesBilled: Schema.optionalWith(Schema.Int.pipe(Schema.between(10 * 1024 * 1024, 1024 ** 5)), { default: () => 1024 ** 4 }),
  /**
   * The same for the statements that change rows across the dataset (a night's forgets, a key
   * rotation): BigQuery bills them the whole of every partition they touch, about the table's size.
   */
  maxErasureBytesBilled: Schema.optionalWith(Schema.Int.pipe(Schema.between(10 * 1024 * 1024, 1024 ** 5)), { default: () => 100 * 1024 ** 4 }),
  /** The on-demand price of a TiB scanned, in USD, to record what each query cost. */
  usdPerTib: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.between(0, 1000)), { default: () => 6.25 }),
  /**
   * Days of raw events PostgreSQL keeps once they are in BigQuery (the last days before today):
   * the intake's duplicate check covers them; older days are emptied there when exported.
   */
  postgresDays: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 90)), { default: () => 7 })
})
export const WarehouseSettings = Schema.Union(PostgresWarehouse, BigQueryWarehouse)
export type WarehouseSettings = typeof WarehouseSettings.Type
export type BigQueryWarehouse = typeof BigQueryWarehouse.Type

/** The roles a sign-in through the tenant's identity provider may be given (ingest tokens are for machines). */
export const SignInRole = Schema.Literal("admin", "analyst", "hr_admin")
export type SignInRole = typeof SignInRole.Type

/** A URL's hostname that is this machine (a test's provider, a laptop's browser). */
export const isLoopbackHost = (hostname: string) => hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]"

/** An issuer URL: HTTPS, or plain HTTP on loopback only (a test or a local provider). */
const IssuerUrl = Schema.String.pipe(
  Schema.maxLength(500),
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)) || "must be an https URL (plain http on loopback only)"
    } catch {
      return "must be a URL"
    }
  })
)

/**
 * Sign-in to the dashboard with the tenant's own OpenID Connect provider (Okta, Entra, Google…):
 * the client workcat is registered as there (its secret is kept sealed apart, see `TenantSecrets`),
 * the claim holding the person's groups, and which group gives which role (the first listed
 * group the person is in wins); without a mapped group, `defaultRole`, or no entry.
 */
export const OidcSettings = Schema.Struct({
  issuer: IssuerUrl,
  clientId: Schema.NonEmptyString.pipe(Schema.maxLength(500)),
  /** Asked for besides `openid` (Okta's groups claim needs `groups`). */
  scopes: Schema.optionalWith(Schema.Array(Schema.String.pipe(Schema.pattern(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/))).pipe(Schema.maxItems(20)), {
    default: () => []
  }),
  groupsClaim: Schema.optionalWith(Schema.NonEmptyString.pipe(Schema.maxLength(100)), { default: () => "groups" }),
  roles: Schema.Array(Schema.Struct({ group: Schema.NonEmptyString.pipe(Schema.maxLength(500)), role: SignInRole })).pipe(Schema.maxItems(100)),
  defaultRole: Schema.optionalWith(Schema.NullOr(SignInRole), { default: () => null })
})
export type OidcSettings = typeof OidcSettings.Type

/**
 * When the tenant's alert webhooks (kept sealed, see `TenantSecrets`) are called: an accuracy
 * sample below `minAccuracy`, the month's LLM spend past the budget's warning share, a nightly
 * run not READY within the SLA, and a dead-letter spike: more than `deadLetterSpike` of a day's
 * SSO records refused (at least 100 of them).
 */
const alertFields = { minAccuracy: Schema.Number.pipe(Schema.between(0, 1)), deadLetterSpike: Schema.Number.pipe(Schema.between(0, 1)) }
export const defaultAlerts = { minAccuracy: 0.75, deadLetterSpike: 0.05 } as const
export const AlertSettings = Schema.Struct({
  minAccuracy: Schema.optionalWith(alertFields.minAccuracy, { default: () => defaultAlerts.minAccuracy }),
  deadLetterSpike: Schema.optionalWith(alertFields.deadLetterSpike, { default: () => defaultAlerts.deadLetterSpike })
})
export type AlertSettings = typeof AlertSettings.Type

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
  llm: LlmLimits,
  ledgerRetentionDays: Schema.optionalWith(LedgerRetentionDays, { default: () => 90 }),
  // Settings stored before the nightly's windows were settings read as today's defaults.
  nightly: Schema.optionalWith(NightlySettings, { default: () => defaultNightly }),
  /** Null: the process's default (`WORKCAT_WAREHOUSE`), PostgreSQL unless set. */
  warehouse: Schema.optionalWith(Schema.NullOr(WarehouseSettings), { default: () => null }),
  /** Null: the dashboard signs in with API tokens only. */
  oidc: Schema.optionalWith(Schema.NullOr(OidcSettings), { default: () => null }),
  /** How the weekly check maps HR titles to categories (`TitleMapping`); null: the built-in rules. */
  titleMapping: Schema.optionalWith(Schema.NullOr(TitleMapping), { default: () => null }),
  alerts: Schema.optionalWith(AlertSettings, { default: () => defaultAlerts })
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
  llm: defaultLlm,
  ledgerRetentionDays: 90,
  nightly: defaultNightly,
  warehouse: null,
  oidc: null,
  titleMapping: null,
  alerts: defaultAlerts
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
    llm: Schema.partial(Schema.Struct(llmLimits)),
    ledgerRetentionDays: LedgerRetentionDays,
    nightly: Schema.partial(Schema.Struct(nightlyFields)).pipe(Schema.filter((n) => nightlyRules(n))),
    warehouse: Schema.NullOr(WarehouseSettings),
    oidc: Schema.NullOr(OidcSettings),
    titleMapping: Schema.NullOr(TitleMapping),
    alerts: Schema.partial(Schema.Struct(alertFields))
  })
).pipe(
  Schema.filter((patch) => {
    const path = nulAt(patch)
    return path === undefined || { path, message: "must not contain NUL characters" }
  })
)
export type SettingsPatch = typeof SettingsPatch.Type

/** The groups of settings a patch changes field by field; anything else it replaces whole. */
const GROUPS = ["llm", "nightly", "alerts"] as const

const defined = (record: object) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined))

export const applyPatch = (settings: TenantSettings, patch: SettingsPatch): TenantSettings => ({
  ...settings,
  ...Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && !(GROUPS as ReadonlyArray<string>).includes(k))),
  llm: { ...settings.llm, ...defined(patch.llm ?? {}) },
  nightly: { ...settings.nightly, ...defined(patch.nightly ?? {}) },
  alerts: { ...settings.alerts, ...defined(patch.alerts ?? {}) }
})

/** The settings a patch changes, as paths (`retentionDays`, `nightly.profileWindowDays`): what an audit records. */
export const changedSettings = (patch: SettingsPatch): ReadonlyArray<string> =>
  Object.entries(patch).flatMap(([k, v]) =>
    v === undefined ? [] : (GROUPS as ReadonlyArray<string>).includes(k) ? Object.keys(defined(v as object)).map((f) => `${k}.${f}`) : [k]
  )

/**
 * The settings once `patch` is applied to `settings`, checked whole: a patch valid on its own may
 * still break a rule between a field it changes and one it leaves (a recent window no shorter
 * than the stored profile window).
 */
export const patchSettings = (settings: TenantSettings, patch: SettingsPatch): Either.Either<TenantSettings, ParseResult.ParseError> =>
  Schema.decodeUnknownEither(TenantSettings, { errors: "all" })(applyPatch(settings, patch))
