import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, describeJsonError, type HrEvent, HrRecord, redactPayload } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect, Either, Schema, type Stream } from "effect"
import { RunLedger } from "../ledger/RunLedger.js"
import { Employees } from "../warehouse/Employees.js"
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

/** The earliest effective date of the events an intake really added (duplicates change nothing). */
interface Changes {
  from: string | null
}

/**
 * HR intake: hire, role change and termination records (NDJSON). Events are stored once per
 * event id; each affected employee's current state is then recomputed from all their events,
 * so late or out-of-order records land correctly. A nightly run of date D reads HR as of D, so
 * new events effective on X change the inputs of every run from X on: those runs become STALE.
 */
export class HrIngest extends Effect.Service<HrIngest>()("workcat/HrIngest", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore
    const employees = yield* Employees
    const tenant = yield* CurrentTenant
    const pseudonymize = tenant.pseudonyms.user
    const ledger = yield* RunLedger

    const writeBatch = Effect.fn("HrIngest.batch")(function* (lines: ReadonlyArray<NumberedLine>, source: string, changes: Changes) {
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
          // One intake at a time per person: the fold below must see every event of theirs.
          const users = [...new Set(events.map((e) => e.userId))].sort()
          yield* sql`SELECT pg_advisory_xact_lock(hashtext(u)) FROM (SELECT unnest(${users}::text[]) AS u ORDER BY 1) locked`
          const rows = yield* sql<{ eventId: string; effectiveDate: string }>`
            INSERT INTO hr_events (event_id, user_id, type, effective_date, title, department, team)
            SELECT * FROM unnest(
              ${events.map((e) => e.eventId)}::text[], ${events.map((e) => e.userId)}::text[], ${events.map((e) => e.type)}::text[],
              ${events.map((e) => e.effectiveDate)}::date[], ${events.map((e) => e.title)}::text[],
              ${events.map((e) => e.department)}::text[], ${events.map((e) => e.team)}::text[]
            )
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id AS "eventId", effective_date AS "effectiveDate"`
          for (const { effectiveDate } of rows) if (changes.from === null || effectiveDate < changes.from) changes.from = effectiveDate
          yield* employees.refresh(users)
          return rows.length
        })
      )
      yield* store.deadLetter(rejected)
      return { accepted: inserted, duplicates: events.length - inserted, rejected: rejected.length } satisfies IngestCounts
    }, Effect.orDie)

    /** Ingests HR NDJSON lines one batch at a time (events of one person must not race). */
    const records = <E, R>(lines: Stream.Stream<string, E, R>, options: IngestOptions) =>
      Effect.suspend(() => {
        const changes: Changes = { from: null }
        // Batches commit one by one: runs go stale for what committed even if a later line fails the intake.
        const markStale = Effect.suspend(() =>
          changes.from === null
            ? Effect.void
            : ledger.markStale(tenant.id, "nightly", { after: addDays(changes.from, -1), upTo: "9999-12-31" }, `HR changes effective from ${changes.from}`)
        )
        return ingestLines(lines, { ...options, defaultBatchSize: 1_000, concurrency: 1 }, (batch) => writeBatch(batch, options.source, changes)).pipe(
          Effect.ensuring(markStale)
        )
      }).pipe(Effect.withSpan("HrIngest.records"))

    return { records } as const
  }),
  dependencies: [EventStore.Default, Employees.Default]
}) {}
