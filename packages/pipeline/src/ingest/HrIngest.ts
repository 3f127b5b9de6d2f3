import * as SqlClient from "@effect/sql/SqlClient"
import {
  describeHrColumns,
  describeJsonError,
  type HrEvent,
  type HrField,
  type HrMapping,
  type IsoDate,
  isoDate,
  mapHrRecord,
  type MappedHrRecord,
  recordField,
  type ResolvedHrMapping,
  resolveHrMapping,
  snapshotEvents,
  type UserId
} from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Chunk, Clock, Effect, Either, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { refusesData, sqlState } from "../db/SqlErrors.js"
import { Employees } from "../warehouse/Employees.js"
import { EventStore } from "../warehouse/postgres/EventStore.js"
import { DeadLetters, type Refusal } from "./DeadLetters.js"
import type { InputValue } from "./Framing.js"
import { InputsChanged } from "./InputsChanged.js"
import { IntakeLog } from "../operations/IntakeLog.js"
import { batchCounts, type IngestOptions, ingestValues, recordText } from "./Intake.js"

export interface HrIngestOptions extends IngestOptions {
  /** The day a snapshot row describes (default: today, UTC). */
  readonly asOf?: IsoDate | undefined
  /** A mapping to read the records with instead of the tenant's (`hr --mapping FILE`). */
  readonly mapping?: HrMapping | null | undefined
}

/** One record of the input, mapped, with where it came from (its refusal if the database refuses it). */
interface Mapped {
  readonly at: Omit<Refusal, "reason">
  readonly record: MappedHrRecord
  readonly userId: UserId
}

/** One intake's running state: the earliest day its events changed, and the people its snapshot rows named. */
interface IntakeState {
  from: string | null
  readonly seen: Set<UserId>
}

/** Orders the snapshot events a process makes (see `changesOf`). */
let snapshotCount = 0

/** An HR event as it will be stored, and the record it explains. */
export interface HrChange {
  readonly event: HrEvent
  readonly record: number
}

/** The cells of a CSV row kept as `{"_fields": [...]}` because it did not fit its header (see `Csv.ts`). */
const raggedCells = (raw: unknown): ReadonlyArray<string> | undefined => {
  if (typeof raw !== "object" || raw === null || Object.keys(raw).length !== 1) return undefined
  const fields = (raw as { readonly _fields?: unknown })._fields
  return Array.isArray(fields) ? fields.filter((f): f is string => typeof f === "string") : undefined
}

/** The cells of a refused value's text when it is such a row; none otherwise. */
const cellsOf = (text: string): ReadonlyArray<string> => {
  try {
    return raggedCells(JSON.parse(text)) ?? []
  } catch {
    return []
  }
}

/**
 * HR intake: each record, whatever its export's field names (through the tenant's mapping, see
 * `HrMapping`), is an event (a hire, a role change, a termination, stored once per event id) or a
 * snapshot row (a person's current state, stored as the events that explain its difference from
 * what is stored, so re-importing a snapshot adds nothing). Logins and manager e-mails are only
 * pseudonymized; names are never read. Each affected employee's current state is then recomputed
 * from all their events. A run of date D reads HR as of D, so events effective on X make every
 * run from X on STALE. A refused record is a dead letter; the rest of its batch is kept.
 */
export class HrIngest extends Effect.Service<HrIngest>()("workcat/HrIngest", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore
    const employees = yield* Employees
    const deadLetters = yield* DeadLetters
    const intakeLog = yield* IntakeLog
    const tenant = yield* CurrentTenant
    const { pseudonyms } = tenant
    const inputsChanged = yield* InputsChanged

    /** The mapping an intake reads with: the one it was given, else the tenant's. */
    const mappingOf = (options: HrIngestOptions) => resolveHrMapping(options.mapping === undefined ? tenant.settings.hrMapping : options.mapping)
    /** The day an intake's snapshot rows describe. */
    const asOfOf = (options: HrIngestOptions) =>
      options.asOf === undefined ? Effect.map(Clock.currentTimeMillis, (now) => isoDate(new Date(now))) : Effect.succeed(options.asOf)

    /** Whom a refused record names by its login, manager and employee-id columns (for forget). */
    const peopleOf = (mapping: ResolvedHrMapping, raw: unknown) => {
      const read = (field: HrField) => recordField(mapping, field, raw)
      return {
        logins: [read("login"), read("managerLogin")].filter((l) => l !== null),
        refs: [read("employeeId"), read("managerEmployeeId")].flatMap((id) => (id === null ? [] : [pseudonyms.employee(id)]))
      }
    }

    /** Parses and maps a batch of values: the mapped records, and the refusals. */
    const mapBatch = (values: ReadonlyArray<InputValue>, source: string, mapping: ResolvedHrMapping) => {
      const mapped: Array<Mapped> = []
      const rejected: Array<Refusal> = []
      for (const [text, position, problem] of values) {
        if (problem !== undefined) {
          // A CSV row that did not fit its header comes as its cells: any of them may be the login.
          rejected.push({ source, position, item: null, reason: problem, record: text, logins: cellsOf(text) })
          continue
        }
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch (e) {
          rejected.push({ source, position, item: null, reason: describeJsonError(e), record: text })
          continue
        }
        const records: ReadonlyArray<unknown> = Array.isArray(json) ? json : [json]
        records.forEach((raw, i) => {
          const at = { source, position, item: records.length > 1 ? i : null, record: records.length > 1 ? recordText(raw, text) : text }
          // A CSV row that did not fit its header (see `Csv.ts`) is kept as its cells: a replay cannot mend it.
          const cells = raggedCells(raw)
          if (cells !== undefined) {
            // Which cell is the login is unknown: each one links the letter, so forget finds it by any login.
            rejected.push({ ...at, reason: "a CSV row whose fields do not line up with its header (fix the export)", logins: cells })
            return
          }
          const result = mapHrRecord(mapping, raw)
          if (Either.isLeft(result)) rejected.push({ ...at, reason: `not an HR record: ${result.left}`, ...peopleOf(mapping, raw) })
          else mapped.push({ at, record: result.right, userId: pseudonyms.user(result.right.person.login) })
        })
      }
      return { mapped, rejected }
    }

    /**
     * The HR events the mapped records stand for, given what is stored about their people, and the
     * people whose snapshot rows they read. A person's later rows in one import (`seen` holds those
     * of earlier batches) are secondary: a second position, an old employment (see `snapshotEvents`).
     * Snapshot events get ids that sort in the order they were made (`stamp`, then a counter), so two
     * changes of one day apply in the order they were imported.
     */
    const changesOf = (mapped: ReadonlyArray<Mapped>, stored: ReadonlyMap<UserId, ReadonlyArray<HrEvent>>, asOf: IsoDate, seen: ReadonlySet<UserId>, stamp: string) => {
      const known = new Map([...stored].map(([u, list]) => [u, [...list]]))
      const read = new Set<UserId>()
      const changes: Array<HrChange> = []
      const newId = () => `snapshot:${stamp}:${(snapshotCount++).toString(36).padStart(10, "0")}:${randomUUID().slice(0, 8)}`
      mapped.forEach(({ record, userId }, index) => {
        const person = record.person
        const fields = {
          title: person.title,
          department: person.department,
          team: person.team,
          managerId: person.managerLogin !== null ? pseudonyms.user(person.managerLogin) : person.managerEmployeeId !== null ? pseudonyms.employee(person.managerEmployeeId) : null,
          employeeRef: person.employeeId === null ? null : pseudonyms.employee(person.employeeId)
        }
        const events: ReadonlyArray<HrEvent> =
          record.kind === "event"
            ? [{ eventId: record.eventId, userId, type: record.type, effectiveDate: record.effectiveDate, ...fields }]
            : snapshotEvents(
                { userId, ...fields, hireDate: record.hireDate, terminationDate: record.terminationDate, status: record.status },
                known.get(userId) ?? [],
                asOf,
                newId,
                seen.has(userId) || read.has(userId)
              )
        if (record.kind === "snapshot") read.add(userId)
        // A later row of the same person in this batch is compared with what this one adds.
        if (events.length > 0) known.set(userId, [...(known.get(userId) ?? []), ...events])
        for (const event of events) changes.push({ event, record: index })
      })
      return { changes, read }
    }

    /**
     * Stores the changes of some records and refreshes their people, in one transaction: the records
     * really added, the earliest day changed, and the people whose snapshot rows were read.
     */
    const commit = (mapped: ReadonlyArray<Mapped>, asOf: IsoDate, seen: ReadonlySet<UserId>) =>
      sql.withTransaction(
        Effect.gen(function* () {
          if (mapped.length === 0) return { added: new Set<number>(), from: null as string | null, read: new Set<UserId>() }
          yield* store.holdKeyVersion
          const users = mapped.map((m) => m.userId)
          // One intake at a time: the comparison and the fold must see every event of these people.
          yield* employees.lock
          const stamp = new Date(yield* Clock.currentTimeMillis).toISOString()
          const { changes, read } = changesOf(mapped, yield* employees.eventsOf(users), asOf, seen, stamp)
          const inserted = yield* employees.insert(changes.map((c) => c.event))
          const ids = new Set(inserted.map((r) => r.eventId))
          const added = new Set(changes.filter((c) => ids.has(c.event.eventId)).map((c) => c.record))
          const from = inserted.reduce<string | null>((a, r) => (a === null || r.effectiveDate < a ? r.effectiveDate : a), null)
          // Every user of the batch is refreshed, so re-sending a file repairs state even where nothing was added.
          yield* employees.refresh(users)
          return { added, from, read }
        })
      )

    /** `commit`, and when PostgreSQL refuses a value, the same per person, so one bad record does not cost its batch. */
    const commitEach = (mapped: ReadonlyArray<Mapped>, asOf: IsoDate, seen: ReadonlySet<UserId>, rejected: Array<Refusal>) =>
      commit(mapped, asOf, seen).pipe(
        Effect.catchIf(refusesData, () => {
          const byUser = new Map<UserId, Array<readonly [Mapped, number]>>()
          mapped.forEach((m, i) => {
            const group = byUser.get(m.userId)
            if (group === undefined) byUser.set(m.userId, [[m, i]])
            else group.push([m, i])
          })
          return Effect.reduce(byUser.values(), { added: new Set<number>(), from: null as string | null, read: new Set<UserId>() }, (total, group) =>
            commit(group.map(([m]) => m), asOf, seen).pipe(
              Effect.map(({ added, from, read }) => {
                for (const i of added) total.added.add(group[i]![1])
                for (const u of read) total.read.add(u)
                return { ...total, from: total.from === null || (from !== null && from < total.from) ? from : total.from }
              }),
              Effect.catchIf(refusesData, (e) => {
                for (const [m] of group) {
                  const { employeeId, login, managerLogin } = m.record.person
                  rejected.push({
                    ...m.at,
                    reason: `rejected by the database (SQLSTATE ${sqlState(e) ?? "unknown"})`,
                    logins: [login, ...(managerLogin === null ? [] : [managerLogin])],
                    refs: employeeId === null ? [] : [pseudonyms.employee(employeeId)]
                  })
                }
                return Effect.succeed(total)
              })
            )
          )
        })
      )

    const writeBatch = Effect.fn("HrIngest.batch")(function* (values: ReadonlyArray<InputValue>, options: HrIngestOptions, state: IntakeState) {
      yield* deadLetters.sweep
      const asOf = yield* asOfOf(options)
      const { mapped, rejected } = mapBatch(values, options.source, mappingOf(options))
      const before = rejected.length
      const { added, from, read } = yield* commitEach(mapped, asOf, state.seen, rejected)
      for (const u of read) state.seen.add(u)
      if (from !== null && (state.from === null || from < state.from)) state.from = from
      yield* deadLetters.write("hr", null, rejected, { replay: options.replay, asOf })
      const counts = batchCounts(mapped.length, added.size, rejected, rejected.length - before)
      yield* intakeLog.record("hr", { ...counts, newestEventAt: null })
      return counts
    }, Effect.orDie)

    /** Ingests HR input values one batch at a time (events of one person must not race). */
    const records = <E, R>(values: Stream.Stream<InputValue, E, R>, options: HrIngestOptions) =>
      Effect.suspend(() => {
        const state: IntakeState = { from: null, seen: new Set() }
        // Batches commit one by one: what committed is announced even if a later line fails the intake.
        const markStale = Effect.suspend(() =>
          state.from === null
            ? Effect.void
            : inputsChanged.hr(state.from)
        )
        return ingestValues(values, { ...options, defaultBatchSize: 1_000, concurrency: 1 }, (batch) => writeBatch(batch, options, state)).pipe(
          Effect.ensuring(markStale)
        )
      }).pipe(Effect.withSpan("HrIngest.records"))

    /**
     * What `records` would store for the first `limit` values, storing nothing: the columns the
     * mapping reads each field from (in the first record), and each record's events as they would
     * be stored (pseudonymized), or its refusal. For `workcat hr --dry-run`.
     */
    const preview = <E, R>(values: Stream.Stream<InputValue, E, R>, options: HrIngestOptions, limit: number) =>
      Effect.gen(function* () {
        const asOf = yield* asOfOf(options)
        const mapping = mappingOf(options)
        const first = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(values, limit)))
        const { mapped, rejected } = mapBatch(first, options.source, mapping)
        const { changes } = changesOf(mapped, yield* employees.eventsOf(mapped.map((m) => m.userId)), asOf, new Set(), new Date(yield* Clock.currentTimeMillis).toISOString())
        const firstRecord = first.find(([, , problem]) => problem === undefined)
        let sample: unknown = undefined
        try {
          sample = firstRecord === undefined ? undefined : JSON.parse(firstRecord[0])
        } catch {
          // not JSON: no columns to show
        }
        return {
          asOf,
          preset: mapping.preset,
          dateFormat: mapping.dateFormat,
          columns: describeHrColumns(mapping, Array.isArray(sample) ? sample[0] : sample),
          records: mapped.map((m, i) => ({
            position: m.at.position,
            item: m.at.item,
            kind: m.record.kind,
            userId: m.userId,
            events: changes.filter((c) => c.record === i).map(({ event: { eventId, ...stored } }) => ({ ...stored, eventId: m.record.kind === "event" ? eventId : "(new)" }))
          })),
          rejected: rejected.map((r) => ({ position: r.position, item: r.item, reason: r.reason }))
        }
      }).pipe(Effect.withSpan("HrIngest.preview"))

    return { records, preview } as const
  }),
  dependencies: [EventStore.Default, Employees.Default, DeadLetters.Default, IntakeLog.Default]
}) {}
