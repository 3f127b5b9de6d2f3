import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { FormatChoice, IsoDate } from "@workcat/core"
import { Role, SettingsPatch, TenantId, TenantSettings } from "@workcat/tenancy"
import { Schema } from "effect"
import { Authentication, Forbidden, NotFound, Unauthorized } from "./Auth.js"

const TenantPath = Schema.Struct({ tenant: TenantId })
const PositiveIntFromString = Schema.NumberFromString.pipe(Schema.int(), Schema.positive())

/**
 * A query parameter's text: PostgreSQL cannot store NUL characters, and no filter needs more
 * than a few hundred characters.
 */
const QueryText = Schema.String.pipe(
  Schema.filter((s) => !s.includes("\u0000"), { message: () => "must not contain NUL characters" }),
  Schema.maxLength(200, { message: () => "must be at most 200 characters" })
)

/** A calendar date the database can store and a pipeline can mean: 1900-01-01 to 2100-12-31. */
const ApiDate = IsoDate.pipe(
  Schema.filter((s) => s >= "1900-01-01" && s <= "2100-12-31", { message: () => "must be a date between 1900-01-01 and 2100-12-31" })
)

/** The database cannot be reached (answered with `Retry-After`); try again shortly. */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** The request is well-formed but not valid (unknown pipeline, a body that is not JSON or nested too deeply). */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }, HttpApiSchema.annotations({ status: 400 })) {}

/** The run cannot make that move (retry a READY run, cancel a finished one). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", { message: Schema.String }, HttpApiSchema.annotations({ status: 409 })) {}

/** The request body is larger than the server accepts (`WORKCAT_MAX_BODY_BYTES`, or 1 MiB). */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { message: Schema.String, maxBytes: Schema.Int },
  HttpApiSchema.annotations({ status: 413 })
) {}

/** A JSON endpoint was sent a body of another type. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 415 })
) {}

export const Health = Schema.Struct({ status: Schema.Literal("ok"), database: Schema.Literal("ok") })

/** One employee's category, known only by pseudonym. */
export const CategoryItem = Schema.Struct({
  userId: Schema.String,
  category: Schema.String,
  categoryName: Schema.String,
  confidence: Schema.Number,
  title: Schema.NullOr(Schema.String),
  department: Schema.NullOr(Schema.String),
  team: Schema.NullOr(Schema.String),
  explanation: Schema.String,
  recommendations: Schema.Array(Schema.String),
  evidenceApps: Schema.Array(Schema.String),
  reasons: Schema.Array(Schema.String),
  categorizer: Schema.String,
  categorizedAt: Schema.Date
})

export const CategoryPage = Schema.Struct({
  items: Schema.Array(CategoryItem),
  page: Schema.Int,
  pageSize: Schema.Int,
  total: Schema.Int
})

export const CategoryQuery = Schema.Struct({
  page: Schema.optional(PositiveIntFromString),
  pageSize: Schema.optional(PositiveIntFromString.pipe(Schema.lessThanOrEqualTo(500))),
  department: Schema.optional(QueryText),
  category: Schema.optional(QueryText)
})

/** How the metrics are grouped: by department, team or category, or by app (the group's employees being the app's users). */
export const GroupBy = Schema.Literal("department", "team", "category", "app")

export const GroupMetrics = Schema.Struct({
  group: Schema.String,
  /** What a page calls the group: a category's name in the tenant's taxonomy, an app's display name, else the group. */
  label: Schema.String,
  employees: Schema.Int,
  activeDays: Schema.Int,
  accesses: Schema.Int,
  avgAuthStep: Schema.Number,
  distinctAppsPerDay: Schema.Number,
  authWasteHours: Schema.Number,
  contextSwitchWasteHours: Schema.Number,
  wasteHoursPerEmployeeWeek: Schema.Number,
  /** (auth + context-switch waste hours) × the tenant's loaded cost per hour, over the window. */
  wasteCostUsd: Schema.Number
})

export const ProductivityMetrics = Schema.Struct({
  asOf: Schema.NullOr(Schema.String),
  windowDays: Schema.Int,
  groupBy: GroupBy,
  /** The department drilled into (its categories), or null. */
  department: Schema.NullOr(Schema.String),
  groups: Schema.Array(GroupMetrics),
  minGroupSize: Schema.Int,
  loadedCostPerHour: Schema.Number,
  /** Groups smaller than `minGroupSize`, withheld. */
  suppressedGroups: Schema.Int,
  /** Everyone the shown groups add up to (by app: the apps' users summed); withheld groups are not counted, so no subtraction finds their size. */
  totalEmployees: Schema.Int
})

/** How an intake went; every record is in one of the counts, and `reasons` counts the rejected ones by reason. */
export const IngestCounts = Schema.Struct({
  accepted: Schema.Int,
  duplicates: Schema.Int,
  rejected: Schema.Int,
  reasons: Schema.Record({ key: Schema.String, value: Schema.Int })
})

/** Dead letters per day (UTC) and reason; never their records. */
export const DeadLetterCounts = Schema.Struct({
  total: Schema.Int,
  counts: Schema.Array(Schema.Struct({ day: Schema.String, reason: Schema.String, count: Schema.Int }))
})

export const ForgetRequest = Schema.Struct({ login: Schema.NonEmptyString })
export const ForgetResult = Schema.Struct({
  requestId: Schema.String,
  deleted: Schema.Record({ key: Schema.String, value: Schema.Int })
})

export const AuditItem = Schema.Struct({
  id: Schema.Int,
  at: Schema.Date,
  actor: Schema.String,
  role: Schema.NullOr(Schema.String),
  action: Schema.String,
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  origin: Schema.NullOr(Schema.String)
})
export const AuditPage = Schema.Struct({ items: Schema.Array(AuditItem), next: Schema.NullOr(Schema.Int) })

const tenantGroup = <const Name extends string>(name: Name) =>
  HttpApiGroup.make(name).middleware(Authentication).addError(NotFound).addError(Forbidden)

export class HealthApi extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Health).addError(Unavailable)
) {}

export class CategoriesApi extends tenantGroup("categories").add(
  HttpApiEndpoint.get("list", "/api/v1/tenants/:tenant/categories")
    .setPath(TenantPath)
    .setUrlParams(CategoryQuery)
    .addSuccess(CategoryPage)
    .annotate(OpenApi.Summary, "Employees' work categories, paginated, filterable by department and category (audited)")
) {}

/** The nightly snapshots of one grouping over the last `days`, oldest first. */
export const MetricsTrend = Schema.Struct({
  groupBy: GroupBy,
  days: Schema.Int,
  minGroupSize: Schema.Int,
  loadedCostPerHour: Schema.Number,
  points: Schema.Array(
    Schema.Struct({
      asOf: Schema.String,
      windowDays: Schema.Int,
      groups: Schema.Array(GroupMetrics),
      /** Groups smaller than `minGroupSize` that night, withheld. */
      suppressedGroups: Schema.Int
    })
  )
})

export const TenantRecommendations = Schema.Struct({
  asOf: Schema.NullOr(Schema.String),
  loadedCostPerHour: Schema.Number,
  items: Schema.Array(
    Schema.Struct({
      kind: Schema.Literal("sign-in", "app-switching"),
      /** The app (sign-in) or the department (app switching). */
      subject: Schema.String,
      text: Schema.String,
      hoursPerYear: Schema.Number,
      costUsdPerYear: Schema.Number
    })
  )
})

/** The tenant's latest nightly run as the dashboard shows it: no per-person data, no error text. */
export const LatestRun = Schema.Struct({
  run: Schema.NullOr(
    Schema.Struct({
      runId: Schema.String,
      /** The night's date. */
      key: Schema.String,
      state: Schema.String,
      createdAt: Schema.Date,
      startedAt: Schema.NullOr(Schema.Date),
      finishedAt: Schema.NullOr(Schema.Date),
      /** From its start to its end (or to now, while it runs); null before it starts. */
      durationSeconds: Schema.NullOr(Schema.Number),
      costUsd: Schema.Number
    })
  )
})

export class MetricsApi extends tenantGroup("metrics")
  .add(
    HttpApiEndpoint.get("productivity", "/api/v1/tenants/:tenant/metrics/productivity")
      .setPath(TenantPath)
      .setUrlParams(Schema.Struct({ groupBy: Schema.optional(GroupBy), asOf: Schema.optional(ApiDate), department: Schema.optional(QueryText) }))
      .addSuccess(ProductivityMetrics)
      .addError(BadRequest)
      .annotate(OpenApi.Summary, "Time lost to sign-ins and app switching, by department, team, category or app; with department, that department's categories")
  )
  .add(
    HttpApiEndpoint.get("recommendations", "/api/v1/tenants/:tenant/metrics/recommendations")
      .setPath(TenantPath)
      .addSuccess(TenantRecommendations)
      .annotate(OpenApi.Summary, "What would save the tenant most time, from the latest metrics (small groups withheld)")
  )
  .add(
    HttpApiEndpoint.get("trend", "/api/v1/tenants/:tenant/metrics/trend")
      .setPath(TenantPath)
      .setUrlParams(
        Schema.Struct({
          groupBy: Schema.optional(GroupBy),
          days: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 730)))
        })
      )
      .addSuccess(MetricsTrend)
      .annotate(OpenApi.Summary, "The same, night by night over the last days (default 90), small groups withheld each night")
  )
  .add(
    HttpApiEndpoint.get("latestRun", "/api/v1/tenants/:tenant/runs/latest")
      .setPath(TenantPath)
      .addSuccess(LatestRun)
      .annotate(OpenApi.Summary, "The latest nightly run: its state, date, duration and cost")
  ) {}

export class SettingsApi extends tenantGroup("settings")
  .add(
    HttpApiEndpoint.get("get", "/api/v1/tenants/:tenant/settings")
      .setPath(TenantPath)
      .addSuccess(TenantSettings)
      .annotate(OpenApi.Summary, "The tenant's settings")
  )
  .add(
    HttpApiEndpoint.patch("update", "/api/v1/tenants/:tenant/settings")
      .setPath(TenantPath)
      .setPayload(SettingsPatch.annotations({ identifier: "SettingsPatch" }))
      .addSuccess(TenantSettings)
      .addError(UnsupportedMediaType)
      // The patch breaks a rule with a setting it leaves (a recent window no shorter than the profile window).
      .addError(BadRequest)
      .annotate(OpenApi.Summary, "Change some settings (audited)")
  ) {}

/**
 * Events in any of the shapes providers send: NDJSON (`application/x-ndjson` or `text/plain`),
 * a JSON array (a System Log API page), or one JSON object.
 */
const EventsBody = Schema.Unknown.annotations({
  description: "NDJSON text, a JSON array of events, or a single JSON event",
  jsonSchema: {}
})

/** Okta's one-time check of a new event hook: the challenge header, echoed back. */
const OktaVerification = Schema.Struct({ "x-okta-verification-challenge": Schema.String })

export class EventsApi extends tenantGroup("events")
  .addError(PayloadTooLarge)
  .addError(BadRequest)
  .addError(Unavailable)
  .add(
    HttpApiEndpoint.get("oktaVerify", "/api/v1/tenants/:tenant/events/okta")
      .setPath(TenantPath)
      .setHeaders(OktaVerification)
      .addSuccess(Schema.Struct({ verification: Schema.String }))
      .annotate(OpenApi.Summary, "Okta event hook verification: answers the X-Okta-Verification-Challenge header")
  )
  .add(
    HttpApiEndpoint.post("hr", "/api/v1/tenants/:tenant/events/hr")
      .setPath(TenantPath)
      .setUrlParams(Schema.Struct({ asOf: Schema.optional(ApiDate) }))
      .setPayload(EventsBody)
      .addSuccess(IngestCounts)
      .annotate(
        OpenApi.Summary,
        "Ingest an HR export: CSV, JSON or NDJSON (a Workday or BambooHR report too), read through the tenant's HR mapping; snapshot rows describe `asOf` (default today)"
      )
  )
  .add(
    HttpApiEndpoint.post("sso", "/api/v1/tenants/:tenant/events/:format")
      .setPath(Schema.Struct({ tenant: TenantId, format: FormatChoice }))
      .setPayload(EventsBody)
      .addSuccess(IngestCounts)
      .annotate(
        OpenApi.Summary,
        "Ingest SSO events: `okta` (System Log events, an API page, or an event hook delivery), `gws` (Reports API activities), `entra` (sign-ins, or a Graph page), or `auto` (detected from the first record)"
      )
  ) {}

export class PrivacyApi extends tenantGroup("privacy").add(
  HttpApiEndpoint.post("forget", "/api/v1/tenants/:tenant/privacy/forget")
    .setPath(TenantPath)
    .setPayload(ForgetRequest)
    .addSuccess(ForgetResult)
    .addError(UnsupportedMediaType)
    .annotate(OpenApi.Summary, "Right to forget: delete everything about one person (audited, without the login)")
) {}

export class DeadLettersApi extends tenantGroup("deadLetters").add(
  HttpApiEndpoint.get("counts", "/api/v1/tenants/:tenant/dead-letters")
    .setPath(TenantPath)
    .setUrlParams(Schema.Struct({ since: Schema.optional(ApiDate), reason: Schema.optional(QueryText) }))
    .addSuccess(DeadLetterCounts)
    .annotate(OpenApi.Summary, "Refused records per day and reason, without their records (`workcat dead-letters` opens and replays them)")
) {}

export class AuditApi extends tenantGroup("audit").add(
  HttpApiEndpoint.get("list", "/api/v1/tenants/:tenant/audit")
    .setPath(TenantPath)
    .setUrlParams(
      Schema.Struct({
        limit: Schema.optional(PositiveIntFromString.pipe(Schema.lessThanOrEqualTo(500))),
        before: Schema.optional(PositiveIntFromString)
      })
    )
    .addSuccess(AuditPage)
    .annotate(OpenApi.Summary, "The tenant's audit log, newest first")
) {}

export const RunView = Schema.Struct({
  runId: Schema.String,
  tenant: Schema.String,
  pipeline: Schema.String,
  key: Schema.String,
  state: Schema.String,
  queuePosition: Schema.NullOr(Schema.Int),
  createdAt: Schema.Date,
  startedAt: Schema.NullOr(Schema.Date),
  finishedAt: Schema.NullOr(Schema.Date),
  costUsd: Schema.Number,
  error: Schema.NullOr(Schema.String),
  result: Schema.Unknown
})

export const RunStatusView = Schema.Struct({
  ...RunView.fields,
  currentStage: Schema.NullOr(Schema.String),
  stages: Schema.Array(
    Schema.Struct({
      stage: Schema.String,
      kind: Schema.String,
      state: Schema.String,
      total: Schema.Int,
      done: Schema.Int,
      failed: Schema.Int,
      inFlight: Schema.Int
    })
  ),
  failures: Schema.Array(Schema.Struct({ stage: Schema.String, item: Schema.String, reason: Schema.String, attempts: Schema.Int })),
  transitions: Schema.Array(Schema.Struct({ from: Schema.NullOr(Schema.String), to: Schema.String, at: Schema.Date, reason: Schema.String }))
})

const PushRequest = Schema.Struct({
  tenant: TenantId,
  pipeline: Schema.optionalWith(Schema.Literal("nightly"), { default: () => "nightly" as const }),
  date: Schema.optional(ApiDate)
})

const RunPath = Schema.Struct({ runId: Schema.String })

export class PipelineApi extends HttpApiGroup.make("pipeline")
  .middleware(Authentication)
  .addError(NotFound)
  .addError(Forbidden)
  .add(
    HttpApiEndpoint.post("push", "/api/v1/pipeline/push")
      .setPayload(PushRequest)
      .addSuccess(RunView, { status: 202 })
      .addError(BadRequest)
      .addError(UnsupportedMediaType)
      .annotate(OpenApi.Summary, "Start a run (nightly: tenant + date, default today); an existing key is resumed, retried or returned")
  )
  .add(
    HttpApiEndpoint.post("batch", "/api/v1/pipeline/batch")
      .setPayload(Schema.Struct({ runs: Schema.Array(PushRequest).pipe(Schema.maxItems(100)) }))
      .addError(UnsupportedMediaType)
      .addSuccess(
        Schema.Struct({
          results: Schema.Array(
            Schema.Struct({ tenant: Schema.String, date: Schema.NullOr(Schema.String), status: Schema.Int, run: Schema.NullOr(RunView), error: Schema.NullOr(Schema.String) })
          )
        }),
        { status: 202 }
      )
      .annotate(OpenApi.Summary, "Start several runs (tenants or dates); each result says how its start went")
  )
  .add(
    HttpApiEndpoint.get("status", "/api/v1/pipeline/status/:runId")
      .setPath(RunPath)
      .addSuccess(RunStatusView)
      .annotate(OpenApi.Summary, "A run's state, current stage, progress per stage, failed items with reasons, cost and transitions")
  )
  .add(
    HttpApiEndpoint.post("retry", "/api/v1/pipeline/retry/:runId")
      .setPath(RunPath)
      .addSuccess(RunView, { status: 202 })
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Retry a FAILED or DEGRADED run: only its failed work runs again")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/api/v1/pipeline/cancel/:runId")
      .setPath(RunPath)
      .addSuccess(RunView)
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Cancel a run that has not finished")
  )
  .add(
    HttpApiEndpoint.get("history", "/api/v1/pipeline/history/:tenant")
      .setPath(TenantPath)
      .setUrlParams(Schema.Struct({ page: Schema.optional(PositiveIntFromString), pageSize: Schema.optional(PositiveIntFromString.pipe(Schema.lessThanOrEqualTo(200))) }))
      .addSuccess(Schema.Struct({ items: Schema.Array(RunView), page: Schema.Int, pageSize: Schema.Int, total: Schema.Int }))
      .annotate(OpenApi.Summary, "A tenant's runs, newest first")
  ) {}

/** One tenant as an operator sees it: run, spend, intake, dead letters and accuracy; nobody in it. */
export const TenantOverview = Schema.Struct({
  tenant: TenantId,
  displayName: Schema.String,
  run: Schema.NullOr(
    Schema.Struct({
      key: Schema.String,
      state: Schema.String,
      queuedAt: Schema.Date,
      finishedAt: Schema.NullOr(Schema.Date),
      /** From being queued to its end (or to now). */
      durationSeconds: Schema.Number,
      /** READY within the SLA of being queued (`met`), not and past it (`missed`), or still in time (`pending`). */
      sla: Schema.Literal("met", "missed", "pending"),
      costUsd: Schema.Number
    })
  ),
  spend: Schema.Struct({ monthUsd: Schema.Number, budgetUsd: Schema.Number, budgetUsed: Schema.Number }),
  intake: Schema.Struct({
    accepted: Schema.Number,
    duplicates: Schema.Number,
    rejected: Schema.Number,
    lastIntakeAt: Schema.NullOr(Schema.Date),
    newestEventAt: Schema.NullOr(Schema.Date),
    /** How far behind now the newest event ingested is; null before any. */
    lagSeconds: Schema.NullOr(Schema.Number)
  }),
  deadLetters: Schema.Struct({
    total: Schema.Int,
    rate: Schema.Number,
    byReason: Schema.Array(Schema.Struct({ reason: Schema.String, count: Schema.Int }))
  }),
  accuracy: Schema.NullOr(
    Schema.Struct({ validatedAt: Schema.Date, sampled: Schema.Int, judged: Schema.Int, accuracy: Schema.NullOr(Schema.Number) })
  )
})

export const FleetOverview = Schema.Struct({ slaHours: Schema.Number, at: Schema.Date, tenants: Schema.Array(TenantOverview) })

/** The operators' view: every tenant's aggregates, no tenant's data (role operator). */
export class OperatorApi extends HttpApiGroup.make("operator")
  .middleware(Authentication)
  .addError(Forbidden)
  .add(
    HttpApiEndpoint.get("tenants", "/api/v1/operator/tenants")
      .addSuccess(FleetOverview)
      .annotate(
        OpenApi.Summary,
        "Every tenant's last nightly run against the SLA, LLM spend against budget, SSO intake and its lag, dead letters by reason (last 24 h) and the latest accuracy sample"
      )
  ) {}

/** A dashboard session as its page sees it: whose, until when, and the CSRF token it sends back. */
export const SessionView = Schema.Struct({
  /** Null: an operator's session (every tenant's aggregates, no tenant's data). */
  tenant: Schema.NullOr(TenantId),
  role: Role,
  /** Sent back in `X-CSRF-Token` on every request that changes something. */
  csrf: Schema.String,
  expiresAt: Schema.Date
})

/** Signing in to the dashboard: an API token, or a one-time link's code, for a session cookie. No bearer token needed, nor taken. */
export class SignInApi extends HttpApiGroup.make("signIn")
  .add(
    HttpApiEndpoint.post("withLink", "/api/v1/session/link")
      .setPayload(Schema.Struct({ code: Schema.String.pipe(Schema.maxLength(200)) }))
      .addSuccess(SessionView)
      .addError(Unauthorized)
      .annotate(OpenApi.Summary, "Redeems a one-time sign-in link's code (once, within 15 minutes) for a dashboard session, as the token sign-in does")
  )
  .add(
    HttpApiEndpoint.post("withToken", "/api/v1/session")
      .setPayload(Schema.Struct({ token: Schema.String.pipe(Schema.maxLength(200)) }))
      .addSuccess(SessionView)
      .addError(Unauthorized)
      .addError(Forbidden)
      .annotate(
        OpenApi.Summary,
        "Opens a dashboard session with an API token (a role that reads metrics, or an operator): an HTTP-only, SameSite=Strict cookie for 8 hours at most, never past the token's expiry"
      )
  ) {}

/** The session itself, by its cookie. */
export class SessionApi extends HttpApiGroup.make("session")
  .middleware(Authentication)
  .add(
    HttpApiEndpoint.get("current", "/api/v1/session")
      .addSuccess(SessionView)
      .addError(BadRequest)
      .annotate(OpenApi.Summary, "The browser's session (by its cookie): tenant, role, CSRF token, expiry")
  )
  .add(
    HttpApiEndpoint.post("signOut", "/api/v1/session/sign-out")
      .addSuccess(Schema.Void, { status: 204 })
      .addError(BadRequest)
      .annotate(OpenApi.Summary, "Ends the browser's session (with its X-CSRF-Token) and clears the cookie")
  ) {}

/** The HTTP contract of workcat; `/docs` renders it. */
export class WorkcatApi extends HttpApi.make("workcat")
  .add(HealthApi)
  .add(SignInApi)
  .add(SessionApi)
  .add(OperatorApi)
  .add(CategoriesApi)
  .add(MetricsApi)
  .add(SettingsApi)
  .add(EventsApi)
  .add(PrivacyApi)
  .add(DeadLettersApi)
  .add(AuditApi)
  .add(PipelineApi)
  .annotate(OpenApi.Title, "workcat")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    `Work categories and productivity metrics per tenant. Every /api/v1 endpoint takes a bearer token of one tenant; roles: ${Role.literals.join(", ")}.`
  ) {}
