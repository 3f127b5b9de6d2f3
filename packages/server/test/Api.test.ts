import { HttpClient, HttpClientResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { IsoDate } from "@workcat/core"
import { freshTenant, testConfig, testTenantLayer } from "@workcat/pipeline/testing"
import { BaseLive, fileLines, generate, HrIngest, Ingest, Nightly } from "@workcat/pipeline"
import { Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { HttpAppLive } from "../src/Server.js"

const end = "2026-11-23" as IsoDate
const tenant = freshTenant("api")
const other = freshTenant("api")

/** A small tenant, categorized, as the API serves it. */
const seed = Effect.gen(function* () {
  const files = yield* generate({ tenant, employees: 80, days: 30, seed: "api", end, out: mkdtempSync(join(tmpdir(), "workcat-api-")) })
  yield* Effect.flatMap(HrIngest, (h) => h.records(fileLines(files.hr), { source: "hr" }))
  yield* Effect.flatMap(Ingest, (i) => i.okta(fileLines(files.events), { source: "events" }))
  return yield* Effect.flatMap(Nightly, (n) => n.run({ date: end }))
}).pipe(Effect.provide(testTenantLayer(tenant)))

const ServerTest = HttpAppLive.pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provide(BaseLive),
  Layer.provide(testConfig([tenant, other]))
)

const get = (path: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.get(path)).pipe(
    Effect.flatMap((res) => Effect.map(res.json, (body) => ({ status: res.status, body: body as any }))),
    Effect.scoped
  )

describe("HTTP API", () => {
  it.layer(ServerTest, { timeout: 120_000 })((it) => {
    it.effect("serves a tenant's categories, paginated and filtered", () =>
      Effect.gen(function* () {
        const run = yield* seed
        const all = yield* get(`/api/v1/tenants/${tenant}/categories?pageSize=500`)
        expect(all.status).toBe(200)
        expect(all.body.total).toBe(run.categorized)
        expect(all.body.items).toHaveLength(run.categorized)
        const first = all.body.items[0]
        expect(first.userId).toMatch(/^u_[0-9a-f]{32}$/)
        expect(first).toHaveProperty("explanation")
        expect(first).toHaveProperty("categoryName")
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

    it.effect("serves productivity metrics by department, team or category", () =>
      Effect.gen(function* () {
        const byDepartment = yield* get(`/api/v1/tenants/${tenant}/metrics/productivity`)
        expect(byDepartment.status).toBe(200)
        expect(byDepartment.body).toMatchObject({ asOf: end, groupBy: "department", windowDays: 28 })
        const byCategory = yield* get(`/api/v1/tenants/${tenant}/metrics/productivity?groupBy=category`)
        expect(byCategory.body.groups.map((g: any) => g.group)).toContain("sales")
        const sum = (r: any) => r.body.groups.reduce((n: number, g: any) => n + g.employees, 0)
        expect(sum(byCategory)).toBe(sum(byDepartment))
        const none = yield* get(`/api/v1/tenants/${other}/metrics/productivity?groupBy=team`)
        expect(none.body).toMatchObject({ asOf: null, groups: [] })
      }))

    it.effect("keeps tenants apart and rejects bad input", () =>
      Effect.gen(function* () {
        expect((yield* get(`/api/v1/tenants/${other}/categories`)).body).toMatchObject({ total: 0, items: [] })
        expect((yield* get(`/api/v1/tenants/nosuchtenant/categories`)).status).toBe(404)
        expect((yield* get(`/api/v1/tenants/Not-A-Tenant/categories`)).status).toBe(400)
        expect((yield* get(`/api/v1/tenants/${tenant}/categories?page=0`)).status).toBe(400)
        expect((yield* get(`/api/v1/tenants/${tenant}/categories?pageSize=501`)).status).toBe(400)
        expect((yield* get(`/api/v1/tenants/${tenant}/metrics/productivity?groupBy=planet`)).status).toBe(400)
      }))

    it.effect("reports health and documents itself", () =>
      Effect.gen(function* () {
        expect(yield* get("/healthz")).toEqual({ status: 200, body: { status: "ok", database: "ok" } })
        const spec = yield* get("/docs/openapi.json")
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
