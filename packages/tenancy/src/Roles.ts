import { Schema } from "effect"

/**
 * What an API token may be allowed to do. Every role but `operator` is bound to one tenant; an
 * operator's token to none: it sees every tenant's aggregates (runs, spend, dead letters,
 * accuracy, intake), never a tenant's data.
 */
export const Role = Schema.Literal("admin", "analyst", "ingest", "hr_admin", "operator")
export type Role = typeof Role.Type

export type Permission =
  | "categories:read"
  | "metrics:read"
  | "events:write"
  | "settings:read"
  | "settings:write"
  | "runs:manage"
  | "privacy:forget"
  | "audit:read"
  | "deadletters:read"
  | "operator:read"

/** The rights of each role. Per-person reads (`categories:read`) are audited. */
export const permissions: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(["settings:read", "settings:write", "runs:manage", "categories:read", "metrics:read", "deadletters:read"]),
  analyst: new Set(["categories:read", "metrics:read"]),
  ingest: new Set(["events:write"]),
  hr_admin: new Set(["privacy:forget", "audit:read", "metrics:read"]),
  operator: new Set(["operator:read"])
}

/** The audit log's tenant for what concerns no one tenant (an operator token's creation or revocation). */
export const FLEET = "*"

export const can = (role: Role, permission: Permission): boolean => permissions[role].has(permission)
