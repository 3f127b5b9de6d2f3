import { createHash } from "node:crypto"
import { appShares, type AppProfile } from "./Profile.js"
import type { Taxonomy } from "./Taxonomy.js"

/**
 * What a categorization depends on, hashed: the categorizer (and its prompt version), the
 * taxonomy, the HR title, and the profile quantized (apps with at least 2% of the accesses,
 * shares rounded to 5%), so day-to-day noise does not trigger a new (paid) categorization.
 */
export const inputsHash = (input: {
  readonly categorizer: string
  readonly taxonomy: Taxonomy
  readonly title: string | null
  readonly profile: AppProfile
}): string => {
  const mix = appShares(input.profile)
    .filter(([, share]) => share >= 0.02)
    .map(([app, share]) => [app, Math.round(share * 20) / 20] as const)
    .sort(([a], [b]) => a.localeCompare(b))
  const material = JSON.stringify([input.categorizer, input.taxonomy.id, input.taxonomy.version, input.title, mix])
  return createHash("sha256").update(material).digest("hex").slice(0, 32)
}
