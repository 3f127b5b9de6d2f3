import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import { call, END, seedTenant, serverLayer, token } from "./support.js"

const tenant = freshTenant("api")
const other = freshTenant("api")

describe("HTTP API", () => {
  it.layer(serverLayer([other]), { timeout: 120_000 })((it) => {
    it.effect("serves a tenant's categories, paginated and filtered", () =>
      Effect.gen(function* () {
        const { run } = yield* seedTenant(tenant)
        const analyst = yield* token(tenant, "analyst")
        const get = (path: string) => call("GET", path, { token: analyst })
        const all = yield* get(`/api/v1/tenants/${tenant}/categories?pageSize=500`)
        expect(all.status).toBe(200)
        expect(all.body.total).toBe(run.categorized)
        expect(all.body.items).toHaveLength(run.categorized)
        const first = all.body.items[0]
        expect(first.userId).toMatch(/^u_[0-9a-f]{32}$/)
        expect(first.explanation.length).toBeGreaterThan(20)
        expect(first.categoryName).not.toBe(first.category)
        expect(Number.isNaN(Date.parse(first.categorizedAt))).toBe(false)

        const page2 = yield* get(`/api/v1/tenants/${tenant}/categories?page=2&pageSize=10`)
        expect(page2.body).toMatchObject({ page: 2, pageSize: 10, total: run.categorized })
        expect(page2.body.items.map((i: any) => i.userId)).toEqual(all.body.items.slice(10, 20).map((i: any) => i.userId))

        const sales = yield* get(`/api/v1/tenants/${tenant}/categories?category=sales&pageSize=500`)
        expect(sales.body.total).toBe(run.byCategory.sales)
        expect(sales.body.items.every((i: any) => i.category === "sales")).toBe(true)

        const engineering = yield* get(`/api/v1/tenants/${tenant}/categories?department=Engineering&pageSize=500`)
        expect(engineering.body.total).toBeGreaterThan(0)
        expect(engineering.body.items.every((i: any) => i.department === "Engineering")).toBe(true)
      }))

    it.effect("serves productivity metrics by department, team or category, small groups withheld", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const byDepartment = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity`, { token: analyst })
        expect(byDepartment.status).toBe(200)
        expect(byDepartment.body).toMatchObject({ asOf: END, groupBy: "department", windowDays: 28, minGroupSize: 5, loadedCostPerHour: 75 })
        for (const g of byDepartment.body.groups) {
          expect(g.wasteCostUsd).toBeCloseTo((g.authWasteHours + g.contextSwitchWasteHours) * 75, 6)
        }
        const byCategory = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=category`, { token: analyst })
        // The tenant's largest category is shown (a generated company's mix varies with its id).
        const categorized = yield* call("GET", `/api/v1/tenants/${tenant}/categories?pageSize=500`, { token: analyst })
        const sizes = new Map<string, number>()
        for (const item of categorized.body.items) sizes.set(item.category, (sizes.get(item.category) ?? 0) + 1)
        const largest = [...sizes].sort((a, b) => b[1] - a[1])[0]!
        expect(largest[1]).toBeGreaterThanOrEqual(5)
        expect(byCategory.body.groups.map((g: any) => g.group)).toContain(largest[0])
        for (const g of byCategory.body.groups) expect(g.employees).toBeGreaterThanOrEqual(5)

        // An admin switches the tenant to roll small groups up: it applies to the next request.
        const admin = yield* token(tenant, "admin")
        const patched = yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { smallGroupPolicy: "rollup", minGroupSize: 8 } })
        expect(patched.body).toMatchObject({ smallGroupPolicy: "rollup", minGroupSize: 8 })
        const rolled = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=category`, { token: analyst })
        expect(rolled.body.minGroupSize).toBe(8)
        const employees = (r: any) => r.body.groups.reduce((n: number, g: any) => n + g.employees, 0)
        expect(rolled.body.groups.map((g: any) => g.group)).toContain("(small groups)")
        expect(employees(rolled)).toBeGreaterThan(employees(byCategory))
        for (const g of rolled.body.groups) expect(g.employees).toBeGreaterThanOrEqual(8)
      }))

    it.effect("serves the metrics night by night over the last days, each night's small groups withheld", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const sql = yield* ControlSql
        // A second night's snapshot, the day after the seeded one, where the largest department is down to one person.
        yield* sql.unsafe(`
          INSERT INTO tenant_${tenant}.productivity_metrics
          SELECT as_of + 1, group_by, group_value, window_days, CASE WHEN group_value = (SELECT group_value FROM tenant_${tenant}.productivity_metrics WHERE group_by = 'department' ORDER BY employees DESC LIMIT 1) THEN 1 ELSE employees END,
                 active_days, accesses, avg_auth_step, distinct_apps_per_day, auth_waste_hours, context_switch_waste_hours, waste_hours_per_employee_week, run_id
          FROM tenant_${tenant}.productivity_metrics WHERE as_of = ${"'" + END + "'"}::date`)
        const trend = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/trend?groupBy=department&days=730`, { token: analyst })
        expect(trend.status).toBe(200)
        expect(trend.body).toMatchObject({ groupBy: "department", days: 730, minGroupSize: 8, loadedCostPerHour: 75 })
        const [first, second] = trend.body.points
        expect(trend.body.points).toHaveLength(2)
        expect(Date.parse(second.asOf) - Date.parse(first.asOf)).toBe(86_400_000)
        // The tenant's policy now (rollup, 8) on each night: the department of one person the second night is not shown.
        for (const point of trend.body.points) for (const g of point.groups) expect(g.employees).toBeGreaterThanOrEqual(8)
        const departments = (point: any) => point.groups.map((g: any) => g.group)
        const shrunk = departments(first).find((d: string) => !departments(second).includes(d))
        expect(shrunk).toBeDefined()
        const snapshot = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department&asOf=${first.asOf}`, { token: analyst })
        expect(first.groups).toEqual(snapshot.body.groups)
        expect((yield* call("GET", `/api/v1/tenants/${tenant}/metrics/trend?days=0`, { token: analyst })).status).toBe(400)
      }))

    it.effect("tells the latest nightly run's state, date, duration and cost, to the roles that read metrics", () =>
      Effect.gen(function* () {
        const latest = yield* call("GET", `/api/v1/tenants/${tenant}/runs/latest`, { token: yield* token(tenant, "analyst") })
        expect(latest.status).toBe(200)
        expect(latest.body.run).toMatchObject({ key: END, state: "READY", costUsd: 0 })
        expect(latest.body.run.durationSeconds).toBeGreaterThanOrEqual(0)
        expect(Object.keys(latest.body.run).sort()).toEqual(["costUsd", "createdAt", "durationSeconds", "finishedAt", "key", "runId", "startedAt", "state"])
        expect((yield* call("GET", `/api/v1/tenants/${tenant}/runs/latest`, { token: yield* token(tenant, "ingest") })).status).toBe(403)
        expect((yield* call("GET", `/api/v1/tenants/${other}/runs/latest`, { token: yield* token(other, "analyst") })).body).toEqual({ run: null })
      }))

    it.effect("rejects bad input with 400", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        for (const path of [
          `/api/v1/tenants/${tenant}/categories?page=0`,
          `/api/v1/tenants/${tenant}/categories?pageSize=501`,
          `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=planet`
        ]) {
          expect((yield* call("GET", path, { token: analyst })).status).toBe(400)
        }
      }))

    it.effect("reports health and documents itself, without a token", () =>
      Effect.gen(function* () {
        expect(yield* call("GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok", database: "ok" } })
        const spec = yield* call("GET", "/docs/openapi.json")
        expect(Object.keys(spec.body.paths)).toEqual(
          expect.arrayContaining(["/healthz", "/api/v1/tenants/{tenant}/categories", "/api/v1/tenants/{tenant}/metrics/productivity"])
        )
        const docs = yield* Effect.flatMap(HttpClient.HttpClient, (c) => c.get("/docs")).pipe(
          Effect.flatMap(HttpClientResponse.filterStatusOk),
          Effect.flatMap((r) => r.text),
          Effect.scoped
        )
        expect(docs).toContain("swagger-ui")
      }))
  })
})
