import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { IsoDate } from "@workcat/core"
import { TenantId, TenantNotFound } from "@workcat/tenancy"
import { Schema } from "effect"

const TenantPath = Schema.Struct({ tenant: TenantId })

/** The database cannot be reached. */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
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

const PositiveIntFromString = Schema.NumberFromString.pipe(Schema.int(), Schema.positive())

export const CategoryQuery = Schema.Struct({
  page: Schema.optional(PositiveIntFromString),
  pageSize: Schema.optional(PositiveIntFromString.pipe(Schema.lessThanOrEqualTo(500))),
  department: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String)
})

export const GroupBy = Schema.Literal("department", "team", "category")

export const GroupMetrics = Schema.Struct({
  group: Schema.String,
  employees: Schema.Int,
  activeDays: Schema.Int,
  accesses: Schema.Int,
  avgAuthStep: Schema.Number,
  distinctAppsPerDay: Schema.Number,
  authWasteHours: Schema.Number,
  contextSwitchWasteHours: Schema.Number,
  wasteHoursPerEmployeeWeek: Schema.Number
})

export const ProductivityMetrics = Schema.Struct({
  asOf: Schema.NullOr(Schema.String),
  windowDays: Schema.Int,
  groupBy: GroupBy,
  groups: Schema.Array(GroupMetrics)
})

export class HealthApi extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Health).addError(Unavailable)
) {}

export class CategoriesApi extends HttpApiGroup.make("categories")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/tenants/:tenant/categories")
      .setPath(TenantPath)
      .setUrlParams(CategoryQuery)
      .addSuccess(CategoryPage)
      .addError(TenantNotFound, { status: 404 })
      .annotate(OpenApi.Summary, "Employees' work categories, paginated, filterable by department and category")
  ) {}

export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("productivity", "/api/v1/tenants/:tenant/metrics/productivity")
      .setPath(TenantPath)
      .setUrlParams(Schema.Struct({ groupBy: Schema.optional(GroupBy), asOf: Schema.optional(IsoDate) }))
      .addSuccess(ProductivityMetrics)
      .addError(TenantNotFound, { status: 404 })
      .annotate(OpenApi.Summary, "Time lost to sign-ins and app switching, by department, team or category")
  ) {}

/** The HTTP contract of workcat; `/docs` renders it. */
export class WorkcatApi extends HttpApi.make("workcat")
  .add(HealthApi)
  .add(CategoriesApi)
  .add(MetricsApi)
  .annotate(OpenApi.Title, "workcat")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(OpenApi.Description, "Work categories and productivity metrics per tenant") {}
