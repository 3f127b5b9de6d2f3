import type { Message } from "@google-cloud/pubsub"
import type { FormatChoice } from "@workcat/core"
import { Chunk, Data, type Duration, Effect, Stream } from "effect"
import { type InputValue, makeSplitter } from "./Framing.js"
import { Ingest } from "./Ingest.js"
import { addCounts, emptyCounts, type IngestCounts } from "./Intake.js"

export class PubSubError extends Data.TaggedError("PubSubError")<{ readonly message: string }> {}

export interface PubSubIntakeOptions {
  /** `NAME` (in `projectId`'s project, or the client's default) or `projects/P/subscriptions/NAME`. */
  readonly subscription: string
  readonly projectId?: string
  readonly format: FormatChoice
  /** Messages held unacknowledged at once (the client's flow control); also the largest batch. */
  readonly maxMessages: number
  /** Stop after this long without a message (drain and exit); by default run until interrupted. */
  readonly idleTimeout?: Duration.Duration
  readonly onProgress?: (totals: PubSubCounts) => void
}

export interface PubSubCounts extends IngestCounts {
  readonly messages: number
}

/**
 * The input values of one message: its data as text, framed like a file (one record, a page, a
 * hook delivery, or NDJSON lines). Their origin is the message id, so a dead letter names the
 * message, and a redelivered bad message is the same letter, not a second one.
 */
const messageValues = (message: Message): ReadonlyArray<InputValue> => {
  const splitter = makeSplitter()
  const values = [...splitter.push(message.data.toString("utf8")), ...splitter.end()]
  return values.length > 0 ? values.map(([text, line, problem]) => [text, line, problem, message.id]) : [["", null, "empty message", message.id]]
}

/**
 * Pub/Sub intake with the official client: messages arrive under flow control (at most
 * `maxMessages` unacknowledged), are ingested in batches, and each batch is acknowledged only
 * after its events and dead letters are committed; a batch that fails is nacked and redelivered.
 * Intake is idempotent (events are keyed by provider id), so a redelivery after a crash between
 * commit and ack stores nothing twice. Point the client at the emulator with
 * `PUBSUB_EMULATOR_HOST`.
 */
export const ingestPubSub = (options: PubSubIntakeOptions) =>
  Effect.gen(function* () {
    const ingest = yield* Ingest
    // Loaded when used: the client and its gRPC stack are most of a process's start otherwise.
    const { PubSub } = yield* Effect.promise(() => import("@google-cloud/pubsub"))
    const client = new PubSub(options.projectId ? { projectId: options.projectId } : {})
    const subscription = client.subscription(options.subscription, {
      flowControl: { maxMessages: options.maxMessages, allowExcessMessages: false }
    })
    const exists = yield* Effect.tryPromise({
      try: () => subscription.exists(),
      catch: (e) => new PubSubError({ message: `Pub/Sub subscription ${options.subscription}: ${e instanceof Error ? e.message : String(e)}` })
    })
    if (!exists[0]) return yield* new PubSubError({ message: `Pub/Sub subscription ${options.subscription} does not exist` })

    const messages = Stream.asyncScoped<Message, PubSubError>((emit) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          subscription.on("message", (m: Message) => void emit.single(m))
          subscription.on("error", (e: Error) => void emit.fail(new PubSubError({ message: `Pub/Sub: ${e.message}` })))
        }),
        () => Effect.promise(() => subscription.close().then(() => client.close()))
      )
    )
    const source = `pubsub:${subscription.name.split("/").pop()}`
    const ingestBatch = (batch: ReadonlyArray<Message>) =>
      ingest.events(options.format, Stream.fromIterable(batch.flatMap(messageValues)), { source }).pipe(
        // Acknowledged only once committed; anything else (a failure, an interruption) is redelivered.
        Effect.onExit((exit) => Effect.sync(() => batch.forEach((m) => (exit._tag === "Success" ? m.ack() : m.nack()))))
      )

    const idle = options.idleTimeout
    return yield* (idle === undefined ? messages : messages.pipe(Stream.timeout(idle))).pipe(
      Stream.groupedWithin(options.maxMessages, "100 millis"),
      Stream.mapEffect((chunk) => Effect.map(ingestBatch(Chunk.toReadonlyArray(chunk)), (counts) => [counts, Chunk.size(chunk)] as const)),
      Stream.runFold({ ...emptyCounts, messages: 0 } as PubSubCounts, (totals, [counts, messages]) => {
        const next = { ...addCounts(totals, counts), messages: totals.messages + messages }
        options.onProgress?.(next)
        return next
      })
    )
  })
