import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { IsoDate } from "@workcat/core"
import { fileValues, generate, HrIngest, Ingest, runNightly } from "@workcat/pipeline"
import { provision, testConfig, testTenantLayer } from "@workcat/pipeline/testing"
import { ApiTokens, type Role, type TenantId } from "@workcat/tenancy"
import { RuntimeLive } from "@workcat/pipeline"
import { Effect, Layer, Redacted } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { HttpAppLive } from "../src/Server.js"

export const END = "2026-11-23" as IsoDate

/** A small synthetic tenant, ingested and categorized, as the API serves it. */
export const seedTenant = (tenant: TenantId, employees = 80) =>
  Effect.gen(function* () {
    const files = yield* generate({ tenant, employees, days: 30, seed: "api", end: END, out: mkdtempSync(join(tmpdir(), "workcat-api-")) })
    yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: "hr" }))
    yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: "events" }))
    const { run, summary } = yield* runNightly(tenant, END)
    return { files, run: summary!, runId: run.id }
  }).pipe(Effect.provide(testTenantLayer(tenant)))

/**
 * The HTTP app on a test server, with the given tenants provisioned (and extra configuration).
 * Fresh: layers memoize by identity, and each call must get its own server and configuration.
 */
export const serverLayer = (
  tenants: ReadonlyArray<TenantId>,
  config: Readonly<Record<string, string>> = {},
  /** Built around the server, e.g. a logger or a tracer that records what the server emits. */
  around: Layer.Layer<never> = Layer.empty
) =>
  Layer.fresh(HttpAppLive).pipe(
    Layer.provide(around),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(provision(...tenants)),
    Layer.provideMerge(RuntimeLive),
    Layer.provide(testConfig(config))
  )

export const token = (tenant: TenantId, role: Role) =>
  Effect.flatMap(ApiTokens, (t) => t.create(tenant, role)).pipe(Effect.map((c) => Redacted.value(c.token)))

export interface Answer {
  readonly status: number
  readonly body: any
  readonly headers: Readonly<Record<string, string>>
}

/** One request with an optional bearer token and body; the answer's JSON (or text). */
export const call = (
  method: "GET" | "POST" | "PATCH",
  path: string,
  options: {
    readonly token?: string
    readonly json?: unknown
    readonly text?: string
    /** Of `text`; NDJSON unless given. */
    readonly contentType?: string
    readonly headers?: Record<string, string>
  } = {}
): Effect.Effect<Answer, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    let request = HttpClientRequest.make(method)(path).pipe(HttpClientRequest.setHeaders(options.headers ?? {}))
    if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
    if (options.json !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, options.json)
    if (options.text !== undefined) request = HttpClientRequest.bodyText(request, options.text, options.contentType ?? "application/x-ndjson")
    const response = yield* Effect.flatMap(HttpClient.HttpClient, (c) => c.execute(request))
    const text = yield* response.text
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body, headers: response.headers }
  }).pipe(Effect.scoped, Effect.orDie)

/** One Okta SSO event of an employee (a login and a name to be pseudonymized or dropped), with its id. */
export const oktaLine = (uuid: string) =>
  JSON.stringify({
    uuid,
    published: "2026-11-20T10:00:00Z",
    eventType: "user.authentication.sso",
    actor: { id: "00u1", type: "User", alternateId: "mallory@example.com", displayName: "Mallory" },
    outcome: { result: "SUCCESS" },
    target: [{ id: "0oa1", type: "AppInstance", displayName: "GitHub" }]
  })
