import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("ids")

describe("the pipeline API", () => {
  it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
    it.effect("answers 404 for a run id that is not a UUID", () =>
      Effect.gen(function* () {
        const admin = yield* token(tenant, "admin")
        for (const id of ["0".repeat(36), "-".repeat(36), "0000000000000000000000000000000000-1"]) {
          expect((yield* call("GET", `/api/v1/pipeline/status/${id}`, { token: admin })).status).toBe(404)
          expect((yield* call("POST", `/api/v1/pipeline/retry/${id}`, { token: admin })).status).toBe(404)
          expect((yield* call("POST", `/api/v1/pipeline/cancel/${id}`, { token: admin })).status).toBe(404)
        }
      }))
  })
})
