import { TenantId, TenantRegistry } from "@workcat/tenancy"
import type { Vitest } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, type Scope, TestClock } from "effect"
import * as TestServices from "effect/TestServices"
import { createHash, randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { OfflineCategorizerLive } from "../../src/categorizer/OfflineCategorizer.js"
import { BaseLive, PipelineLive } from "../../src/app/Layers.js"
import { RunsLive } from "../../src/app/Runtime.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The PostgreSQL every test talks to: `DATABASE_URL`, or a throwaway embedded cluster. */
    readonly databaseUrl: string
  }
}

/** The test database's connection string. */
export const testDatabaseUrl = () => inject("databaseUrl")

/** The master key of the test run: fixed, so separately built layers open each other's secrets. */
export const testMasterKey = createHash("sha256").update("workcat-test-master-key").digest("base64")

/** A fresh tenant id, so tests sharing one database never see each other's data. */
export const freshTenant = (prefix = "t"): TenantId => TenantId.make(`${prefix}_${randomBytes(5).toString("hex")}`)

/**
 * Configuration as a deployment would set it. A test's `TestClock` starts at today's wall-clock
 * time, not 1970: intake refuses events dated ahead of the clock, and fixtures are of recent days.
 */
export const testConfig = (extra: Readonly<Record<string, string>> = {}) =>
  Layer.merge(
    Layer.setConfigProvider(
      ConfigProvider.fromMap(
        new Map([
          ["DATABASE_URL", testDatabaseUrl()],
          ["WORKCAT_MASTER_KEY", testMasterKey],
          ["WORKCAT_HOME", join(tmpdir(), "workcat-test-home")],
          ...Object.entries(extra)
        ])
      )
    ),
    Layer.effectDiscard(
      Effect.clockWith((clock) => ("setTime" in clock ? (clock as TestClock.TestClock).setTime(Date.now()) : Effect.void))
    )
  )

/** The process-wide services against the test database. */
export const TestBase = BaseLive.pipe(Layer.provide(testConfig()))

/** Creates tenants in the registry (role, schema, key), as `workcat tenants add` does; existing ones are kept. */
export const provision = (...tenants: ReadonlyArray<TenantId>) =>
  Layer.effectDiscard(
    Effect.forEach(
      tenants,
      (t) => Effect.flatMap(TenantRegistry, (r) => r.create(t)).pipe(Effect.catchTag("TenantExists", () => Effect.void)),
      { discard: true }
    )
  )

/** The run runtime (with the offline categorizer) against the test database. */
export const TestRuntime = RunsLive.pipe(Layer.provideMerge(OfflineCategorizerLive), Layer.provideMerge(TestBase))

/** A newly provisioned tenant with every pipeline service and the run runtime, against the test database. */
export const testTenantLayer = (tenant: TenantId) =>
  PipelineLive(tenant).pipe(Layer.provide(provision(tenant)), Layer.provideMerge(TestRuntime))

/**
 * `live(name, body)` inside `it.layer(...)((it) => …)`: a test on the real clock, scoped, for tests
 * that wait for real (leases expiring, connections closing, a request kept waiting).
 */
export const liveTests =
  <R>(it: Vitest.MethodsNonLive<R>) =>
  <A, E>(name: string, self: () => Effect.Effect<A, E, R | Scope.Scope>) =>
    it.effect(name, () => TestServices.provideLive(Effect.scoped(self())))
