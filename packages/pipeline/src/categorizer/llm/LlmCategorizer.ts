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
  recommendations,
  type Route
} from "@workcat/core"
import { ConfigError, Context, Effect, JSONSchema, Layer, Option, ParseResult, Schema } from "effect"
import { OfflineCategorizerLive } from "../OfflineCategorizer.js"
import { loadLlmSettings, type LlmSettings } from "./LlmSettings.js"
import { categorizeInstructions, explainInstructions, PROMPT_VERSION, profileMessage } from "./Prompts.js"
import { type BatchLine, BatchMode } from "./BatchMode.js"
import { BATCH_DISCOUNT, type ChatOptions, makeLlmClient, type Message } from "./LlmClient.js"

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
    const { batch, chat, line } = yield* makeLlmClient(settings)
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

    // Tool 2: similar categorized colleagues as few-shot examples; on a cold start, the offline
    // model's closest categories (its judgement of this user, made with no colleagues to go by).
    const queryAppCooccurrence = Effect.fn("tool.query_app_cooccurrence")(function* (input: CategorizationInput, offline: CategorizationResult) {
      if (input.neighbours.length > 0) return input.neighbours
      return [{ category: offline.category, score: offline.confidence }, ...offline.alternatives].map(
        (s): Neighbour => ({ userId: input.profile.userId, category: s.category, similarity: s.score })
      )
    })

    /** The categorize request: the static instructions first (provider prompt caching), then the user. */
    const categorizeCall = (input: CategorizationInput, examples: ReadonlyArray<Neighbour>, model: string) => {
      const decision = decisionSchema(input.taxonomy.ids)
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
      return { messages, parse, options: { maxTokens: 300, schema: strictJsonSchema(decision), check, model } }
    }

    /** The explain request, for a category and its evidence. */
    const explainCall = (input: CategorizationInput, category: CategoryId, evidence: ReadonlyArray<string>) => {
      const categoryName = input.taxonomy.find(category)?.name ?? category
      const messages: Array<Message> = [
        { role: "system", content: explainInstructions },
        {
          role: "user",
          content: `${profileMessage(input, DefaultAppCatalog)}\nCategory: ${categoryName}. Strongest evidence: ${evidence.join(", ") || "none named"}.`
        }
      ]
      return { messages, options: { maxTokens: 200, check: (text: string) => Effect.succeed(text.trim() === "" ? "the explanation was empty" : undefined) } }
    }

    // Tool 3: LLM call 1, a category of the tenant's taxonomy as a Structured Output; one retry with the validation error.
    const categorizeTool = Effect.fn("tool.categorize")(function* (input: CategorizationInput, examples: ReadonlyArray<Neighbour>, model: string) {
      const { messages, options, parse } = categorizeCall(input, examples, model)
      let costUsd = 0
      for (let attempt = 1; ; attempt++) {
        const answer = yield* chat("categorize", input.profile.userId, messages, options)
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
      const { messages, options } = explainCall(input, category, evidence)
      const { content, costUsd, problem } = yield* chat("explain", input.profile.userId, messages, options)
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
        const examples = yield* queryAppCooccurrence(input, offline)
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

    /**
     * The next request a user's categorization needs that no answer is kept for, as `categorize`
     * would send it: the categorize call (LLM route), or the explain call once the category is
     * known (kept), or none. A kept answer that is invalid is left to `categorize` to retry.
     */
    const plan = (input: CategorizationInput) =>
      Effect.gen(function* () {
        const meter = yield* LlmMeter
        if (input.profile.apps.length === 0) return Option.none<BatchLine>()
        const userId = input.profile.userId
        const unanswered = (operation: "categorize" | "explain", call: { messages: ReadonlyArray<Message>; options: ChatOptions }, step: 1 | 2) =>
          Effect.suspend(() => {
            const request = line(operation, userId, call.messages, call.options)
            // In a batch, at the batch price.
            return Effect.map(meter.recall(request.request.key), (kept) => ({
              kept,
              line: { ...request, estimatedUsd: request.estimatedUsd * BATCH_DISCOUNT, step }
            }))
          })
        const explainLine = (category: CategoryId, evidence: ReadonlyArray<string>, step: 1 | 2) =>
          Effect.map(unanswered("explain", explainCall(input, category, evidence), step), ({ kept, line }) =>
            Option.isSome(kept) ? Option.none<BatchLine>() : Option.some<BatchLine>(line)
          )
        const offline = yield* offlineCategorizer.categorize(input)
        const route = routeOf(meter.policy, offline)
        if (route === "offline") return Option.none<BatchLine>()
        if (route === "explain") return yield* explainLine(offline.category, offline.evidenceApps, 1)
        const call = categorizeCall(input, yield* queryAppCooccurrence(input, offline), hardModel)
        const categorizing = yield* unanswered("categorize", call, 1)
        if (Option.isNone(categorizing.kept)) return Option.some<BatchLine>(categorizing.line)
        const decision = yield* Effect.option(call.parse(categorizing.kept.value))
        return Option.isNone(decision)
          ? Option.none<BatchLine>()
          : yield* explainLine(decision.value.category as CategoryId, decision.value.evidence_apps, 2)
      })

    const batchMode: BatchMode["Type"] = {
      plan,
      ...batch,
      maxLines: settings.batchMaxLines ?? 50_000,
      pollMs: settings.batchPollMs ?? 60_000,
      maxWaitMs: settings.batchMaxWaitMs ?? 3 * 3_600_000
    }
    return { name, categorize, batchMode }
  })

/** The LLM categorizer with its batch side, as services. */
export const llmCategorizerContext = (categorizer: Effect.Effect.Success<ReturnType<typeof makeLlmCategorizer>>) =>
  Context.make(Categorizer, categorizer).pipe(Context.add(BatchMode, categorizer.batchMode))

/** The LLM categorizer from configuration (`OPENAI_API_KEY`, models, prices, limits), with its batch side. */
export const LlmCategorizerLive = Layer.effectContext(
  loadLlmSettings.pipe(
    Effect.mapError((e) => (ConfigError.isConfigError(e) ? new Error(`Invalid LLM configuration: ${e}`) : e)),
    Effect.flatMap(makeLlmCategorizer),
    Effect.map(llmCategorizerContext)
  )
)
