import type { TenantId } from "@workcat/tenancy"
import { Effect, Option, Schema } from "effect"
import type { ExecuteOptions } from "../durable/Executor.js"
import type { RunRecord } from "../durable/RunLedger.js"
import { Runs } from "../durable/Runs.js"
import { type NightlySummary, NightlySummary as NightlySummarySchema } from "./Nightly.js"

export interface NightlyOutcome {
  readonly run: RunRecord
  /** The run's report, when it got as far as materializing. */
  readonly summary: NightlySummary | null
}

/** Starts (or resumes, or returns) a tenant's night and drives it to its end from this process. */
export const runNightly = (
  tenant: TenantId,
  date: string,
  options: ExecuteOptions & { readonly onQueued?: (position: number | null) => void } = {}
) =>
  Effect.gen(function* () {
    const runs = yield* Runs
    const { run } = yield* runs.start("nightly", tenant, { date })
    const finished = yield* runs.await(run, options)
    return { run: finished, summary: Option.getOrNull(Schema.decodeUnknownOption(NightlySummarySchema)(finished.result)) } satisfies NightlyOutcome
  })
