import { canTransition, IllegalTransition, RunState } from "@workcat/core"
import { ControlSql } from "@workcat/tenancy"
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"

export { RunState }

/** A run as the control plane records it. */
export interface RunRecord {
  readonly id: string
  readonly tenant: string
  readonly pipeline: string
  readonly runKey: string
  readonly state: RunState
  readonly input: unknown
  readonly result: unknown
  readonly error: string | null
  readonly costUsd: number
  readonly createdAt: Date
  readonly queuedAt: Date
  readonly startedAt: Date | null
  readonly finishedAt: Date | null
}

export interface Transition {
  readonly from: RunState | null
  readonly to: RunState
  readonly at: Date
  readonly reason: string
}

/** No run with this id (or not one the caller may see). */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", { runId: Schema.String, message: Schema.String }) {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** How long a restart keeps its run from admission while it resets the run's checkpoints. */
const RESTART_HOLD = "1 minute"

const interval = (ms: number) => `${Math.max(1, Math.round(ms))} milliseconds`

/**
 * The runs of tenant $1 that retention deletes, ended over $2 days ago: untouched since (a STALE
 * run marked lately may be started again), with no live driver (a cancelled body may still be
 * finishing), and not the latest READY run of their pipeline, which the tenant's categories and
 * metrics came from. `created_at` is implied, and lets the planner use `runs_history`.
 */
const EXPIRED = `r.tenant = $1 AND r.state IN ('READY', 'DEGRADED', 'FAILED', 'CANCELLED', 'STALE')
  AND r.created_at < now() - make_interval(days => $2) AND r.updated_at < now() - make_interval(days => $2)
  AND coalesce(r.finished_at, r.updated_at) < now() - make_interval(days => $2)
  AND NOT EXISTS (SELECT 1 FROM run_drivers d WHERE d.run_id = r.id AND d.expires_at > now())
  AND r.id NOT IN (SELECT DISTINCT ON (pipeline) id FROM runs WHERE tenant = $1 AND state = 'READY' ORDER BY pipeline, finished_at DESC, id)`

const COLUMNS = `id, tenant, pipeline, run_key AS "runKey", state, input, result, error, cost_usd::float AS "costUsd",
  created_at AS "createdAt", queued_at AS "queuedAt", started_at AS "startedAt", finished_at AS "finishedAt"`

/**
 * The control plane's half of the run ledger (`workcat.runs`): one row per run key, moved only
 * along the state machine, every move recorded in `run_transitions`; admission of queued runs
 * under a per-tenant limit of processing runs.
 */
export class RunLedger extends Effect.Service<RunLedger>()("workcat/RunLedger", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const select = (where: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<RunRecord>(`SELECT ${COLUMNS} FROM runs WHERE ${where}`, params).pipe(Effect.orDie)

    // Anything else PostgreSQL would refuse as a uuid (22P02), which would surface as a defect.
    const get = (id: string) =>
      (UUID.test(id) ? select("id = $1", [id]) : Effect.succeed([])).pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

    const find = Effect.fn("RunLedger.find")(function* (id: string) {
      const run = yield* get(id)
      if (Option.isNone(run)) return yield* new RunNotFound({ runId: id, message: `No run ${id}` })
      return run.value
    })

    const byKey = (tenant: string, pipeline: string, key: string) =>
      select("tenant = $1 AND pipeline = $2 AND run_key = $3", [tenant, pipeline, key]).pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]))
      )

    /**
     * The run of a key: a new one, queued and admitted if the tenant's `limit` allows, or the
     * existing one untouched. One round trip.
     */
    /**
     * Creates the run of a key, queued, and admits the tenant's queued runs; or finds the key's
     * run. With `driver`, a run created and admitted here is recorded as driven by that worker.
     * `created` tells a new run (with no checkpoints yet) from an existing one.
     */
    const start = Effect.fn("RunLedger.start")(function* (
      tenant: string,
      pipeline: string,
      key: string,
      input: unknown,
      limit: number,
      driver?: { readonly worker: string; readonly ttlMs: number }
    ) {
      const id = randomUUID()
      const rows = yield* sql.unsafe<RunRecord>(`SELECT ${COLUMNS} FROM start_run($1, $2, $3, $4, $5, $6, $7, $8::interval)`, [
        id,
        tenant,
        pipeline,
        key,
        JSON.stringify(input),
        limit,
        driver?.worker ?? null,
        interval(driver?.ttlMs ?? 0)
      ]).pipe(Effect.orDie)
      const run = rows[0]!
      return { run, created: run.id === id }
    })

    /**
     * Ends a PROCESSING run as READY, DEGRADED or FAILED (READY becomes STALE when its inputs
     * changed while it ran), ends `worker`'s driving of it, and admits the tenant's next queued
     * runs, in one round trip; none when the run had ended already (another worker, a cancel).
     */
    const finish = Effect.fn("RunLedger.finish")(function* (
      id: string,
      to: "READY" | "DEGRADED" | "FAILED",
      reason: string,
      options: { readonly result?: unknown; readonly error?: string; readonly limit: number; readonly worker: string }
    ) {
      const rows = yield* sql.unsafe<RunRecord>(`SELECT ${COLUMNS} FROM finish_run($1, $2, $3, $4, $5, $6, $7)`, [
        id,
        to,
        reason,
        options.result === undefined ? null : JSON.stringify(options.result),
        options.error ?? null,
        options.limit,
        options.worker
      ]).pipe(Effect.orDie)
      return Option.fromNullable(rows[0])
    })

    /**
     * Moves a run to `to` if the state machine allows it from its current state, recording why,
     * in one statement that locks the row. `expect` narrows the states it may move from; `hold`
     * keeps a run moved to QUEUED from admission until `release` (or a minute). A STALE run
     * starts over: it forgets when it started and that its inputs changed.
     */
    const transition = Effect.fn("RunLedger.transition")(function* (
      id: string,
      to: RunState,
      reason: string,
      options: {
        readonly expect?: ReadonlyArray<RunState>
        readonly result?: unknown
        readonly error?: string
        readonly hold?: boolean
      } = {}
    ) {
      const from = RunState.literals.filter((s) => canTransition(s, to) && (options.expect === undefined || options.expect.includes(s)))
      const rows = yield* sql.unsafe<RunRecord & { current: RunState | null }>(
        `WITH cur AS (SELECT id, state FROM runs WHERE id = $1 FOR UPDATE),
         moved AS (
           UPDATE runs r SET state = $2, updated_at = now(),
             queued_at   = CASE WHEN $2 = 'QUEUED' THEN now() ELSE r.queued_at END,
             started_at  = CASE WHEN $2 = 'PROCESSING' THEN coalesce(r.started_at, now())
                                WHEN cur.state = 'STALE' THEN NULL ELSE r.started_at END,
             inputs_changed_at = CASE WHEN cur.state = 'STALE' THEN NULL ELSE r.inputs_changed_at END,
             held_until  = CASE WHEN $8::boolean THEN now() + interval '${RESTART_HOLD}' END,
             finished_at = CASE WHEN $2 IN ('READY', 'DEGRADED', 'FAILED', 'CANCELLED') THEN now()
                                WHEN $2 = 'QUEUED' THEN NULL ELSE r.finished_at END,
             result      = CASE WHEN $4::boolean THEN $5::jsonb ELSE r.result END,
             error       = $6
           FROM cur WHERE r.id = cur.id AND cur.state = ANY($3::text[])
           RETURNING r.*, cur.state AS previous
         ),
         recorded AS (INSERT INTO run_transitions (run_id, from_state, to_state, reason) SELECT id, previous, $2, $7 FROM moved)
         SELECT (SELECT state FROM cur) AS current, ${COLUMNS} FROM (SELECT 1) one LEFT JOIN moved ON true`,
        [id, to, from, options.result !== undefined, JSON.stringify(options.result ?? null), options.error ?? null, reason, options.hold === true]
      ).pipe(Effect.orDie)
      const row = rows[0]
      if (row?.current == null) return yield* new RunNotFound({ runId: id, message: `No run ${id}` })
      if (row.id == null) {
        return yield* new IllegalTransition({ runId: id, from: row.current, to, message: `A ${row.current} run cannot become ${to}` })
      }
      const { current: _, ...run } = row
      return run as RunRecord
    })

    /** Starts queued runs of a tenant, oldest first, while fewer than `limit` are processing. */
    const admit = (tenant: string, limit: number) =>
      sql<{ id: string }>`SELECT admit_runs AS id FROM admit_runs(${tenant}, ${limit})`.pipe(
        Effect.map((rows) => rows.map((r) => r.id)),
        Effect.orDie,
        Effect.withSpan("RunLedger.admit")
      )

    /** Lets a run held by `transition` be admitted. */
    const release = (id: string) => sql`UPDATE runs SET held_until = NULL WHERE id = ${id}`.pipe(Effect.orDie, Effect.asVoid)

    /**
     * 1 for the next queued run of its tenant; null when the run is not queued. Compared with the
     * stored row: `queued_at` has microseconds, a JS Date only milliseconds.
     */
    const queuePosition = (run: RunRecord) =>
      run.state !== "QUEUED"
        ? Effect.succeed(null)
        : sql<{ position: number }>`
            SELECT count(*)::int + 1 AS position FROM runs
            WHERE tenant = ${run.tenant} AND state = 'QUEUED'
              AND (queued_at, id) < (SELECT queued_at, id FROM runs WHERE id = ${run.id})`.pipe(
            Effect.map(([r]) => r?.position ?? null),
            Effect.orDie
          )

    /**
     * Records that `worker` drives the run (its body is running), for `ttlMs` unless renewed.
     * While any driver's record is live the run keeps its tenant's slot, whatever its state.
     */
    const driving = (id: string, worker: string, ttlMs: number) =>
      sql`
        INSERT INTO run_drivers (run_id, worker, expires_at) VALUES (${id}, ${worker}, now() + ${interval(ttlMs)}::interval)
        ON CONFLICT (run_id, worker) DO UPDATE SET expires_at = excluded.expires_at`.pipe(Effect.orDie, Effect.asVoid)

    /** Whether a live worker other than `worker` drives the run. */
    const othersDriving = (id: string, worker: string) =>
      sql<{ others: boolean }>`
        SELECT EXISTS (SELECT 1 FROM run_drivers WHERE run_id = ${id} AND worker <> ${worker} AND expires_at > now()) AS others`.pipe(
        Effect.map(([row]) => row?.others === true),
        Effect.orDie
      )

    /** `worker` stopped driving the run: its body is no longer running. */
    const stoppedDriving = (id: string, worker: string) =>
      sql`DELETE FROM run_drivers WHERE run_id = ${id} AND worker = ${worker}`.pipe(Effect.orDie, Effect.asVoid)

    /**
     * PROCESSING runs of a tenant that no live worker drives and that were admitted over
     * `graceMs` ago: their drivers died (or none ever came), and they hold the tenant's slots.
     */
    const abandoned = (tenant: string, graceMs: number) =>
      select(
        `tenant = $1 AND state = 'PROCESSING' AND updated_at <= now() - $2::interval
         AND NOT EXISTS (SELECT 1 FROM run_drivers d WHERE d.run_id = runs.id AND d.expires_at > now())
         ORDER BY queued_at, id`,
        [tenant, interval(graceMs)]
      )

    /** Runs that want work: queued or processing, oldest first. */
    const active = select("state IN ('QUEUED', 'PROCESSING') ORDER BY queued_at", [])

    const history = Effect.fn("RunLedger.history")(function* (tenant: string, page: { readonly limit: number; readonly offset: number }) {
      const items = yield* select(`tenant = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, [tenant, page.limit, page.offset])
      const [count] = yield* sql<{ total: number }>`SELECT count(*)::int AS total FROM runs WHERE tenant = ${tenant}`.pipe(Effect.orDie)
      return { items, total: count?.total ?? 0 }
    })

    /** Each tenant's newest run of a pipeline (by creation): what an operator's view shows. */
    const latestOfEach = Effect.fn("RunLedger.latestOfEach")(function* (pipeline: string) {
      return yield* sql.unsafe<RunRecord>(
        `SELECT DISTINCT ON (tenant) ${COLUMNS} FROM runs WHERE pipeline = $1 ORDER BY tenant, created_at DESC, id`,
        [pipeline]
      ).pipe(Effect.orDie)
    })

    const transitions = (id: string) =>
      sql<Transition>`
        SELECT from_state AS "from", to_state AS "to", at, reason FROM run_transitions WHERE run_id = ${id} ORDER BY id`.pipe(Effect.orDie)

    const addCost = (id: string, usd: number) =>
      usd === 0 ? Effect.void : sql`UPDATE runs SET cost_usd = cost_usd + ${usd} WHERE id = ${id}`.pipe(Effect.orDie, Effect.asVoid)

    /**
     * The inputs of runs with a key in `(after, upTo]` changed. READY runs become STALE. Runs that
     * may hold checkpoints taken from the old inputs (PROCESSING, FAILED, DEGRADED, and QUEUED
     * ones that ran before) are flagged: they end STALE instead of READY. A QUEUED run that
     * never started will read the new inputs.
     */
    const markStale = Effect.fn("RunLedger.markStale")(function* (
      tenant: string,
      pipeline: string,
      keys: { readonly after: string; readonly upTo: string },
      reason: string
    ) {
      const [counts] = yield* sql<{ stale: number; flagged: number }>`
        WITH changed AS (
          UPDATE runs SET
            state             = CASE WHEN state = 'READY' THEN 'STALE' ELSE state END,
            updated_at        = CASE WHEN state = 'READY' THEN now() ELSE updated_at END,
            inputs_changed_at = CASE WHEN state = 'READY' THEN inputs_changed_at ELSE now() END
          WHERE tenant = ${tenant} AND pipeline = ${pipeline} AND run_key > ${keys.after} AND run_key <= ${keys.upTo}
            AND (state IN ('READY', 'PROCESSING', 'FAILED', 'DEGRADED') OR (state = 'QUEUED' AND started_at IS NOT NULL))
          RETURNING id, state
        ), recorded AS (
          INSERT INTO run_transitions (run_id, from_state, to_state, reason)
          SELECT id, 'READY', 'STALE', ${reason} FROM changed WHERE state = 'STALE'
        )
        SELECT count(*) FILTER (WHERE state = 'STALE')::int AS stale, count(*) FILTER (WHERE state <> 'STALE')::int AS flagged
        FROM changed`.pipe(Effect.orDie)
      return counts ?? { stale: 0, flagged: 0 }
    })

    /** The runs retention would delete now (see `EXPIRED`), with their transitions: what a dry run reports. */
    const expired = (tenant: string, days: number) =>
      sql
        .unsafe<{ id: string; transitions: number }>(
          `SELECT r.id::text AS id, (SELECT count(*) FROM run_transitions t WHERE t.run_id = r.id)::int AS transitions
           FROM runs r WHERE ${EXPIRED}`,
          [tenant, days]
        )
        .pipe(Effect.orDie, Effect.withSpan("RunLedger.expired"))

    /**
     * Deletes up to `limit` expired runs of the tenant (see `EXPIRED`) with their transitions and
     * driver records, in one statement; returns their ids, whose checkpoints the caller deletes
     * next. Rows another statement holds are skipped (a restart moving the run), and the rows
     * taken are checked again once locked: a run started again meanwhile stays.
     */
    const deleteExpired = (tenant: string, days: number, limit: number) =>
      sql
        .unsafe<{ id: string; transitions: number }>(
          `WITH doomed AS (SELECT r.id FROM runs r WHERE ${EXPIRED} ORDER BY r.created_at, r.id LIMIT $3 FOR UPDATE OF r SKIP LOCKED),
           transitions AS (DELETE FROM run_transitions WHERE run_id IN (SELECT id FROM doomed) RETURNING 1),
           gone AS (DELETE FROM runs WHERE id IN (SELECT id FROM doomed) RETURNING id)
           SELECT id::text AS id, (SELECT count(*) FROM transitions)::int AS transitions FROM gone`,
          [tenant, days, limit]
        )
        .pipe(
          Effect.map((rows) => ({ ids: rows.map((r) => r.id), transitions: rows[0]?.transitions ?? 0 })),
          Effect.orDie,
          Effect.withSpan("RunLedger.deleteExpired")
        )

    /** Of these run ids, those the ledger still has (checkpoints of the others are left over). */
    const existing = (ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed(new Set<string>())
        : sql<{ id: string }>`SELECT id::text AS id FROM runs WHERE id = ANY(${ids}::uuid[])`.pipe(
            Effect.map((rows) => new Set(rows.map((r) => r.id))),
            Effect.orDie
          )

    /**
     * Claims the tenant's ledger sweep unless one was claimed in the last day (by any worker);
     * true when this caller is to sweep.
     */
    const claimSweep = (tenant: string) =>
      sql`
        INSERT INTO ledger_sweeps (tenant, swept_at) VALUES (${tenant}, now())
        ON CONFLICT (tenant) DO UPDATE SET swept_at = excluded.swept_at, removed = NULL
          WHERE ledger_sweeps.swept_at <= now() - interval '1 day'
        RETURNING 1`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie)

    /** Records what the tenant's last sweep removed. */
    const recordSweep = (tenant: string, removed: unknown) =>
      sql`UPDATE ledger_sweeps SET removed = ${JSON.stringify(removed)}::jsonb WHERE tenant = ${tenant}`.pipe(Effect.orDie, Effect.asVoid)

    return {
      get,
      find,
      byKey,
      start,
      finish,
      transition,
      release,
      admit,
      queuePosition,
      driving,
      stoppedDriving,
      othersDriving,
      abandoned,
      active,
      history,
      latestOfEach,
      transitions,
      addCost,
      markStale,
      expired,
      deleteExpired,
      existing,
      claimSweep,
      recordSweep
    } as const
  })
}) {}
