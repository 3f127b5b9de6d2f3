import { addDays } from "@workcat/core"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { FILES, GenerateError, type GeneratedFiles, type GenerateOptions, writeEventDays, writeLines } from "../Generate.js"
import { makeRandom } from "../Random.js"
import { makeCompany } from "./Company.js"
import { logOfDay } from "./OktaLog.js"

/** The same as the first generator's, without its malformed lines and progress. */
export type IndependentOptions = Pick<GenerateOptions, "tenant" | "employees" | "days" | "seed" | "end" | "out">

/** One line of the independent generator's truth file: what `Evaluator.fromFile` reads, and the job title. */
export interface IndependentTruth {
  readonly login: string
  readonly category: string
  readonly title: string
}

/** The first generator's files but HR. */
export type IndependentFiles = Omit<GeneratedFiles, "hr">

/**
 * A second synthetic tenant, built from its own roles (`Roles.ts`) rather than the model's
 * archetypes, to measure how the categorizer does on data it was not written from: Okta System
 * Log NDJSON (SSO events only, no HR file) and the truth. The same people and events for a given
 * seed, size and number of days (the tenant id names the domain only; the dates follow `end`).
 */
export const generateIndependent = (options: IndependentOptions) =>
  Effect.tryPromise({
    try: async (): Promise<IndependentFiles> => {
      // The seed alone, not the tenant id: a test's fresh tenant gets the same people as the benchmark's.
      const random = makeRandom(`independent:${options.seed}`)
      const company = makeCompany(options.tenant, options.employees, options.days, random)
      await fs.promises.mkdir(options.out, { recursive: true })
      const files = { events: path.join(options.out, FILES.events), truth: path.join(options.out, FILES.truth) }
      await writeLines(
        files.truth,
        company.people.map((p) => JSON.stringify({ login: p.login, category: p.role.category, title: p.role.title } satisfies IndependentTruth))
      )
      const start = addDays(options.end, -options.days)
      const eventCount = await writeEventDays(files.events, options.days, (d) => logOfDay(company, addDays(start, d), d, random))
      return { ...files, eventCount, employees: company.people.length }
    },
    catch: (cause) => new GenerateError({ message: `Cannot generate the independent tenant into ${options.out}: ${String(cause)}` })
  }).pipe(Effect.withSpan("Synthetic.generateIndependent"))
