import { describe, expect, it } from "@effect/vitest"
import { networkOf } from "../src/AuditLog.js"

describe("networkOf", () => {
  it("keeps an IPv4 address's /24", () => {
    expect(networkOf("203.0.113.77")).toBe("203.0.113.0/24")
    expect(networkOf("10.1.2.3")).toBe("10.1.2.0/24")
  })

  it("keeps an IPv6 address's /48, whatever its textual form", () => {
    const forms: ReadonlyArray<[string, string]> = [
      ["2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::/48"],
      ["2001:0DB8:85A3:08D3:1319:8A2E:0370:7348", "2001:db8:85a3::/48"],
      ["2001:db8:85a3::7348", "2001:db8:85a3::/48"],
      ["fe80::1234:5678", "fe80::/48"],
      ["fe80::1234:5678%eth0", "fe80::/48"],
      ["2001:db8::1", "2001:db8::/48"],
      ["2001::1:2:3:4", "2001::/48"],
      ["::1", "::/48"],
      ["::", "::/48"],
      ["[2001:db8:1:2::3]", "2001:db8:1::/48"],
      ["64:ff9b::198.51.100.7", "64:ff9b::/48"]
    ]
    for (const [address, network] of forms) expect([address, networkOf(address)]).toEqual([address, network])
  })

  it("treats an IPv4-mapped IPv6 address as the IPv4 address it is", () => {
    expect(networkOf("::ffff:198.51.100.7")).toBe("198.51.100.0/24")
    expect(networkOf("::FFFF:198.51.100.7")).toBe("198.51.100.0/24")
    expect(networkOf("::ffff:c633:6407")).toBe("198.51.100.0/24")
  })

  it("records no origin for what is not an address, rather than the text itself", () => {
    for (const text of ["", "localhost", "1.2.3", "1.2.3.456", "1::2::3", "1:2:3:4:5:6:7:8:9", "fe80::12345", "2001:db8::1.2.3"]) {
      expect([text, networkOf(text)]).toEqual([text, null])
    }
    expect(networkOf(undefined)).toBeNull()
  })

  it("never returns more than 48 bits of an IPv6 address", () => {
    for (const address of ["fe80::1234:5678", "1:2:3:4:5:6:7:8", "a::b:c:d:e:f"]) {
      const network = networkOf(address)!
      expect(network).not.toMatch(/1234|5678|:4|:e|:f/)
    }
  })
})
