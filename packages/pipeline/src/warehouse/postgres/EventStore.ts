import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import type { AccessEvent } from "@workcat/core"
import { Bulk, CurrentTenant } from "@workcat/tenancy"
import { Effect, Schedule } from "effect"
import { refusesData, sqlState } from "../../db/SqlErrors.js"
import { type Inserted, noneInserted } from "../EventWarehouse.js"


/** The day of a partition's name, `sso_events_pYYYYMMDD`. */
export const partitionDay = (name: string) => `${name.slice(12, 16)}-${name.slice(16, 18)}-${name.slice(18, 20)}`

/** The name of a day's partition. */
export const partitionOf = (day: string) => `sso_events_p${day.replaceAll("-", "")}`

/** The raw events' day partitions before `cutoff` (an ISO day), oldest first. */
export const partitionsBefore = (cutoff: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'sso_events'::regclass AND c.relname < ${partitionOf(cutoff)}
      ORDER BY 1`
  ).pipe(Effect.map((rows) => rows.map((r) => r.name).filter((name) => /^sso_events_p\d{8}$/.test(name))))

/** Pseudonyms computed under an old key must not be stored next to re-keyed ones. */
const rotatedMeanwhile = Effect.dieMessage(
  "The tenant's pseudonymization key was rotated while this intake ran; run it again (intake is idempotent)"
)

const DAY_MS = 86_400_000
const EVENT_COLUMNS = "provider, event_id, event_type, occurred_at, user_id, app, app_name, outcome, auth_steps, session_id, country"
export const COPY_EVENTS = `COPY sso_events (${EVENT_COLUMNS}) FROM STDIN`

/** A value in COPY's text format: `\N` for null, backslash escapes for the characters that delimit rows and columns. */
const copyValue = (value: string | null) =>
  value === null ? "\\N" : /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" }

/** The events as COPY rows of `sso_events`, and their days in order (as `upsert` marks them), the first and last too. */
export const copyRows = (events: ReadonlyArray<AccessEvent>) => {
  let rows = ""
  const markedDays = new Set<number>()
  for (const e of events) {
    // The provider is one of three names and pseudonyms are hex: only the rest can need escapes.
    rows += `${e.provider}\t${copyValue(e.eventId)}\t${copyValue(e.eventType)}\t${e.occurredAt.toISOString()}\t${e.userId ?? "\\N"}\t${copyValue(e.app)}\t${copyValue(e.appName)}\t${copyValue(e.outcome)}\t${e.authSteps}\t${e.sessionId ?? "\\N"}\t${copyValue(e.country)}\n`
    markedDays.add(Math.floor(e.occurredAt.getTime() / DAY_MS))
  }
  const days = [...markedDays].sort((a, b) => a - b).map((day) => new Date(day * DAY_MS).toISOString().slice(0, 10))
  return { rows, markedDays: days, firstDay: days[0] ?? null, lastDay: days.at(-1) ?? null }
}

const DEADLOCK = "40P01"
const UNIQUE_VIOLATION = "23505"

/** After a COPY met an event already stored (a re-delivery, a re-ingest), this many batches take the slower, conflict-tolerant INSERT. */
const INSERT_AFTER_CONFLICT = 20

/** Deadlocks between concurrent rollup upserts are resolved by PostgreSQL aborting one: retry it. */
const deadlockRetry = Schedule.exponential("20 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
const retryDeadlock = <A, R>(self: Effect.Effect<A, SqlError, R>) =>
  Effect.retry(self, {
    schedule: deadlockRetry,
    while: (e) => sqlState(e) === DEADLOCK
  })

/**
 * Raw events (one COPY or one statement per batch, idempotent on the provider's event id) and their daily
 * rollup `user_app_daily`. The rollup is not updated row by row: a batch marks the days it
 * changed, and `settle` recomputes those days from the raw events, so a re-ingest changes
 * nothing and a bulk load costs one aggregate per day instead of an upsert per event.
 */
export class EventStore extends Effect.Service<EventStore>()("workcat/EventStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bulk = yield* Bulk
    const { keyVersion } = yield* CurrentTenant

    const checkVersion = (lock: Effect.Effect<ReadonlyArray<{ keyVersion: number }>, SqlError>) =>
      lock.pipe(
        Effect.orDie,
        Effect.flatMap(([row]) => (row?.keyVersion === keyVersion ? Effect.void : rotatedMeanwhile))
      )
    /**
     * Holds a share lock on the tenant's key version for the rest of the transaction: a key
     * rotation (or a forget) waits for it, and a writer whose pseudonyms are under an old key stops.
     */
    const holdKeyVersion = checkVersion(sql`SELECT key_version AS "keyVersion" FROM tenant_state FOR SHARE`)
    /** The same, exclusive: no other writer of per-person data runs until the transaction ends. */
    const lockKeyVersion = checkVersion(sql`SELECT key_version AS "keyVersion" FROM tenant_state FOR UPDATE`)

    /** The tenant's key version as stored now: a process holding an older one is out of date. */
    const storedKeyVersion = sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state`.pipe(
      Effect.map(([row]) => row?.keyVersion)
    )

    /** The day partitions this process knows exist; a new day is created before its first insert. */
    const partitions = new Set<string>()
    let loaded = false
    /**
     * Whether a day's partition exists (as far as this process knows, after reading the list
     * once): an intake bounds how many new days it creates.
     */
    const hasDay = Effect.suspend(() =>
      loaded
        ? Effect.succeed((day: string) => partitions.has(day))
        : sql<{ name: string }>`
            SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'sso_events'::regclass`.pipe(
            Effect.orDie,
            Effect.map((rows) => {
              for (const { name } of rows) partitions.add(partitionDay(name))
              loaded = true
              return (day: string) => partitions.has(day)
            })
          )
    )
    /** Creates the partitions of these days (ISO dates) if missing, in a statement of its own. */
    const ensureDays = (days: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        const missing = days.filter((day) => !partitions.has(day)).sort()
        return missing.length === 0
          ? Effect.void
          : sql`SELECT ensure_sso_partitions(${missing}::date[])`.pipe(
              Effect.asVoid,
              Effect.tap(() => missing.forEach((day) => partitions.add(day)))
            )
      })
    const ensurePartitions = (events: ReadonlyArray<AccessEvent>) =>
      Effect.suspend(() => {
        const missing = new Set<string>()
        let known = -1 // the last day seen (events come mostly in time order): skips the lookups
        for (const e of events) {
          const dayNumber = Math.floor(e.occurredAt.getTime() / DAY_MS)
          if (dayNumber === known) continue
          known = dayNumber
          const day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
          if (!partitions.has(day)) missing.add(day)
        }
        // Its own short transaction: creating a partition locks the parent table.
        return ensureDays([...missing])
      })

    /**
     * The fast path of a batch that stores only new events: one COPY into the partitioned table,
     * under the key-version guard, with the rollup marks of its days. A batch holding an event
     * already stored fails here as a whole (unique violation), and so does one with a value
     * PostgreSQL refuses: both go the `INSERT` way, which skips the first and finds the second.
     */
    const copy = (events: ReadonlyArray<AccessEvent>) =>
      bulk.transaction((tx) =>
        Effect.gen(function* () {
          yield* checkVersion(tx.query<{ keyVersion: number }>(`SELECT key_version AS "keyVersion" FROM tenant_state FOR SHARE`))
          const { firstDay, lastDay, markedDays, rows } = copyRows(events)
          const inserted = yield* tx.copyFrom(COPY_EVENTS, rows)
          if (markedDays.length > 0) {
            yield* tx.query(`INSERT INTO rollup_dirty (day) SELECT unnest($1::date[]) ON CONFLICT (day) DO UPDATE SET marked_at = now()`, [markedDays])
          }
          return { inserted, firstDay, lastDay } satisfies Inserted
        })
      )
    let insertOnly = 0

    /** Writes the events not stored yet (one statement per batch, idempotent on the provider's event id). */
    const upsert = (events: ReadonlyArray<AccessEvent>) =>
      Effect.gen(function* () {
        // One JSON parameter (serialized natively) rather than a text array per column.
        const rows = yield* sql<{ inserted: number; current: number; firstDay: string | null; lastDay: string | null }>`
          WITH guard AS (
            SELECT key_version FROM tenant_state WHERE key_version = ${keyVersion} FOR SHARE
          ), input AS (
            SELECT provider, "eventId", "eventType", "occurredAt", "userId", app, "appName", outcome, "authSteps", "sessionId", country
            FROM json_to_recordset(${JSON.stringify(events)}::json) AS t(
              provider text, "eventId" text, "eventType" text, "occurredAt" timestamptz, "userId" text, app text,
              "appName" text, outcome text, "authSteps" smallint, "sessionId" text, country text)
          ), inserted AS (
            INSERT INTO sso_events (${sql.literal(EVENT_COLUMNS)})
            SELECT * FROM input WHERE EXISTS (SELECT 1 FROM guard)
            ON CONFLICT (provider, event_id, occurred_at) DO NOTHING
            RETURNING user_id, app, occurred_at
          ), dirty AS (
            -- The rollup of these days is now behind: mark them, holding the marks' row locks until
            -- commit, so a settle that recomputes a day waits for this batch (see settle).
            INSERT INTO rollup_dirty (day)
            SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM inserted ORDER BY 1
            ON CONFLICT (day) DO UPDATE SET marked_at = now()
          )
          SELECT (SELECT count(*)::int FROM inserted) AS inserted, (SELECT count(*)::int FROM guard) AS current,
                 (SELECT min(occurred_at AT TIME ZONE 'UTC')::date FROM inserted) AS "firstDay",
                 (SELECT max(occurred_at AT TIME ZONE 'UTC')::date FROM inserted) AS "lastDay"`.pipe(retryDeadlock)
        const [row] = rows
        if (row?.current !== 1) return yield* rotatedMeanwhile
        return { inserted: row.inserted, firstDay: row.firstDay, lastDay: row.lastDay } satisfies Inserted
      })

    /**
     * Stores a batch: by COPY when it is all new (a bulk load, the usual intake), else by the
     * conflict-tolerant INSERT, which also fails with the `SqlError` when PostgreSQL refuses a
     * value, so the caller can find the offending rows.
     */
    const insert = Effect.fn("EventStore.insert")(function* (events: ReadonlyArray<AccessEvent>) {
      if (events.length === 0) return noneInserted
      yield* ensurePartitions(events)
      if (insertOnly > 0) {
        insertOnly--
        return yield* upsert(events)
      }
      return yield* copy(events).pipe(
        Effect.catchIf(
          (e) => refusesData(e) || sqlState(e) === DEADLOCK,
          (e) => {
            if (sqlState(e) === UNIQUE_VIOLATION) insertOnly = INSERT_AFTER_CONFLICT
            return upsert(events)
          }
        )
      )
    })

    /** Serializes the builders of window sums with the settles and forgets that invalidate them (until commit). */
    const lockWindowSums = sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.window_sums'))`.pipe(Effect.asVoid)
    /** Removes the window sums (see `WindowSums`) the condition on `window_sums` selects: their catalog rows and tables. */
    const dropWindowSums = (where: Fragment) =>
      Effect.gen(function* () {
        const gone = yield* sql<{ name: string }>`DELETE FROM window_sums WHERE ${where} RETURNING name`
        for (const { name } of gone) yield* sql`DROP TABLE IF EXISTS ${sql(`${name}_apps`)}, ${sql(`${name}_users`)}`
        return gone.length
      })

    /**
     * Retention: drops the raw events' day partitions before `cutoff` (an ISO day), and the
     * rollup's rows of those days. Returns the days dropped.
     */
    const dropBefore = Effect.fn("EventStore.dropBefore")(function* (cutoff: string) {
      const old = yield* partitionsBefore(cutoff).pipe(Effect.provideService(SqlClient.SqlClient, sql))
      for (const name of old) {
        yield* sql`DROP TABLE IF EXISTS ${sql(name)}`
        partitions.delete(partitionDay(name))
      }
      yield* Effect.all([
        lockWindowSums,
        dropWindowSums(sql`as_of - profile_days < ${cutoff}::date`),
        sql`DELETE FROM user_app_daily WHERE day < ${cutoff}::date`,
        sql`DELETE FROM users_seen WHERE last_day < ${cutoff}::date`,
        sql`DELETE FROM rollup_dirty WHERE day < ${cutoff}::date`
      ]).pipe(sql.withTransaction)
      return old.length
    }, Effect.orDie)

    /**
     * Brings the daily rollup up to date: every day whose events changed since it was last rolled
     * up is recomputed from the raw events, in one transaction. Readers of `user_app_daily` call
     * it first; an intake that wrote many events calls it at its end. An intake marks a day while
     * inserting, holding the mark until it commits, and this takes the marks `FOR UPDATE`: so it
     * either waits for that intake and then sees its events, or runs first and leaves the day
     * marked again by it. A crash leaves the marks, and the next settle does the work. With
     * `before` (an ISO day), only the days before it: a bulk load settles the days it has moved
     * past while it goes on writing later ones.
     */
    const settleDays = (before: string | null) => Effect.gen(function* () {
      const days = yield* sql<{ day: string }>`
        SELECT day::text AS day FROM rollup_dirty ${before === null ? sql`` : sql`WHERE day < ${before}::date`} ORDER BY day FOR UPDATE`
      if (days.length === 0) return 0
      yield* holdKeyVersion
      // The window sums holding these days no longer match the rollup: they go, under the lock
      // their builders take, so none is being built from the days as they were.
      yield* lockWindowSums
      yield* dropWindowSums(sql`EXISTS (SELECT 1 FROM unnest(${days.map((d) => d.day)}::date[]) AS d WHERE d >= as_of - profile_days AND d < as_of)`)
      for (const { day } of days) {
        yield* sql`DELETE FROM user_app_daily WHERE day = ${day}::date`
        yield* sql`
          INSERT INTO user_app_daily (user_id, day, app, accesses, auth_steps)
          SELECT user_id, ${day}::date, app, count(*), sum(auth_steps)
          FROM sso_events
          WHERE occurred_at >= (${day}::date::timestamp AT TIME ZONE 'UTC')
            AND occurred_at < ((${day}::date + 1)::timestamp AT TIME ZONE 'UTC')
            AND app IS NOT NULL AND user_id IS NOT NULL
          GROUP BY user_id, app`
      }
      yield* sql`
        INSERT INTO users_seen (user_id, last_day)
        SELECT user_id, max(day) FROM user_app_daily WHERE day = ANY(${days.map((d) => d.day)}::date[]) GROUP BY user_id
        ON CONFLICT (user_id) DO UPDATE SET last_day = greatest(users_seen.last_day, excluded.last_day)`
      yield* sql`DELETE FROM rollup_dirty WHERE day = ANY(${days.map((d) => d.day)}::date[])`
      return days.length
    }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("EventStore.settle", { attributes: { before } }))
    const settle = settleDays(null)
    const settleBefore = (day: string) => settleDays(day)

    return { insert, ensureDays, hasDay, dropBefore, settle, settleBefore, holdKeyVersion, lockKeyVersion, storedKeyVersion, lockWindowSums, dropWindowSums } as const
  })
}) {}
