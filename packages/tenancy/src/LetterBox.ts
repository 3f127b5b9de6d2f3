import { Effect, Redacted } from "effect"
import { hkdfSync } from "node:crypto"
import { makeSecretBox } from "./MasterKey.js"

/**
 * Seals what a tenant keeps but must not be readable at rest (refused records, which can hold
 * anyone's name or address): AES-256-GCM under a key derived (HKDF-SHA256) from the tenant's
 * pseudonymization key of one version, bound to the tenant, the purpose and the version. Rotating
 * the tenant's key re-seals them, so an old key, leaked, opens nothing stored.
 */
export interface LetterBox {
  /** The key version this box seals under. */
  readonly version: number
  readonly seal: (plaintext: string) => string
  /** Dies when the text was not sealed by this tenant and version (tampered, or another key). */
  readonly open: (sealed: string) => Effect.Effect<string>
}

const context = (tenant: string, version: number) => `tenant:${tenant}:dead-letter:${version}`

/** The box of one key version of a tenant (`key` is that version's pseudonymization key). */
export const makeLetterBox = (tenant: string, version: number, key: Uint8Array): LetterBox => {
  const derived = new Uint8Array(hkdfSync("sha256", key, Buffer.from(`workcat:${tenant}`, "utf8"), "workcat dead letters v1", 32))
  const box = makeSecretBox(Redacted.make(derived))
  const ctx = context(tenant, version)
  return {
    version,
    seal: (plaintext) => box.seal(Buffer.from(plaintext, "utf8"), ctx),
    open: (sealed) => Effect.map(box.open(sealed, ctx), (bytes) => Buffer.from(Redacted.value(bytes)).toString("utf8"))
  }
}
