import { HttpApiBuilder } from "@effect/platform"
import { addDays, DefaultAppCatalog, type GroupMetrics, type IsoDate, isoDate, type Taxonomy, tenantRecommendations } from "@workcat/core"
import { Metrics, RunLedger } from "@workcat/pipeline"
import type { SmallGroupPolicy, TenantId, TenantSettings } from "@workcat/tenancy"
import { Data, Effect } from "effect"
import { BadRequest, LatestRun, MetricsTrend, ProductivityMetrics, TenantRecommendations, WorkcatApi } from "../Api.js"
import { authorize } from "../Auth.js"
import { encodedJson, freshCache, jsonResponse } from "../Fresh.js"
import { inTenant, settingsOf } from "../TenantServices.js"

type GroupBy = "department" | "team" | "category" | "app"

/** What an answer depends on: the tenant, the request's parameters and the settings it applies. */
interface AnswerKey {
  readonly tenant: TenantId
  readonly groupBy: GroupBy
  readonly asOf: IsoDate | undefined
  /** A drill-down: the categories of this department. */
  readonly department: string | undefined
  readonly minGroupSize: number
  readonly smallGroupPolicy: SmallGroupPolicy
  readonly loadedCostPerHour: number
  /** This server's generation of the tenant: a forget or a settings change here starts a new one. */
  readonly generation: number
  /** The settings' revision: the taxonomy the category labels come from, changed on any server. */
  readonly revision: string
}

/** What a trend depends on: the same, with the days it covers up to today instead of a date. */
interface TrendKey extends Omit<AnswerKey, "asOf" | "department"> {
  readonly days: number
  readonly today: IsoDate
}

/** What a group is called on a page: a category's name in the tenant's taxonomy, an app's in the catalog, else itself. */
const labelOf = (groupBy: GroupBy, group: string, taxonomy: Taxonomy) =>
  groupBy === "category" ? (taxonomy.find(group)?.name ?? group) : groupBy === "app" ? DefaultAppCatalog.displayName(group) : group

/** A snapshot's groups with their label and cost: (auth + context-switch waste hours) × the tenant's loaded cost per hour. */
const priced = <G extends GroupMetrics>(groups: ReadonlyArray<G>, groupBy: GroupBy, settings: Pick<TenantSettings, "loadedCostPerHour" | "taxonomy">) =>
  groups.map((g) => ({
    ...g,
    label: labelOf(groupBy, g.group, settings.taxonomy),
    wasteCostUsd: (g.authWasteHours + g.contextSwitchWasteHours) * settings.loadedCostPerHour
  }))

const encodeAnswer = encodedJson(ProductivityMetrics)
const encodeTrend = encodedJson(MetricsTrend)
const encodeRecommendations = encodedJson(TenantRecommendations)
const encodeLatest = encodedJson(LatestRun)

/** The caller authorized to read the tenant's metrics, and what every metrics answer of it depends on (its settings as of at most `FRESH` ago). */
const readingMetrics = (tenant: TenantId) =>
  Effect.gen(function* () {
    yield* authorize(tenant, "metrics:read")
    const { generation, revision, settings } = yield* settingsOf(tenant)
    const { loadedCostPerHour, minGroupSize, smallGroupPolicy } = settings
    return { tenant, minGroupSize, smallGroupPolicy, loadedCostPerHour, generation, revision }
  })

export const MetricsLive = HttpApiBuilder.group(WorkcatApi, "metrics", (handlers) =>
  Effect.gen(function* () {
    // A snapshot changes once a night: every request for the same answer within `FRESH` shares
    // one read, and one encoding of it (the answer's JSON is kept, not re-encoded per request).
    const answers = yield* freshCache((key: AnswerKey) =>
        Effect.gen(function* () {
          const snapshot = yield* Effect.flatMap(Metrics, (m) => m.snapshot(key.groupBy, { asOf: key.asOf, department: key.department, privacy: key })).pipe(
            inTenant(key.tenant)
          )
          const { settings } = yield* settingsOf(key.tenant)
          return yield* encodeAnswer({
            ...snapshot,
            groupBy: key.groupBy,
            department: key.department ?? null,
            loadedCostPerHour: key.loadedCostPerHour,
            groups: priced(snapshot.groups, key.groupBy, { loadedCostPerHour: key.loadedCostPerHour, taxonomy: settings.taxonomy })
          })
        }),
      // At most this many answers held (a few KB each).
      { capacity: 1_000 }
    )
    const trends = yield* freshCache(
      (key: TrendKey) =>
        Effect.gen(function* () {
          const trend = yield* Effect.flatMap(Metrics, (m) => m.trend(key.groupBy, { from: addDays(key.today, -key.days), privacy: key })).pipe(inTenant(key.tenant))
          const { settings } = yield* settingsOf(key.tenant)
          const pricing = { loadedCostPerHour: key.loadedCostPerHour, taxonomy: settings.taxonomy }
          return yield* encodeTrend({
            groupBy: key.groupBy,
            days: key.days,
            minGroupSize: trend.minGroupSize,
            loadedCostPerHour: key.loadedCostPerHour,
            points: trend.points.map((p) => ({ ...p, groups: priced(p.groups, key.groupBy, pricing) }))
          })
        }),
      { capacity: 1_000 }
    )
    const recommendations = yield* freshCache(
      (key: Omit<AnswerKey, "groupBy" | "asOf" | "department">) =>
        Effect.gen(function* () {
          const [apps, departments] = yield* Effect.flatMap(Metrics, (m) =>
            Effect.all([m.snapshot("app", { privacy: key }), m.snapshot("department", { privacy: key })])
          ).pipe(inTenant(key.tenant))
          const items = tenantRecommendations(
            { windowDays: departments.windowDays, apps: apps.groups, departments: departments.groups },
            { loadedCostPerHour: key.loadedCostPerHour, catalog: DefaultAppCatalog }
          )
          return yield* encodeRecommendations({ asOf: departments.asOf, loadedCostPerHour: key.loadedCostPerHour, items })
        }),
      { capacity: 1_000 }
    )
    // The newest nightly run among the last few of any pipeline, read at most once per `FRESH`.
    const latestRuns = yield* freshCache(
      (tenant: TenantId) =>
        Effect.gen(function* () {
          const { items } = yield* Effect.flatMap(RunLedger, (l) => l.history(tenant, { limit: 20, offset: 0 }))
          const run = items.find((r) => r.pipeline === "nightly")
          if (run === undefined) return yield* encodeLatest({ run: null })
          const end = run.finishedAt ?? new Date()
          return yield* encodeLatest({
            run: {
              runId: run.id,
              key: run.runKey,
              state: run.state,
              createdAt: run.createdAt,
              startedAt: run.startedAt,
              finishedAt: run.finishedAt,
              durationSeconds: run.startedAt === null ? null : (end.getTime() - run.startedAt.getTime()) / 1000,
              costUsd: run.costUsd
            }
          })
        }),
      { capacity: 1_000 }
    )
    return handlers
      .handle("recommendations", ({ path }) =>
        Effect.gen(function* () {
          const reading = yield* readingMetrics(path.tenant)
          return jsonResponse(yield* recommendations.get(Data.struct(reading)))
        })
      )
      .handle("latestRun", ({ path }) =>
        Effect.gen(function* () {
          yield* authorize(path.tenant, "metrics:read")
          return jsonResponse(yield* latestRuns.get(path.tenant))
        })
      )
      .handle("trend", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const reading = yield* readingMetrics(path.tenant)
          const key = { ...reading, groupBy: urlParams.groupBy ?? "department", days: urlParams.days ?? 90, today: isoDate(new Date()) }
          return jsonResponse(yield* trends.get(Data.struct(key)))
        })
      )
      .handle("productivity", ({ path, urlParams }) =>
        Effect.gen(function* () {
          // A privacy setting applies within `FRESH`.
          const reading = yield* readingMetrics(path.tenant)
          const department = urlParams.department
          if (department !== undefined && urlParams.groupBy !== undefined && urlParams.groupBy !== "category") {
            return yield* new BadRequest({ message: "department drills into a department's categories: use it with groupBy=category (or without groupBy)" })
          }
          const groupBy = urlParams.groupBy ?? (department === undefined ? "department" : "category")
          return jsonResponse(yield* answers.get(Data.struct({ ...reading, groupBy, asOf: urlParams.asOf, department })))
        })
      )
  })
)
