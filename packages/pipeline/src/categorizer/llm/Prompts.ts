import {
  type AppCatalog,
  type Archetypes,
  appShares,
  avgAuthStep,
  type CategorizationInput,
  distinctAppsPerDay,
  type Taxonomy
} from "@workcat/core"

/** Bumped whenever a prompt changes: it is part of the inputs hash, so users are recategorized. */
export const PROMPT_VERSION = 1

/**
 * The static part of the categorize prompt, identical for every user of a tenant: instructions,
 * the taxonomy and the role archetypes. It comes first, so provider prompt caching applies to
 * it (an identical prefix of 1,024 tokens or more).
 */
export const categorizeInstructions = (taxonomy: Taxonomy, archetypes: Archetypes, catalog: AppCatalog): string => {
  const categories = taxonomy.categories.map((c) => `- ${c.id}: ${c.name} (${c.department}). ${c.description}`).join("\n")
  const roles = archetypes.archetypes
    .filter((a) => taxonomy.find(a.category) !== undefined)
    .map((a) => {
      const slots = [...a.slots]
        .sort((x, y) => y.weight - x.weight)
        .map((s) => s.apps.map((app) => catalog.displayName(app)).join(" or "))
      return `- ${a.category}: ${slots.join("; ")}. Typical titles: ${a.titles.join(", ")}.`
    })
    .join("\n")
  return [
    "You categorize the work of one employee of a company from how they used the company's SaaS applications over the last 90 days, as recorded by its single sign-on provider.",
    "Choose exactly one category id from the taxonomy below: the kind of work the person does most of the time. The HR title is a hint, but the applications show what the person actually does; when they disagree, follow the applications.",
    "Applications used by almost everybody (mail, chat, calendar, video calls, documents) say little. Look at the applications specific to a kind of work, and at how much of the person's activity they take.",
    "Return the category id, your confidence between 0 and 1, and the applications (as named in the profile) that are the strongest evidence for your choice.",
    "",
    "Taxonomy (id: name (department). description):",
    categories,
    "",
    "Typical application mix of each category, most characteristic first (a company uses one of the applications separated by 'or'):",
    roles
  ].join("\n")
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`

/** The per-user part, last: the profile, the HR record and the most similar categorized colleagues. */
export const profileMessage = (input: CategorizationInput, catalog: AppCatalog): string => {
  const { employee, neighbours, profile } = input
  const apps = appShares(profile)
    .slice(0, 25)
    .map(([app, share]) => {
      const usage = profile.apps.find((a) => a.app === app)!
      return `- ${catalog.displayName(app)}: ${percent(share)} of sign-ins, on ${usage.activeDays} days`
    })
  const colleagues = neighbours
    .slice(0, 5)
    .map((n) => `- a colleague with a ${percent(n.similarity)} similar app mix works in ${n.category}`)
  return [
    `Profile over ${profile.activeDays} active days from ${profile.windowStart} to ${profile.windowEnd}: ${profile.accesses} sign-ins to ${profile.apps.length} applications, ${distinctAppsPerDay(profile).toFixed(1)} distinct applications a day, ${avgAuthStep(profile).toFixed(2)} sign-in steps on average.`,
    "Applications, most used first:",
    ...apps,
    `HR: title ${employee?.title ?? "unknown"}, department ${employee?.department ?? "unknown"}.`,
    ...(colleagues.length > 0 ? ["Most similar colleagues already categorized:", ...colleagues] : ["No colleague is categorized yet."])
  ].join("\n")
}

/** The explain call: a short reasoning a manager can read, from the profile and the chosen category. */
export const explainInstructions =
  "You explain to a manager, in at most three short sentences of plain language, why an employee's recent application usage fits a work category. Mention the two or three applications that show it. Do not mention percentages of confidence, models or scores; do not speculate about the person."
