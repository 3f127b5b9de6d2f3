import type { IsoDate } from "@workcat/core"
import type { AppRate, SyntheticEmployee, SyntheticTenant } from "./Population.js"
import type { Random } from "./Random.js"

const HOUR_MS = 3_600_000

const isActive = (e: SyntheticEmployee, day: IsoDate, random: Random): boolean => {
  if (day < e.hireDate || (e.terminationDate !== null && day >= e.terminationDate)) return false
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay()
  if (weekday === 0 || weekday === 6) return random.chance(e.weekendChance)
  if (e.vacation !== null && day >= e.vacation.from && day <= e.vacation.to) return false
  return random.chance(0.95)
}

/** The apps of a person on a day: a drifter's old tools fade as the new role's arrive. */
const appsOn = (e: SyntheticEmployee, day: IsoDate): ReadonlyArray<AppRate> =>
  e.drift !== null && day >= e.drift.since
    ? [...e.apps.map((a) => ({ app: a.app, rate: a.rate * 0.3 })), ...e.drift.apps]
    : e.apps

interface Access {
  readonly at: number
  readonly eventType: string
  readonly app: string | null
  readonly step: number
  readonly result: "SUCCESS" | "FAILURE"
}

const DISPLAY_MESSAGES: Readonly<Record<string, string>> = {
  "user.authentication.sso": "User single sign on to app",
  "user.session.start": "User login to Okta",
  "user.authentication.auth_via_mfa": "Authentication of user via MFA"
}

/** An Okta System Log `LogEvent` as the System Log API returns it (the fields workcat reads, and the personal data it must drop). */
const oktaEvent = (t: SyntheticTenant, e: SyntheticEmployee, a: Access, session: string, random: Random) => {
  const instance = a.app === null ? undefined : t.appInstances.get(a.app)
  return {
    uuid: random.uuid(),
    published: new Date(a.at).toISOString(),
    eventType: a.eventType,
    version: "0",
    severity: a.result === "SUCCESS" ? "INFO" : "WARN",
    displayMessage: DISPLAY_MESSAGES[a.eventType],
    actor: { id: e.oktaId, type: "User", alternateId: e.login, displayName: e.name },
    client: {
      userAgent: { rawUserAgent: e.userAgent.raw },
      ipAddress: `${e.place.ip}${e.ipSuffix}`,
      geographicalContext: { city: e.place.city, country: e.place.country }
    },
    authenticationContext: { authenticationStep: a.step, externalSessionId: session },
    outcome: { result: a.result, reason: a.result === "FAILURE" ? "INVALID_CREDENTIALS" : null },
    target:
      instance === undefined
        ? null
        : [
            { id: instance.id, type: "AppInstance", alternateId: instance.name, displayName: instance.name },
            { id: `0ua${e.oktaId.slice(3)}`, type: "AppUser", alternateId: e.login, displayName: e.name }
          ]
  }
}

/** Real exports are messy: a truncated line, or a record that is not a LogEvent. */
const corrupt = (line: string, random: Random): string => {
  const event = JSON.parse(line) as Record<string, unknown>
  switch (random.int(3)) {
    case 0:
      return line.slice(0, Math.max(1, random.int(line.length - 1)))
    case 1:
      delete event.published
      return JSON.stringify(event)
    default:
      return JSON.stringify({ ...event, actor: { ...(event.actor as object), id: 42 } })
  }
}

/** One day of the tenant's Okta System Log, as NDJSON lines in time order. */
export const eventsForDay = (t: SyntheticTenant, day: IsoDate, random: Random, malformedRate: number): Array<string> => {
  const midnight = Date.parse(`${day}T00:00:00Z`)
  const events: Array<{ at: number; line: string }> = []
  for (const e of t.employees) {
    if (!isActive(e, day, random)) continue
    const session = `102${random.token(22)}`
    const dayFactor = random.lognormal(0.3)
    const start = midnight + (7 + random.next() * 3) * HOUR_MS
    const accesses: Array<Access> = [{ at: start, eventType: "user.session.start", app: null, step: 1, result: "SUCCESS" }]
    if (random.chance(0.15)) {
      accesses.push({ at: start + 60_000, eventType: "user.authentication.auth_via_mfa", app: null, step: 2, result: "SUCCESS" })
    }
    for (const { app, rate } of appsOn(e, day)) {
      const n = random.poisson(rate * dayFactor)
      for (let i = 0; i < n; i++) {
        accesses.push({
          at: start + random.next() * 9 * HOUR_MS,
          eventType: "user.authentication.sso",
          app,
          step: 1 + (random.chance(t.mfaRate(app) * e.mfaFactor) ? 1 : 0),
          result: random.chance(0.005) ? "FAILURE" : "SUCCESS"
        })
      }
    }
    for (const a of accesses) {
      const line = JSON.stringify(oktaEvent(t, e, a, session, random))
      events.push({ at: a.at, line: random.chance(malformedRate) ? corrupt(line, random) : line })
    }
  }
  return events.sort((a, b) => a.at - b.at).map((e) => e.line)
}
