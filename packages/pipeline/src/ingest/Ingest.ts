import { type AccessEvent, DefaultAppCatalog, describeJsonError, normalizeOkta, OktaLogEvent, redactPayload } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect, Either, Schema, type Stream } from "effect"
import { RunLedger } from "../ledger/RunLedger.js"
import { nightlyKeysAffected } from "../nightly/Window.js"
import { type DeadLetter, EventStore } from "../warehouse/EventStore.js"
import { formatParseError, type IngestCounts, type IngestOptions, ingestLines, type NumberedLine } from "./Lines.js"

const decodeOkta = Schema.decodeUnknownEither(OktaLogEvent)

type Inserted = { readonly inserted: number; readonly firstDay: string | null; readonly lastDay: string | null }
const noneInserted: Inserted = { inserted: 0, firstDay: null, lastDay: null }
const earliest = (a: string | null, b: string | null) => (a === null ? b : b === null || a <= b ? a : b)
const latest = (a: string | null, b: string | null) => (a === null ? b : b === null || a >= b ? a : b)
const addInserted = (a: Inserted, b: Inserted): Inserted => ({
  inserted: a.inserted + b.inserted,
  firstDay: earliest(a.firstDay, b.firstDay),
  lastDay: latest(a.lastDay, b.lastDay)
})

/** The days of the events an intake really added (duplicates change nothing). */
interface DayRange {
  first: string | null
  last: string | null
  readonly widen: (inserted: Inserted) => void
}
const makeDayRange = (): DayRange => {
  const range: DayRange = {
    first: null,
    last: null,
    widen: (inserted) => {
      range.first = earliest(range.first, inserted.firstDay)
      range.last = latest(range.last, inserted.lastDay)
    }
  }
  return range
}

/**
 * Okta System Log intake: NDJSON lines are decoded with Schema, pseudonymized with the tenant's
 * key, and written in batches; malformed lines become dead letters with the reason.
 */
export class Ingest extends Effect.Service<Ingest>()("workcat/Ingest", {
  effect: Effect.gen(function* () {
    const store = yield* EventStore
    const tenant = yield* CurrentTenant
    const { pseudonyms } = tenant
    const ledger = yield* RunLedger

    const parseLine = (line: string, position: number, source: string): AccessEvent | DeadLetter => {
      const reject = (reason: string): DeadLetter => ({ source, position, reason, payload: redactPayload(line) })
      let json: unknown
      try {
        json = JSON.parse(line)
      } catch (e) {
        return reject(describeJsonError(e))
      }
      if (line.includes("\\u0000")) return reject("contains a NUL character, which PostgreSQL cannot store")
      const decoded = decodeOkta(json)
      return Either.isLeft(decoded)
        ? reject(`not an Okta LogEvent: ${formatParseError(decoded.left)}`)
        : normalizeOkta(decoded.right, DefaultAppCatalog, pseudonyms)
    }

    const writeBatch = Effect.fn("Ingest.batch")(function* (lines: ReadonlyArray<NumberedLine>, source: string, days: DayRange) {
      const events: Array<AccessEvent> = []
      const origins: Array<NumberedLine> = []
      const rejected: Array<DeadLetter> = []
      for (const [line, position] of lines) {
        if (line.trim() === "") continue
        const parsed = parseLine(line, position, source)
        if ("reason" in parsed) rejected.push(parsed)
        else {
          events.push(parsed)
          origins.push([line, position])
        }
      }
      let refused = 0
      const stored = yield* store.insert(events).pipe(
        // A value PostgreSQL refuses fails the whole batch: find the rows, keep the rest.
        Effect.catchTag("SqlError", () =>
          Effect.reduce(events, noneInserted, (total, event, i) =>
            store.insert([event]).pipe(
              Effect.map((one) => addInserted(total, one)),
              Effect.catchTag("SqlError", (e) => {
                const [line, position] = origins[i]!
                const code = (e.cause as { code?: string } | undefined)?.code ?? "unknown"
                refused++
                rejected.push({ source, position, reason: `rejected by the database (SQLSTATE ${code})`, payload: redactPayload(line) })
                return Effect.succeed(total)
              })
            )
          )
        )
      )
      days.widen(stored)
      const inserted = stored.inserted
      yield* store.deadLetter(rejected)
      return { accepted: inserted, duplicates: events.length - refused - inserted, rejected: rejected.length } satisfies IngestCounts
    })

    /**
     * Ingests NDJSON lines and returns the counts; two batches in flight overlap decoding and
     * writing. Nightly runs whose 90-day window the new events fall in become STALE.
     */
    const okta = <E, R>(lines: Stream.Stream<string, E, R>, options: IngestOptions) =>
      Effect.suspend(() => {
        const days = makeDayRange()
        // Batches commit one by one: runs go stale for what committed even if a later batch fails the intake.
        const markStale = Effect.suspend(() =>
          days.first === null || days.last === null
            ? Effect.void
            : ledger.markStale(tenant.id, "nightly", nightlyKeysAffected(days.first, days.last), `new events from ${days.first} to ${days.last}`)
        )
        return ingestLines(lines, { ...options, defaultBatchSize: 2_000, concurrency: 2 }, (batch) => writeBatch(batch, options.source, days)).pipe(
          Effect.ensuring(markStale)
        )
      }).pipe(Effect.withSpan("Ingest.okta"))

    return { okta } as const
  }),
  dependencies: [EventStore.Default]
}) {}
