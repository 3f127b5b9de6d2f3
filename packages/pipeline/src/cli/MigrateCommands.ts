import { Command, Options } from "@effect/cli"
import { Tenant, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Cause, Console, Data, Effect, Option } from "effect"
import { BaseLive } from "../app/Layers.js"
import { auditCli } from "./Admin.js"
import { InvalidInput, printJson } from "./Output.js"
import * as Opt from "./Options.js"

/** Tenants migrated at once: each holds one connection as its own role while it migrates. */
const CONCURRENCY = 4

/** Some tenants' schemas could not be migrated (the others were): exit 1. */
class MigrationsFailed extends Data.TaggedError("MigrationsFailed")<{ readonly message: string }> {}

type Outcome =
  | { readonly tenant: TenantId; readonly before: number; readonly after: number }
  | { readonly tenant: TenantId; readonly error: string }

/**
 * Why a migration failed, in one line: the error and what it wraps (the migration, then what
 * PostgreSQL said), never a stack.
 */
const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const messages: Array<string> = []
  let error: unknown = Cause.squash(cause)
  for (let depth = 0; depth < 4 && typeof error === "object" && error !== null; depth++) {
    const message = String((error as { readonly message?: unknown }).message ?? "").split("\n")[0]!.trim()
    if (message !== "" && !messages.includes(message)) messages.push(message)
    error = (error as { readonly cause?: unknown }).cause
  }
  return messages.length > 0 ? messages.join(": ") : String(Cause.squash(cause))
}

const lineOf = (o: Outcome) =>
  "error" in o ? `${o.tenant}: failed: ${o.error}` : o.before === o.after ? `${o.tenant}: ${o.after} (up to date)` : `${o.tenant}: ${o.before} → ${o.after}`

const migrateOne = (tenant: TenantId) =>
  Tenant.migrate(tenant).pipe(
    Effect.map((result): Outcome => ({ tenant, ...result })),
    Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.succeed<Outcome>({ tenant, error: reasonOf(cause) }))),
    Effect.tap((o) => ("error" in o || o.before === o.after ? Effect.void : auditCli(tenant, "tenant.schema.migrate", { from: o.before, to: o.after })))
  )

export const migrateCommand = Command.make(
  "migrate",
  {
    tenant: Opt.tenant.pipe(Options.optional, Options.withDescription("Migrate this tenant's schema")),
    allTenants: Options.boolean("all-tenants").pipe(Options.withDescription("Migrate every tenant's schema")),
    json: Opt.json
  },
  (args) =>
    Effect.gen(function* () {
      if (Option.isSome(args.tenant) && args.allTenants) return yield* new InvalidInput({ message: "give --tenant T or --all-tenants, not both" })
      const registry = yield* TenantRegistry
      // An unknown tenant is refused (exit 3) before anything is done.
      const tenants = Option.isSome(args.tenant)
        ? [(yield* registry.get(args.tenant.value)).id]
        : args.allTenants
          ? (yield* registry.list()).map((t) => t.id)
          : []
      // Building BaseLive migrated the control plane already, as every command's start does.
      if (!args.json) {
        yield* Console.log(
          Option.isNone(args.tenant) && !args.allTenants ? "control plane: up to date (tenants: --tenant T or --all-tenants)" : "control plane: up to date"
        )
      }
      const outcomes = yield* Effect.forEach(
        tenants,
        (tenant) => migrateOne(tenant).pipe(Effect.tap((outcome) => (args.json ? Effect.void : Console.log(lineOf(outcome))))),
        { concurrency: CONCURRENCY }
      )
      if (args.json) yield* printJson({ controlPlane: "up to date", tenants: outcomes })
      const failed = outcomes.filter((o): o is Extract<Outcome, { error: string }> => "error" in o)
      if (failed.length === 1 && outcomes.length === 1) return yield* new MigrationsFailed({ message: `tenant ${failed[0]!.tenant} failed to migrate: ${failed[0]!.error}` })
      if (failed.length > 0) {
        return yield* new MigrationsFailed({
          message: `${failed.length} of ${outcomes.length} tenants failed to migrate (the others did): ${failed.map((o) => o.tenant).join(", ")}`
        })
      }
    }).pipe(Effect.provide(BaseLive))
).pipe(
  Command.withDescription(
    "Migrate the database: the control plane, and the schemas of one tenant or all; a deploy step after every upgrade (a tenant's commands and API refuse a schema behind this build)"
  )
)
