import type { Random } from "../Random.js"
import { COMPANY_APPS, type Role, type RoleApp, ROLES, STACKS } from "./Roles.js"

/** One app of a person: how likely they use it on a day they work, and how often then. */
export interface PersonApp {
  readonly name: string
  readonly dayChance: number
  readonly accesses: number
}

export interface Person {
  readonly login: string
  readonly displayName: string
  readonly oktaId: string
  readonly role: Role
  readonly apps: ReadonlyArray<PersonApp>
  /** First day index (from the window's start) the person works: late joiners have a short history. */
  readonly firstDay: number
  /** Chance of working on a weekday; part-timers and people on leave work less. */
  readonly presence: number
  /** Hours after midnight UTC their day starts (offices in several time zones). */
  readonly startHour: number
}

export interface Company {
  readonly domain: string
  readonly people: ReadonlyArray<Person>
  /** Okta app instance id per display name. */
  readonly instances: ReadonlyMap<string, string>
}

const GIVEN = ["Aino", "Bram", "Cleo", "Dario", "Esme", "Femi", "Gita", "Hal", "Ines", "Joss", "Kaia", "Luca", "Mira", "Nils",
  "Odile", "Pavel", "Quinn", "Rhea", "Soren", "Tova", "Ugo", "Vera", "Wren", "Xavi", "Yuki", "Zane", "Anouk", "Bodhi", "Cyra", "Dev"]
const FAMILY = ["Alvarez", "Brandt", "Chowdhury", "Dimitrov", "Ekwueme", "Farouk", "Gallo", "Holm", "Iyer", "Jovanovic", "Kaur",
  "Lindqvist", "Moreau", "Nwosu", "Oyelaran", "Petrov", "Quist", "Reyes", "Sato", "Tiwari", "Ueda", "Vasquez", "Wojcik", "Yilmaz"]

/** Headcount per role for `n` people: the shares by largest remainder, so a role's size does not depend on luck. */
const headcounts = (n: number): Array<number> => {
  const total = ROLES.reduce((a, r) => a + r.share, 0)
  const exact = ROLES.map((r) => (n * r.share) / total)
  const counts = exact.map(Math.floor)
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0])
  const missing = n - counts.reduce((a, b) => a + b, 0)
  for (let k = 0; k < missing; k++) counts[order[k % order.length]![1]]!++
  return counts
}

/**
 * What one person uses: each of the role's apps with its share of users' chance (a bit more or
 * less for this person), the company's apps, now and then an app of some other role; a quarter
 * of the people are narrow users of only a few of their role's apps. Activity is heavy-tailed:
 * a few people sign in ten times as much as most.
 */
const personApps = (role: Role, stack: (app: string) => string, random: Random): Array<PersonApp> => {
  const activity = Math.min(8, random.lognormal(0.8))
  const narrow = random.chance(0.25)
  let own = role.apps.filter((a) => random.chance(Math.min(1, a.p * random.between(0.7, 1.3))))
  if (own.length === 0) own = [role.apps[0]!]
  if (narrow) {
    const keep = 1 + random.int(3)
    own = [...own].sort((a, b) => b.rate * random.lognormal(0.5) - a.rate * random.lognormal(0.5)).slice(0, keep)
  }
  const stray: Array<RoleApp> = []
  if (random.chance(0.2)) {
    const other = random.pick(ROLES)
    stray.push({ ...random.pick(other.apps), rate: 0.2 })
  }
  const company = COMPANY_APPS.filter((a) => random.chance(a.p))
  const apps = new Map<string, PersonApp>()
  for (const a of [...company, ...own, ...stray]) {
    const rate = a.rate * activity * random.lognormal(0.5)
    const name = stack(a.app)
    const before = apps.get(name)
    apps.set(name, {
      name,
      // Heavy daily tools are open nearly every day; occasional ones on a few days of the window.
      dayChance: Math.min(0.97, Math.max(0.02, 1 - Math.exp(-rate)) + (before?.dayChance ?? 0)),
      accesses: rate + (before?.accesses ?? 0)
    })
  }
  return [...apps.values()]
}

/** A company of `n` people over `days` days: its stack choices, its people and their apps. */
export const makeCompany = (tenant: string, n: number, days: number, random: Random): Company => {
  const domain = `${tenant.replace(/_/g, "-")}.example.org`
  const chosen = new Map(Object.entries(STACKS).map(([slot, options]) => [slot, random.pick(options)]))
  const stack = (app: string) => chosen.get(app) ?? app
  const roles = headcounts(n).flatMap((count, i) => Array.from({ length: count }, () => ROLES[i]!))
  // Shuffled, so logins and event order say nothing about the role.
  for (let i = roles.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[roles[i], roles[j]] = [roles[j]!, roles[i]!]
  }
  const logins = new Set<string>()
  const offices = [6, 7, 8, 13, 15]
  const people = roles.map((role, i): Person => {
    const given = random.pick(GIVEN)
    const family = random.pick(FAMILY)
    let login = `${given}.${family}`.toLowerCase()
    if (logins.has(login)) login = `${login}${i}`
    logins.add(login)
    return {
      login: `${login}@${domain}`,
      displayName: `${given} ${family}`,
      oktaId: `00u${random.token(17)}`,
      role,
      apps: personApps(role, stack, random),
      firstDay: random.chance(0.06) ? random.int(Math.max(1, days - 10)) : 0,
      presence: random.chance(0.1) ? random.between(0.3, 0.6) : random.between(0.85, 0.97),
      startHour: random.pick(offices) + random.next() * 2
    }
  })
  const names = [...new Set(people.flatMap((p) => p.apps.map((a) => a.name)))].sort()
  return { domain, people, instances: new Map(names.map((name) => [name, `0oa${random.token(17)}`])) }
}
