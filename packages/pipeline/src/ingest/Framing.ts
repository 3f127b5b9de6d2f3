import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Stream } from "effect"

/**
 * One JSON value of an input, not yet parsed: its text, the line it starts on (from 1), why it
 * cannot be read if the framing already knows (too large to hold), and what inside the source
 * it came from when that is more than a line (a Pub/Sub message id).
 */
export type InputValue = readonly [text: string, position: number | null, problem?: string | undefined, origin?: string]

/** Largest JSON value (an event, or a page of them on one line) held in memory: 16 MiB. */
export const MAX_VALUE_CHARS = 16 * 1024 * 1024
/** What is kept of a value too large to hold, for its dead letter. */
const SAMPLE_CHARS = 4096

const isBlank = (code: number) => code === 32 || code === 9 || code === 10 || code === 13 || code === 0xfeff
const hasContent = (text: string) => {
  for (let i = 0; i < text.length; i++) if (!isBlank(text.charCodeAt(i))) return true
  return false
}

/**
 * Splits text chunks into JSON values without ever holding more than one value (and one chunk):
 * - NDJSON (the usual export): one value per line, judged on its own, so a truncated line is one
 *   dead letter and not the end of the file; a line holding a JSON array (an API page) is one value.
 * - A JSON document (the input starts with a `{` alone on its first line, as a pretty-printed
 *   export does, or with a `[` that does not close on that line): each top-level value, and
 *   each element of a top-level array, wherever the line breaks fall.
 * A value longer than `maxChars` is not held: it is skipped to its end and reported with a sample.
 */
export const makeSplitter = (maxChars = MAX_VALUE_CHARS) => {
  let mode: "unknown" | "lines" | "document" = "unknown"
  let head = "" // the text seen before the mode is known
  let line = 1 // the line the next character is on
  // The value being read: its text so far (beyond the current chunk), where it started, whether it outgrew the limit.
  let pending = ""
  let pendingLength = 0
  let start: number | null = null
  let oversized = false
  // Document mode: nesting depth inside the current value, string state, and the top-level array.
  let depth = 0
  let inString = false
  let escaped = false
  let inArray = false
  let scalar = false

  const finish = (out: Array<InputValue>, text: string) => {
    if (oversized) out.push([pending, start, `longer than ${maxChars} characters`])
    else if (hasContent(text)) out.push([text, start])
    pending = ""
    pendingLength = 0
    start = null
    oversized = false
  }
  const sampleChars = Math.min(SAMPLE_CHARS, maxChars)
  const hold = (piece: string) => {
    pendingLength += piece.length
    if (!oversized && pendingLength > maxChars) {
      oversized = true
      pending = pending.slice(0, sampleChars)
    }
    if (!oversized) pending += piece
    else if (pending.length < sampleChars) pending = (pending + piece).slice(0, sampleChars)
  }
  /** The value ends with `piece`. */
  const complete = (out: Array<InputValue>, piece: string) => {
    if (pendingLength === 0 && piece.length <= maxChars) finish(out, piece)
    else {
      hold(piece)
      finish(out, pending)
    }
  }

  const pushLines = (chunk: string, out: Array<InputValue>) => {
    let from = 0
    for (;;) {
      const nl = chunk.indexOf("\n", from)
      if (start === null) start = line
      if (nl === -1) {
        hold(chunk.slice(from))
        return
      }
      complete(out, chunk.slice(from, nl > from && chunk.charCodeAt(nl - 1) === 13 ? nl - 1 : nl))
      line++
      from = nl + 1
    }
  }

  const pushDocument = (chunk: string, out: Array<InputValue>) => {
    let from = 0 // where the current value's text starts in this chunk
    const emit = (end: number) => complete(out, chunk.slice(from, end))
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c === 10) line++
      if (start === null) {
        if (isBlank(c) || c === 44 /* , */) continue
        if (c === 91 /* [ */ && !inArray) inArray = true
        else if (c === 93 /* ] */ && inArray) inArray = false
        else {
          start = line
          from = i
          scalar = c !== 123 && c !== 91
          depth = scalar ? 0 : 1
          inString = c === 34
        }
        continue
      }
      if (inString) {
        if (escaped) escaped = false
        else if (c === 92 /* \ */) escaped = true
        else if (c === 34 /* " */) inString = false
      } else if (scalar) {
        // Not an object or array (junk, or a bare number): it ends at the next separator.
        if (c === 44 || c === 10 || c === 93) {
          emit(i)
          if (c === 93) inArray = false
        }
      } else if (c === 34) inString = true
      else if (c === 123 || c === 91) depth++
      else if ((c === 125 || c === 93) && --depth === 0) emit(i + 1)
    }
    if (start !== null) hold(chunk.slice(from))
  }

  const push = (chunk: string): Array<InputValue> => {
    const out: Array<InputValue> = []
    if (mode === "unknown") {
      head += chunk
      if (head.charCodeAt(0) === 0xfeff) head = head.slice(1) // a byte order mark, which Buffer decoding keeps
      const first = head.search(/\S/)
      if (first === -1) return out
      const nl = head.indexOf("\n", first)
      // The first line decides; wait for it (up to 64 KiB) when it starts a JSON value.
      if ((head[first] === "{" || head[first] === "[") && nl === -1 && head.length < 64 * 1024) return out
      const firstLine = head.slice(first, nl === -1 ? undefined : nl).trim()
      // A document: `{` alone on its line (pretty-printed), or an array that does not close on its
      // line. An array that does is NDJSON of pages, and each line stays on its own.
      mode = (head[first] === "{" && firstLine === "{") || (head[first] === "[" && !firstLine.endsWith("]")) ? "document" : "lines"
      chunk = head
      head = ""
    }
    if (mode === "lines") pushLines(chunk, out)
    else pushDocument(chunk, out)
    return out
  }

  const end = (): Array<InputValue> => {
    const out: Array<InputValue> = []
    if (mode === "unknown" && head !== "") {
      mode = "lines"
      pushLines(head, out)
    }
    if (start !== null && (pendingLength > 0 || oversized)) finish(out, pending)
    return out
  }
  return { push, end }
}

/** The JSON values of a stream of text chunks (see `makeSplitter`). */
export const jsonValues = <E, R>(text: Stream.Stream<string, E, R>, maxChars = MAX_VALUE_CHARS): Stream.Stream<InputValue, E, R> =>
  Stream.suspend(() => {
    const splitter = makeSplitter(maxChars)
    return text.pipe(
      Stream.mapConcat(splitter.push),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(splitter.end())))
    )
  })

/**
 * A file's text, streamed in 256 KiB chunks: a file of any size is never held in memory. Bytes
 * that are not UTF-8 become U+FFFD (the replacement character), never an error.
 */
export const fileText = (file: string): Stream.Stream<string, PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => fs.stream(file, { chunkSize: 256 * 1024 }).pipe(Stream.decodeText())))

/** The JSON values of a file. */
export const fileValues = (file: string) => jsonValues(fileText(file))
