import {
  addDays,
  type AppKey,
  type ArchetypeSlot,
  type CategoryId,
  DefaultAppCatalog,
  DefaultArchetypes,
  DefaultTaxonomy,
  type IsoDate
} from "@workcat/core"
import { FIRST_NAMES, LAST_NAMES, PLACES, TEAMS, USER_AGENTS } from "./Names.js"
import type { Random } from "./Random.js"

/** How common each role is in a typical software company (relative weights). */
const ROLE_MIX: Readonly<Record<string, number>> = {
  frontend_engineering: 9, backend_engineering: 13, data_engineering: 3, data_analytics: 3, devops_engineering: 4,
  security_engineering: 2, quality_assurance: 3, design: 4, product_management: 5, sales: 11, customer_success: 6,
  customer_support: 7, marketing: 6, finance: 3, people_hr: 2, recruiting: 2.5, legal: 1.2, it_operations: 2.5,
  business_operations: 2.5, executive: 1.3
}

/** Roles whose tools overlap: hybrids and drifters move along these lines. */
const ADJACENT: Readonly<Record<string, ReadonlyArray<string>>> = {
  frontend_engineering: ["backend_engineering", "design", "quality_assurance"],
  backend_engineering: ["frontend_engineering", "devops_engineering", "data_engineering"],
  data_engineering: ["data_analytics", "backend_engineering"],
  data_analytics: ["data_engineering", "product_management", "business_operations"],
  devops_engineering: ["backend_engineering", "security_engineering"],
  security_engineering: ["devops_engineering", "it_operations"],
  quality_assurance: ["frontend_engineering", "backend_engineering"],
  design: ["product_management", "frontend_engineering", "marketing"],
  product_management: ["design", "data_analytics", "backend_engineering"],
  sales: ["customer_success", "marketing"],
  customer_success: ["sales", "customer_support"],
  customer_support: ["customer_success", "it_operations"],
  marketing: ["sales", "design", "data_analytics"],
  finance: ["business_operations", "legal"],
  people_hr: ["recruiting", "finance"],
  recruiting: ["people_hr", "sales"],
  legal: ["finance", "people_hr"],
  it_operations: ["security_engineering", "devops_engineering"],
  business_operations: ["finance", "sales", "data_analytics"],
  executive: ["sales", "finance", "product_management", "business_operations"]
}

/** Roles that work weekends more often (on-call, shifts, leadership). */
const WEEKEND_ROLES = new Set(["devops_engineering", "customer_support", "security_engineering", "executive"])

/** Apps whose sign-on policy asks for a second factor more often. */
const SENSITIVE_APPS = new Set([
  "aws_console", "google_cloud_console", "azure_portal", "netsuite", "salesforce", "okta_admin", "google_admin",
  "microsoft_365_admin", "workday", "adp", "bill_com", "carta", "brex", "ramp", "hashicorp_vault", "crowdstrike",
  "gusto", "deel", "stripe_dashboard", "terraform_cloud"
])

export interface AppRate {
  readonly app: AppKey
  /** Expected accesses on an active day. */
  readonly rate: number
}

export interface SyntheticEmployee {
  readonly login: string
  readonly name: string
  readonly oktaId: string
  readonly category: CategoryId
  readonly secondary: CategoryId | null
  readonly title: string
  readonly department: string
  readonly team: string
  readonly hireDate: IsoDate
  readonly terminationDate: IsoDate | null
  readonly promotion: { readonly date: IsoDate; readonly title: string } | null
  readonly apps: ReadonlyArray<AppRate>
  /** Usage that moves to another role over the last days of the window. */
  readonly drift: { readonly to: CategoryId; readonly since: IsoDate; readonly apps: ReadonlyArray<AppRate> } | null
  readonly vacation: { readonly from: IsoDate; readonly to: IsoDate } | null
  readonly weekendChance: number
  /** Multiplies the chance of a second-factor prompt (unmanaged devices prompt more). */
  readonly mfaFactor: number
  readonly place: (typeof PLACES)[number]
  readonly userAgent: (typeof USER_AGENTS)[number]
  readonly ipSuffix: number
}

export interface SyntheticTenant {
  readonly tenant: string
  readonly domain: string
  readonly start: IsoDate
  readonly end: IsoDate
  readonly employees: ReadonlyArray<SyntheticEmployee>
  /** The Okta app instance (id, display name) of each app. */
  readonly appInstances: ReadonlyMap<string, { readonly id: string; readonly name: string }>
  readonly mfaRate: (app: string) => number
}

export interface PopulationOptions {
  readonly tenant: string
  readonly employees: number
  readonly days: number
  /** First day after the generated window (the run date that follows it). */
  readonly end: IsoDate
}

const INTERNAL_APPS = ["admin", "portal", "console", "hub", "ops", "tools"]

/** Expected daily sign-ins to an app of weight 1, for role tools and company-wide tools. */
const RATE = { role: 1.0, common: 0.45 } as const

const weightedPick = (random: Random, weights: Readonly<Record<string, number>>): string => {
  const total = Object.values(weights).reduce((a, b) => a + b, 0)
  let x = random.next() * total
  for (const [key, w] of Object.entries(weights)) {
    x -= w
    if (x <= 0) return key
  }
  return Object.keys(weights)[0]!
}

/** A tenant's tool stack: which of the interchangeable apps of a slot this company bought. */
const makeStack = (random: Random) => {
  const priority = new Map(DefaultAppCatalog.apps.map((a) => [a.key as string, random.next()]))
  return (slot: ArchetypeSlot, random: Random): AppKey => {
    const ranked = [...slot.apps].sort((a, b) => priority.get(b)! - priority.get(a)!)
    // A team now and then standardized on the runner-up (a migration, an acquisition).
    return ranked.length > 1 && random.chance(0.08) ? ranked[1]! : ranked[0]!
  }
}

/**
 * This company's version of each role: slot weights shifted, some tools not bought at all, and a
 * few in-house apps (unknown to the catalog) that some roles live in. The offline model only
 * knows the textbook archetypes, so it has to cope with the difference.
 */
const companyRoles = (random: Random, tenant: string) => {
  const internal = Array.from({ length: 3 + random.int(4) }, (_, i) => `${tenant}_${INTERNAL_APPS[i]}` as AppKey)
  const roles = new Map<string, Array<ArchetypeSlot>>()
  for (const archetype of DefaultArchetypes.archetypes) {
    const slots = archetype.slots
      .filter((slot) => slot.weight >= 0.9 || random.chance(0.85))
      .map((slot) => ({ ...slot, weight: Math.min(1, slot.weight * random.lognormal(0.35)) }) as ArchetypeSlot)
    roles.set(archetype.category, slots)
  }
  for (const app of internal) {
    for (const category of [random.pick([...roles.keys()]), random.pick([...roles.keys()])]) {
      roles.get(category)!.push({ apps: [app], weight: random.between(0.3, 0.9) } as ArchetypeSlot)
    }
  }
  return roles
}

/** `acme_corp_admin` → `Acme Corp Admin`. */
const internalName = (key: string) => key.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ")

const slotRates = (
  slots: ReadonlyArray<ArchetypeSlot>,
  choose: (slot: ArchetypeSlot, random: Random) => AppKey,
  random: Random,
  base: number,
  share: number
): Array<AppRate> =>
  slots.flatMap((slot) =>
    random.chance((0.3 + 0.65 * slot.weight) * Math.min(1, share * 2))
      ? [{ app: choose(slot, random), rate: base * share * slot.weight ** 0.7 * random.lognormal(0.6) }]
      : []
  )

const mergeRates = (rates: ReadonlyArray<AppRate>): Array<AppRate> => {
  const merged = new Map<AppKey, number>()
  for (const r of rates) merged.set(r.app, (merged.get(r.app) ?? 0) + r.rate)
  return [...merged].map(([app, rate]) => ({ app, rate }))
}

/**
 * A synthetic workforce: roles drawn from a realistic mix, each person's apps drawn from their
 * role's archetype through the company's own tool stack, with individual spread, company-wide
 * apps, personal noise apps, hybrids between adjacent roles, people drifting to another role,
 * vacations, weekend work, new hires, promotions and leavers.
 */
export const makePopulation = (options: PopulationOptions, random: Random): SyntheticTenant => {
  const start = addDays(options.end, -options.days)
  const domain = `${options.tenant.replace(/_/g, "-")}.example.com`
  const choose = makeStack(random)
  const roles = companyRoles(random, options.tenant)
  const catalogKeys = DefaultAppCatalog.apps.map((a) => a.key)
  const logins = new Set<string>()
  const employees: Array<SyntheticEmployee> = []

  for (let i = 0; i < options.employees; i++) {
    const category = weightedPick(random, ROLE_MIX) as CategoryId
    const archetype = DefaultArchetypes.forCategory(category)!
    const first = random.pick(FIRST_NAMES)
    const last = random.pick(LAST_NAMES)
    const base = `${first}.${last}`.toLowerCase().normalize("NFKD").replace(/[^a-z.]/g, "")
    let login = `${base}@${domain}`
    for (let n = 2; logins.has(login); n++) login = `${base}${n}@${domain}`
    logins.add(login)

    const secondary = random.chance(0.12) ? (random.pick(ADJACENT[category]!) as CategoryId) : null
    const mix = secondary ? random.between(0.15, 0.45) : 0
    const apps = mergeRates([
      ...slotRates(roles.get(category)!, choose, random, RATE.role, 1 - mix / 2),
      ...(secondary ? slotRates(roles.get(secondary)!, choose, random, RATE.role, mix) : []),
      ...slotRates(DefaultArchetypes.common, choose, random, RATE.common, 1),
      ...Array.from({ length: random.int(5) }, () => ({ app: random.pick(catalogKeys), rate: random.between(0.05, 0.3) }))
    ])

    const roll = random.next()
    const hireDate =
      roll < 0.005
        ? options.end // starts on the run date: no activity yet
        : roll < 0.035
          ? addDays(options.end, -1 - random.int(21))
          : addDays(start, -random.int(6 * 365) + (random.chance(0.05) ? random.int(options.days) : 0))
    const terminationDate = random.chance(0.015) ? addDays(start, random.int(options.days)) : null
    const driftTo = random.chance(0.03) ? (random.pick(ADJACENT[category]!) as CategoryId) : null
    const department = DefaultTaxonomy.find(category)!.department
    const title = random.pick(archetype.titles)
    const vacationStart = addDays(start, random.int(Math.max(1, options.days - 10)))

    employees.push({
      login,
      name: `${first} ${last}`,
      oktaId: `00u${random.token(17)}`,
      category,
      secondary,
      title,
      department,
      team: random.pick(TEAMS[department] ?? [department]),
      hireDate,
      terminationDate: terminationDate !== null && terminationDate > hireDate ? terminationDate : null,
      promotion: random.chance(0.04) && !title.startsWith("Senior")
        ? { date: addDays(start, random.int(options.days)), title: `Senior ${title}` }
        : null,
      apps,
      drift: driftTo
        ? {
            to: driftTo,
            since: addDays(options.end, -10 - random.int(12)),
            apps: mergeRates(slotRates(roles.get(driftTo)!, choose, random, RATE.role, 1))
          }
        : null,
      vacation: random.chance(0.4) ? { from: vacationStart, to: addDays(vacationStart, 6 + random.int(8)) } : null,
      weekendChance: WEEKEND_ROLES.has(category) ? 0.2 : 0.04,
      mfaFactor: random.chance(0.2) ? 2 : 1,
      place: random.pick(PLACES),
      userAgent: random.pick(USER_AGENTS),
      ipSuffix: 1 + random.int(254)
    })
  }

  return {
    tenant: options.tenant,
    domain,
    start,
    end: options.end,
    employees,
    appInstances: new Map(
      [...new Set(employees.flatMap((e) => [...e.apps, ...(e.drift?.apps ?? [])].map((a) => a.app as string)))].map((app) => [
        app,
        { id: `0oa${random.token(17)}`, name: DefaultAppCatalog.get(app)?.name ?? internalName(app) }
      ])
    ),
    mfaRate: (app) => (SENSITIVE_APPS.has(app) ? 0.35 : 0.06)
  }
}
