import { Schema } from "effect"
import { createHmac } from "node:crypto"

/** A user's pseudonym: `u_` + 128 bits of HMAC-SHA256(tenant key, normalized login). */
export const UserId = Schema.String.pipe(Schema.pattern(/^u_[0-9a-f]{32}$/), Schema.brand("UserId"))
export type UserId = typeof UserId.Type

/** Logins compare case-insensitively and without surrounding blanks. */
export const normalizeLogin = (login: string): string => login.trim().toLowerCase()

const hmacHex = (key: Uint8Array, value: string): string =>
  createHmac("sha256", key).update(value, "utf8").digest("hex").slice(0, 32)

/** The pseudonym of a login under a tenant key. Deterministic, so the same person joins across sources. */
export const pseudonymize = (key: Uint8Array, login: string): UserId => `u_${hmacHex(key, normalizeLogin(login))}` as UserId

/** A keyed one-way hash for other identifiers (session ids) that must be joinable but not readable. */
export const hashIdentifier = (key: Uint8Array, kind: string, value: string): string =>
  `${kind}_${hmacHex(key, `${kind}:${value}`)}`

/**
 * A pseudonymizer with a bounded memo: ingest sees the same few thousand logins millions of times,
 * and an HMAC per event would dominate the decoding cost.
 */
export const makePseudonymizer = (key: Uint8Array, maxEntries = 100_000) => {
  const memo = new Map<string, UserId>()
  return (login: string): UserId => {
    const hit = memo.get(login)
    if (hit !== undefined) return hit
    const id = pseudonymize(key, login)
    if (memo.size >= maxEntries) memo.clear()
    memo.set(login, id)
    return id
  }
}
