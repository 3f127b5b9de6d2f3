import { Args, Command, Options } from "@effect/cli"
import { reasonKind } from "@workcat/core"
import { Console, Effect, Option, Schema } from "effect"
import { DeadLetters, type LetterFilter, type LetterInfo } from "../ingest/DeadLetters.js"
import { DeadLetterReplay } from "../ingest/Replay.js"
import { TenantCommandLive } from "../app/Layers.js"
import { auditCli } from "./Admin.js"
import { EXIT, formatNumber, InvalidInput, printJson } from "./Output.js"
import * as Opt from "./Options.js"

const filterOptions = {
  tenant: Opt.tenant,
  since: Opt.day("since").pipe(Options.optional, Options.withDescription("Letters received on or after this day (YYYY-MM-DD, UTC)")),
  reason: Options.text("reason").pipe(Options.optional, Options.withDescription("Letters whose reason contains this text (any case)")),
  json: Opt.json
}

const ids = Args.integer({ name: "ID" }).pipe(Args.withSchema(Schema.Int.pipe(Schema.positive())), Args.repeated)

const filterOf = (args: { readonly since: Option.Option<string>; readonly reason: Option.Option<string> }, more: Partial<LetterFilter> = {}): LetterFilter => ({
  since: Option.getOrUndefined(args.since),
  reason: Option.getOrUndefined(args.reason),
  ...more
})

const where = (l: LetterInfo) => `${l.source}${l.position === null ? "" : `:${l.position}`}${l.item === null ? "" : ` [${l.item}]`}`

const list = Command.make(
  "list",
  { ...filterOptions, limit: Opt.integer("limit", 1).pipe(Options.withDefault(50)) },
  (args) =>
    Effect.gen(function* () {
      const letters = yield* DeadLetters
      const filter = filterOf(args, { limit: args.limit })
      const [counts, items] = yield* Effect.all([letters.counts(filter), letters.list(filter)])
      if (args.json) return yield* printJson({ counts, items })
      const byReason = new Map<string, number>()
      for (const c of counts) byReason.set(c.reason, (byReason.get(c.reason) ?? 0) + c.count)
      const total = [...byReason.values()].reduce((a, b) => a + b, 0)
      yield* Console.log(
        [
          `${formatNumber(total)} dead letters${filter.since === undefined ? "" : ` since ${filter.since}`}, by reason:`,
          ...[...byReason].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `  ${formatNumber(n).padStart(9)}  ${reason}`),
          ...(items.length === 0 ? [] : [`the ${items.length} newest (records sealed; \`dead-letters show --tenant ${args.tenant} ID\` opens one):`]),
          ...items.map((l) => `  ${String(l.id).padStart(8)}  ${l.receivedAt.toISOString().slice(0, 19)}Z  ${l.intake.padEnd(3)}  ${where(l)}: ${reasonKind(l.reason)}${l.replayable ? "" : " (record dropped at upgrade)"}`)
        ].join("\n")
      )
    }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Dead letters (refused records) by reason, and the newest ones, without their records"))

const show = Command.make("show", { tenant: Opt.tenant, ids, json: Opt.json }, (args) =>
  Effect.gen(function* () {
    if (args.ids.length === 0) return yield* new InvalidInput({ message: "name the letters to show (IDs from `dead-letters list`)" })
    const opened = yield* Effect.flatMap(DeadLetters, (l) => l.open({ ids: args.ids }))
    // Opening a sealed record shows personal data to whoever runs this: always on the record.
    yield* auditCli(args.tenant, "dead-letters.show", { ids: opened.map((l) => l.id) })
    if (args.json) return yield* printJson(opened)
    yield* Console.log(
      opened.map((l) => `letter ${l.id}, ${where(l)}, ${l.receivedAt.toISOString()}: ${l.reason}\n${l.record ?? "(record dropped at upgrade)"}`).join("\n\n")
    )
    const missing = args.ids.filter((id) => !opened.some((l) => l.id === id))
    if (missing.length > 0) {
      process.stderr.write(`workcat: no dead letter ${missing.join(", ")} (expired, replayed or forgotten)\n`)
      process.exitCode = EXIT.invalidInput
    }
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Open dead letters' sealed records (audited): they can hold anyone's personal data"))

const replay = Command.make("replay", { ...filterOptions, ids }, (args) =>
  Effect.gen(function* () {
    const result = yield* Effect.flatMap(DeadLetterReplay, (r) => r.replay(filterOf(args, args.ids.length > 0 ? { ids: args.ids } : {})))
    yield* auditCli(args.tenant, "dead-letters.replay", { letters: result.letters, accepted: result.accepted, rejected: result.rejected })
    if (args.json) yield* printJson(result)
    else {
      yield* Console.log(
        `${formatNumber(result.letters)} letters replayed: ${formatNumber(result.accepted)} records accepted, ${formatNumber(result.duplicates)} already stored, ` +
          `${formatNumber(result.rejected)} refused again (kept, with today's reason); ${formatNumber(result.removed)} letters removed` +
          (result.skipped > 0 ? `; ${formatNumber(result.skipped)} without a record (kept from before records were sealed)` : "")
      )
    }
    if (result.rejected > 0) process.exitCode = EXIT.partial
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Send dead letters' records through their intake again, after a fix: idempotent; accepted ones are removed"))

export const deadLettersCommand = Command.make("dead-letters").pipe(
  Command.withDescription("Refused records, kept sealed: list, open (audited) and replay them"),
  Command.withSubcommands([list, show, replay])
)
