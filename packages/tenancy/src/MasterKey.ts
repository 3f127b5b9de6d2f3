import { FileSystem, Path } from "@effect/platform"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { DatabaseUrl } from "./Database.js"
import { WorkcatHome } from "./Home.js"

const VERSION = "v1"
const TAG_BYTES = 16

/**
 * Encrypts secrets at rest (tenant pseudonymization keys, tenant database passwords) with
 * AES-256-GCM under the master key. The additional data binds a ciphertext to its owner and
 * purpose, so a ciphertext copied to another tenant's row does not decrypt.
 */
export interface SecretBox {
  readonly seal: (plaintext: Uint8Array, context: string) => string
  readonly open: (sealed: string, context: string) => Effect.Effect<Redacted.Redacted<Uint8Array>>
}

export class MasterKey extends Context.Tag("workcat/MasterKey")<MasterKey, SecretBox>() {}

export const makeSecretBox = (key: Redacted.Redacted<Uint8Array>): SecretBox => ({
  seal: (plaintext, context) => {
    const iv = randomBytes(12)
    const cipher = createCipheriv("aes-256-gcm", Redacted.value(key), iv, { authTagLength: TAG_BYTES })
    cipher.setAAD(Buffer.from(context, "utf8"))
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), ciphertext.toString("base64")].join(":")
  },
  open: (sealed, context) =>
    Effect.try({
      try: () => {
        const [version, iv, tag, ciphertext] = sealed.split(":")
        if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) throw new Error("unknown format")
        const authTag = Buffer.from(tag, "base64")
        // GCM verifies a truncated tag by its first bytes only: a 4-byte tag is forged in 2^32 tries.
        if (authTag.length !== TAG_BYTES) throw new Error("bad tag length")
        const decipher = createDecipheriv("aes-256-gcm", Redacted.value(key), Buffer.from(iv, "base64"), { authTagLength: TAG_BYTES })
        decipher.setAAD(Buffer.from(context, "utf8"))
        decipher.setAuthTag(authTag)
        return Redacted.make(new Uint8Array(Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64")), decipher.final()])))
      },
      // Never include the ciphertext or the key in the message.
      catch: () => new Error(`A secret (${context}) cannot be decrypted: wrong WORKCAT_MASTER_KEY, or the data was tampered with`)
    }).pipe(Effect.orDie)
})

const decodeMasterKey = (value: string) => {
  const key = Buffer.from(value.trim(), "base64")
  return key.length === 32
    ? Effect.succeed(Redacted.make(new Uint8Array(key)))
    : Effect.dieMessage(`WORKCAT_MASTER_KEY must be 32 bytes, base64-encoded (got ${key.length} bytes)`)
}

/**
 * The master key from `WORKCAT_MASTER_KEY` (base64, 32 bytes). Without it, for the embedded
 * database the key lives in `$WORKCAT_HOME/master.key` (created once, mode 0600); against an
 * external database a missing key is an error, since secrets sealed with a key that only one
 * machine holds would be lost with it.
 */
export const MasterKeyLive = Layer.effect(
    MasterKey,
    Effect.gen(function* () {
      const configured = yield* Config.option(Config.redacted("WORKCAT_MASTER_KEY"))
      if (Option.isSome(configured)) return makeSecretBox(yield* decodeMasterKey(Redacted.value(configured.value)))
      if (!(yield* DatabaseUrl).embedded) {
        return yield* Effect.dieMessage("WORKCAT_MASTER_KEY is required when DATABASE_URL is set (32 random bytes, base64)")
      }
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = path.join(yield* WorkcatHome, "master.key")
      if (!(yield* fs.exists(file))) {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        yield* fs.writeFileString(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" }).pipe(
          Effect.catchTag("SystemError", (e) => (e.reason === "AlreadyExists" ? Effect.void : Effect.fail(e)))
        )
      }
      return makeSecretBox(yield* decodeMasterKey(yield* fs.readFileString(file)))
    }).pipe(Effect.orDie)
  )
