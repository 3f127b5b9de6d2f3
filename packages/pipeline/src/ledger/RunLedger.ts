import { ControlSql } from "@workcat/tenancy"
import { Effect, Schedule, Schema } from "effect"
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

/** A run's worker refreshes its heartbeat four times within this; past it, the run is taken as lost. */
export const HEARTBEAT_TIMEOUT_SECONDS = 120

/** Another process is running the same key right now. */
export class RunInProgress extends Schema.TaggedError<RunInProgress>()("RunInProgress", {
  runId: Schema.String,
  runKey: Schema.String,
  message: Schema.String
}) {}

/** The control plane's record of pipeline runs (`workcat.runs`). */
export class RunLedger extends Effect.Service<RunLedger>()("workcat/RunLedger", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql

    /**
     * Starts a run of a key, unless one is processing with a live heartbeat; one whose worker
     * stopped beating (killed, machine lost) is marked FAILED and replaced.
     */
    const start = Effect.fn("RunLedger.start")(function* (tenant: string, pipeline: string, runKey: string) {
      const id = randomUUID()
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`${tenant}:${pipeline}:${runKey}`}))`
          const [running] = yield* sql<{ id: string; alive: boolean }>`
            SELECT id, heartbeat_at > now() - ${`${HEARTBEAT_TIMEOUT_SECONDS} seconds`}::interval AS alive
            FROM runs WHERE tenant = ${tenant} AND pipeline = ${pipeline} AND run_key = ${runKey} AND state = 'PROCESSING'`.pipe(Effect.orDie)
          if (running?.alive === true) {
            return yield* new RunInProgress({ runId: running.id, runKey, message: `Run ${running.id} of ${runKey} is processing already` })
          }
          if (running !== undefined) {
            yield* sql`
              UPDATE runs SET state = 'FAILED', finished_at = now(),
                error = ${`worker lost: no heartbeat for ${HEARTBEAT_TIMEOUT_SECONDS} s`}
              WHERE id = ${running.id}`.pipe(Effect.orDie)
          }
          yield* sql`
            INSERT INTO runs (id, tenant, pipeline, run_key, state) VALUES (${id}, ${tenant}, ${pipeline}, ${runKey}, 'PROCESSING')`.pipe(
            Effect.orDie
          )
        })
      ).pipe(Effect.catchTag("SqlError", Effect.die))
      return id
    })

    /** Keeps a run's heartbeat fresh while the calling scope is open. */
    const keepAlive = (id: string) =>
      sql`UPDATE runs SET heartbeat_at = now() WHERE id = ${id}`.pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(`${HEARTBEAT_TIMEOUT_SECONDS / 4} seconds`)),
        Effect.forkScoped,
        Effect.asVoid
      )

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

    return { start, keepAlive, finish, history } as const
  })
}) {}
