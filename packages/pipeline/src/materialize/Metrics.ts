import * as SqlClient from "@effect/sql/SqlClient"
import { applySmallGroupPolicy, type GroupMetrics, groupMetricsOf, type IsoDate } from "@workcat/core"
import { defaultNightly, type TenantSettings } from "@workcat/tenancy"
import { Array as Arr, Effect } from "effect"
import { EventWarehouse, type NightWindows } from "../warehouse/EventWarehouse.js"

/** Productivity metrics look at the last four whole weeks, unless the tenant's `nightly.metricsWindowDays` says otherwise. */
export const METRICS_WINDOW_DAYS = defaultNightly.metricsWindowDays

export type GroupBy = GroupMetrics["groupBy"]

export interface MetricsSnapshot {
  readonly asOf: IsoDate | null
  readonly windowDays: number
  readonly groups: ReadonlyArray<GroupMetrics>
  /** Groups below the tenant's minimum group size that were withheld. */
  readonly suppressedGroups: number
  readonly minGroupSize: number
  /** Everyone the shown groups add up to (for an app grouping, the sum of its users). */
  readonly totalEmployees: number
}

/** `productivity_metrics`: waste hours by department, team and category, one snapshot per day. */
export class Metrics extends Effect.Service<Metrics>()("workcat/Metrics", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const warehouse = yield* EventWarehouse

    /**
     * Recomputes the snapshot of a night's date over its metrics window and replaces it: the
     * warehouse sums the users per group (HR as of that day), and only the groups come back.
     */
    const materialize = Effect.fn("Metrics.materialize")(function* (night: NightWindows, runId: string) {
      const { date: asOf, metricsWindowDays: windowDays } = night
      const totals = yield* warehouse.groupTotals(night)
      const rows = totals.map((t) => groupMetricsOf(t, windowDays))
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`DELETE FROM productivity_metrics WHERE as_of = ${asOf}`
          if (rows.length === 0) return
          yield* sql`INSERT INTO productivity_metrics ${sql.insert(
            rows.map((m) => ({
              as_of: asOf,
              group_by: m.groupBy,
              group_value: m.group,
              window_days: windowDays,
              employees: m.employees,
              active_days: m.activeDays,
              accesses: m.accesses,
              avg_auth_step: m.avgAuthStep,
              distinct_apps_per_day: m.distinctAppsPerDay,
              auth_waste_hours: m.authWasteHours,
              context_switch_waste_hours: m.contextSwitchWasteHours,
              waste_hours_per_employee_week: m.wasteHoursPerEmployeeWeek,
              run_id: runId
            }))
          )}`
        })
      )
      return rows.length
    }, Effect.orDie)

    /**
     * The latest snapshot (or that of `asOf`) for one grouping, small groups withheld per the
     * tenant's policy; with `department`, the categories within that department (a drill-down).
     */
    const snapshot = Effect.fn("Metrics.snapshot")(function* (
      groupBy: GroupBy,
      options: {
        readonly asOf?: IsoDate | undefined
        readonly department?: string | undefined
        readonly privacy: Pick<TenantSettings, "minGroupSize" | "smallGroupPolicy">
      }
    ) {
      const asOf = options.asOf
      const within = options.department
      const rows = yield* sql<GroupMetrics & { asOf: IsoDate; windowDays: number }>`
        SELECT as_of AS "asOf", window_days AS "windowDays", ${groupBy}::text AS "groupBy",
               ${within === undefined ? sql`group_value` : sql`group_value::json->>1`} AS "group", employees,
               active_days AS "activeDays", accesses, avg_auth_step AS "avgAuthStep",
               distinct_apps_per_day AS "distinctAppsPerDay", auth_waste_hours AS "authWasteHours",
               context_switch_waste_hours AS "contextSwitchWasteHours",
               waste_hours_per_employee_week AS "wasteHoursPerEmployeeWeek"
        FROM productivity_metrics
        WHERE ${within === undefined ? sql`group_by = ${groupBy}` : sql`group_by = 'department_category' AND group_value::json->>0 = ${within}`}
          AND as_of = ${asOf ?? sql`(SELECT max(as_of) FROM productivity_metrics)`}
        ORDER BY "group"`
      const windowDays = rows[0]?.windowDays ?? METRICS_WINDOW_DAYS
      const { minGroupSize, smallGroupPolicy } = options.privacy
      // A department too small to show is not shown in parts either.
      const hidden = within !== undefined && rows.reduce((n, r) => n + r.employees, 0) < minGroupSize
      const shown = hidden
        ? { groups: [], suppressedGroups: rows.length }
        : applySmallGroupPolicy(
            rows.map(({ asOf: _a, windowDays: _w, ...g }) => g),
            { minGroupSize, policy: smallGroupPolicy, windowDays }
          )
      // Of the groups shown only: with the withheld counted, one withheld group's size would be a subtraction away.
      const totalEmployees = shown.groups.reduce((n, g) => n + g.employees, 0)
      return { asOf: rows[0]?.asOf ?? null, windowDays, minGroupSize, totalEmployees, ...shown } satisfies MetricsSnapshot
    }, Effect.orDie)

    /**
     * The snapshots of one grouping since `from` (an ISO date), oldest first: a nightly trend,
     * each snapshot's small groups withheld per the tenant's policy, as `snapshot` does.
     */
    const trend = Effect.fn("Metrics.trend")(function* (
      groupBy: GroupBy,
      options: { readonly from: IsoDate; readonly privacy: Pick<TenantSettings, "minGroupSize" | "smallGroupPolicy"> }
    ) {
      const rows = yield* sql<GroupMetrics & { asOf: IsoDate; windowDays: number }>`
        SELECT as_of::text AS "asOf", window_days AS "windowDays", group_by AS "groupBy", group_value AS "group", employees,
               active_days AS "activeDays", accesses, avg_auth_step AS "avgAuthStep",
               distinct_apps_per_day AS "distinctAppsPerDay", auth_waste_hours AS "authWasteHours",
               context_switch_waste_hours AS "contextSwitchWasteHours",
               waste_hours_per_employee_week AS "wasteHoursPerEmployeeWeek"
        FROM productivity_metrics
        WHERE group_by = ${groupBy} AND as_of >= ${options.from}::date
        ORDER BY as_of, group_value`
      const { minGroupSize, smallGroupPolicy } = options.privacy
      const points: Array<{ readonly asOf: IsoDate; readonly windowDays: number; readonly groups: ReadonlyArray<GroupMetrics>; readonly suppressedGroups: number }> = []
      for (const day of Arr.isNonEmptyReadonlyArray(rows) ? Arr.groupWith(rows, (a, b) => a.asOf === b.asOf) : []) {
        const windowDays = day[0].windowDays
        const shown = applySmallGroupPolicy(
          day.map(({ asOf: _a, windowDays: _w, ...g }) => g),
          { minGroupSize, policy: smallGroupPolicy, windowDays }
        )
        points.push({ asOf: day[0].asOf, windowDays, ...shown })
      }
      return { minGroupSize, points }
    }, Effect.orDie)

    return { materialize, snapshot, trend } as const
  }),
}) {}
