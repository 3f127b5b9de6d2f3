import { FileSystem } from "@effect/platform"
import { withoutActual } from "@workcat/core"
import { Chunk, Effect, ParseResult, Stream } from "effect"

/** How one intake went: every non-blank input line ends in exactly one of the three counts. */
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
 * A parse failure as one line, `actor.id: is missing; published: Expected Date`, never quoting
 * the input's values (the reason is stored, and values can be personal data).
 */
export const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "record"}: ${withoutActual(issue.message)}`)
    .join("; ")

/** A numbered input line (from 1). */
export type NumberedLine = readonly [line: string, position: number]

/**
 * Feeds lines to `writeBatch` in batches (up to `concurrency` in flight) and sums the counts,
 * reporting the running totals after each batch.
 */
export const ingestLines = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: IngestOptions & { readonly defaultBatchSize: number; readonly concurrency: number },
  writeBatch: (batch: ReadonlyArray<NumberedLine>) => Effect.Effect<IngestCounts, E, R>
): Effect.Effect<IngestCounts, E, R> =>
  lines.pipe(
    Stream.zipWithIndex,
    Stream.map(([line, i]): NumberedLine => [line, i + 1]),
    Stream.grouped(options.batchSize ?? options.defaultBatchSize),
    Stream.mapEffect((batch) => writeBatch(Chunk.toReadonlyArray(batch)), { concurrency: options.concurrency }),
    Stream.runFold(emptyCounts, (totals, counts) => {
      const next = addCounts(totals, counts)
      options.onProgress?.(next)
      return next
    }),
    Effect.withSpan("ingestLines", { attributes: { source: options.source } })
  )

/** The lines of a file, streamed (a file of any size is never held in memory). */
export const fileLines = (file: string) =>
  Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) => fs.stream(file, { chunkSize: 256 * 1024 }).pipe(Stream.decodeText(), Stream.splitLines))
  )
