import { describe, expect, it } from "@effect/vitest"
import { runWorker } from "@workcat/pipeline"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect, Fiber } from "effect"
import * as TestServices from "effect/TestServices"
import { call, END, seedTenant, serverLayer, token } from "./support.js"

const tenant = freshTenant("pipe")
const other = freshTenant("pipe")

describe("the pipeline API", () => {
  it.layer(serverLayer([other]), { timeout: 120_000 })((it) => {
    it.effect("pushes a run, reports its status and history, refuses illegal moves", () =>
      TestServices.provideLive(
        Effect.gen(function* () {
          yield* seedTenant(tenant, 40)
          const admin = yield* token(tenant, "admin")
          const analyst = yield* token(tenant, "analyst")
          const worker = yield* Effect.fork(runWorker({ maxRuns: 2, pollInterval: "100 millis", tenants: [tenant] }))

          expect((yield* call("POST", "/api/v1/pipeline/push", { token: analyst, json: { tenant, date: END } })).status).toBe(403)
          const pushed = yield* call("POST", "/api/v1/pipeline/push", { token: admin, json: { tenant, date: "2026-11-24" } })
          expect(pushed.status).toBe(202)
          expect(pushed.body).toMatchObject({ tenant, pipeline: "nightly", key: "2026-11-24" })
          expect(["QUEUED", "PROCESSING"]).toContain(pushed.body.state)

          let status = yield* call("GET", `/api/v1/pipeline/status/${pushed.body.runId}`, { token: admin })
          for (let i = 0; i < 100 && status.body.state !== "READY"; i++) {
            yield* Effect.sleep("100 millis")
            status = yield* call("GET", `/api/v1/pipeline/status/${pushed.body.runId}`, { token: admin })
          }
          expect(status.body).toMatchObject({ state: "READY", currentStage: null, costUsd: 0, failures: [] })
          expect(status.body.stages.map((s: any) => [s.stage, s.state])).toEqual([
            ["select", "DONE"],
            ["categorize", "DONE"],
            ["materialize", "DONE"],
            ["publish", "DONE"]
          ])
          expect(status.body.transitions.map((t: any) => t.to)).toEqual(["QUEUED", "PROCESSING", "READY"])

          expect((yield* call("POST", `/api/v1/pipeline/retry/${pushed.body.runId}`, { token: admin })).status).toBe(409)
          expect((yield* call("POST", `/api/v1/pipeline/cancel/${pushed.body.runId}`, { token: admin })).status).toBe(409)
          expect((yield* call("POST", "/api/v1/pipeline/push", { token: admin, json: { tenant, date: "2099-01-01" } })).status).toBe(400)

          const batch = yield* call("POST", "/api/v1/pipeline/batch", {
            token: admin,
            json: { runs: [{ tenant, date: "2026-11-24" }, { tenant: other, date: "2026-11-24" }] }
          })
          expect(batch.body.results.map((r: any) => [r.status, r.run?.state ?? null])).toEqual([
            [202, "READY"],
            [404, null]
          ])

          const history = yield* call("GET", `/api/v1/pipeline/history/${tenant}?pageSize=10`, { token: admin })
          expect(history.body.total).toBe(2)
          expect(history.body.items.map((r: any) => r.key)).toEqual(["2026-11-24", END])
          yield* Fiber.interrupt(worker)
        })
      ))
  })
})
