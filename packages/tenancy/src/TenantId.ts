import { Schema } from "effect"

/**
 * A tenant identifier: lower-case letters, digits and underscores, starting with a letter.
 * It names the tenant's PostgreSQL schema, so it is deliberately narrow.
 */
export const TenantId = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_]{1,39}$/, {
    message: () => "a tenant id is 2-40 characters of a-z, 0-9 and _, starting with a letter"
  }),
  Schema.brand("TenantId")
)
export type TenantId = typeof TenantId.Type

/** The PostgreSQL schema holding one tenant's data. */
export const tenantSchema = (id: TenantId): string => `tenant_${id}`

/** The PostgreSQL role that owns the tenant's schema and is the only one its pools log in as. */
export const tenantRole = (id: TenantId): string => `workcat_tenant_${id}`

/** The tenant does not exist, or is not visible to the caller. */
export class TenantNotFound extends Schema.TaggedError<TenantNotFound>()("TenantNotFound", {
  tenant: Schema.String,
  message: Schema.String
}) {}

/** The tenant cannot be created because it exists already. */
export class TenantExists extends Schema.TaggedError<TenantExists>()("TenantExists", {
  tenant: Schema.String,
  message: Schema.String
}) {}
