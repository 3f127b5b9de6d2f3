import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, describeJsonError, formatParseError, type HrEvent, HrRecord, redactPayload } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect, Either, Schema, type Stream } from "effect"
import { RunLedger } from "../ledger/RunLedger.js"
import { Employees } from "../warehouse/Employees.js"
import { type DeadLetter, EventStore } from "../warehouse/EventStore.js"
import type { InputValue } from "./Framing.js"
import { type IngestCounts, type IngestOptions, ingestValues } from "./Intake.js"

const decodeRecord = Schema.decodeUnknownEither(HrRecord)

/** The records of an input value (one, or a JSON array of them), or why it is not JSON (without quoting it). */
const parseValue = (text: string): Either.Either<ReadonlyArray<Either.Either<HrRecord, string>>, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(describeJsonError(e))
  }
  const records: ReadonlyArray<unknown> = Array.isArray(json) ? json : [json]
  return Either.right(records.map((r) => Either.mapLeft(decodeRecord(r), (e) => `not an HR record: ${formatParseError(e)}`)))
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

    const writeBatch = Effect.fn("HrIngest.batch")(function* (values: ReadonlyArray<InputValue>, source: string, changes: Changes) {
      const events: Array<HrEvent> = []
      const rejected: Array<DeadLetter> = []
      const records: Array<HrRecord> = []
      for (const [text, position, problem] of values) {
        const parsed = problem === undefined ? parseValue(text) : Either.left(problem)
        if (Either.isLeft(parsed)) {
          rejected.push({ source, position, item: null, reason: parsed.left, payload: redactPayload(text) })
          continue
        }
        parsed.right.forEach((record, i) => {
          if (Either.isRight(record)) records.push(record.right)
          else rejected.push({ source, position, item: parsed.right.length > 1 ? i : null, reason: record.left, payload: redactPayload(text) })
        })
      }
      for (const r of records) {
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

    /** Ingests HR input values one batch at a time (events of one person must not race). */
    const records = <E, R>(values: Stream.Stream<InputValue, E, R>, options: IngestOptions) =>
      Effect.suspend(() => {
        const changes: Changes = { from: null }
        // Batches commit one by one: runs go stale for what committed even if a later line fails the intake.
        const markStale = Effect.suspend(() =>
          changes.from === null
            ? Effect.void
            : ledger.markStale(tenant.id, "nightly", { after: addDays(changes.from, -1), upTo: "9999-12-31" }, `HR changes effective from ${changes.from}`)
        )
        return ingestValues(values, { ...options, defaultBatchSize: 1_000, concurrency: 1 }, (batch) => writeBatch(batch, options.source, changes)).pipe(
          Effect.ensuring(markStale)
        )
      }).pipe(Effect.withSpan("HrIngest.records"))

    return { records } as const
  }),
  dependencies: [EventStore.Default, Employees.Default]
}) {}
