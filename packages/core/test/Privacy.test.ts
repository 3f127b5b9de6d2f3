import { describe, expect, it } from "@effect/vitest"
import { describeJsonError, loginsIn, makePseudonyms, pseudonymize, reasonKind, rekeyIdentifier, UserId, withoutActual } from "../src/index.js"
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

describe("refused records", () => {
  it("name their people by every e-mail address in the text, even of a line that is not JSON", () => {
    expect(loginsIn('{"actor":{"alternateId":"jane@example.com","displayName":"Jane Doe","x":"cc bob@corp.io')).toEqual([
      "jane@example.com",
      "bob@corp.io"
    ])
    expect(loginsIn("E1002,Ana Silva,ana.silva@contoso.example,Engineering")).toEqual(["ana.silva@contoso.example"])
  })

  it("name their people by the provider ids the decoders would pseudonymize when there is no e-mail", () => {
    expect(loginsIn(JSON.stringify({ uuid: "1", actor: { id: "00u9", type: "User" } }))).toEqual(["okta:00u9"])
    expect(loginsIn(JSON.stringify({ id: { time: "x" }, actor: { profileId: 1234567 } }))).toEqual(["gws:1234567"])
    expect(loginsIn(JSON.stringify({ id: "s1", userId: "6f1c" }))).toEqual(["entra:6f1c"])
    expect(loginsIn(JSON.stringify({ category: "SignInLogs", properties: { userId: "7a2d" } }))).toEqual(["entra:7a2d"])
    expect(loginsIn("no address", ["jdoe"])).toEqual(["jdoe"])
  })

  it("are grouped by reason without their place in a page", () => {
    expect(reasonKind("items[2].events[0]: not a Google Workspace activity event: name: is missing")).toBe(
      "not a Google Workspace activity event: name: is missing"
    )
    expect(reasonKind("[3]: not an Okta LogEvent: actor: is missing")).toBe("not an Okta LogEvent: actor: is missing")
    expect(reasonKind("invalid JSON at character 12")).toBe("invalid JSON at character 12")
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
