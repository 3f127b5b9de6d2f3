import { Effect, Stream } from "effect"
import type { InputValue } from "./Framing.js"

/** How one intake went: every record of the input ends in exactly one of the three counts (blank lines are not records). */
export interface IngestCounts {
  readonly accepted: number
  readonly duplicates: number
  readonly rejected: number
}

export const emptyCounts: IngestCounts = { accepted: 0, duplicates: 0, rejected: 0 }

export const addCounts = (a: IngestCounts, b: IngestCounts): IngestCounts => ({
  accepted: a.accepted + b.accepted,
  duplicates: a.duplicates + b.duplicates,
  rejected: a.rejected + b.rejected
})

export interface IngestOptions {
  /** Names the input in dead letters, e.g. the file path. */
  readonly source: string
  readonly batchSize?: number
  /** Called after each batch with the running totals. */
  readonly onProgress?: (totals: IngestCounts) => void
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
