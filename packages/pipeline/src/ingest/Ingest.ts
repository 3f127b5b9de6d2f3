import {
  type AccessEvent,
  DefaultAppCatalog,
  decodeRecords,
  describeJsonError,
  detectFormat,
  type FormatChoice,
  isoDate,
  redactPayload,
  type SsoFormat
} from "@workcat/core"
import type { SqlError } from "@effect/sql/SqlError"
import { CurrentTenant } from "@workcat/tenancy"
import { Clock, Effect, Either, type Stream } from "effect"
import { RunLedger } from "../ledger/RunLedger.js"
import { nightlyKeysAffected } from "../nightly/Window.js"
import { type DeadLetter, EventStore, type Inserted, noneInserted } from "../warehouse/EventStore.js"
import type { InputValue } from "./Framing.js"
import { type IngestCounts, type IngestOptions, ingestValues } from "./Intake.js"

const earliest = (a: string | null, b: string | null) => (a === null ? b : b === null || a <= b ? a : b)
const latest = (a: string | null, b: string | null) => (a === null ? b : b === null || a >= b ? a : b)
const addInserted = (a: Inserted, b: Inserted): Inserted => ({
  inserted: a.inserted + b.inserted,
  firstDay: earliest(a.firstDay, b.firstDay),
  lastDay: latest(a.lastDay, b.lastDay)
})

const sqlState = (e: SqlError) => (e.cause as { code?: string } | undefined)?.code
/** PostgreSQL refused a value: data exceptions (22), constraints (23), limits such as index row size (54). */
const refusesData = (e: SqlError) => /^(22|23|54)/.test(sqlState(e) ?? "")

/**
 * One intake's running state: the format asked for and the one `auto` detected from its first
 * record, and what it stored so far (the days of its new events make nightly runs STALE).
 */
interface IntakeState {
  readonly choice: FormatChoice
  detected: SsoFormat | null
  stored: Inserted
}

const DAY_MS = 86_400_000

/**
 * An event refused after decoding, as a dead letter's payload: its normalized form without the
 * person's pseudonyms (dead letters are out of reach of forget and key rotation).
 */
const withoutPerson = (event: AccessEvent) => JSON.stringify({ ...event, userId: null, sessionId: null })

/** Events an intake must add before it settles the rollup itself (see `EventStore.settle`). */
const SETTLE_AFTER = 50_000

/**
 * SSO event intake, whatever the source (files, HTTP, Pub/Sub): each input value is parsed,
 * its provider records are decoded by the format's mapping (`@workcat/core` `sso/`),
 * pseudonymized with the tenant's key, and written in batches. Every record ends accepted,
 * duplicate, or a dead letter with the reason and the redacted payload. Records older than the
 * tenant's retention are refused (their day is dropped); the old days themselves are dropped
 * once a day per process, at the first intake.
 */
export class Ingest extends Effect.Service<Ingest>()("workcat/Ingest", {
  effect: Effect.gen(function* () {
    const store = yield* EventStore
    const tenant = yield* CurrentTenant
    const { pseudonyms } = tenant
    const retentionDays = tenant.settings.retentionDays
    const ledger = yield* RunLedger
    let sweptOn: string | null = null

    /** The first day still kept; drops older days the first time it moves on. */
    const retentionCutoff = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const cutoff = isoDate(new Date(now - retentionDays * DAY_MS))
      if (sweptOn !== cutoff) {
        yield* store.dropBefore(cutoff)
        yield* store.ensureDays([isoDate(new Date(now)), isoDate(new Date(now + DAY_MS))]) // ahead of the day's first events
        sweptOn = cutoff
      }
      return cutoff
    })

    /**
     * Decodes one batch of input values into events to store and dead letters. Each event keeps
     * where it came from, in case PostgreSQL refuses it. A refused record of a page is kept on
     * its own; an event refused after decoding (too old, or by the database) is kept as its
     * pseudonymized form, which has nothing personal left.
     */
    const decodeBatch = (values: ReadonlyArray<InputValue>, source: string, state: IntakeState, cutoff: number) => {
      const events: Array<AccessEvent> = []
      const origins: Array<Omit<DeadLetter, "reason" | "payload">> = []
      const rejected: Array<DeadLetter> = []
      const refuse = (origin: Omit<DeadLetter, "reason" | "payload">, reason: string, payload: string) =>
        rejected.push({ ...origin, reason, payload: redactPayload(payload) })
      for (const [text, position, problem, origin] of values) {
        const from = origin === undefined ? source : `${source}:${origin}`
        const whole = { source: from, position, item: null }
        if (problem !== undefined) {
          refuse(whole, problem, text)
          continue
        }
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch (e) {
          refuse(whole, describeJsonError(e), text)
          continue
        }
        if (text.includes("\\u0000")) {
          refuse(whole, "contains a NUL character, which PostgreSQL cannot store", text)
          continue
        }
        // `auto`: one format per file or request, from its first record; per message for Pub/Sub.
        const detected =
          state.choice !== "auto" ? state.choice : origin !== undefined ? (detectFormat(json) ?? null) : (state.detected ??= detectFormat(json) ?? null)
        if (detected === null) {
          refuse(whole, "not an event of a known format (an Okta LogEvent, a Google Workspace activity, an Entra sign-in)", text)
          continue
        }
        const outcomes = decodeRecords(detected, json, DefaultAppCatalog, pseudonyms)
        const several = outcomes.length > 1
        for (let i = 0; i < outcomes.length; i++) {
          const { record, result } = outcomes[i]!
          const at = several ? { source: from, position, item: i } : whole
          if (Either.isLeft(result)) refuse(at, result.left, several ? JSON.stringify(record) : text)
          else if (result.right.occurredAt.getTime() < cutoff) {
            refuse(at, `older than the tenant's retention of ${retentionDays} days`, several ? withoutPerson(result.right) : text)
          } else {
            events.push(result.right)
            origins.push(at)
          }
        }
      }
      return { events, origins, rejected }
    }

    const writeBatch = Effect.fn("Ingest.batch")(function* (
      values: ReadonlyArray<InputValue>,
      source: string,
      state: IntakeState
    ) {
      const cutoff = yield* retentionCutoff
      const { events, origins, rejected } = decodeBatch(values, source, state, Date.parse(cutoff))
      let refused = 0
      const stored = yield* store.insert(events).pipe(
        // A value PostgreSQL refuses fails the whole batch: find the rows, keep the rest. Any
        // other error (the server, the schema) fails the intake: nothing is dead-lettered for it.
        Effect.catchIf(refusesData, () =>
          Effect.reduce(events, noneInserted, (total, event, i) =>
            store.insert([event]).pipe(
              Effect.map((one) => addInserted(total, one)),
              Effect.catchIf(refusesData, (e) => {
                const code = sqlState(e) ?? "unknown"
                refused++
                rejected.push({ ...origins[i]!, reason: `rejected by the database (SQLSTATE ${code})`, payload: withoutPerson(event) })
                return Effect.succeed(total)
              })
            )
          )
        )
      )
      state.stored = addInserted(state.stored, stored)
      yield* store.deadLetter(rejected)
      return { accepted: stored.inserted, duplicates: events.length - refused - stored.inserted, rejected: rejected.length } satisfies IngestCounts
    })

    /**
     * Ingests input values (see `Framing.ts`) of one format, or of the format detected from the
     * first record (`auto`), and returns the counts; two batches in flight overlap decoding and
     * writing. Nightly runs whose 90-day window the new events fall in become STALE.
     */
    const events = <E, R>(choice: FormatChoice, values: Stream.Stream<InputValue, E, R>, options: IngestOptions) =>
      Effect.suspend(() => {
        const state: IntakeState = { choice, detected: null, stored: noneInserted }
        // Batches commit one by one: runs go stale for what committed even if a later batch fails the intake.
        const markStale = Effect.suspend(() => {
          const { firstDay, lastDay } = state.stored
          return firstDay === null || lastDay === null
            ? Effect.void
            : ledger.markStale(tenant.id, "nightly", nightlyKeysAffected(firstDay, lastDay), `new events from ${firstDay} to ${lastDay}`)
        })
        return ingestValues(values, { ...options, defaultBatchSize: 2_000, concurrency: 2 }, (batch) => writeBatch(batch, options.source, state)).pipe(
          // A bulk load brings the rollup up to date itself; a small intake leaves that to the next reader.
          Effect.tap((counts) => (counts.accepted >= SETTLE_AFTER ? store.settle : Effect.void)),
          Effect.ensuring(markStale)
        )
      }).pipe(Effect.withSpan("Ingest.events", { attributes: { format: choice } }))

    return { events } as const
  }),
  dependencies: [EventStore.Default]
}) {}
