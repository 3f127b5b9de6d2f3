import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { makeSecretBox } from "../src/MasterKey.js"

const box = makeSecretBox(Redacted.make(new Uint8Array(randomBytes(32))))
const context = "tenant:t:pseudonym-key:0"

/** The sealed text with its authentication tag replaced. */
const withTag = (sealed: string, tag: (bytes: Buffer) => Buffer) => {
  const [version, iv, t, ciphertext] = sealed.split(":") as [string, string, string, string]
  return [version, iv, tag(Buffer.from(t, "base64")).toString("base64"), ciphertext].join(":")
}

describe("SecretBox", () => {
  it.effect("opens what it sealed, for the same context only", () =>
    Effect.gen(function* () {
      const sealed = box.seal(Buffer.from("secret"), context)
      expect(Buffer.from(Redacted.value(yield* box.open(sealed, context))).toString()).toBe("secret")
      expect(Exit.isFailure(yield* Effect.exit(box.open(sealed, "tenant:other:pseudonym-key:0")))).toBe(true)
    }))

  it.effect("refuses a truncated authentication tag, even one that is a prefix of the right tag", () =>
    Effect.gen(function* () {
      const sealed = box.seal(Buffer.from("secret"), context)
      for (const length of [4, 8, 12, 15]) {
        const exit = yield* Effect.exit(box.open(withTag(sealed, (t) => t.subarray(0, length)), context))
        if (Exit.isSuccess(exit)) return expect.fail(`a ${length}-byte tag was accepted`)
        expect(Cause.pretty(exit.cause)).toContain("cannot be decrypted")
      }
      const empty = yield* Effect.exit(box.open(withTag(sealed, () => Buffer.alloc(0)), context))
      expect(Exit.isFailure(empty)).toBe(true)
    }))
})
