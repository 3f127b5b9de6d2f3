import { Options } from "@effect/cli"
import { IsoDate, isoDate } from "@workcat/core"
import { TenantId } from "@workcat/tenancy"

export const tenant = Options.text("tenant").pipe(
  Options.withSchema(TenantId),
  Options.withDescription("Tenant id (a-z, 0-9, _)")
)

export const json = Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))

export const date = Options.text("date").pipe(
  Options.withSchema(IsoDate),
  Options.withDefault(isoDate(new Date())),
  Options.withDescription("Run date YYYY-MM-DD (default: today, UTC); profiles cover the 90 days before it")
)

