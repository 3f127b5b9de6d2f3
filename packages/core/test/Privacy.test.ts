import { describe, expect, it } from "@effect/vitest"
import { makePseudonymizer, pseudonymize, redactPayload, UserId } from "../src/index.js"
import { Schema } from "effect"

const key = new Uint8Array(32).fill(7)

describe("pseudonyms", () => {
  it("are keyed HMACs of the normalized login", () => {
    const id = pseudonymize(key, "Jane.Doe@Example.com")
    expect(Schema.is(UserId)(id)).toBe(true)
    expect(pseudonymize(key, "  jane.doe@example.com ")).toBe(id)
    expect(pseudonymize(new Uint8Array(32).fill(8), "jane.doe@example.com")).not.toBe(id)
    expect(makePseudonymizer(key)("jane.doe@example.com")).toBe(id)
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

  it("masks e-mails and IPs in a line that is not JSON", () => {
    expect(redactPayload('{"actor":{"alternateId":"jane@example.com","ip":"2001:db8::1"')).toBe(
      '{"actor":{"alternateId":"[email]","ip":"[ip]"'
    )
  })
})
