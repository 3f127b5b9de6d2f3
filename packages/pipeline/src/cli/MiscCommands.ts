import { Command, Options } from "@effect/cli"
import { DefaultTaxonomy, isoDate } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Console, Effect } from "effect"
import { CostLedger, type SpendRow } from "../categorizer/llm/CostLedger.js"
import { Evaluator } from "../eval/Evaluate.js"
import { TenantCommandLive } from "../app/Layers.js"
import { generate } from "../synthetic/Generate.js"
import { formatNumber, InvalidInput, makeProgress, printJson, seconds } from "./Output.js"
import * as Opt from "./Options.js"

export const generateCommand = Command.make(
  "generate",
  {
    tenant: Opt.tenant,
    employees: Opt.integer("employees", 1).pipe(Options.withDefault(500)),
    days: Opt.integer("days", 1).pipe(Options.withDefault(90)),
    seed: Options.text("seed").pipe(Options.withDefault("1")),
    end: Opt.day("end-date").pipe(
      Options.withDefault(isoDate(new Date())),
      Options.withDescription("The day after the last generated day (default: today); run nightly for this date")
    ),
    out: Options.directory("out").pipe(Options.withDescription("Output directory (created)")),
    malformed: Opt.number("malformed-rate").pipe(
      Options.withDefault(0.0002),
      Options.withDescription("Share of event lines written malformed, to exercise dead letters")
    )
  },
  (args) =>
    Effect.gen(function* () {
      if (args.employees < 1 || args.days < 1) return yield* new InvalidInput({ message: "--employees and --days must be at least 1" })
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

const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`

const spendTable = (title: string, rows: ReadonlyArray<SpendRow>) => [
  `${title.padEnd(10)} ${"calls".padStart(8)} ${"input tok".padStart(12)} ${"cached".padStart(12)} ${"output tok".padStart(12)} ${"USD".padStart(12)}`,
  ...rows.map((r) =>
    `${r.period.padEnd(10)} ${formatNumber(r.calls).padStart(8)} ${formatNumber(r.inputTokens).padStart(12)} ${formatNumber(r.cachedTokens).padStart(12)} ${formatNumber(r.outputTokens).padStart(12)} ${usd(r.costUsd).padStart(12)}`
  ),
  ...(rows.length === 0 ? ["(no LLM calls)"] : [])
]

export const costsCommand = Command.make("costs", { tenant: Opt.tenant, json: Opt.json }, (args) =>
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    const ledger = yield* CostLedger
    const { budgetWarnAt, monthlyBudgetUsd } = tenant.settings.llm
    const [report, month, warehouse] = yield* Effect.all([ledger.report, ledger.monthSpend, ledger.warehouseReport])
    const used = monthlyBudgetUsd === 0 ? (month > 0 ? 1 : 0) : month / monthlyBudgetUsd
    const status = used >= 1 ? "exhausted" : used >= budgetWarnAt ? "warning" : "ok"
    if (args.json) {
      return yield* printJson({ tenant: tenant.id, budgetUsd: monthlyBudgetUsd, warnAt: budgetWarnAt, monthUsd: month, budgetUsed: used, status, ...report, warehouse })
    }
    const note = status === "exhausted"
      ? "  EXHAUSTED: new LLM calls are refused until the budget is raised or the month ends"
      : status === "warning"
        ? `  WARNING: past ${(budgetWarnAt * 100).toFixed(0)}% of the budget`
        : ""
    yield* Console.log(
      [
        `LLM spend of tenant ${tenant.id}: ${usd(month)} this month, ${(used * 100).toFixed(1)}% of the ${usd(monthlyBudgetUsd)} monthly budget${note}`,
        "",
        ...spendTable("month", report.months),
        "",
        ...spendTable("day", report.days),
        "",
        "BigQuery query jobs (bytes billed at the tenant's on-demand rate):",
        ...(warehouse.length === 0
          ? ["(no BigQuery jobs)"]
          : warehouse.map((w) => `${w.period.padEnd(10)} ${formatNumber(w.jobs).padStart(8)} jobs ${formatNumber(Math.round(w.bytesBilled / 1024 ** 2)).padStart(12)} MiB ${usd(w.costUsd).padStart(12)}`))
      ].join("\n")
    )
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("A tenant's LLM spend by month (last 12) and day (last 31), against its monthly budget, and its BigQuery spend by month"))
