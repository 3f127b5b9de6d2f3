import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { HrIngest } from "../ingest/HrIngest.js"
import { Ingest } from "../ingest/Ingest.js"
import { addCounts, emptyCounts, fileLines, type IngestCounts } from "../ingest/Lines.js"
import { TenantCommandLive } from "../Layers.js"
import { formatNumber, makeProgress, printJson, seconds } from "./Output.js"
import * as Opt from "./Options.js"

const describe = (c: IngestCounts) =>
  `${formatNumber(c.accepted)} accepted, ${formatNumber(c.duplicates)} duplicates, ${formatNumber(c.rejected)} rejected`

/** Runs `ingestFile` over each file in turn, with progress on a terminal and one summary. */
const ingestFiles = <E, R>(
  files: ReadonlyArray<string>,
  json: boolean,
  ingestFile: (file: string, onProgress: (c: IngestCounts) => void) => Effect.Effect<IngestCounts, E, R>
) =>
  Effect.gen(function* () {
    const started = Date.now()
    let total = emptyCounts
    const perFile: Array<IngestCounts & { file: string }> = []
    for (const file of files) {
      const progress = makeProgress()
      const counts = yield* ingestFile(file, (c) =>
        progress.update(() => {
          const n = c.accepted + c.duplicates + c.rejected
          return `${file}: ${describe(c)} (${formatNumber(Math.round(n / Math.max(0.001, (Date.now() - started) / 1000)))} lines/s)`
        })
      )
      yield* progress.done
      perFile.push({ file, ...counts })
      total = addCounts(total, counts)
      if (!json) yield* Console.log(`${file}: ${describe(counts)}`)
    }
    if (json) yield* printJson({ files: perFile, total, seconds: Number(seconds(started)) })
    else if (files.length > 1) yield* Console.log(`total: ${describe(total)} in ${seconds(started)} s`)
  })

const files = Args.file({ name: "FILE", exists: "yes" }).pipe(Args.atLeast(1))

export const ingestCommand = Command.make("ingest", { tenant: Opt.tenant, json: Opt.json, files }, (args) =>
  Effect.gen(function* () {
    const ingest = yield* Ingest
    yield* ingestFiles(args.files, args.json, (file, onProgress) => ingest.okta(fileLines(file), { source: file, onProgress }))
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Ingest Okta System Log NDJSON files (pseudonymized, idempotent)"))

export const hrCommand = Command.make("hr", { tenant: Opt.tenant, json: Opt.json, files }, (args) =>
  Effect.gen(function* () {
    const hr = yield* HrIngest
    yield* ingestFiles(args.files, args.json, (file, onProgress) => hr.records(fileLines(file), { source: file, onProgress }))
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Ingest HR records (hire, role_change, termination) from NDJSON files"))
