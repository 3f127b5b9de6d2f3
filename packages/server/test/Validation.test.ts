import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { SettingsPatch } from "@workcat/tenancy"
import { Effect, Either, Schema } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("valid")

/** The category list of a taxonomy of `n` categories, each with the given name. */
const categories = (n: number, name = "Sales") =>
  Array.from({ length: n }, (_, i) => ({ id: `cat_${i}`, name, description: "", department: "Sales" }))

describe("input validation", () => {
  it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
    it.effect("a query parameter with a NUL byte or a date PostgreSQL cannot store is a 400 naming the parameter", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const base = `/api/v1/tenants/${tenant}`
        for (const [query, parameter] of [
          ["/categories?department=%00", "department"],
          ["/categories?category=sales%00", "category"],
          ["/metrics/productivity?asOf=0000-01-01", "asOf"],
          ["/metrics/productivity?asOf=9999-12-31", "asOf"],
          ["/metrics/productivity?asOf=2026-02-30", "asOf"]
        ] as const) {
          const answer = yield* call("GET", base + query, { token: analyst })
          expect([query, answer.status, answer.body?._tag]).toEqual([query, 400, "HttpApiDecodeError"])
          expect(answer.body.message).toMatch(new RegExp(`^${parameter}: `))
          expect(answer.body.message).not.toContain("readonly")
        }
      }))

    it.effect("settings are refused with 400 naming the field: NUL bytes, non-finite or out-of-range numbers, overlong texts, too many categories", () =>
      Effect.gen(function* () {
        const admin = yield* token(tenant, "admin")
        const path = `/api/v1/tenants/${tenant}/settings`
        const before = (yield* call("GET", path, { token: admin })).body
        const taxonomy = (list: unknown) => ({ taxonomy: { id: "mine", version: 2, categories: list } })
        for (const [text, field] of [
          [`{"displayName":"Evil\\u0000Corp"}`, "displayName"],
          [`{"loadedCostPerHour":1e999}`, "loadedCostPerHour"],
          [`{"loadedCostPerHour":-1}`, "loadedCostPerHour"],
          [`{"llm":{"monthlyBudgetUsd":1e400}}`, "llm.monthlyBudgetUsd"],
          [JSON.stringify({ displayName: "x".repeat(201) }), "displayName"],
          [JSON.stringify(taxonomy(categories(1, "x".repeat(201)))), "taxonomy.categories.0.name"],
          [JSON.stringify(taxonomy(categories(201))), "taxonomy.categories"],
          [JSON.stringify(taxonomy([{ id: "sales", name: "Sales", description: "\u0000", department: "Sales" }])), "taxonomy.categories.0.description"]
        ] as const) {
          const answer = yield* call("PATCH", path, { token: admin, text, contentType: "application/json" })
          expect([text.slice(0, 60), answer.status, answer.body?._tag]).toEqual([text.slice(0, 60), 400, "HttpApiDecodeError"])
          expect(answer.body.message).toMatch(new RegExp(`^${field.replaceAll(".", "\\.")}: `))
          expect(answer.body.message.length).toBeLessThan(400)
        }
        expect((yield* call("GET", path, { token: admin })).body).toEqual(before)
      }))

    it.effect("the CLI's non-finite numbers (`--loaded-cost-per-hour inf`) are refused by the same settings schema", () =>
      Effect.sync(() => {
        for (const value of [Infinity, -Infinity, NaN]) {
          expect(Either.isLeft(Schema.decodeUnknownEither(SettingsPatch)({ loadedCostPerHour: value }))).toBe(true)
          expect(Either.isLeft(Schema.decodeUnknownEither(SettingsPatch)({ llm: { monthlyBudgetUsd: value } }))).toBe(true)
        }
      }))

    it.effect("a deeply nested JSON body is a 400 on settings, and on events a refused record, never a crash", () =>
      Effect.gen(function* () {
        const admin = yield* token(tenant, "admin")
        const ingest = yield* token(tenant, "ingest")
        for (const deep of ["[".repeat(100_000), "[".repeat(100_000) + "]".repeat(100_000), '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000)]) {
          const settings = yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, text: deep, contentType: "application/json" })
          const events = yield* call("POST", `/api/v1/tenants/${tenant}/events/okta`, { token: ingest, text: deep })
          expect([settings.status, settings.body?._tag]).toEqual([400, "BadRequest"])
          // Events are judged record by record: this one is a dead letter, the request succeeds.
          expect([events.status, events.body?.accepted, events.body?.rejected]).toEqual([200, 0, 1])
        }
        // Depth is structure, not text: brackets inside a string are just characters.
        const bracketed = yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { displayName: "[{\\\"".repeat(50) } })
        expect([bracketed.status, bracketed.body.displayName]).toEqual([200, "[{\\\"".repeat(50)])
      }))

    it.effect("a body that is not JSON is a 400, and settings sent as another media type a 415", () =>
      Effect.gen(function* () {
        const admin = yield* token(tenant, "admin")
        const path = `/api/v1/tenants/${tenant}/settings`
        const broken = yield* call("PATCH", path, { token: admin, text: '{"displayName":', contentType: "application/json" })
        expect([broken.status, broken.body]).toEqual([400, { _tag: "BadRequest", message: "The body is not valid JSON" }])
        for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
          const answer = yield* call("PATCH", path, { token: admin, text: '{"displayName":"Plain"}', contentType })
          expect([contentType, answer.status, answer.body]).toEqual([contentType, 415, { _tag: "UnsupportedMediaType", message: "Send the body as application/json" }])
        }
        const json = yield* call("PATCH", path, { token: admin, text: '{"displayName":"Plain"}', contentType: "application/json; charset=utf-8" })
        expect([json.status, json.body.displayName]).toEqual([200, "Plain"])
      }))
  })
})
