import { Duration, Effect, Option, Redacted, Schema } from "effect"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type { Principal } from "./ApiTokens.js"
import { ControlSql } from "./Database.js"
import { Role } from "./Roles.js"
import type { TenantId } from "./TenantId.js"

/** A signed-in browser: the principal, who it is in the audit log, and the CSRF token its page sends back. */
export interface WebSession extends Principal {
  readonly sessionId: string
  readonly actor: string
  readonly csrf: string
  readonly expiresAt: Date
}

/** The session (or sign-in link) is malformed, unknown, ended or expired: the browser signs in again. */
export class InvalidSession extends Schema.TaggedError<InvalidSession>()("InvalidSession", {
  reason: Schema.Literal("malformed", "unknown", "ended", "expired")
}) {}

/** How long a browser stays signed in unless it signs out (or its token ends first). */
export const SESSION_LIFETIME = Duration.hours(8)
/** How long a one-time sign-in link works. */
export const LINK_LIFETIME = Duration.minutes(15)

const SECRET = /^(wcs|wcl)_([0-9a-f]{16})_([0-9A-Za-z_-]{43})$/

/** Whether a cookie value has a session's shape (anything else is refused without a query). */
export const isSessionShaped = (value: string) => SECRET.exec(value)?.[1] === "wcs"
const hash = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex")
/** The CSRF token is derived from the session's secret: only its holder (the server, and the page it gave it to) knows it. */
const csrfOf = (secret: string) => createHmac("sha256", secret).update("workcat csrf").digest("base64url")

/** What a session is opened for: the tenant, the role, who, and for a token's session the token. */
export interface SessionGrant {
  /** Null: an operator's session. */
  readonly tenant: TenantId | null
  readonly role: Role
  readonly actor: string
  readonly tokenId?: string | undefined
}

/**
 * Dashboard sessions: `wcs_<id>_<secret>` in an HTTP-only cookie (256 random bits, stored as a
 * SHA-256 hash), and one-time sign-in links (`wcl_…`) redeemed for a session once.
 */
export class WebSessions extends Effect.Service<WebSessions>()("workcat/WebSessions", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql

    const insert = (kind: "session" | "link", grant: SessionGrant, lifetime: Duration.Duration) =>
      Effect.gen(function* () {
        const id = randomBytes(8).toString("hex")
        const secret = randomBytes(32).toString("base64url")
        const [row] = yield* sql<{ expiresAt: Date }>`
          INSERT INTO web_sessions (id, kind, secret_hash, tenant, role, actor, token_id, expires_at)
          SELECT ${id}, ${kind}, ${hash(secret)}, ${grant.tenant}, ${grant.role}, ${grant.actor}, ${grant.tokenId ?? null},
                 least(now() + ${`${Duration.toSeconds(lifetime)} seconds`}::interval,
                       coalesce((SELECT expires_at FROM api_tokens WHERE id = ${grant.tokenId ?? null}), 'infinity'))
          RETURNING expires_at AS "expiresAt"`.pipe(Effect.orDie)
        return { id, value: Redacted.make(`${kind === "session" ? "wcs" : "wcl"}_${id}_${secret}`), csrf: csrfOf(secret), expiresAt: row!.expiresAt }
      })

    /** Opens a session (for at most `SESSION_LIFETIME`, and never past its token's expiry). */
    const open = Effect.fn("WebSessions.open")(function* (grant: SessionGrant) {
      return yield* insert("session", grant, SESSION_LIFETIME)
    })

    /** A one-time sign-in link's code, valid for `LINK_LIFETIME`. */
    const link = Effect.fn("WebSessions.link")(function* (grant: SessionGrant) {
      const { expiresAt, value } = yield* insert("link", grant, LINK_LIFETIME)
      return { code: value, expiresAt }
    })

    /** Looks a session or link up by its value; a token's session ends with its token. */
    const lookup = (kind: "wcs" | "wcl", value: Redacted.Redacted<string>) =>
      Effect.gen(function* () {
        const match = SECRET.exec(Redacted.value(value))
        if (match === null || match[1] !== kind) return yield* new InvalidSession({ reason: "malformed" })
        const [, , id, secret] = match as unknown as [string, string, string, string]
        const [row] = yield* sql<{
          tenant: TenantId | null
          role: string
          actor: string
          tokenId: string | null
          secretHash: string
          expiresAt: Date
          expired: boolean
          ended: boolean
        }>`
          SELECT s.tenant, s.role, s.actor, s.token_id AS "tokenId", s.secret_hash AS "secretHash", s.expires_at AS "expiresAt",
                 s.expires_at <= now() AS expired,
                 s.ended_at IS NOT NULL OR coalesce(t.revoked_at IS NOT NULL OR t.expires_at <= now(), false) AS ended
          FROM web_sessions s LEFT JOIN api_tokens t ON t.id = s.token_id
          WHERE s.id = ${id} AND s.kind = ${kind === "wcs" ? "session" : "link"}`.pipe(Effect.orDie)
        if (row === undefined || !timingSafeEqual(Buffer.from(row.secretHash, "hex"), Buffer.from(hash(secret), "hex"))) {
          return yield* new InvalidSession({ reason: "unknown" })
        }
        if (row.ended) return yield* new InvalidSession({ reason: "ended" })
        if (row.expired) return yield* new InvalidSession({ reason: "expired" })
        const role = Schema.decodeUnknownOption(Role)(row.role)
        if (Option.isNone(role)) return yield* new InvalidSession({ reason: "unknown" })
        return { id, secret, row, role: role.value }
      })

    const verify = Effect.fn("WebSessions.verify")(function* (value: Redacted.Redacted<string>) {
      const { id, row, role, secret } = yield* lookup("wcs", value)
      return {
        sessionId: id,
        tokenId: row.tokenId ?? `session:${id}`,
        tenant: row.tenant,
        role,
        actor: row.actor,
        csrf: csrfOf(secret),
        expiresAt: row.expiresAt
      } satisfies WebSession
    })

    /** Redeems a sign-in link once (it ends): the grant a session is then opened for. */
    const redeem = Effect.fn("WebSessions.redeem")(function* (code: Redacted.Redacted<string>) {
      const { id, role, row } = yield* lookup("wcl", code)
      const used = yield* sql`UPDATE web_sessions SET ended_at = now() WHERE id = ${id} AND ended_at IS NULL RETURNING id`.pipe(Effect.orDie)
      if (used.length === 0) return yield* new InvalidSession({ reason: "ended" })
      return { tenant: row.tenant, role, actor: row.actor, tokenId: row.tokenId ?? undefined } satisfies SessionGrant
    })

    /** Signs a session out; sessions and links expired a day ago are deleted on the way (by the expiry index). */
    const end = Effect.fn("WebSessions.end")(function* (sessionId: string) {
      yield* sql`UPDATE web_sessions SET ended_at = coalesce(ended_at, now()) WHERE id = ${sessionId}`.pipe(Effect.orDie)
      yield* sql`DELETE FROM web_sessions WHERE expires_at < now() - interval '1 day'`.pipe(Effect.orDie)
    })

    /**
     * Ends the tenant's sessions opened through its identity provider: their roles came from a
     * sign-in setup that has just changed (or was turned off). The number ended.
     */
    const endProviderSessions = Effect.fn("WebSessions.endProviderSessions")(function* (tenant: TenantId) {
      const rows = yield* sql`
        UPDATE web_sessions SET ended_at = now()
        WHERE tenant = ${tenant} AND token_id IS NULL AND actor LIKE 'oidc:%' AND ended_at IS NULL AND expires_at > now()
        RETURNING id`.pipe(Effect.orDie)
      return rows.length
    })

    return { open, link, verify, redeem, end, endProviderSessions } as const
  })
}) {}

/** Compares a CSRF header with the session's in constant time. */
export const sameCsrf = (session: Pick<WebSession, "csrf">, header: string | undefined): boolean => {
  if (header === undefined) return false
  const a = Buffer.from(session.csrf)
  const b = Buffer.from(header)
  return a.length === b.length && timingSafeEqual(a, b)
}
