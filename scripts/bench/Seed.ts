import { type IsoDate } from "@workcat/core"
import { fileValues, generate, type GeneratedFiles, generateIndependent, HrIngest, Ingest, PipelineLive } from "@workcat/pipeline"
import { type SettingsPatch, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The benchmarks' run date: the day after the last generated day. */
export const END = "2026-11-23" as IsoDate

/** A tenant of this id, created afresh (one left by an earlier run is removed), with these settings. */
const freshTenant = (tenant: TenantId, patch: SettingsPatch) =>
  Effect.gen(function* () {
    const registry = yield* TenantRegistry
    yield* registry.remove(tenant).pipe(Effect.catchTag("TenantNotFound", () => Effect.void))
    yield* registry.create(tenant)
    yield* registry.update(tenant, patch)
  })

/** A generated company of `employees` people over 90 days (the data depends on the tenant id and seed only, so runs are comparable). */
export const generateFor = (tenant: TenantId, employees: number, seed: string) =>
  generate({ tenant, employees, days: 90, seed, end: END, out: mkdtempSync(join(tmpdir(), "workcat-bench-")) })

/** A fresh tenant with these settings and a generated company's files ingested (HR and Okta events; several tenants may share them). */
export const seedTenant = (tenant: TenantId, patch: SettingsPatch, files: GeneratedFiles) =>
  Effect.gen(function* () {
    yield* freshTenant(tenant, patch)
    yield* Effect.gen(function* () {
      yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
      yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
    }).pipe(Effect.provide(PipelineLive(tenant)))
  })

/** A fresh tenant with the independent generator's company of this seed ingested (SSO events only); returns its files. */
export const seedIndependent = (tenant: TenantId, employees: number, seed: string) =>
  Effect.gen(function* () {
    yield* freshTenant(tenant, {})
    const files = yield* generateIndependent({ tenant, employees, days: 90, seed, end: END, out: mkdtempSync(join(tmpdir(), "workcat-bench-")) })
    yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events })).pipe(Effect.provide(PipelineLive(tenant)))
    return files
  })
