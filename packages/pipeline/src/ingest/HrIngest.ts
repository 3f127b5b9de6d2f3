import * as SqlClient from "@effect/sql/SqlClient"
import { describeJsonError, foldHrEvents, type HrEvent, HrRecord, redactPayload, type UserId } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Effect, Either, Schema, type Stream } from "effect"
import { type DeadLetter, EventStore } from "../warehouse/EventStore.js"
import { formatParseError, type IngestCounts, type IngestOptions, ingestLines, type NumberedLine } from "./Lines.js"

const decodeRecord = Schema.decodeUnknownEither(HrRecord)

/** A record, or why the line is not one (without quoting it). */
const parseRecord = (line: string): Either.Either<HrRecord, string> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (e) {
    return Either.left(describeJsonError(e))
  }
  return Either.mapLeft(decodeRecord(json), (e) => `not an HR record: ${formatParseError(e)}`)
}

/**
 * HR intake: hire, role change and termination records (NDJSON). Events are stored once per
 * event id; each affected employee's current state is then recomputed from all their events,
 * so late or out-of-order records land correctly.
 */
export class HrIngest extends Effect.Service<HrIngest>()("workcat/HrIngest", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore
    const tenant = yield* CurrentTenant
    const pseudonymize = tenant.pseudonyms.user

    const refreshEmployees = (users: ReadonlyArray<UserId>) =>
      Effect.gen(function* () {
        if (users.length === 0) return
        const rows = yield* sql<HrEvent>`
          SELECT event_id AS "eventId", user_id AS "userId", type, effective_date AS "effectiveDate", title, department, team
          FROM hr_events WHERE ${sql.in("user_id", users)}`
        const byUser = Arr.groupBy(rows, (r) => r.userId)
        const employees = users.map((u) => foldHrEvents(u, byUser[u] ?? []))
        yield* sql`
          INSERT INTO employees (user_id, title, department, team, hire_date, status, updated_at)
          SELECT * FROM unnest(
            ${employees.map((e) => e.userId)}::text[], ${employees.map((e) => e.title)}::text[],
            ${employees.map((e) => e.department)}::text[], ${employees.map((e) => e.team)}::text[],
            ${employees.map((e) => e.hireDate)}::date[], ${employees.map((e) => e.status)}::text[]
          ), now()
          ON CONFLICT (user_id) DO UPDATE SET title = excluded.title, department = excluded.department,
            team = excluded.team, hire_date = excluded.hire_date, status = excluded.status, updated_at = now()`
      })

    const writeBatch = Effect.fn("HrIngest.batch")(function* (lines: ReadonlyArray<NumberedLine>, source: string) {
      const events: Array<HrEvent> = []
      const rejected: Array<DeadLetter> = []
      for (const [line, position] of lines) {
        if (line.trim() === "") continue
        const decoded = parseRecord(line)
        if (Either.isLeft(decoded)) {
          rejected.push({ source, position, reason: decoded.left, payload: redactPayload(line) })
          continue
        }
        const r = decoded.right
        events.push({
          eventId: r.eventId,
          userId: pseudonymize(r.login),
          type: r.type,
          effectiveDate: r.effectiveDate,
          title: r.title ?? null,
          department: r.department ?? null,
          team: r.team ?? null
        })
      }
      // Events and the employees they touch change together; every user of the batch is refreshed,
      // so re-sending a file repairs state even where its events are all duplicates.
      const inserted = yield* sql.withTransaction(
        Effect.gen(function* () {
          if (events.length === 0) return 0
          yield* store.holdKeyVersion
          const rows = yield* sql<{ eventId: string }>`
            INSERT INTO hr_events (event_id, user_id, type, effective_date, title, department, team)
            SELECT * FROM unnest(
              ${events.map((e) => e.eventId)}::text[], ${events.map((e) => e.userId)}::text[], ${events.map((e) => e.type)}::text[],
              ${events.map((e) => e.effectiveDate)}::date[], ${events.map((e) => e.title)}::text[],
              ${events.map((e) => e.department)}::text[], ${events.map((e) => e.team)}::text[]
            )
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id AS "eventId"`
          yield* refreshEmployees([...new Set(events.map((e) => e.userId))])
          return rows.length
        })
      )
      yield* store.deadLetter(rejected)
      return { accepted: inserted, duplicates: events.length - inserted, rejected: rejected.length } satisfies IngestCounts
    }, Effect.orDie)

    /** Ingests HR NDJSON lines one batch at a time (events of one person must not race). */
    const records = <E, R>(lines: Stream.Stream<string, E, R>, options: IngestOptions) =>
      ingestLines(lines, { ...options, defaultBatchSize: 1_000, concurrency: 1 }, (batch) => writeBatch(batch, options.source)).pipe(
        Effect.withSpan("HrIngest.records")
      )

    return { records } as const
  }),
  dependencies: [EventStore.Default]
}) {}
