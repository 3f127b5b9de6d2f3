import { AuditLog } from "@workcat/tenancy"
import { Effect } from "effect"
import * as os from "node:os"

/** Who runs a CLI admin action, as the audit log records it. */
export const cliActor = () => `cli:${os.userInfo().username}@${os.hostname()}`

/** Records an admin action taken from the command line. */
export const auditCli = (tenant: string, action: string, details: Readonly<Record<string, unknown>> = {}) =>
  Effect.flatMap(AuditLog, (log) => log.record({ tenant, actor: cliActor(), role: null, action, details, origin: "cli" }))
