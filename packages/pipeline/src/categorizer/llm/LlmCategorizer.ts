import {
  type CategorizationInput,
  CategorizationError,
  type CategorizationResult,
  Categorizer,
  type CategoryId,
  DefaultAppCatalog,
  DefaultArchetypes,
  LlmMeter,
  type LlmRoutingPolicy,
  type Neighbour,
  profileVector,
  recommendations,
  type Route
} from "@workcat/core"
import { ConfigError, Effect, JSONSchema, Layer, ParseResult, Schema } from "effect"
import { OfflineCategorizerLive } from "../OfflineCategorizer.js"
import { categorize as offlineModel } from "../OfflineModel.js"
import { loadLlmSettings, type LlmSettings } from "./LlmSettings.js"
import { categorizeInstructions, explainInstructions, PROMPT_VERSION, profileMessage } from "./Prompts.js"
import { makeLlmClient, type Message } from "./LlmClient.js"

/** The structured answer of the categorize call, for a taxonomy. */
const decisionSchema = (ids: ReadonlyArray<CategoryId>) =>
  Schema.Struct({
    category: Schema.Literal(...(ids as [CategoryId, ...Array<CategoryId>])),
    confidence: Schema.Number.pipe(Schema.between(0, 1)),
    evidence_apps: Schema.Array(Schema.String)
  })

/**
 * A strict Structured Outputs JSON schema from an Effect Schema: every property required and no
 * others; bounds the strict mode may not accept are left to validation of the answer.
 */
const strictJsonSchema = (schema: Schema.Schema.Any): Record<string, unknown> => {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip)
    if (node === null || typeof node !== "object") return node
    return Object.fromEntries(
      Object.entries(node)
        .filter(([k]) => !["$schema", "title", "minimum", "maximum"].includes(k))
        .map(([k, v]) => [k, strip(v)])
    )
  }
  return strip(JSONSchema.make(schema)) as Record<string, unknown>
}

/**
 * The LLM categorizer: an agent with five tools, each an Effect with its own span, and up to two
 * LLM calls per user (categorize with Structured Outputs, then explain; see `LlmClient`). The
 * offline model judges every user first; a tenant that routes by difficulty keeps its category
 * where it is sure (see `routeOf`).
 */
export const makeLlmCategorizer = (settings: LlmSettings) =>
  Effect.gen(function* () {
    const { chat } = yield* makeLlmClient(settings)
    const hardModel = settings.models.hard ?? settings.models.categorize
    const models = hardModel === settings.models.categorize ? settings.models.categorize : `${settings.models.categorize}|${hardModel}`
    const name = `openai:${models}+${settings.models.explain}/prompt-${PROMPT_VERSION}`
    const offlineCategorizer = yield* Effect.provide(Categorizer, OfflineCategorizerLive)

    const failed = (input: CategorizationInput, reason: string, retryable = false) =>
      new CategorizationError({ userId: input.profile.userId, reason, retryable })

    // Tool 1: the user's 90-day app history.
    const queryUserAppHistory = Effect.fn("tool.query_user_app_history")(function* (input: CategorizationInput) {
      return input.profile
    })

    // Tool 2: similar categorized colleagues as few-shot examples; on a cold start, the closest archetypes.
    const queryAppCooccurrence = Effect.fn("tool.query_app_cooccurrence")(function* (input: CategorizationInput) {
      if (input.neighbours.length > 0) return input.neighbours
      const ranked = offlineModel(profileVector(input.profile, input.appIdf), DefaultArchetypes, input.taxonomy.ids, [])
      return [{ category: ranked.category, score: ranked.confidence }, ...ranked.alternatives].map(
        (s): Neighbour => ({ userId: input.profile.userId, category: s.category, similarity: s.score })
      )
    })

    // Tool 3: LLM call 1, a category of the tenant's taxonomy as a Structured Output; one retry with the validation error.
    const categorizeTool = Effect.fn("tool.categorize")(function* (input: CategorizationInput, examples: ReadonlyArray<Neighbour>, model: string) {
      const decision = decisionSchema(input.taxonomy.ids)
      const schema = strictJsonSchema(decision)
      const examplesNote =
        input.neighbours.length === 0 && examples.length > 0
          ? `\nNo colleague is categorized yet; the closest role archetypes are ${examples.map((e) => e.category).join(", ")}.`
          : ""
      const messages: Array<Message> = [
        { role: "system", content: categorizeInstructions(input.taxonomy, DefaultArchetypes, DefaultAppCatalog) },
        { role: "user", content: profileMessage({ ...input, neighbours: input.neighbours }, DefaultAppCatalog) + examplesNote }
      ]
      const parse = Schema.decodeUnknown(Schema.parseJson(decision))
      const check = (content: string) =>
        parse(content).pipe(
          Effect.match({ onFailure: (e) => ParseResult.TreeFormatter.formatErrorSync(e).replace(/\s+/g, " "), onSuccess: () => undefined })
        )
      let costUsd = 0
      for (let attempt = 1; ; attempt++) {
        const answer = yield* chat("categorize", input.profile.userId, messages, { maxTokens: 300, schema, check, model })
        const { content, problem } = answer
        costUsd += answer.costUsd
        if (problem === undefined) return { ...(yield* Effect.orDie(parse(content))), costUsd }
        if (attempt === 2) return yield* failed(input, `invalid categorize output after a retry: ${problem}`)
        messages.push(
          { role: "assistant", content },
          { role: "user", content: `That answer is invalid (${problem}). Answer again with JSON that matches the schema exactly.` }
        )
      }
    })

    // Tool 4: LLM call 2, a short reasoning for managers.
    const explainTool = Effect.fn("tool.explain")(function* (input: CategorizationInput, category: CategoryId, evidence: ReadonlyArray<string>) {
      const categoryName = input.taxonomy.find(category)?.name ?? category
      const { content, costUsd, problem } = yield* chat(
        "explain",
        input.profile.userId,
        [
          { role: "system", content: explainInstructions },
          {
            role: "user",
            content: `${profileMessage(input, DefaultAppCatalog)}\nCategory: ${categoryName}. Strongest evidence: ${evidence.join(", ") || "none named"}.`
          }
        ],
        { maxTokens: 200, check: (text) => Effect.succeed(text.trim() === "" ? "the explanation was empty" : undefined) }
      )
      if (problem !== undefined) return yield* failed(input, `invalid explain output: ${problem}`)
      return { explanation: content.trim(), costUsd }
    })

    // Tool 5: rules per category and observed friction (auth steps, app switching, duplicate tools).
    const suggestOptimizations = Effect.fn("tool.suggest_optimizations")(function* (input: CategorizationInput, category: CategoryId) {
      return recommendations(input.profile, DefaultAppCatalog, DefaultArchetypes, category)
    })

    /**
     * The route of a user: the offline model (free) judges first; where the tenant routes and the
     * model is sure (its top probability and lead over the runner-up both past the tenant's
     * thresholds), its category is kept, explained by the LLM or not at all; otherwise the LLM
     * categorizes with the `hard` model.
     */
    const routeOf = (policy: LlmRoutingPolicy, offline: CategorizationResult): Route["name"] => {
      const margin = offline.confidence - (offline.alternatives[0]?.score ?? 0)
      const sure = offline.confidence >= policy.minConfidence && margin >= policy.minMargin
      return policy.routing === "off" || !sure ? "llm" : policy.routing
    }

    const categorize = (input: CategorizationInput) =>
      Effect.gen(function* () {
        const { policy } = yield* LlmMeter
        const profile = yield* queryUserAppHistory(input)
        if (profile.apps.length === 0) return yield* failed(input, "no app activity in the profile window")
        const offline = yield* offlineCategorizer.categorize(input)
        const route = routeOf(policy, offline)
        const routed = (name: Route["name"], costUsd: number): Route => ({ name, offlineCategory: offline.category, costUsd })
        if (route === "offline") return { ...offline, route: routed("offline", 0) }
        if (route === "explain") {
          const { costUsd, explanation } = yield* explainTool(input, offline.category, offline.evidenceApps)
          return { ...offline, explanation, categorizer: name, route: routed("explain", costUsd) }
        }
        const examples = yield* queryAppCooccurrence(input)
        const decision = yield* categorizeTool(input, examples, hardModel)
        const category = decision.category as CategoryId
        const { costUsd, explanation } = yield* explainTool(input, category, decision.evidence_apps)
        return {
          userId: profile.userId,
          category,
          confidence: decision.confidence,
          explanation,
          recommendations: yield* suggestOptimizations(input, category),
          evidenceApps: decision.evidence_apps,
          alternatives: [],
          categorizer: name,
          route: routed("llm", decision.costUsd + costUsd)
        }
      }).pipe(
        Effect.catchTags({
          LlmError: (e) => Effect.fail(failed(input, `LLM request failed: ${e.message}`, e.retryable)),
          BudgetExhausted: () => Effect.fail(failed(input, "budget exhausted"))
        }),
        Effect.withSpan("Categorizer.llm", { attributes: { "workcat.user": input.profile.userId } })
      )

    return { name, categorize }
  })

/** The LLM categorizer from configuration (`OPENAI_API_KEY`, models, prices, limits). */
export const LlmCategorizerLive = Layer.effect(
  Categorizer,
  loadLlmSettings.pipe(
    Effect.mapError((e) => (ConfigError.isConfigError(e) ? new Error(`Invalid LLM configuration: ${e}`) : e)),
    Effect.flatMap(makeLlmCategorizer)
  )
)
