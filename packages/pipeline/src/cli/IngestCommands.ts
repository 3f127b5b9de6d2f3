import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { FormatChoice } from "@workcat/core"
import { Console, Data, Duration, Effect, Option, Schema, Stream } from "effect"
import { fileValues, type InputValue, jsonValues } from "../ingest/Framing.js"
import { HrIngest } from "../ingest/HrIngest.js"
import { Ingest } from "../ingest/Ingest.js"
import { addCounts, emptyCounts, type IngestCounts } from "../ingest/Intake.js"
import { TenantCommandLive } from "../Layers.js"
import { formatNumber, makeProgress, printJson, seconds } from "./Output.js"
import * as Opt from "./Options.js"

class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

const recordsOf = (c: IngestCounts) => c.accepted + c.duplicates + c.rejected

const describe = (c: IngestCounts) =>
  `${formatNumber(c.accepted)} accepted, ${formatNumber(c.duplicates)} duplicates, ${formatNumber(c.rejected)} rejected`

type Input = Stream.Stream<InputValue, PlatformError | InputError, FileSystem.FileSystem>

/** `-` is standard input; anything else a file that must exist. */
const inputValues = (file: string): Effect.Effect<Input, InputError | PlatformError, FileSystem.FileSystem> =>
  file === "-"
    ? Effect.succeed(
        jsonValues(
          Stream.fromAsyncIterable(process.stdin as AsyncIterable<Uint8Array>, (e) => new InputError({ message: `stdin: ${String(e)}` })).pipe(
            Stream.decodeText()
          )
        )
      )
    : Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(file)).pipe(
        Effect.flatMap((exists) => (exists ? Effect.succeed(fileValues(file)) : Effect.fail(new InputError({ message: `${file}: no such file` }))))
      )

/**
 * Runs `ingestInput` over each input in turn, with progress (records/s, totals) on a terminal,
 * and one summary: per input, total, seconds, and the process's peak memory with `--json`.
 */
const ingestInputs = <E, R>(
  files: ReadonlyArray<string>,
  json: boolean,
  ingestInput: (values: Input, source: string, onProgress: (c: IngestCounts) => void) => Effect.Effect<IngestCounts, E, R>
) =>
  Effect.gen(function* () {
    const started = Date.now()
    let total = emptyCounts
    const perFile: Array<IngestCounts & { file: string }> = []
    for (const file of files) {
      const source = file === "-" ? "stdin" : file
      const values = yield* inputValues(file)
      const progress = makeProgress()
      const counts = yield* ingestInput(values, source, (c) =>
        progress.update(() => {
          const n = recordsOf(total) + recordsOf(c)
          return `${source}: ${describe(c)} (${formatNumber(Math.round(n / Math.max(0.001, (Date.now() - started) / 1000)))} records/s)`
        })
      )
      yield* progress.done
      perFile.push({ file: source, ...counts })
      total = addCounts(total, counts)
      if (!json) yield* Console.log(`${source}: ${describe(counts)}`)
    }
    const elapsed = Number(seconds(started))
    if (json) {
      yield* printJson({
        files: perFile,
        total,
        seconds: elapsed,
        recordsPerSecond: Math.round(recordsOf(total) / Math.max(elapsed, 0.001)),
        peakRssBytes: process.resourceUsage().maxRSS * 1024
      })
    } else if (files.length > 1) yield* Console.log(`total: ${describe(total)} in ${elapsed} s`)
  })

const files = Args.text({ name: "FILE" }).pipe(Args.repeated, Args.withDescription("NDJSON or JSON files; - for standard input"))

const pubsub = {
  from: Options.choice("from", ["files", "pubsub"]).pipe(Options.withDefault("files" as const), Options.withDescription("files (and stdin), or a Pub/Sub subscription")),
  subscription: Options.text("subscription").pipe(Options.optional, Options.withDescription("the tenant's Pub/Sub subscription (NAME or projects/P/subscriptions/NAME)")),
  project: Options.text("project").pipe(Options.optional, Options.withDescription("Google Cloud project (default: the client's, e.g. GOOGLE_CLOUD_PROJECT)")),
  maxMessages: Options.integer("max-messages").pipe(
    Options.withSchema(Schema.Int.pipe(Schema.between(1, 10_000))),
    Options.withDefault(500),
    Options.withDescription("messages held unacknowledged at once (flow control), and the largest batch")
  ),
  idleExit: Options.integer("idle-exit").pipe(
    Options.withSchema(Schema.Int.pipe(Schema.positive())),
    Options.optional,
    Options.withDescription("stop after this many seconds without a message (default: run until interrupted)")
  )
}

/** A Pub/Sub subscription until interrupted (or idle), with progress and the summary of `ingestInputs`. */
const ingestSubscription = (args: {
  readonly format: typeof FormatChoice.Type
  readonly json: boolean
  readonly subscription: Option.Option<string>
  readonly project: Option.Option<string>
  readonly maxMessages: number
  readonly idleExit: Option.Option<number>
}) =>
  Effect.gen(function* () {
    if (Option.isNone(args.subscription)) return yield* new InputError({ message: "--from pubsub needs --subscription" })
    // Loaded only here: the Google Cloud client is large, and most commands never need it.
    const { ingestPubSub } = yield* Effect.promise(() => import("../ingest/PubSubSource.js"))
    const started = Date.now()
    const progress = makeProgress()
    const totals = yield* ingestPubSub({
      subscription: args.subscription.value,
      ...(Option.isSome(args.project) ? { projectId: args.project.value } : {}),
      format: args.format,
      maxMessages: args.maxMessages,
      ...(Option.isSome(args.idleExit) ? { idleTimeout: Duration.seconds(args.idleExit.value) } : {}),
      onProgress: (c) =>
        progress.update(() => `${args.subscription.pipe(Option.getOrElse(() => ""))}: ${formatNumber(c.messages)} messages, ${describe(c)}`)
    }).pipe(Effect.ensuring(progress.done))
    if (args.json) yield* printJson({ ...totals, seconds: Number(seconds(started)) })
    else yield* Console.log(`${args.subscription.value}: ${formatNumber(totals.messages)} messages, ${describe(totals)}`)
  })

const format = Options.choice("format", FormatChoice.literals).pipe(
  Options.withDefault("auto" as const),
  Options.withDescription("okta, gws, entra, or auto: detected from the first record of each file")
)

export const ingestCommand = Command.make("ingest", { tenant: Opt.tenant, json: Opt.json, format, files, ...pubsub }, (args) =>
  Effect.gen(function* () {
    if (args.from === "pubsub") {
      if (args.files.length > 0) return yield* new InputError({ message: "--from pubsub reads no files" })
      return yield* ingestSubscription(args)
    }
    if (args.files.length === 0) return yield* new InputError({ message: "name at least one FILE (- for standard input), or --from pubsub" })
    const ingest = yield* Ingest
    yield* ingestInputs(args.files, args.json, (values, source, onProgress) => ingest.events(args.format, values, { source, onProgress }))
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(
  Command.withDescription("Ingest SSO events (Okta, Google Workspace, Entra) from files, stdin or a Pub/Sub subscription: pseudonymized, idempotent")
)

export const hrCommand = Command.make("hr", { tenant: Opt.tenant, json: Opt.json, files }, (args) =>
  Effect.gen(function* () {
    if (args.files.length === 0) return yield* new InputError({ message: "name at least one FILE (- for standard input)" })
    const hr = yield* HrIngest
    yield* ingestInputs(args.files, args.json, (values, source, onProgress) => hr.records(values, { source, onProgress }))
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Ingest HR records (hire, role_change, termination) from NDJSON or JSON files, or stdin"))
