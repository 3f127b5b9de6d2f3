import type { FormatChoice, IsoDate } from "@workcat/core"
import { Effect, Stream } from "effect"
import { DeadLetters, type LetterFilter, type OpenedLetter } from "./DeadLetters.js"
import type { InputValue } from "./Framing.js"
import { HrIngest } from "./HrIngest.js"
import { Ingest } from "./Ingest.js"
import { addCounts, emptyCounts, type IngestCounts } from "./Intake.js"

/** What a replay did: letters sent through again, how their records fared, and the letters removed. */
export interface ReplayResult extends IngestCounts {
  readonly letters: number
  /** Letters kept from before records were sealed: nothing to send. */
  readonly skipped: number
  /** Letters deleted because their record is now accepted (or a duplicate). */
  readonly removed: number
}

const FORMATS: ReadonlyArray<string> = ["auto", "okta", "gws", "entra"]

/**
 * Sends dead letters' records through their intake again, after a fix (a new HR mapping, a
 * corrected sender, a newer workcat): idempotent, since events are stored once per event id and
 * a record refused again stays one letter (with the new reason). A letter whose record is
 * accepted, or found already stored, is deleted; a crash in between leaves letters to replay again.
 */
export class DeadLetterReplay extends Effect.Service<DeadLetterReplay>()("workcat/DeadLetterReplay", {
  effect: Effect.gen(function* () {
    const deadLetters = yield* DeadLetters
    const ingest = yield* Ingest
    const hr = yield* HrIngest

    const replayGroup = (letters: ReadonlyArray<OpenedLetter>) => {
      const { asOf, format, intake, source } = letters[0]!
      const values = Stream.fromIterable(letters.map((l): InputValue => [l.record!, l.position]))
      return intake === "hr"
        ? hr.records(values, { source, replay: true, asOf: (asOf ?? undefined) as IsoDate | undefined })
        : ingest.events((FORMATS.includes(format ?? "") ? format : "auto") as FormatChoice, values, { source, replay: true, detectEach: true })
    }

    const replay = Effect.fn("DeadLetterReplay.replay")(function* (filter: LetterFilter) {
      const startedAt = yield* deadLetters.now
      const letters = yield* deadLetters.open({ ...filter, limit: filter.limit ?? 100_000 })
      const sendable = letters.filter((l) => l.record !== null && (l.intake === "sso" || l.intake === "hr"))
      // One intake per source, format and day described: a record refused again lands on its letter.
      const groups = new Map<string, Array<OpenedLetter>>()
      for (const l of sendable) {
        const key = `${l.intake}\u0000${l.format ?? ""}\u0000${l.source}\u0000${l.asOf ?? ""}`
        const group = groups.get(key)
        if (group === undefined) groups.set(key, [l])
        else group.push(l)
      }
      let counts = emptyCounts
      for (const group of groups.values()) counts = addCounts(counts, yield* replayGroup(group))
      const removed = yield* deadLetters.settleReplay(sendable.map((l) => l.id), startedAt)
      return { ...counts, letters: letters.length, skipped: letters.length - sendable.length, removed } satisfies ReplayResult
    })

    return { replay } as const
  }),
  dependencies: [DeadLetters.Default, Ingest.Default, HrIngest.Default]
}) {}
