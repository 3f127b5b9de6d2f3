import * as SqlClient from "@effect/sql/SqlClient"
import { loginsIn, MAX_LOGINS, REASON_LOCATION } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Clock, Effect } from "effect"

/** A record an intake refused, as received: what a dead letter keeps (sealed) and why. */
export interface Refusal {
  /** The input it came from (a file, `http:okta`, a Pub/Sub message). */
  readonly source: string
  /** The line it starts on, when the input has lines. */
  readonly position: number | null
  /** Its index inside its input value (a page, a hook delivery), when that holds several. */
  readonly item: number | null
  /** One line naming fields, never quoting values. */
  readonly reason: string
  /** The refused record's text: the record of a page, or the whole value. */
  readonly record: string
  /** Logins the intake read from the record, besides those `loginsIn` finds. */
  readonly logins?: ReadonlyArray<string>
  /** Keyed hashes the record names (an HR employee id's `e_…`), linked like the logins' pseudonyms. */
  readonly refs?: ReadonlyArray<string>
}

/** How an intake writes its refusals. */
export interface WriteOptions {
  /** A replay: a letter already stored for the same record takes the new reason and is marked refused again. */
  readonly replay?: boolean | undefined
  /** HR: the day the intake's snapshot rows described, which a replay reads them as of again. */
  readonly asOf?: string | undefined
}

/** Which intake a letter came from, so a replay sends it back there. */
export type IntakeKind = "sso" | "hr"

/** A dead letter without its record. */
export interface LetterInfo {
  readonly id: number
  readonly intake: string
  readonly format: string | null
  readonly source: string
  readonly position: number | null
  readonly item: number | null
  readonly reason: string
  readonly receivedAt: Date
  /** False for letters kept from before records were sealed (their text was dropped). */
  readonly replayable: boolean
  readonly asOf: string | null
}

/** A dead letter with its record opened (null for letters kept from before records were sealed). */
export interface OpenedLetter extends LetterInfo {
  readonly record: string | null
}

export interface LetterFilter {
  /** Received on or after this day (`YYYY-MM-DD`, UTC). */
  readonly since?: string | undefined
  /** Reasons containing this text (case-insensitive). */
  readonly reason?: string | undefined
  readonly ids?: ReadonlyArray<number> | undefined
  readonly limit?: number | undefined
}

/**
 * Dead letters: every refused record, kept so nothing is lost and nobody is readable. The record
 * is sealed with the tenant's key (see `LetterBox`), identified by its keyed hash (the same record
 * from the same place is one letter), and linked to the pseudonyms of the people it names, so
 * forget deletes it with them (a record naming more than `MAX_LOGINS` people is flagged, and any
 * forget deletes it). Letters expire after the tenant's `deadLetterRetentionDays`: reads never show
 * an expired one, and intakes delete them once a day.
 */
export class DeadLetters extends Effect.Service<DeadLetters>()("workcat/DeadLetters", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tenant = yield* CurrentTenant
    const { pseudonyms, letters } = tenant
    const retention = sql`make_interval(days => ${tenant.settings.deadLetterRetentionDays})`
    let sweptOn: string | null = null

    /**
     * Stores refusals of one intake. A letter already stored for the same record and place is
     * kept as it is; during a replay it takes the new reason and is marked refused again (now).
     */
    const write = Effect.fn("DeadLetters.write")(function* (
      intake: IntakeKind,
      format: string | null,
      refusals: ReadonlyArray<Refusal>,
      options: WriteOptions = {}
    ) {
      if (refusals.length === 0) return
      const rows = new Map<string, object>()
      for (const r of refusals) {
        const hash = pseudonyms.record(r.record)
        const key = `${r.source}\u0000${r.position ?? -1}\u0000${hash}`
        if (rows.has(key)) continue // one statement cannot write one letter twice
        const logins = loginsIn(r.record, r.logins)
        const people = [...new Set([...logins.slice(0, MAX_LOGINS).map((login) => pseudonyms.user(login)), ...(r.refs ?? [])])]
        rows.set(key, {
          source: r.source,
          position: r.position,
          item: r.item,
          reason: r.reason,
          hash,
          sealed: letters.current.seal(r.record),
          people,
          many: logins.length > MAX_LOGINS
        })
      }
      const conflict = options.replay === true ? sql`DO UPDATE SET reason = excluded.reason, replayed_at = now()` : sql`DO NOTHING`
      const [result] = yield* sql<{ current: number }>`
        WITH guard AS (
          SELECT key_version FROM tenant_state WHERE key_version = ${letters.current.version} FOR SHARE
        ), input AS (
          SELECT * FROM json_to_recordset(${JSON.stringify([...rows.values()])}::json)
            AS t(source text, position bigint, item integer, reason text, hash text, sealed text, people json, many boolean)
        ), stored AS (
          INSERT INTO dead_letters (intake, format, source, position, item, reason, record_hash, sealed, key_version, as_of, names_many)
          SELECT ${intake}, ${format}, source, position, item, reason, hash, sealed, ${letters.current.version}, ${options.asOf ?? null}::date, many
          FROM input WHERE EXISTS (SELECT 1 FROM guard)
          ON CONFLICT (source, coalesce(position, -1), record_hash) ${conflict}
          RETURNING id, source, position, record_hash
        ), linked AS (
          INSERT INTO dead_letter_people (letter_id, user_id)
          SELECT s.id, p.user_id FROM stored s
          JOIN input i ON i.source = s.source AND coalesce(i.position, -1) = coalesce(s.position, -1) AND i.hash = s.record_hash
          CROSS JOIN LATERAL json_array_elements_text(i.people) AS p(user_id)
          ON CONFLICT DO NOTHING
        )
        SELECT count(*)::int AS current FROM guard`
      if (result?.current !== 1) {
        return yield* Effect.dieMessage("The tenant's key was rotated while this intake ran; run it again (intake is idempotent)")
      }
    }, Effect.orDie)

    /** Letters matching `filter`, never an expired one (retention deletes them only once a day). */
    const where = (filter: LetterFilter) => {
      const conditions = [
        sql`received_at >= now() - ${retention}`,
        filter.since === undefined ? undefined : sql`received_at >= ${filter.since}::date`,
        filter.reason === undefined ? undefined : sql`strpos(lower(reason), lower(${filter.reason})) > 0`,
        filter.ids === undefined ? undefined : sql`id = ANY(${filter.ids}::bigint[])`
      ].filter((c) => c !== undefined)
      return sql`WHERE ${sql.and(conditions)}`
    }

    /** Letters without their records, newest first. */
    const list = Effect.fn("DeadLetters.list")(function* (filter: LetterFilter = {}) {
      return yield* sql<LetterInfo>`
        SELECT id, intake, format, source, position, item, reason, received_at AS "receivedAt", sealed IS NOT NULL AS replayable,
               as_of AS "asOf"
        FROM dead_letters ${where(filter)} ORDER BY id DESC LIMIT ${filter.limit ?? 100}`
    }, Effect.orDie)

    /** Letters with their records opened: for an admin who must see them (audit that), and for replay. */
    const open = Effect.fn("DeadLetters.open")(function* (filter: LetterFilter) {
      const rows = yield* sql<LetterInfo & { sealed: string | null; keyVersion: number }>`
        SELECT id, intake, format, source, position, item, reason, received_at AS "receivedAt", sealed IS NOT NULL AS replayable,
               as_of AS "asOf", sealed, key_version AS "keyVersion"
        FROM dead_letters ${where(filter)} ORDER BY id LIMIT ${filter.limit ?? 10_000}`.pipe(Effect.orDie)
      return yield* Effect.forEach(rows, ({ keyVersion, sealed, ...info }): Effect.Effect<OpenedLetter> =>
        sealed === null ? Effect.succeed({ ...info, record: null }) : Effect.map(letters.open(sealed, keyVersion), (record) => ({ ...info, record }))
      )
    })

    /** How many letters arrived, per day and reason (grouped without the place in a page). */
    const counts = Effect.fn("DeadLetters.counts")(function* (filter: LetterFilter = {}) {
      return yield* sql<{ day: string; reason: string; count: number }>`
        SELECT (received_at AT TIME ZONE 'UTC')::date AS day, regexp_replace(reason, ${REASON_LOCATION}, '') AS reason, count(*)::int AS count
        FROM dead_letters ${where(filter)} GROUP BY 1, 2 ORDER BY 1 DESC, 3 DESC`
    }, Effect.orDie)

    /** The database's time: when a replay starts, before any of its writes. */
    const now = sql<{ now: Date }>`SELECT now() AS now`.pipe(Effect.map(([row]) => row!.now), Effect.orDie)

    /**
     * Removes the letters a replay started at `startedAt` sent through and did not find refused
     * again: a letter refused again by it, or by a replay running beside it, was marked later.
     */
    const settleReplay = Effect.fn("DeadLetters.settleReplay")(function* (ids: ReadonlyArray<number>, startedAt: Date) {
      if (ids.length === 0) return 0
      const rows = yield* sql`
        DELETE FROM dead_letters WHERE id = ANY(${ids}::bigint[]) AND (replayed_at IS NULL OR replayed_at < ${startedAt}) RETURNING 1`
      return rows.length
    }, Effect.orDie)

    /** Retention: deletes the letters older than the tenant's `deadLetterRetentionDays`. */
    const expire = Effect.fn("DeadLetters.expire")(function* () {
      const rows = yield* sql`DELETE FROM dead_letters WHERE received_at < now() - ${retention} RETURNING 1`
      return rows.length
    }, Effect.orDie)

    /** `expire`, the first time it is asked on each day in this process: what intakes call. */
    const sweep = Effect.gen(function* () {
      const today = new Date(yield* Clock.currentTimeMillis).toISOString().slice(0, 10)
      if (sweptOn === today) return
      yield* expire()
      sweptOn = today
    })

    return { write, list, open, counts, now, settleReplay, expire, sweep } as const
  })
}) {}
