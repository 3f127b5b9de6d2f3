import {
  type AccessEvent,
  DefaultAppCatalog,
  decodeRecords,
  describeJsonError,
  detectFormat,
  type FormatChoice,
  isoDate,
  type SsoFormat
} from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Clock, Effect, Either, Fiber, type Scope, type Stream } from "effect"
import { IntakeLog } from "../operations/IntakeLog.js"
import { EventWarehouse, type Inserted, noneInserted } from "../warehouse/EventWarehouse.js"
import { DeadLetters, type Refusal } from "./DeadLetters.js"
import type { InputValue } from "./Framing.js"
import { InputsChanged } from "./InputsChanged.js"
import { batchCounts, type IngestOptions, ingestValues, recordText } from "./Intake.js"

/** Days of intake hours kept for the operators' view (which shows the last one). */
const INTAKE_HOURS_KEPT_DAYS = 90

const earliest = (a: string | null, b: string | null) => (a === null ? b : b === null || a <= b ? a : b)
const latest = (a: string | null, b: string | null) => (a === null ? b : b === null || a >= b ? a : b)
const addInserted = (a: Inserted, b: Inserted): Inserted => ({
  inserted: a.inserted + b.inserted,
  firstDay: earliest(a.firstDay, b.firstDay),
  lastDay: latest(a.lastDay, b.lastDay)
})


/**
 * One intake's running state: the format asked for and the one `auto` detected from its first
 * record, what it stored so far (the days of its new events make nightly runs STALE), and the day
 * partitions it added.
 */
interface IntakeState {
  readonly choice: FormatChoice
  detected: SsoFormat | null
  stored: Inserted
  readonly newDays: Set<string>
  /** Events stored since the rollup was last settled behind this intake, and that settle while it runs. */
  unsettled: number
  settling: Fiber.RuntimeFiber<number> | null
}

const DAY_MS = 86_400_000

/**
 * Where a record was in its input: the value's text, and the record itself when it is one of
 * several in the value (a dead letter keeps the record, turned into text only if it is refused).
 */
interface Origin {
  readonly source: string
  readonly position: number | null
  readonly item: number | null
  readonly text: string
  readonly record?: unknown
}

/** The refusal of a record (see `recordText`). */
const refusal = ({ record, text, ...at }: Origin, reason: string): Refusal => ({
  ...at,
  reason,
  record: record === undefined ? text : recordText(record, text)
})

/**
 * Events an intake must add before it settles the rollup itself (see `EventWarehouse.settle`): at
 * its end, and, while it goes on, the days before those it is writing now, on another connection.
 */
const SETTLE_AFTER = 50_000

export interface EventIngestOptions extends IngestOptions {
  /** New day partitions one intake may create (an HTTP request: a month); beyond, events are refused. */
  readonly maxNewDays?: number | undefined
  /** `auto` detects the format of each value, not once per input (a replay of mixed dead letters). */
  readonly detectEach?: boolean | undefined
}

/**
 * SSO event intake, whatever the source (files, HTTP, Pub/Sub): each input value is parsed,
 * its provider records are decoded by the format's mapping (`@workcat/core` `sso/`),
 * pseudonymized with the tenant's key, and written in batches. Every record ends accepted,
 * duplicate, or a dead letter (sealed) with the reason. Records older than the tenant's retention,
 * or more than a day ahead of the clock, are refused; the old days themselves (and expired dead
 * letters) are dropped once a day per process, at the first intake.
 */
export class Ingest extends Effect.Service<Ingest>()("workcat/Ingest", {
  effect: Effect.gen(function* () {
    const store = yield* EventWarehouse
    const deadLetters = yield* DeadLetters
    const tenant = yield* CurrentTenant
    const { pseudonyms } = tenant
    const retentionDays = tenant.settings.retentionDays
    const inputsChanged = yield* InputsChanged
    const intakeLog = yield* IntakeLog
    let sweptOn: string | null = null

    /** The times an event may have: from the first day still kept to a day ahead of now. Sweeps once a day. */
    const bounds = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const cutoff = isoDate(new Date(now - retentionDays * DAY_MS))
      yield* deadLetters.sweep
      if (sweptOn !== cutoff) {
        yield* store.dropBefore(cutoff)
        yield* intakeLog.expire(INTAKE_HOURS_KEPT_DAYS)
        yield* store.prepareDays([isoDate(new Date(now)), isoDate(new Date(now + DAY_MS))]) // ahead of the day's first events
        sweptOn = cutoff
      }
      return { from: Date.parse(cutoff), until: now + DAY_MS, hasDay: yield* store.knownDays }
    })

    /**
     * Decodes one batch of input values into events to store and refusals. Each event keeps where
     * it came from and its record, in case PostgreSQL refuses it.
     */
    const decodeBatch = (
      values: ReadonlyArray<InputValue>,
      source: string,
      state: IntakeState,
      options: EventIngestOptions,
      { from: cutoff, hasDay, until }: Effect.Effect.Success<typeof bounds>
    ) => {
      const events: Array<AccessEvent> = []
      const origins: Array<Origin> = []
      const rejected: Array<Refusal> = []
      const maxNewDays = options.maxNewDays ?? Infinity
      let lastDay = -1 // events come mostly in time order: the day check runs once per day seen
      const refuse = (origin: Origin, reason: string) => rejected.push(refusal(origin, reason))
      for (const [text, position, problem, origin] of values) {
        const from = origin === undefined ? source : `${source}:${origin}`
        const whole: Origin = { source: from, position, item: null, text }
        if (problem !== undefined) {
          refuse(whole, problem)
          continue
        }
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch (e) {
          refuse(whole, describeJsonError(e))
          continue
        }
        if (text.includes("\\u0000")) {
          refuse(whole, "contains a NUL character, which PostgreSQL cannot store")
          continue
        }
        // `auto`: one format per file or request, from its first record; per message for Pub/Sub.
        const detected =
          state.choice !== "auto"
            ? state.choice
            : origin !== undefined || options.detectEach === true
              ? (detectFormat(json) ?? null)
              : (state.detected ??= detectFormat(json) ?? null)
        if (detected === null) {
          refuse(whole, "not an event of a known format (an Okta LogEvent, a Google Workspace activity, an Entra sign-in)")
          continue
        }
        let outcomes: ReturnType<typeof decodeRecords>
        try {
          outcomes = decodeRecords(detected, json, DefaultAppCatalog, pseudonyms)
        } catch (e) {
          // Describing a value nested thousands deep overflows the stack: refuse it, whole.
          if (!(e instanceof RangeError)) throw e
          refuse(whole, "nested too deeply to read")
          continue
        }
        const several = outcomes.length > 1
        for (let i = 0; i < outcomes.length; i++) {
          const { record, result } = outcomes[i]!
          const at: Origin = several ? { source: from, position, item: i, text, record } : whole
          if (Either.isLeft(result)) {
            refuse(at, result.left)
            continue
          }
          const time = result.right.occurredAt.getTime()
          if (time < cutoff) {
            refuse(at, `older than the tenant's retention of ${retentionDays} days`)
            continue
          }
          if (time >= until) {
            refuse(at, "more than a day ahead of the server's clock (check the sender's clock)")
            continue
          }
          const dayNumber = Math.floor(time / DAY_MS)
          if (dayNumber !== lastDay) {
            const day = isoDate(new Date(dayNumber * DAY_MS))
            if (!hasDay(day) && !state.newDays.has(day)) {
              if (state.newDays.size >= maxNewDays) {
                refuse(at, `would add more than ${maxNewDays} new days to the event store in one request; send older days separately`)
                continue
              }
              state.newDays.add(day)
            }
            lastDay = dayNumber
          }
          events.push(result.right)
          origins.push(at)
        }
      }
      return { events, origins, rejected }
    }

    /**
     * A bulk load settles the days before the batch it just wrote in the background, one settle
     * at a time: events come mostly in time order, so the days behind it are complete, and a
     * late event marks its day again for the final settle.
     */
    const settleBehind = (state: IntakeState, batch: Inserted, scope: Scope.Scope) =>
      Effect.suspend(() => {
        state.unsettled += batch.inserted
        if (state.unsettled < SETTLE_AFTER || batch.firstDay === null) return Effect.void
        if (state.settling !== null && state.settling.unsafePoll() === null) return Effect.void
        state.unsettled = 0
        return store.settleBefore(batch.firstDay).pipe(
          Effect.forkIn(scope),
          Effect.map((fiber) => void (state.settling = fiber))
        )
      })

    const writeBatch = Effect.fn("Ingest.batch")(function* (values: ReadonlyArray<InputValue>, options: EventIngestOptions, state: IntakeState, scope: Scope.Scope) {
      const { events, origins, rejected } = decodeBatch(values, options.source, state, options, yield* bounds)
      let refused = 0
      const stored = yield* store.append(events).pipe(
        // A value the warehouse refuses fails the whole batch: find the rows, keep the rest. Any
        // other error (the server, the schema) fails the intake: nothing is dead-lettered for it.
        Effect.catchTag("ValuesRefused", () =>
          Effect.reduce(events, noneInserted, (total, event, i) =>
            store.append([event]).pipe(
              Effect.map((one) => addInserted(total, one)),
              Effect.catchTag("ValuesRefused", (e) => {
                refused++
                rejected.push(refusal(origins[i]!, `rejected by the database (SQLSTATE ${e.code || "unknown"})`))
                return Effect.succeed(total)
              })
            )
          )
        )
      )
      state.stored = addInserted(state.stored, stored)
      yield* settleBehind(state, stored, scope)
      yield* deadLetters.write("sso", state.choice, rejected, { replay: options.replay })
      const counts = batchCounts(events.length, stored.inserted, rejected, refused)
      let newest = -Infinity
      for (const e of events) newest = Math.max(newest, e.occurredAt.getTime())
      yield* intakeLog.record("sso", { ...counts, newestEventAt: Number.isFinite(newest) ? new Date(newest) : null })
      return counts
    })

    /**
     * Ingests input values (see `Framing.ts`) of one format, or of the format detected from the
     * first record (`auto`), and returns the counts; three batches in flight overlap decoding and
     * writing. What was computed from the days it stored is told (`InputsChanged`).
     */
    const events = <E, R>(choice: FormatChoice, values: Stream.Stream<InputValue, E, R>, options: EventIngestOptions) =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const state: IntakeState = { choice, detected: null, stored: noneInserted, newDays: new Set(), unsettled: 0, settling: null }
        // Batches commit one by one: what committed is announced even if a later batch fails the intake.
        const markStale = Effect.suspend(() => {
          const { firstDay, lastDay } = state.stored
          return firstDay === null || lastDay === null
            ? Effect.void
            : inputsChanged.events(firstDay, lastDay)
        })
        return yield* ingestValues(values, { ...options, defaultBatchSize: 2_000, concurrency: 3 }, (batch) => writeBatch(batch, options, state, scope)).pipe(
          // A bulk load brings the rollup up to date itself; a small intake leaves that to the next reader.
          Effect.tap((counts) =>
            counts.accepted >= SETTLE_AFTER ? Effect.zipRight(state.settling === null ? Effect.void : Fiber.join(state.settling), store.settle) : Effect.void
          ),
          Effect.ensuring(markStale)
        )
      }).pipe(Effect.scoped, Effect.withSpan("Ingest.events", { attributes: { format: choice } }))

    return { events } as const
  }),
  dependencies: [DeadLetters.Default, IntakeLog.Default]
}) {}
