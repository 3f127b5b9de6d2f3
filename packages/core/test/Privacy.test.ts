import { describe, expect, it } from "@effect/vitest"
import { describeJsonError, makePseudonyms, pseudonymize, redactPayload, rekeyIdentifier, UserId, withoutActual } from "../src/index.js"
import { Schema } from "effect"

const key = new Uint8Array(32).fill(7)

describe("pseudonyms", () => {
  it("are keyed HMACs of the normalized login", () => {
    const id = pseudonymize(key, "Jane.Doe@Example.com")
    expect(Schema.is(UserId)(id)).toBe(true)
    expect(pseudonymize(key, "  jane.doe@example.com ")).toBe(id)
    expect(pseudonymize(new Uint8Array(32).fill(8), "jane.doe@example.com")).not.toBe(id)
    expect(makePseudonyms([key]).user("jane.doe@example.com")).toBe(id)
  })

  it("chain through key rotations: re-keying the old pseudonym gives the new one", () => {
    const next = new Uint8Array(32).fill(9)
    const rotated = makePseudonyms([key, next])
    expect(rotated.user("jane.doe@example.com")).toBe(rekeyIdentifier(next, pseudonymize(key, "jane.doe@example.com")))
    expect(rotated.user("jane.doe@example.com")).not.toBe(pseudonymize(key, "jane.doe@example.com"))
    expect(Schema.is(UserId)(rotated.user("x@example.com"))).toBe(true)
    expect(rotated.session("102abc")).toMatch(/^s_[0-9a-f]{32}$/)
  })
})

describe("dead-letter redaction", () => {
  it("removes personal fields and masks e-mails and IPs in JSON", () => {
    const payload = JSON.stringify({
      uuid: "1",
      actor: { alternateId: "jane@example.com", displayName: "Jane Doe" },
      client: { ipAddress: "203.0.113.7" },
      note: "contact bob@example.org from 10.1.2.3"
    })
    const redacted = redactPayload(payload)
    expect(redacted).not.toMatch(/jane@|Jane Doe|203\.0\.113\.7|bob@|10\.1\.2\.3/)
    expect(JSON.parse(redacted)).toMatchObject({ uuid: "1", actor: { displayName: "[redacted]" } })
  })

  it("masks full and compressed IPv6 but not times", () => {
    expect(redactPayload("at 09:15:00 from 2001:db8:0:0:0:0:0:1 and fe80::1ff:fe23:4567:890a")).toBe("at 09:15:00 from [ip] and [ip]")
  })

  it("redacts personal pairs of a truncated line, and e-mails and IPs in free text", () => {
    expect(redactPayload('{"actor":{"alternateId":"jane@example.com","displayName":"Jane Doe","x":"from 10.0.0.1')).toBe(
      '{"actor":{"alternateId":"[redacted]","displayName":"[redacted]","x":"from [ip]'
    )
    expect(redactPayload("bob@corp.io;2001:db8::1")).toBe("[email];[ip]")
  })

  it("replaces a personal value whatever its type", () => {
    expect(JSON.parse(redactPayload('{"name":{"first":"Ana","last":"Silva"},"ipAddress":["203.0.113.7"]}'))).toEqual({
      name: "[redacted]",
      ipAddress: "[redacted]"
    })
  })

  it("describes a JSON or Schema failure without quoting the input", () => {
    let error: unknown
    try {
      JSON.parse("bob@corp.io;10.1.2.3")
    } catch (e) {
      error = e
    }
    expect(describeJsonError(error)).toBe("invalid JSON")
    expect(withoutActual('Expected string, actual {"first":"Ana"}')).toBe("Expected string")
  })
})
