import {
  CategorizationError,
  Categorizer,
  DefaultAppCatalog,
  DefaultArchetypes,
  profileVector,
  recommendations
} from "@workcat/core"
import { Effect, Layer } from "effect"
import { explain } from "./Explanation.js"
import { categorize, defaultModelOptions, OFFLINE_MODEL } from "./OfflineModel.js"

/**
 * The default categorizer: no network, no keys, no cost. Nearest neighbours over the built-in
 * archetypes and the tenant's already-categorized users; explanation and recommendations are
 * derived from the profile by rules.
 */
export const OfflineCategorizerLive = Layer.succeed(Categorizer, {
  name: OFFLINE_MODEL,
  categorize: (input) =>
    Effect.suspend(() => {
      const { profile } = input
      if (profile.apps.length === 0) {
        return Effect.fail(new CategorizationError({ userId: profile.userId, reason: "no app activity in the profile window" }))
      }
      const out = categorize(
        profileVector(profile, input.appIdf),
        DefaultArchetypes,
        input.taxonomy.ids,
        input.neighbours,
        defaultModelOptions,
        input.roleCentroids
      )
      const considered = Math.min(input.neighbours.length, defaultModelOptions.k)
      return Effect.succeed({
        userId: profile.userId,
        category: out.category,
        confidence: out.confidence,
        explanation: explain(
          { ...out, profile, neighbours: { agreeing: out.agreeing, considered } },
          input.taxonomy,
          DefaultAppCatalog
        ),
        recommendations: recommendations(profile, DefaultAppCatalog, DefaultArchetypes, out.category),
        evidenceApps: out.evidenceApps,
        alternatives: out.alternatives,
        categorizer: OFFLINE_MODEL
      })
    }).pipe(Effect.withSpan("OfflineCategorizer.categorize"))
})
