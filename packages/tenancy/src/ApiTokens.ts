import { Duration, Effect, Option, Redacted, Schema } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { ControlSql } from "./Database.js"
import { Role } from "./Roles.js"
import type { TenantId } from "./TenantId.js"

/** Who is calling: a token of one tenant with one role, or an operator's (no tenant). */
export interface Principal {
  readonly tokenId: string
  readonly tenant: TenantId | null
  readonly role: Role
}

/**
 * The token is missing, malformed, unknown, revoked or expired (the API never says which). A
 * well-formed token whose id exists names that token (its id, tenant and role, never its secret),
 * so the failure can be audited on its tenant; `unknown` with a token means a wrong secret.
 */
export class InvalidToken extends Schema.TaggedError<InvalidToken>()("InvalidToken", {
  reason: Schema.Literal("malformed", "unknown", "revoked", "expired"),
  token: Schema.optional(Schema.Struct({ id: Schema.String, tenant: Schema.NullOr(Schema.String), role: Schema.String }))
}) {}

export interface TokenInfo {
  readonly id: string
  readonly tenant: string | null
  readonly role: Role
  readonly description: string | null
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly lastUsedAt: Date | null
}

const TOKEN = /^wct_([0-9a-f]{10})_([0-9A-Za-z_-]{43})$/

/** Whether a bearer value has a token's shape (`verify` refuses any other as malformed, without a query). */
export const isTokenShaped = (token: Redacted.Redacted<string>) => TOKEN.test(Redacted.value(token))
const hash = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex")

/**
 * API tokens: `wct_<id>_<secret>`, 256 random bits of secret, shown once, stored as a SHA-256
 * hash (a random secret needs no slow hash), revocable, optionally expiring.
 */
export class ApiTokens extends Effect.Service<ApiTokens>()("workcat/ApiTokens", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql

    /** A token of the tenant, or with `null` an operator's (the only role without a tenant). */
    const create = Effect.fn("ApiTokens.create")(function* (
      tenant: TenantId | null,
      role: Role,
      options: { readonly expiresIn?: Duration.Duration | undefined; readonly description?: string | undefined } = {}
    ) {
      if ((tenant === null) !== (role === "operator")) return yield* Effect.dieMessage("an operator's token has no tenant, and every other token one")
      const id = randomBytes(5).toString("hex")
      const secret = randomBytes(32).toString("base64url")
      const expiresAt = options.expiresIn ? new Date(Date.now() + Duration.toMillis(options.expiresIn)) : null
      yield* sql`
        INSERT INTO api_tokens (id, tenant, role, secret_hash, description, expires_at)
        VALUES (${id}, ${tenant}, ${role}, ${hash(secret)}, ${options.description ?? null}, ${expiresAt})`.pipe(Effect.orDie)
      return { id, token: Redacted.make(`wct_${id}_${secret}`), expiresAt }
    })

    /** The tenant's tokens, or with `null` the operators'. */
    const list = Effect.fn("ApiTokens.list")(function* (tenant: TenantId | null) {
      return yield* sql<TokenInfo>`
        SELECT id, tenant, role, description, created_at AS "createdAt", expires_at AS "expiresAt",
               revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"
        FROM api_tokens WHERE tenant IS NOT DISTINCT FROM ${tenant} ORDER BY created_at`.pipe(Effect.orDie)
    })

    /** Revokes a token of the tenant (`null`: an operator's); false when there is no such token. */
    const revoke = Effect.fn("ApiTokens.revoke")(function* (tenant: TenantId | null, id: string) {
      const rows = yield* sql`
        UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = ${id} AND tenant IS NOT DISTINCT FROM ${tenant}
        RETURNING id`.pipe(Effect.orDie)
      return rows.length > 0
    })

    const verify = Effect.fn("ApiTokens.verify")(function* (token: Redacted.Redacted<string>) {
      const match = TOKEN.exec(Redacted.value(token))
      if (match === null) return yield* new InvalidToken({ reason: "malformed" })
      const [, id, secret] = match as unknown as [string, string, string]
      const [row] = yield* sql<{ tenant: TenantId | null; role: string; secretHash: string; expired: boolean; revoked: boolean }>`
        SELECT tenant, role, secret_hash AS "secretHash", expires_at <= now() AS expired, revoked_at IS NOT NULL AS revoked
        FROM api_tokens WHERE id = ${id}`.pipe(Effect.orDie)
      if (row === undefined) return yield* new InvalidToken({ reason: "unknown" })
      const known = { id, tenant: row.tenant, role: row.role }
      if (!timingSafeEqual(Buffer.from(row.secretHash, "hex"), Buffer.from(hash(secret), "hex"))) {
        return yield* new InvalidToken({ reason: "unknown", token: known })
      }
      if (row.revoked) return yield* new InvalidToken({ reason: "revoked", token: known })
      if (row.expired) return yield* new InvalidToken({ reason: "expired", token: known })
      const role = Schema.decodeUnknownOption(Role)(row.role)
      if (Option.isNone(role)) return yield* new InvalidToken({ reason: "unknown", token: known })
      // Best effort and at most once a minute: a read-heavy client must not turn into a write load.
      yield* sql`
        UPDATE api_tokens SET last_used_at = now()
        WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`.pipe(Effect.ignore)
      return { tokenId: id, tenant: row.tenant, role: role.value } satisfies Principal
    })

    return { create, list, revoke, verify } as const
  })
}) {}

/** `30d`, `12h`, `90m` → a duration. */
export const parseExpiry = (text: string): Option.Option<Duration.Duration> => {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim())
  if (m === null) return Option.none()
  const n = Number(m[1])
  return Option.some(m[2] === "d" ? Duration.days(n) : m[2] === "h" ? Duration.hours(n) : Duration.minutes(n))
}
