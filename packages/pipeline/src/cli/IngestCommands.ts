import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { FormatChoice } from "@workcat/core"
import { Console, Duration, Effect, Exit, Option, Stream } from "effect"
import { hrInputValues } from "../ingest/Csv.js"
import { fileText, type InputValue, jsonValues } from "../ingest/Framing.js"
import { HrIngest } from "../ingest/HrIngest.js"
import { Ingest } from "../ingest/Ingest.js"
import { addCounts, emptyCounts, type IngestCounts, topReasons } from "../ingest/Intake.js"
import { TenantCommandLive } from "../app/Layers.js"
import { EventWarehouse } from "../warehouse/EventWarehouse.js"
import { EXIT, formatNumber, InvalidInput, makeProgress, printJson, seconds } from "./Output.js"
import * as Opt from "./Options.js"
import { readHrMapping } from "./Files.js"

/** HR exports are CSV or JSON, told apart by their first character. */
const hrValues: Framing = (text) => hrInputValues(text)


const recordsOf = (c: IngestCounts) => c.accepted + c.duplicates + c.rejected

const describe = (c: IngestCounts) =>
  `${formatNumber(c.accepted)} accepted, ${formatNumber(c.duplicates)} duplicates, ${formatNumber(c.rejected)} rejected`

type Input = Stream.Stream<InputValue, PlatformError | InvalidInput, FileSystem.FileSystem>
type Framing = (text: Stream.Stream<string, PlatformError | InvalidInput, FileSystem.FileSystem>) => Input

/** `-` is standard input; anything else a file that must exist. Its text is split into values by `frame`. */
const inputValues = (file: string, frame: Framing): Effect.Effect<Input, InvalidInput | PlatformError, FileSystem.FileSystem> =>
  file === "-"
    ? Effect.succeed(
        frame(
          Stream.fromAsyncIterable(process.stdin as AsyncIterable<Uint8Array>, (e) => new InvalidInput({ message: `stdin: ${String(e)}` })).pipe(
            Stream.decodeText()
          )
        )
      )
    : Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(file)).pipe(
        Effect.flatMap((exists) => (exists ? Effect.succeed(frame(fileText(file))) : Effect.fail(new InvalidInput({ message: `${file}: no such file` }))))
      )

/**
 * After an intake that refused records: the most frequent reasons on stderr, where to find the
 * records, and exit code 2 (some records were not stored).
 */
const reportRejected = (tenant: string, counts: IngestCounts) =>
  Effect.sync(() => {
    if (counts.rejected === 0) return
    const lines = topReasons(counts).map(([reason, n]) => `  ${formatNumber(n).padStart(9)}  ${reason}`)
    process.stderr.write(
      `${formatNumber(counts.rejected)} records rejected; the most frequent reasons:\n${lines.join("\n")}\n` +
        `They are kept, sealed, as dead letters: workcat dead-letters list --tenant ${tenant}\n`
    )
    process.exitCode = EXIT.partial
  })

/**
 * Runs `ingestInput` over each input in turn, with progress (records/s, totals) on a terminal,
 * and one summary: per input, total, seconds, and the process's peak memory with `--json`.
 */
const ingestInputs = <E, R>(
  files: ReadonlyArray<string>,
  options: { readonly json: boolean; readonly tenant: string; readonly frame: Framing },
  ingestInput: (values: Input, source: string, onProgress: (c: IngestCounts) => void) => Effect.Effect<IngestCounts, E, R>
) =>
  Effect.gen(function* () {
    const json = options.json
    // Every file must be there before any is read: exit 3 means nothing was done.
    const fs = yield* FileSystem.FileSystem
    const missing: Array<string> = []
    for (const file of files) if (file !== "-" && !(yield* fs.exists(file))) missing.push(file)
    if (missing.length > 0) return yield* new InvalidInput({ message: `no such file: ${missing.join(", ")}` })
    const started = Date.now()
    let total = emptyCounts
    const perFile: Array<IngestCounts & { file: string }> = []
    for (const file of files) {
      const source = file === "-" ? "stdin" : file
      const values = yield* inputValues(file, options.frame)
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
    yield* reportRejected(options.tenant, total)
  })

const files = Args.text({ name: "FILE" }).pipe(Args.repeated, Args.withDescription("NDJSON or JSON files; - for standard input"))

const pubsub = {
  from: Opt.choice("from", ["files", "pubsub"]).pipe(Options.withDefault("files" as const), Options.withDescription("files (and stdin), or a Pub/Sub subscription")),
  subscription: Options.text("subscription").pipe(Options.optional, Options.withDescription("the tenant's Pub/Sub subscription (NAME or projects/P/subscriptions/NAME)")),
  project: Options.text("project").pipe(Options.optional, Options.withDescription("Google Cloud project (default: the client's, e.g. GOOGLE_CLOUD_PROJECT)")),
  maxMessages: Opt.integer("max-messages", 1).pipe(
    Options.withDefault(500),
    Options.withDescription("messages held unacknowledged at once (flow control), and the largest batch")
  ),
  idleExit: Opt.integer("idle-exit", 1).pipe(
    Options.optional,
    Options.withDescription("stop after this many seconds without a message (default: run until interrupted)")
  )
}

/** A Pub/Sub subscription until interrupted (or idle), with progress and the summary of `ingestInputs`. */
const ingestSubscription = (args: {
  readonly tenant: string
  readonly format: typeof FormatChoice.Type
  readonly json: boolean
  readonly subscription: Option.Option<string>
  readonly project: Option.Option<string>
  readonly maxMessages: number
  readonly idleExit: Option.Option<number>
}) =>
  Effect.gen(function* () {
    if (Option.isNone(args.subscription)) return yield* new InvalidInput({ message: "--from pubsub needs --subscription" })
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
    yield* reportRejected(args.tenant, totals)
  })

const format = Opt.choice("format", FormatChoice.literals).pipe(
  Options.withDefault("auto" as const),
  Options.withDescription("okta, gws, entra, or auto: detected from the first record of each file")
)

export const ingestCommand = Command.make("ingest", { tenant: Opt.tenant, json: Opt.json, format, files, ...pubsub }, (args) =>
  Effect.gen(function* () {
    if (args.from === "pubsub") {
      if (args.files.length > 0) return yield* new InvalidInput({ message: "--from pubsub reads no files" })
      return yield* ingestSubscription(args)
    }
    if (args.files.length === 0) return yield* new InvalidInput({ message: "name at least one FILE (- for standard input), or --from pubsub" })
    const ingest = yield* Ingest
    const warehouse = yield* EventWarehouse
    yield* ingestInputs(args.files, { json: args.json, tenant: args.tenant, frame: jsonValues }, (values, source, onProgress) =>
      ingest.events(args.format, values, { source, onProgress })
    ).pipe(
      // A one-shot intake leaves nothing behind, whatever it refused: the rollup settled (and, for a
      // BigQuery tenant, its events loaded there). Not when interrupted: Ctrl-C stops at once.
      Effect.onExit((exit) => (Exit.isInterrupted(exit) ? Effect.void : Effect.asVoid(warehouse.settle)))
    )
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(
  Command.withDescription("Ingest SSO events (Okta, Google Workspace, Entra) from files, stdin or a Pub/Sub subscription: pseudonymized, idempotent")
)

const hrOptions = {
  mapping: Options.file("mapping", { exists: "yes" }).pipe(
    Options.optional,
    Options.withDescription("An HR mapping JSON file to read the records with instead of the tenant's (try one before `tenants set --hr-mapping`)")
  ),
  asOf: Opt.day("as-of").pipe(
    Options.optional,
    Options.withDescription("The day snapshot rows describe (default: today, UTC)")
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("Store nothing: print the mapping's columns and the first records as they would be stored (pseudonymized)")
  ),
  rows: Opt.integer("rows", 1).pipe(
    Options.withDefault(10),
    Options.withDescription("Records --dry-run shows")
  )
}

export const hrCommand = Command.make("hr", { tenant: Opt.tenant, json: Opt.json, files, ...hrOptions }, (args) =>
  Effect.gen(function* () {
    if (args.files.length === 0) return yield* new InvalidInput({ message: "name at least one FILE (- for standard input)" })
    const hr = yield* HrIngest
    const mapping = Option.isSome(args.mapping) ? yield* readHrMapping(args.mapping.value) : undefined
    const options = { mapping, asOf: Option.getOrUndefined(args.asOf) }
    if (args.dryRun) {
      for (const file of args.files) {
        const preview = yield* hr.preview(yield* inputValues(file, hrValues), { ...options, source: file }, args.rows)
        yield* args.json ? printJson({ file, ...preview }) : Console.log(describePreview(file, preview))
      }
      return
    }
    yield* ingestInputs(args.files, { json: args.json, tenant: args.tenant, frame: hrValues }, (values, source, onProgress) =>
      hr.records(values, { ...options, source, onProgress })
    )
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(
  Command.withDescription(
    "Ingest HR records from CSV, JSON or NDJSON exports (events, or snapshot rows turned into the events that explain them), or stdin"
  )
)

/** What `hr --dry-run` prints: the columns read, then each record's events as they would be stored. */
const describePreview = (file: string, preview: Effect.Effect.Success<ReturnType<HrIngest["preview"]>>) => {
  const columns = Object.entries(preview.columns).map(([field, column]) => `  ${field.padEnd(18)} ← ${column}`)
  const records = preview.records.map((r) => {
    const events = r.events.length === 0 ? ["      (no change from what is stored)"] : r.events.map((e) => `      ${JSON.stringify(e)}`)
    return [`  line ${r.position ?? "?"}${r.item === null ? "" : ` [${r.item}]`}: ${r.kind} of ${r.userId}`, ...events].join("\n")
  })
  const rejected = preview.rejected.map((r) => `  line ${r.position ?? "?"}${r.item === null ? "" : ` [${r.item}]`}: refused: ${r.reason}`)
  return [
    `${file}: preset ${preview.preset}, dates ${preview.dateFormat}, snapshot rows as of ${preview.asOf} (nothing stored)`,
    "columns read:",
    ...(columns.length > 0 ? columns : ["  (none found)"]),
    "records as they would be stored:",
    ...records,
    ...rejected
  ].join("\n")
}
