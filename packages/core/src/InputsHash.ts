import { createHash } from "node:crypto"
import type { Neighbour } from "./Categorization.js"
import { appShares, type AppProfile } from "./Profile.js"
import type { Taxonomy } from "./Taxonomy.js"

/**
 * What a categorization depends on, hashed: the categorizer (and its prompt version), the
 * taxonomy, the HR title and department, the profile quantized (apps with at least 2% of the
 * accesses, shares rounded to 5%), and the categorized colleagues it is shown (their categories
 * in order, similarity rounded to 10%), so day-to-day noise does not trigger a new (paid)
 * categorization, but a change of what the categorizer is given does.
 */
export const inputsHash = (input: {
  readonly categorizer: string
  readonly taxonomy: Taxonomy
  readonly title: string | null
  readonly department: string | null
  readonly profile: AppProfile
  readonly neighbours: ReadonlyArray<Neighbour>
}): string => {
  const mix = appShares(input.profile)
    .filter(([, share]) => share >= 0.02)
    .map(([app, share]) => [app, Math.round(share * 20) / 20] as const)
    .sort(([a], [b]) => a.localeCompare(b))
  const colleagues = input.neighbours.map((n) => [n.category, Math.round(n.similarity * 10) / 10] as const)
  const material = JSON.stringify([input.categorizer, input.taxonomy.id, input.taxonomy.version, input.title, input.department, mix, colleagues])
  return createHash("sha256").update(material).digest("hex").slice(0, 32)
}
