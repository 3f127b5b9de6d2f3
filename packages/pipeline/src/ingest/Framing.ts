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
export const SAMPLE_CHARS = 4096

const isBlank = (code: number) => code === 32 || code === 9 || code === 10 || code === 13 || code === 0xfeff
const hasContent = (text: string) => {
  for (let i = 0; i < text.length; i++) if (!isBlank(text.charCodeAt(i))) return true
  return false
}

/** Cuts text chunks into input values; `end` returns what the end of the input completes. */
export interface Splitter {
  readonly push: (chunk: string) => Array<InputValue>
  readonly end: () => Array<InputValue>
}

export interface FramingOptions {
  /**
   * Keys of a wrapper object whose array is a list of records: a Workday RaaS export
   * (`{"Report_Entry": [...]}`), a BambooHR report (`{"title", "fields", "employees": [...]}`).
   * When a top-level object has one of these keys and its value is an array, each element is a
   * value of its own (at the line it starts on) and the wrapper's other keys are dropped; an
   * input that opens with such a wrapper is read as a document even when it is all on one line.
   * Default: none, so every top-level object is one value.
   */
  readonly streamArrayKeys?: ReadonlySet<string> | undefined
}

// Where a top-level object's own keys stand, for `streamArrayKeys`.
const KEY = 0 // expecting a key
const NAMED = 1 // after a key, before its colon
const VALUE = 2 // after the colon, before the value
const IN_VALUE = 3 // inside the value: nothing to watch until the next comma
const PASSING = -1 // the start of a wrapper's rest, which is passed over
/** The next state of a top-level object's keys after `c`, a character outside strings at depth 1. */
const keyStep = (state: number, c: number) =>
  c === 44 ? KEY : c === 58 && state === NAMED ? VALUE : state === VALUE && !isBlank(c) ? IN_VALUE : state

/**
 * Whether `text` opens (at `from`, a `{`) a wrapper whose array is to be streamed: undefined
 * while the text does not tell yet.
 */
const opensWrapper = (text: string, from: number, keys: ReadonlySet<string>): boolean | undefined => {
  let depth = 0
  let inString = false
  let escaped = false
  let keyStart = -1
  let key = ""
  let state = KEY
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (escaped) escaped = false
      else if (c === 92) escaped = true
      else if (c === 34) {
        inString = false
        if (keyStart >= 0) {
          key = text.slice(keyStart, i)
          keyStart = -1
          state = NAMED
        }
      }
      continue
    }
    if (depth === 1) {
      if (state === VALUE && c === 91 && keys.has(key)) return true
      state = keyStep(state, c)
    }
    if (c === 34) {
      inString = true
      if (depth === 1 && state === KEY) keyStart = i + 1
    } else if (c === 123 || c === 91) depth++
    else if ((c === 125 || c === 93) && --depth === 0) return false
  }
  return undefined
}

/**
 * Splits text chunks into JSON values without ever holding more than one value (and one chunk):
 * - NDJSON (the usual export): one value per line, judged on its own, so a truncated line is one
 *   dead letter and not the end of the file; a line holding a JSON array (an API page) is one value.
 * - A JSON document (the input starts with a `{` alone on its first line, as a pretty-printed
 *   export does, or with a `[` that does not close on that line): each top-level value, and
 *   each element of a top-level array, wherever the line breaks fall.
 * A value longer than `maxChars` is not held: it is skipped to its end and reported with a sample.
 * With `streamArrayKeys`, the records of a wrapper object are values of their own, and an input
 * that opens with a wrapper is a document even on one line (see `FramingOptions`).
 */
export const makeSplitter = (maxChars = MAX_VALUE_CHARS, options: FramingOptions = {}): Splitter => {
  const keys = options.streamArrayKeys ?? new Set<string>()
  const watch = keys.size > 0
  const longestKey = Math.max(0, ...[...keys].map((k) => k.length))
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
  // Wrappers (`streamArrayKeys`): whether the value is a top-level object (its keys are watched),
  // where its keys stand, the key being read, and whether a wrapper's array is being streamed.
  // The rest of a wrapper after it is passed over, not held: `start` is then PASSING.
  let topObject = false
  let keyState = KEY
  let keyFrom = -1
  let key = ""
  let inWrapper = false

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

  /** A streamed array ends: inside a wrapper, the rest of the wrapper is passed over. */
  const closeArray = () => {
    inArray = false
    if (!inWrapper) return
    start = PASSING
    depth = 1
    scalar = false
    topObject = true
    keyState = IN_VALUE
  }
  /** A wrapper's array opens: what was held of the wrapper is dropped, its elements are the values. */
  const openWrapper = () => {
    pending = ""
    pendingLength = 0
    start = null
    oversized = false
    inWrapper = true
    inArray = true
    topObject = false
  }

  const pushDocument = (chunk: string, out: Array<InputValue>) => {
    let from = 0 // where the current value's text starts in this chunk
    const emit = (end: number) => complete(out, chunk.slice(from, end))
    if (keyFrom >= 0) keyFrom = 0
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c === 10) line++
      if (start === null) {
        if (isBlank(c) || c === 44 /* , */) continue
        if (c === 91 /* [ */ && !inArray) inArray = true
        else if (c === 93 /* ] */ && inArray) closeArray()
        else {
          start = line
          from = i
          scalar = c !== 123 && c !== 91
          depth = scalar ? 0 : 1
          inString = c === 34
          topObject = watch && c === 123 && !inArray
          keyState = KEY
        }
        continue
      }
      if (inString) {
        if (escaped) escaped = false
        else if (c === 92 /* \ */) escaped = true
        else if (c === 34 /* " */) {
          inString = false
          if (keyFrom >= 0) {
            key += chunk.slice(keyFrom, i)
            keyFrom = -1
            keyState = NAMED
          }
        }
      } else if (scalar) {
        // Not an object or array (junk, or a bare number): it ends at the next separator.
        if (c === 44 || c === 10 || c === 93) {
          emit(i)
          if (c === 93) closeArray()
        }
      } else {
        if (topObject && depth === 1) {
          if (keyState === VALUE && c === 91 && keys.has(key)) {
            openWrapper()
            continue
          }
          keyState = keyStep(keyState, c)
        }
        if (c === 34) {
          inString = true
          if (topObject && depth === 1 && keyState === KEY) {
            key = ""
            keyFrom = i + 1
          }
        } else if (c === 123 || c === 91) depth++
        else if ((c === 125 || c === 93) && --depth === 0) {
          if (start !== PASSING) emit(i + 1)
          else {
            start = null // the wrapper ends
            inWrapper = false
          }
        }
      }
    }
    if (keyFrom >= 0 && key.length <= longestKey) key += chunk.slice(keyFrom, keyFrom + longestKey + 1 - key.length)
    if (start !== null && start !== PASSING) hold(chunk.slice(from))
  }

  /** The mode the start of the input shows, or undefined while more of it is needed (`final`: none is coming). */
  const decide = (final: boolean): "lines" | "document" | undefined => {
    const first = head.search(/\S/)
    const wrapper = first !== -1 && watch && head[first] === "{" ? opensWrapper(head, first, keys) : false
    // A wrapper is a document, even on one line, so that its records are streamed.
    if (wrapper === true) return "document"
    if (final) return "lines"
    if (first === -1) return undefined
    const nl = head.indexOf("\n", first)
    const short = head.length < 64 * 1024
    // The first line decides; wait for it (up to 64 KiB) when it starts a JSON value.
    if ((head[first] === "{" || head[first] === "[") && nl === -1 && short) return undefined
    const firstLine = head.slice(first, nl === -1 ? undefined : nl).trim()
    // A document: `{` alone on its line (pretty-printed), or an array that does not close on its
    // line. An array that does is NDJSON of pages, and each line stays on its own.
    if ((head[first] === "{" && firstLine === "{") || (head[first] === "[" && !firstLine.endsWith("]"))) return "document"
    return wrapper === undefined && short ? undefined : "lines"
  }

  const push = (chunk: string): Array<InputValue> => {
    const out: Array<InputValue> = []
    if (mode === "unknown") {
      head += chunk
      if (head.charCodeAt(0) === 0xfeff) head = head.slice(1) // a byte order mark, which Buffer decoding keeps
      const decided = decide(false)
      if (decided === undefined) return out
      mode = decided
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
      mode = decide(true) ?? "lines"
      if (mode === "document") pushDocument(head, out)
      else pushLines(head, out)
    }
    if (start !== null && start !== PASSING && (pendingLength > 0 || oversized)) finish(out, pending)
    return out
  }
  return { push, end }
}

/** The input values of a stream of text chunks, cut by a splitter made for each run. */
export const splitValues = <E, R>(text: Stream.Stream<string, E, R>, makeSplitter: () => Splitter): Stream.Stream<InputValue, E, R> =>
  Stream.suspend(() => {
    const splitter = makeSplitter()
    return text.pipe(
      Stream.mapConcat(splitter.push),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(splitter.end())))
    )
  })

/** The JSON values of a stream of text chunks (see `makeSplitter`). */
export const jsonValues = <E, R>(
  text: Stream.Stream<string, E, R>,
  maxChars = MAX_VALUE_CHARS,
  options: FramingOptions = {}
): Stream.Stream<InputValue, E, R> => splitValues(text, () => makeSplitter(maxChars, options))

/**
 * A file's text, streamed in 256 KiB chunks: a file of any size is never held in memory. Bytes
 * that are not UTF-8 become U+FFFD (the replacement character), never an error.
 */
export const fileText = (file: string): Stream.Stream<string, PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => fs.stream(file, { chunkSize: 256 * 1024 }).pipe(Stream.decodeText())))

/** The JSON values of a file. */
export const fileValues = (file: string) => jsonValues(fileText(file))
