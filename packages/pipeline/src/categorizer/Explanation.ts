import { type AppCatalog, type AppProfile, appShares, type CategoryId, type ScoredCategory, type Taxonomy } from "@workcat/core"

const percent = (x: number) => `${Math.round(x * 100)}%`

const list = (items: ReadonlyArray<string>) =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`

export interface ExplanationInput {
  readonly profile: AppProfile
  readonly category: CategoryId
  readonly confidence: number
  readonly evidenceApps: ReadonlyArray<string>
  readonly alternatives: ReadonlyArray<ScoredCategory>
  readonly neighbours: { readonly agreeing: number; readonly considered: number }
}

/** A short, plain explanation a manager can read, built only from the profile and the scores. */
export const explain = (input: ExplanationInput, taxonomy: Taxonomy, catalog: AppCatalog): string => {
  const name = (id: string) => taxonomy.find(id)?.name ?? id
  const top = appShares(input.profile)
    .slice(0, 3)
    .map(([app, share]) => `${catalog.displayName(app)} (${percent(share)})`)
  const parts = [
    `${name(input.category)} (confidence ${percent(input.confidence)}): over ${input.profile.activeDays} active days the most used apps were ${list(top)}.`
  ]
  if (input.evidenceApps.length > 0) {
    parts.push(`The strongest signals for ${name(input.category)} are ${list(input.evidenceApps.slice(0, 3).map((a) => catalog.displayName(a)))}.`)
  }
  if (input.neighbours.considered > 0) {
    parts.push(`${input.neighbours.agreeing} of the ${input.neighbours.considered} most similar colleagues work in the same category.`)
  }
  const runnerUp = input.alternatives[0]
  if (runnerUp !== undefined && runnerUp.score >= 0.1) {
    parts.push(`Runner-up: ${name(runnerUp.category)} (${percent(runnerUp.score)}).`)
  }
  return parts.join(" ")
}
