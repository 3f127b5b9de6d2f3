import { Args, Options } from "@effect/cli"
import { IsoDate, isoDate } from "@workcat/core"
import { TenantId } from "@workcat/tenancy"
import { Schema } from "effect"

/**
 * A schema whose every failure reads `--name: expected …`. @effect/cli prints a failing value's
 * message without saying which option it was given to, and its own messages (`'x' is not a
 * integer`) do not either: every option of workcat is parsed through one of these.
 */
const named = <A, I>(flag: string, schema: Schema.Schema<A, I>, expected: string) =>
  schema.annotations({ message: () => ({ message: `${flag}: ${expected}`, override: true }) })

const WholeNumber = Schema.NumberFromString.pipe(Schema.int())
const FiniteNumber = Schema.NumberFromString.pipe(Schema.finite())

/** `--name N`: a whole number, at least `min` when given. */
export const integer = (name: string, min?: number) =>
  Options.text(name).pipe(
    Options.withSchema(
      named(`--${name}`, min === undefined ? WholeNumber : WholeNumber.pipe(Schema.greaterThanOrEqualTo(min)), `expected a whole number${min === undefined ? "" : ` of at least ${min}`}`)
    )
  )

/** `--name X`: a finite number. */
export const number = (name: string) => Options.text(name).pipe(Options.withSchema(named(`--${name}`, FiniteNumber, "expected a number")))

/** `--name VALUE`: one of `values`. */
export const choice = <const L extends string>(name: string, values: readonly [L, ...Array<L>]) =>
  Options.text(name).pipe(
    Options.withSchema(named(`--${name}`, Schema.Literal(...values), `expected one of ${values.join(", ")}`)),
    Options.withDescription(`One of ${values.join(", ")}`)
  )

const tenantExpected = "a tenant id is 2-40 characters of a-z, 0-9 and _, starting with a letter"

export const tenant = Options.text("tenant").pipe(
  Options.withSchema(named("--tenant", TenantId, tenantExpected)),
  Options.withDescription("Tenant id (a-z, 0-9, _)")
)

/** `--NAME T` any number of times: the tenants a worker is limited to (none given: every tenant's). */
export const workerTenants = (name: string) =>
  Options.text(name).pipe(
    Options.repeated,
    Options.withSchema(named(`--${name}`, Schema.mutable(Schema.Array(TenantId)), tenantExpected)),
    Options.withDescription("Only this tenant's runs (repeat for several; none: every tenant's)")
  )

/** A tenant named as an argument (`tenants set TENANT`). */
export const tenantArg = Args.text({ name: "TENANT" }).pipe(Args.withSchema(named("TENANT", TenantId, tenantExpected)))

/** `--name YYYY-MM-DD`. */
export const day = (name: string) => Options.text(name).pipe(Options.withSchema(named(`--${name}`, IsoDate, "expected a calendar date YYYY-MM-DD")))

export const json = Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))

export const date = day("date").pipe(
  Options.withDefault(isoDate(new Date())),
  Options.withDescription("Run date YYYY-MM-DD (default: today, UTC); profiles cover the tenant's profile window before it (90 days unless set)")
)
