/** Keys whose values identify a person in the providers' payloads (Okta, Google, Entra, HR). */
const PERSONAL_KEYS =
  /^(alternateId|displayName|userDisplayName|userId|profileId|login|email|emailAddress|mail|userPrincipalName|name|firstName|lastName|givenName|familyName|fullName|ipAddress|ip|ip_address|callerIpAddress|rawUserAgent|userAgent|phone|phoneNumber)$/i
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g
/** Full (8 groups) or compressed (`::`) IPv6; times like 09:15:00 are neither. */
const IPV6 =
  /(?<![0-9A-Za-z:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})(?![0-9A-Za-z:])/g

const scrubText = (text: string): string =>
  text.replace(EMAIL, "[email]").replace(IPV4, "[ip]").replace(IPV6, "[ip]")

/** Google Workspace event parameters whose values describe the sign-in, not the person or their documents. */
const SAFE_PARAMETERS = new Set([
  "application_name",
  "app_name",
  "client_id",
  "initiated_by",
  "saml_status_code",
  "saml_second_level_status_code",
  "failure_type",
  "login_type",
  "login_challenge_method",
  "is_second_factor",
  "is_suspicious",
  "client_type",
  "api_name",
  "method_name"
])

/** A person as the providers describe one: an actor, an Okta `User` entity, a Google `USER` caller. */
const isPerson = (key: string | undefined, value: Readonly<Record<string, unknown>>) =>
  key === "actor" || value.type === "User" || value.callerType === "USER"

const scrubValue = (value: unknown, key: string | undefined, person = false): unknown => {
  if (value === null) return value
  if (key !== undefined && PERSONAL_KEYS.test(key)) return "[redacted]"
  if (person && typeof value !== "object" && key !== "type" && key !== "callerType") return "[redacted]"
  if (typeof value === "string") return scrubText(value)
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, key, person))
  if (typeof value === "object") {
    const record = value as Readonly<Record<string, unknown>>
    // A Google Workspace parameter `{name, value}`: the name stays, the value only if known to be harmless.
    if (key === "parameters" && typeof record.name === "string") {
      const safe = SAFE_PARAMETERS.has(record.name)
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, k === "name" ? v : safe ? scrubValue(v, k) : "[redacted]"]))
    }
    const inPerson = person || isPerson(key, record)
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, scrubValue(v, k, inPerson)]))
  }
  return value
}

/** `"displayName": "Jane Doe"` in text that is JSON-like but does not parse (a truncated line). */
const PERSONAL_PAIRS = new RegExp(`("(?:${PERSONAL_KEYS.source.slice(2, -3)})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"?`, "gi")

/**
 * A rejected payload with personal data removed, so it can be kept as a dead letter: values of
 * personal keys, everything about a person (an actor, a `User` entity) but its type, and Google
 * Workspace parameter values not known to be harmless (a document title can name someone) are
 * replaced whatever their type, and e-mail and IP addresses are masked anywhere else. A line that is not JSON (a truncated export line, say) gets the same treatment
 * for `"key": "value"` pairs; a bare name in free text cannot be recognized.
 */
export const redactPayload = (payload: string): string => {
  let redacted: string
  try {
    redacted = JSON.stringify(scrubValue(JSON.parse(payload), undefined))
  } catch {
    redacted = scrubText(payload.replace(PERSONAL_PAIRS, '$1"[redacted]"'))
  }
  // PostgreSQL text cannot hold NUL: a raw one (binary junk, UTF-16 read as UTF-8) becomes U+FFFD.
  return redacted.includes("\u0000") ? redacted.replaceAll("\u0000", "\ufffd") : redacted
}

/** A Schema issue message without the value it quotes ("Expected string, actual {...}"). */
export const withoutActual = (message: string): string => message.replace(/,? actual [\s\S]*$/, "")

/** Why a line is not JSON, without quoting the line (`JSON.parse` messages echo the input). */
export const describeJsonError = (error: unknown): string => {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : "")
  return position ? `invalid JSON at character ${position[1]}` : "invalid JSON"
}
