import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { drain } from "./Batches.js"

/** A stage checkpoint: what a stage produced, or that a worker holds it. */
export interface StageRow {
  readonly stage: string
  readonly ordinal: number
  readonly kind: "step" | "fanout"
  readonly state: "RUNNING" | "DONE" | "FAILED"
  readonly result: unknown
  readonly error: string | null
  readonly leaseOwner: string | null
  readonly leaseLive: boolean
}

export interface ItemRow {
  readonly key: string
  readonly state: "PENDING" | "CLAIMED" | "DONE" | "FAILED"
  readonly payload: unknown
  readonly result: unknown
  readonly error: string | null
  readonly attempts: number
}

export interface StageProgress {
  readonly stage: string
  readonly ordinal: number
  readonly kind: string
  readonly state: string
  readonly total: number
  readonly done: number
  readonly failed: number
  readonly inFlight: number
}

const seconds = (ms: number) => `${Math.max(1, Math.round(ms / 1000))} seconds`

/**
 * The tenant's half of the run ledger: stage outputs and fan-out items, each checkpointed
 * before anything depends on it, claimed with leases (`FOR UPDATE SKIP LOCKED`) so workers
 * share a run and take over a dead worker's items once its lease expires.
 */
export class Checkpoints extends Effect.Service<Checkpoints>()("workcat/Checkpoints", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const stage = (runId: string, name: string) =>
      sql<StageRow>`
        SELECT stage, ordinal, kind, state, result, error, lease_owner AS "leaseOwner",
               coalesce(lease_expires_at > now(), false) AS "leaseLive"
        FROM run_stages WHERE run_id = ${runId} AND stage = ${name}`.pipe(Effect.map((rows) => rows[0]))

    /**
     * Takes a once-stage for this worker: a new one, or one whose holder's lease expired (a
     * finished stage stays finished until a retry resets it). Returns the stage after the
     * attempt, held by this worker or not; one round trip.
     */
    const claimStage = (runId: string, name: string, kind: StageRow["kind"], ordinal: number, worker: string, leaseMs: number) =>
      Effect.gen(function* () {
        const [taken] = yield* sql<StageRow>`
          INSERT INTO run_stages (run_id, stage, ordinal, kind, state, lease_owner, lease_expires_at)
          VALUES (${runId}, ${name}, ${ordinal}, ${kind}, 'RUNNING', ${worker}, now() + ${seconds(leaseMs)}::interval)
          ON CONFLICT (run_id, stage) DO UPDATE
            SET lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at, state = 'RUNNING', error = NULL
            WHERE run_stages.kind = 'step' AND run_stages.state = 'RUNNING'
              AND (run_stages.lease_expires_at IS NULL OR run_stages.lease_expires_at <= now())
          RETURNING stage, ordinal, kind, state, result, error, lease_owner AS "leaseOwner", true AS "leaseLive"`
        return taken ?? (yield* stage(runId, name))!
      })

    /** Every stage checkpoint of a run, read once when a worker starts driving it. */
    const stages = (runId: string) =>
      sql<StageRow>`
        SELECT stage, ordinal, kind, state, result, error, lease_owner AS "leaseOwner",
               coalesce(lease_expires_at > now(), false) AS "leaseLive"
        FROM run_stages WHERE run_id = ${runId}`.pipe(Effect.map((rows) => new Map(rows.map((r) => [r.stage, r]))))

    /**
     * Checkpoints a step's outcome and returns the checkpoint that counts. A success replaces
     * anything but an earlier success (the first DONE is kept). A failure is written only over
     * this worker's hold of the stage, or a hold that lapsed; while another worker holds the
     * stage, the stage is returned still RUNNING (its holder's outcome will count).
     */
    const recordStage = (
      runId: string,
      name: string,
      ordinal: number,
      worker: string,
      outcome: { readonly result: unknown } | { readonly error: string }
    ) =>
      Effect.gen(function* () {
        const [written] = yield* sql<StageRow>`
          INSERT INTO run_stages (run_id, stage, ordinal, kind, state, result, error, finished_at)
          VALUES (${runId}, ${name}, ${ordinal}, 'step', ${"error" in outcome ? "FAILED" : "DONE"},
                  ${"result" in outcome ? JSON.stringify(outcome.result) : null}::jsonb, ${"error" in outcome ? outcome.error : null}, now())
          ON CONFLICT (run_id, stage) DO UPDATE SET state = excluded.state, result = excluded.result, error = excluded.error,
            finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
            WHERE run_stages.kind = 'step' AND CASE
              WHEN excluded.state = 'DONE' THEN run_stages.state <> 'DONE'
              ELSE run_stages.state = 'RUNNING' AND (run_stages.lease_owner IS NULL OR run_stages.lease_owner = ${worker}
                                                     OR run_stages.lease_expires_at <= now())
            END
          RETURNING stage, ordinal, kind, state, result, error, lease_owner AS "leaseOwner", false AS "leaseLive"`
        return written ?? (yield* stage(runId, name))!
      })

    /** Registers a fan-out stage (shared by every worker, so never leased). */
    const openFanOut = (runId: string, name: string, ordinal: number) =>
      sql`
        INSERT INTO run_stages (run_id, stage, ordinal, kind, state) VALUES (${runId}, ${name}, ${ordinal}, 'fanout', 'RUNNING')
        ON CONFLICT (run_id, stage) DO NOTHING`.pipe(Effect.zipRight(stage(runId, name)), Effect.map((row) => row!))

    const closeFanOut = (runId: string, name: string) =>
      sql`UPDATE run_stages SET state = 'DONE', finished_at = now() WHERE run_id = ${runId} AND stage = ${name} AND state = 'RUNNING'`.pipe(
        Effect.asVoid
      )

    /**
     * Registers a fan-out's items; on resume they exist already and keep their state. A large
     * batch refreshes the table's statistics, so claims plan as index range scans at once.
     */
    const seedItems = (runId: string, name: string, items: ReadonlyArray<{ readonly key: string; readonly payload: unknown }>) =>
      items.length === 0
        ? Effect.void
        : sql`
            INSERT INTO run_items (run_id, stage, item_key, state, payload)
            SELECT ${runId}, ${name}, k, 'PENDING', p::jsonb
            FROM unnest(${items.map((i) => i.key)}::text[], ${items.map((i) => JSON.stringify(i.payload))}::text[]) AS t(k, p)
            ON CONFLICT DO NOTHING`.pipe(Effect.zipRight(items.length >= 500 ? Effect.asVoid(sql`ANALYZE run_items`) : Effect.void), Effect.asVoid)

    /**
     * Claims up to `limit` pending items after key `after` for this worker. Scanning from a cursor
     * skips the index entries of items already taken, which a queue table accumulates until
     * vacuum; the candidates are a materialized CTE, since as a subquery in FROM a rescan could
     * claim more than `limit`.
     */
    const claimItems = (runId: string, name: string, worker: string, limit: number, leaseMs: number, after: string) =>
      sql<{ key: string; payload: unknown; attempts: number }>`
        WITH next AS MATERIALIZED (
          SELECT item_key FROM run_items
          WHERE run_id = ${runId} AND stage = ${name} AND state = 'PENDING' AND item_key > ${after}
          ORDER BY item_key LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        ), keys AS (SELECT array_agg(item_key) AS keys FROM next)
        UPDATE run_items i SET state = 'CLAIMED', lease_owner = ${worker}, lease_expires_at = now() + ${seconds(leaseMs)}::interval,
          attempts = i.attempts + 1, updated_at = now()
        FROM keys
        WHERE i.run_id = ${runId} AND i.stage = ${name} AND i.item_key = ANY (keys.keys)
        RETURNING i.item_key AS key, i.payload, i.attempts`

    /** Takes over items whose worker's lease expired (it died, or lost its connection): they become pending. */
    const releaseExpired = (runId: string, name: string) =>
      sql`
        UPDATE run_items SET state = 'PENDING', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE run_id = ${runId} AND stage = ${name} AND state = 'CLAIMED' AND lease_expires_at <= now()
        RETURNING 1`.pipe(Effect.map((rows) => rows.length))

    /** Records an item's outcome if this worker still holds it; false when its lease was lost. */
    const finishItem = (runId: string, name: string, key: string, worker: string, outcome: { readonly result: unknown } | { readonly error: string }) =>
      sql`
        UPDATE run_items SET state = ${"error" in outcome ? "FAILED" : "DONE"},
          result = ${"result" in outcome ? JSON.stringify(outcome.result) : null}::jsonb,
          error = ${"error" in outcome ? outcome.error : null}, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE run_id = ${runId} AND stage = ${name} AND item_key = ${key} AND state = 'CLAIMED' AND lease_owner = ${worker}
        RETURNING 1`.pipe(Effect.map((rows) => rows.length > 0))

    /** Extends every lease this worker holds in the run (items and stages). */
    const heartbeat = (runId: string, worker: string, leaseMs: number) =>
      Effect.all(
        [
          sql`UPDATE run_items SET lease_expires_at = now() + ${seconds(leaseMs)}::interval
              WHERE run_id = ${runId} AND lease_owner = ${worker} AND state = 'CLAIMED'`,
          sql`UPDATE run_stages SET lease_expires_at = now() + ${seconds(leaseMs)}::interval
              WHERE run_id = ${runId} AND lease_owner = ${worker} AND state = 'RUNNING'`
        ],
        { discard: true }
      )

    const itemCounts = (runId: string, name: string) =>
      sql<{ total: number; open: number; failed: number }>`
        SELECT count(*)::int AS total, count(*) FILTER (WHERE state IN ('PENDING', 'CLAIMED'))::int AS open,
               count(*) FILTER (WHERE state = 'FAILED')::int AS failed
        FROM run_items WHERE run_id = ${runId} AND stage = ${name}`.pipe(Effect.map((rows) => rows[0]!))

    const items = (runId: string, name: string) =>
      sql<ItemRow>`
        SELECT item_key AS key, state, payload, result, error, attempts FROM run_items
        WHERE run_id = ${runId} AND stage = ${name} ORDER BY item_key`

    const failedItems = (runId: string, limit: number) =>
      sql<{ stage: string; key: string; error: string; attempts: number }>`
        SELECT stage, item_key AS key, error, attempts FROM run_items
        WHERE run_id = ${runId} AND state = 'FAILED' ORDER BY stage, item_key LIMIT ${limit}`

    const failedCount = (runId: string) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM run_items WHERE run_id = ${runId} AND state = 'FAILED'`.pipe(
        Effect.map((rows) => rows[0]!.n)
      )

    const progress = (runId: string) =>
      sql<StageProgress>`
        SELECT s.stage, s.ordinal, s.kind, s.state,
               count(i.item_key)::int AS total,
               count(i.item_key) FILTER (WHERE i.state = 'DONE')::int AS done,
               count(i.item_key) FILTER (WHERE i.state = 'FAILED')::int AS failed,
               count(i.item_key) FILTER (WHERE i.state = 'CLAIMED')::int AS "inFlight"
        FROM run_stages s LEFT JOIN run_items i ON i.run_id = s.run_id AND i.stage = s.stage
        WHERE s.run_id = ${runId} GROUP BY s.stage, s.ordinal, s.kind, s.state ORDER BY s.ordinal`

    /**
     * Prepares a retry: failed items run again, and every stage from the first one with a
     * failure on is redone (later stages consumed the failed results).
     */
    const resetFailed = (runId: string) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const [first] = yield* sql<{ ordinal: number | null }>`
            SELECT min(s.ordinal) AS ordinal FROM run_stages s
            WHERE s.run_id = ${runId} AND (s.state = 'FAILED'
              OR EXISTS (SELECT 1 FROM run_items i WHERE i.run_id = s.run_id AND i.stage = s.stage AND i.state = 'FAILED'))`
          yield* sql`UPDATE run_items SET state = 'PENDING', error = NULL, updated_at = now() WHERE run_id = ${runId} AND state = 'FAILED'`
          if (first?.ordinal != null) {
            yield* sql`DELETE FROM run_stages WHERE run_id = ${runId} AND ordinal >= ${first.ordinal} AND kind = 'step'`
            yield* sql`UPDATE run_stages SET state = 'RUNNING', lease_owner = NULL, lease_expires_at = NULL
                       WHERE run_id = ${runId} AND ordinal >= ${first.ordinal} AND kind = 'fanout'`
          }
        })
      )

    /** Forgets everything checkpointed for a run: its inputs changed, it starts over. */
    const clear = (runId: string) =>
      Effect.all([sql`DELETE FROM run_items WHERE run_id = ${runId}`, sql`DELETE FROM run_stages WHERE run_id = ${runId}`], {
        discard: true
      })

    /**
     * Retention: deletes the checkpoints of runs the ledger no longer has (it deleted them
     * first, so no worker can drive them), `batch` rows a statement.
     */
    const forget = (runIds: ReadonlyArray<string>, batch: number) =>
      runIds.length === 0
        ? Effect.succeed({ items: 0, stages: 0 })
        : Effect.all({
            items: drain(
              sql`DELETE FROM run_items WHERE ctid = ANY(ARRAY(SELECT ctid FROM run_items WHERE run_id = ANY(${runIds}::uuid[]) LIMIT ${batch}))
                  RETURNING 1`.pipe(Effect.map((rows) => rows.length)),
              batch
            ),
            stages: drain(
              sql`DELETE FROM run_stages WHERE ctid = ANY(ARRAY(SELECT ctid FROM run_stages WHERE run_id = ANY(${runIds}::uuid[]) LIMIT ${batch}))
                  RETURNING 1`.pipe(Effect.map((rows) => rows.length)),
              batch
            )
          })

    /** Fan-out items of these keys in any run (their subjects were forgotten meanwhile): none is retried or counted. */
    const dropItemsOf = (keys: ReadonlyArray<string>) =>
      keys.length === 0 ? Effect.void : Effect.asVoid(sql`DELETE FROM run_items WHERE item_key = ANY(${keys}::text[])`)

    /**
     * Right to forget: a person's fan-out items in any run, and every stage output naming their
     * pseudonym (a retry recomputes it). Rows deleted per table.
     */
    const forgetPerson = (userId: string) =>
      Effect.all({
        run_items: sql`DELETE FROM run_items WHERE item_key = ${userId} RETURNING 1`.pipe(Effect.map((rows) => rows.length)),
        run_stages: sql`DELETE FROM run_stages WHERE strpos(result::text, ${userId}) > 0 RETURNING 1`.pipe(Effect.map((rows) => rows.length))
      })

    /** Key rotation: every checkpoint holds pseudonyms under the old key; they all go (a run retried afterwards starts over). */
    const clearAll = Effect.all([sql`DELETE FROM run_items`, sql`DELETE FROM run_stages`], { discard: true })

    /** The checkpoint rows of these runs: what `forget` would delete. */
    const countOf = (runIds: ReadonlyArray<string>) =>
      sql<{ items: number; stages: number }>`
        SELECT (SELECT count(*) FROM run_items WHERE run_id = ANY(${runIds}::uuid[]))::int AS items,
               (SELECT count(*) FROM run_stages WHERE run_id = ANY(${runIds}::uuid[]))::int AS stages`.pipe(Effect.map((rows) => rows[0]!))

    /** Up to `limit` runs with a stage started over `days` ago: where checkpoints of runs the ledger lost are found. */
    const runsStartedBefore = (days: number, limit: number) =>
      sql<{ runId: string }>`
        SELECT DISTINCT run_id::text AS "runId" FROM run_stages WHERE started_at < now() - make_interval(days => ${days}) LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map((r) => r.runId))
      )

    const orDie =
      <Args extends ReadonlyArray<unknown>, A, E, R>(f: (...args: Args) => Effect.Effect<A, E, R>) =>
      (...args: Args) =>
        Effect.orDie(f(...args))

    return {
      stage: orDie(stage),
      stages: orDie(stages),
      recordStage: orDie(recordStage),
      claimStage: orDie(claimStage),
      openFanOut: orDie(openFanOut),
      closeFanOut: orDie(closeFanOut),
      seedItems: orDie(seedItems),
      claimItems: orDie(claimItems),
      releaseExpired: orDie(releaseExpired),
      finishItem: orDie(finishItem),
      heartbeat: orDie(heartbeat),
      itemCounts: orDie(itemCounts),
      items: orDie(items),
      failedItems: orDie(failedItems),
      failedCount: orDie(failedCount),
      progress: orDie(progress),
      resetFailed: orDie(resetFailed),
      clear: orDie(clear),
      forget: orDie(forget),
      dropItemsOf: orDie(dropItemsOf),
      forgetPerson: orDie(forgetPerson),
      clearAll: Effect.orDie(clearAll),
      countOf: orDie(countOf),
      runsStartedBefore: orDie(runsStartedBefore)
    } as const
  })
}) {}
