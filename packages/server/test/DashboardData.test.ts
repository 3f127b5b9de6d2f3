import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect } from "effect"
import { call, seedTenant, serverLayer, token } from "./support.js"

const tenant = freshTenant("dash")

const sum = (groups: ReadonlyArray<any>, field: string) => groups.reduce((n: number, g: any) => n + g[field], 0)

/** What the dashboard reads beyond the groupings: a department's categories, the apps, the tenant's recommendations. */
describe("Dashboard data", () => {
  it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
    it.effect("drills into a department's categories, which add up to the department with small groups withheld", () =>
      Effect.gen(function* () {
        yield* seedTenant(tenant, 120)
        const analyst = yield* token(tenant, "analyst")
        const admin = yield* token(tenant, "admin")
        // Nothing withheld first: the categories must add up to their department exactly.
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { minGroupSize: 1 } })
        const departments = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department`, { token: analyst })).body.groups
        // The largest department with a category of fewer than 5 people (a generated company's mix varies with its id).
        let largest: any
        let drill: any
        for (const d of [...departments].sort((a: any, b: any) => b.employees - a.employees)) {
          drill = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?department=${encodeURIComponent(d.group)}`, { token: analyst })
          largest = d
          if (d.employees >= 5 && drill.body.groups.some((g: any) => g.employees < 5)) break
        }
        expect(drill.status).toBe(200)
        expect(drill.body).toMatchObject({ groupBy: "category", department: largest.group, suppressedGroups: 0 })
        expect(drill.body.groups.length).toBeGreaterThan(1)
        expect(sum(drill.body.groups, "employees")).toBe(largest.employees)
        expect(sum(drill.body.groups, "authWasteHours")).toBeCloseTo(largest.authWasteHours, 6)
        expect(sum(drill.body.groups, "wasteCostUsd")).toBeCloseTo(largest.wasteCostUsd, 4)

        // With the tenant's minimum group size back, the department's small categories are withheld and counted.
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { minGroupSize: 5, smallGroupPolicy: "suppress" } })
        const small = drill.body.groups.filter((g: any) => g.employees < 5).length
        expect(small).toBeGreaterThan(0)
        const withheld = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?department=${encodeURIComponent(largest.group)}`, { token: analyst })).body
        expect(withheld.suppressedGroups).toBe(small)
        for (const g of withheld.groups) expect(g.employees).toBeGreaterThanOrEqual(5)
      }))

    it.effect("shows no part of a department too small to show", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const admin = yield* token(tenant, "admin")
        const departments = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department`, { token: analyst })).body.groups
        const smallest = [...departments].sort((a: any, b: any) => a.employees - b.employees)[0]
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { minGroupSize: smallest.employees + 1 } })
        const drill = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?department=${encodeURIComponent(smallest.group)}`, { token: analyst })).body
        expect(drill.groups).toEqual([])
        expect(drill.totalEmployees).toBe(0)
        expect(drill.suppressedGroups).toBeGreaterThan(0)
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { minGroupSize: 5 } })
      }))

    it.effect("refuses a drill-down into anything but categories", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const refused = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=team&department=Engineering`, { token: analyst })
        expect(refused.status).toBe(400)
        expect(refused.body.message).toMatch(/groupBy=category/)
      }))

    it.effect("prices every app's friction, adding up to the tenant's", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const admin = yield* token(tenant, "admin")
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { minGroupSize: 1 } })
        const apps = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=app`, { token: analyst })).body
        const departments = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department`, { token: analyst })).body
        expect(apps.groupBy).toBe("app")
        expect(apps.groups.length).toBeGreaterThan(5)
        // Each access's extra steps and each app-day's refocus belong to one app and one department.
        expect(sum(apps.groups, "authWasteHours")).toBeCloseTo(sum(departments.groups, "authWasteHours"), 4)
        expect(sum(apps.groups, "contextSwitchWasteHours")).toBeCloseTo(sum(departments.groups, "contextSwitchWasteHours"), 4)
        expect(sum(apps.groups, "accesses")).toBe(sum(departments.groups, "accesses"))
        for (const app of apps.groups) expect(app.distinctAppsPerDay).toBe(1)
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { minGroupSize: 5 } })
      }))

    it.effect("recommends what saves most, priced at the tenant's cost per hour, from the groups it may show", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const admin = yield* token(tenant, "admin")
        yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { loadedCostPerHour: 100, minGroupSize: 5 } })
        const answer = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/recommendations`, { token: analyst })).body
        expect(answer.loadedCostPerHour).toBe(100)
        expect(answer.items.length).toBeGreaterThan(0)
        const hours = answer.items.map((i: any) => i.hoursPerYear)
        expect(hours).toEqual([...hours].sort((a: number, b: number) => b - a))
        const apps = (yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=app`, { token: analyst })).body
        const shownApps = new Set(apps.groups.map((g: any) => g.group))
        for (const item of answer.items) {
          expect(item.costUsdPerYear).toBeCloseTo(item.hoursPerYear * 100, 6)
          if (item.kind === "sign-in") {
            expect(shownApps.has(item.subject)).toBe(true)
            const app = apps.groups.find((g: any) => g.group === item.subject)
            expect(item.hoursPerYear).toBeCloseTo((app.authWasteHours * 365) / apps.windowDays, 6)
          }
        }
      }))
  })
})
