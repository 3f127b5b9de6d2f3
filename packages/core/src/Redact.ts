/** Keys whose values identify a person in the providers' payloads (Okta, Google, Entra, HR). */
const PERSONAL_KEYS =
  /^(alternateId|displayName|login|email|emailAddress|mail|userPrincipalName|name|firstName|lastName|givenName|familyName|fullName|ipAddress|ip|ip_address|callerIpAddress|rawUserAgent|userAgent|phone|phoneNumber)$/i
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g
/** Full (8 groups) or compressed (`::`) IPv6; times like 09:15:00 are neither. */
const IPV6 =
  /(?<![0-9A-Za-z:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})(?![0-9A-Za-z:])/g

const scrubText = (text: string): string =>
  text.replace(EMAIL, "[email]").replace(IPV4, "[ip]").replace(IPV6, "[ip]")

const scrubValue = (value: unknown, key: string | undefined): unknown => {
  if (typeof value === "string") return key !== undefined && PERSONAL_KEYS.test(key) ? "[redacted]" : scrubText(value)
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, key))
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, k)]))
  }
  return value
}

/**
 * A rejected payload with personal data removed, so it can be kept as a dead letter: values of
 * personal keys are replaced, and e-mail and IP addresses are masked anywhere else. A payload
 * that is not JSON gets the masking only; a bare name in free text cannot be recognized.
 */
export const redactPayload = (payload: string): string => {
  try {
    return JSON.stringify(scrubValue(JSON.parse(payload), undefined))
  } catch {
    return scrubText(payload)
  }
}
