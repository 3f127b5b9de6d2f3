import { Effect } from "effect"
import { ControlSql } from "./Database.js"

/** One audited action: who did what, when, from where. Never an employee's identifier. */
export interface AuditEntry {
  readonly tenant: string
  /** `token:<id>` for the API, `cli:<user>@<host>` for the command line. */
  readonly actor: string
  readonly role: string | null
  readonly action: string
  readonly details: Readonly<Record<string, unknown>>
  /** The caller's network (an IPv4 /24 or IPv6 /48), or `cli`. */
  readonly origin: string | null
}

export interface AuditRecord extends AuditEntry {
  readonly id: number
  readonly at: Date
}

/** The append-only audit log (`workcat.audit_log`; a trigger refuses updates and deletes). */
export class AuditLog extends Effect.Service<AuditLog>()("workcat/AuditLog", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql

    const record = Effect.fn("AuditLog.record")(function* (entry: AuditEntry) {
      yield* sql`
        INSERT INTO audit_log (tenant, actor, role, action, details, origin)
        VALUES (${entry.tenant}, ${entry.actor}, ${entry.role}, ${entry.action}, ${JSON.stringify(entry.details)}, ${entry.origin})`
    }, Effect.orDie)

    /** Newest first; `before` pages back by id. */
    const page = Effect.fn("AuditLog.page")(function* (tenant: string, options: { readonly limit: number; readonly before?: number | undefined }) {
      return yield* sql<AuditRecord>`
        SELECT id::int AS id, tenant, at, actor, role, action, details, origin FROM audit_log
        WHERE tenant = ${tenant} ${options.before !== undefined ? sql`AND id < ${options.before}` : sql``}
        ORDER BY id DESC LIMIT ${options.limit}`
    }, Effect.orDie)

    return { record, page } as const
  })
}) {}

/** The network an address belongs to, as much of "from where" as an audit log needs. */
export const networkOf = (address: string | undefined): string | null => {
  if (address === undefined || address === "") return null
  const v4 = address.replace(/^::ffff:/, "")
  if (/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return `${v4.split(".").slice(0, 3).join(".")}.0/24`
  const groups = address.split(":")
  return `${groups.slice(0, 3).join(":")}::/48`
}
