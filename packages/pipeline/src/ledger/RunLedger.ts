import { ControlSql } from "@workcat/tenancy"
import { Effect, Schema } from "effect"
import { randomUUID } from "node:crypto"

/** The states a run moves through. */
export const RunState = Schema.Literal("QUEUED", "PROCESSING", "READY", "DEGRADED", "FAILED", "STALE", "CANCELLED")
export type RunState = typeof RunState.Type

export interface RunRecord {
  readonly id: string
  readonly tenant: string
  readonly pipeline: string
  readonly runKey: string
  readonly state: RunState
  readonly createdAt: Date
  readonly finishedAt: Date | null
  readonly summary: unknown
  readonly error: string | null
}

/** The control plane's record of pipeline runs (`workcat.runs`). */
export class RunLedger extends Effect.Service<RunLedger>()("workcat/RunLedger", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql

    const start = Effect.fn("RunLedger.start")(function* (tenant: string, pipeline: string, runKey: string) {
      const id = randomUUID()
      yield* sql`INSERT INTO runs (id, tenant, pipeline, run_key, state) VALUES (${id}, ${tenant}, ${pipeline}, ${runKey}, 'PROCESSING')`
      return id
    }, Effect.orDie)

    const finish = Effect.fn("RunLedger.finish")(function* (id: string, state: RunState, summary: unknown, error?: string) {
      yield* sql`
        UPDATE runs SET state = ${state}, finished_at = now(), summary = ${JSON.stringify(summary)}, error = ${error ?? null}
        WHERE id = ${id}`
    }, Effect.orDie)

    const history = Effect.fn("RunLedger.history")(function* (tenant: string, limit: number) {
      return yield* sql<RunRecord>`
        SELECT id, tenant, pipeline, run_key AS "runKey", state, created_at AS "createdAt", finished_at AS "finishedAt",
               summary, error
        FROM runs WHERE tenant = ${tenant} ORDER BY created_at DESC LIMIT ${limit}`
    }, Effect.orDie)

    return { start, finish, history } as const
  })
}) {}
