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
 * Re-keys an identifier (`u_…`, `s_…`) after a key rotation: the new pseudonym is the HMAC of the
 * old one under the new key. So pseudonyms under key versions 0..n are a chain, and a leaked old
 * key alone no longer links a login to today's pseudonym.
 */
export const rekeyIdentifier = <A extends string>(key: Uint8Array, id: A): A => {
  const kind = id.slice(0, id.indexOf("_"))
  return `${kind}_${hmacHex(key, id)}` as A
}

/**
 * A bounded memo: ingest sees the same few thousand logins millions of times, and an HMAC chain
 * per event would dominate the decoding cost.
 */
const memoize = <A>(f: (input: string) => A, maxEntries = 100_000) => {
  const memo = new Map<string, A>()
  return (input: string): A => {
    const hit = memo.get(input)
    if (hit !== undefined) return hit
    const value = f(input)
    if (memo.size >= maxEntries) memo.clear()
    memo.set(input, value)
    return value
  }
}

/** The pseudonym of a login under a chain of key versions (oldest first). */
export const pseudonymizeWithChain = (keys: ReadonlyArray<Uint8Array>, login: string): UserId =>
  keys.slice(1).reduce((id, key) => rekeyIdentifier(key, id), pseudonymize(keys[0]!, login))

/** A session id's hash under a chain of key versions. */
export const hashWithChain = (keys: ReadonlyArray<Uint8Array>, kind: string, value: string): string =>
  keys.slice(1).reduce((id, key) => rekeyIdentifier(key, id), hashIdentifier(keys[0]!, kind, value))

/** The keyed hashes normalization needs, from a tenant's key chain. */
export interface Pseudonyms {
  readonly user: (login: string) => UserId
  readonly session: (sessionId: string) => string
  /** An HR employee id's keyed hash (`e_…`), which a manager field may name. */
  readonly employee: (employeeId: string) => string
  /** A record's keyed hash (`r_…`): what identifies a dead letter without keeping it readable. */
  readonly record: (text: string) => string
}

export const makePseudonyms = (keys: ReadonlyArray<Uint8Array>): Pseudonyms => ({
  user: memoize((login) => pseudonymizeWithChain(keys, login)),
  session: memoize((id) => hashWithChain(keys, "s", id)),
  employee: memoize((id) => hashWithChain(keys, "e", id.trim())),
  record: (text) => hashWithChain(keys, "r", text)
})
