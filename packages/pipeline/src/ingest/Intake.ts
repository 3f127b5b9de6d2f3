import { reasonKind } from "@workcat/core"
import { Effect, Stream } from "effect"
import type { InputValue } from "./Framing.js"

/**
 * How one intake went: every record of the input ends in exactly one of the three counts (blank
 * lines are not records); `reasons` counts the rejected ones by reason (without their place in a page).
 */
export interface IngestCounts {
  readonly accepted: number
  readonly duplicates: number
  readonly rejected: number
  readonly reasons: Readonly<Record<string, number>>
}

export const emptyCounts: IngestCounts = { accepted: 0, duplicates: 0, rejected: 0, reasons: {} }

/** Distinct reasons kept per intake; the rest are counted under one line. */
const MAX_REASONS = 50
const OTHER = "(other reasons)"

const addReasons = (into: Record<string, number>, reasons: Readonly<Record<string, number>>) => {
  for (const [reason, n] of Object.entries(reasons)) {
    const key = reason in into || Object.keys(into).length < MAX_REASONS ? reason : OTHER
    into[key] = (into[key] ?? 0) + n
  }
  return into
}

export const addCounts = (a: IngestCounts, b: IngestCounts): IngestCounts => ({
  accepted: a.accepted + b.accepted,
  duplicates: a.duplicates + b.duplicates,
  rejected: a.rejected + b.rejected,
  reasons: addReasons(addReasons({}, a.reasons), b.reasons)
})

/**
 * A record of a page or an array, as text for its dead letter; one too deeply nested for
 * `JSON.stringify` is kept as the whole value it came in.
 */
export const recordText = (record: unknown, value: string): string => {
  try {
    return JSON.stringify(record)
  } catch {
    return value
  }
}

/** The reasons of some refusals, counted (see `IngestCounts.reasons`). */
export const countReasons = (refusals: ReadonlyArray<{ readonly reason: string }>): Record<string, number> =>
  addReasons(
    {},
    refusals.reduce<Record<string, number>>((counts, r) => {
      const kind = reasonKind(r.reason)
      counts[kind] = (counts[kind] ?? 0) + 1
      return counts
    }, {})
  )

/**
 * A batch's counts: of the `candidates` it tried to store, `added` were new, the database refused
 * `refusedByDatabase` (they are among `rejected`, with the records refused before), and the rest
 * were already stored.
 */
export const batchCounts = (
  candidates: number,
  added: number,
  rejected: ReadonlyArray<{ readonly reason: string }>,
  refusedByDatabase: number
): IngestCounts => ({
  accepted: added,
  duplicates: candidates - refusedByDatabase - added,
  rejected: rejected.length,
  reasons: countReasons(rejected)
})

/** The most frequent reasons first. */
export const topReasons = (counts: IngestCounts, n = 5): ReadonlyArray<readonly [string, number]> =>
  Object.entries(counts.reasons).sort((a, b) => b[1] - a[1]).slice(0, n)

export interface IngestOptions {
  /** Names the input in dead letters, e.g. the file path. */
  readonly source: string
  readonly batchSize?: number
  /** Called after each batch with the running totals. */
  readonly onProgress?: (totals: IngestCounts) => void
  /** Dead letters sent through again (see `DeadLetterReplay`): a letter refused again is marked so. */
  readonly replay?: boolean | undefined
}

/**
 * Feeds input values to `writeBatch` in batches of at most `batchSize` values and 8 Mi
 * characters (up to `concurrency` in flight) and sums the counts, reporting the running totals
 * after each batch.
 */
export const ingestValues = <E, R, E2, R2>(
  values: Stream.Stream<InputValue, E, R>,
  options: IngestOptions & { readonly defaultBatchSize: number; readonly concurrency: number },
  writeBatch: (batch: ReadonlyArray<InputValue>) => Effect.Effect<IngestCounts, E2, R2>
): Effect.Effect<IngestCounts, E | E2, R | R2> =>
  values.pipe(
    batches(options.batchSize ?? options.defaultBatchSize, BATCH_CHARS),
    Stream.mapEffect(writeBatch, { concurrency: options.concurrency }),
    Stream.runFold(emptyCounts, (totals, counts) => {
      const next = addCounts(totals, counts)
      options.onProgress?.(next)
      return next
    }),
    Effect.withSpan("ingestValues", { attributes: { source: options.source } })
  )

const BATCH_CHARS = 8 * 1024 * 1024

/** Groups values into batches bounded in count and in characters, so memory stays bounded whatever the input. */
const batches =
  (maxCount: number, maxChars: number) =>
  <E, R>(values: Stream.Stream<InputValue, E, R>): Stream.Stream<ReadonlyArray<InputValue>, E, R> =>
    Stream.suspend(() => {
      let batch: Array<InputValue> = []
      let chars = 0
      const take = () => {
        const full = batch
        batch = []
        chars = 0
        return full
      }
      return values.pipe(
        Stream.mapConcat((value) => {
          batch.push(value)
          chars += value[0].length
          return batch.length >= maxCount || chars >= maxChars ? [take()] : []
        }),
        Stream.concat(Stream.suspend(() => (batch.length > 0 ? Stream.make(take()) : Stream.empty)))
      )
    })
