import { Command, Options } from "@effect/cli"
import { DefaultTaxonomy, IsoDate, isoDate } from "@workcat/core"
import { Console, Effect } from "effect"
import { Evaluator } from "../eval/Evaluate.js"
import { TenantCommandLive } from "../Layers.js"
import { generate } from "../synthetic/Generate.js"
import { formatNumber, makeProgress, printJson, seconds } from "./Output.js"
import * as Opt from "./Options.js"

export const generateCommand = Command.make(
  "generate",
  {
    tenant: Opt.tenant,
    employees: Options.integer("employees").pipe(Options.withDefault(500)),
    days: Options.integer("days").pipe(Options.withDefault(90)),
    seed: Options.text("seed").pipe(Options.withDefault("1")),
    end: Options.text("end-date").pipe(
      Options.withSchema(IsoDate),
      Options.withDefault(isoDate(new Date())),
      Options.withDescription("The day after the last generated day (default: today); run nightly for this date")
    ),
    out: Options.directory("out").pipe(Options.withDescription("Output directory (created)")),
    malformed: Options.float("malformed-rate").pipe(
      Options.withDefault(0.0002),
      Options.withDescription("Share of event lines written malformed, to exercise dead letters")
    )
  },
  (args) =>
    Effect.gen(function* () {
      if (args.employees < 1 || args.days < 1) return yield* Effect.fail(new Error("--employees and --days must be at least 1"))
      const started = Date.now()
      const progress = makeProgress()
      const files = yield* generate({
        tenant: args.tenant,
        employees: args.employees,
        days: args.days,
        seed: args.seed,
        end: args.end,
        out: args.out,
        malformedRate: args.malformed,
        onProgress: (d, days, events) => progress.update(() => `day ${d}/${days}: ${formatNumber(events)} events`)
      })
      yield* progress.done
      yield* Console.log(
        `generated ${formatNumber(files.employees)} employees, ${formatNumber(files.eventCount)} events in ${seconds(started)} s:\n  ${files.events}\n  ${files.hr}\n  ${files.truth}`
      )
    })
).pipe(Command.withDescription("Generate a synthetic tenant: Okta System Log NDJSON, HR records, ground truth"))

export const evalCommand = Command.make(
  "eval",
  { tenant: Opt.tenant, truth: Options.file("truth", { exists: "yes" }) },
  (args) =>
    Effect.flatMap(Evaluator, (e) => e.fromFile(args.truth)).pipe(
      Effect.flatMap(printJson),
      Effect.provide(TenantCommandLive(args.tenant))
    )
).pipe(Command.withDescription("Accuracy of the stored categories against a ground-truth file, as JSON"))

export const taxonomyCommand = Command.make("taxonomy", { json: Opt.json }, (args) =>
  args.json
    ? printJson(DefaultTaxonomy.categories.map((c) => ({ id: c.id, name: c.name, department: c.department, description: c.description })))
    : Console.log(DefaultTaxonomy.categories.map((c) => `${c.id.padEnd(24)} ${c.name}`).join("\n"))
).pipe(Command.withDescription("Print the default work taxonomy"))
