import type { Random } from "../Random.js"
import type { Company, Person } from "./Company.js"

const HOUR_MS = 3_600_000

/** Days a person works: weekdays by their presence, a weekend day rarely. */
const works = (p: Person, dayIndex: number, weekday: number, random: Random): boolean =>
  dayIndex >= p.firstDay && (weekday === 0 || weekday === 6 ? random.chance(0.04) : random.chance(p.presence))

interface Entry {
  readonly at: number
  readonly line: string
}

/**
 * One day of the company's Okta System Log as NDJSON lines in time order: per working person a
 * sign-in to Okta, single sign-ons into their apps of the day (a few of them failed), and now and
 * then a sign-on policy evaluation, which carries no app.
 */
export const logOfDay = (company: Company, day: string, dayIndex: number, random: Random): Array<string> => {
  const midnight = Date.parse(`${day}T00:00:00Z`)
  const weekday = new Date(midnight).getUTCDay()
  const entries: Array<Entry> = []
  for (const p of company.people) {
    if (!works(p, dayIndex, weekday, random)) continue
    const session = `idx${random.token(21)}`
    const start = midnight + p.startHour * HOUR_MS
    const length = random.between(4, 10) * HOUR_MS
    const event = (at: number, eventType: string, app: string | null, result: "SUCCESS" | "FAILURE") => {
      const line = JSON.stringify({
        uuid: random.uuid(),
        published: new Date(at).toISOString(),
        eventType,
        version: "0",
        severity: result === "SUCCESS" ? "INFO" : "WARN",
        actor: { id: p.oktaId, type: "User", alternateId: p.login, displayName: p.displayName },
        client: { geographicalContext: { country: p.startHour < 10 ? "Germany" : "United States" } },
        authenticationContext: { authenticationStep: random.chance(0.1) ? 2 : 1, externalSessionId: session },
        outcome: { result, reason: result === "FAILURE" ? "VERIFICATION_ERROR" : null },
        target:
          app === null
            ? []
            : [
                { id: company.instances.get(app)!, type: "AppInstance", alternateId: app, displayName: app },
                { id: `0ua${p.oktaId.slice(3)}`, type: "AppUser", alternateId: p.login, displayName: p.displayName }
              ]
      })
      entries.push({ at, line })
    }
    event(start, "user.session.start", null, "SUCCESS")
    if (random.chance(0.3)) event(start + 1_000, "policy.evaluate_sign_on", null, "SUCCESS")
    const dayFactor = random.lognormal(0.4)
    for (const a of p.apps) {
      if (!random.chance(a.dayChance)) continue
      const n = 1 + random.poisson(Math.max(0, a.accesses * dayFactor - 1))
      for (let i = 0; i < n; i++) {
        event(start + random.next() * length, "user.authentication.sso", a.name, random.chance(0.01) ? "FAILURE" : "SUCCESS")
      }
    }
  }
  return entries.sort((a, b) => a.at - b.at).map((e) => e.line)
}
