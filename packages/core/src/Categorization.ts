import { Context, type Effect, type Option, Schema } from "effect"
import type { Employee } from "./Employee.js"
import type { AppProfile, SparseVector } from "./Profile.js"
import { UserId } from "./Pseudonym.js"
import { CategoryId, type Taxonomy } from "./Taxonomy.js"

/** A category with a score, for runners-up and evidence. */
export const ScoredCategory = Schema.Struct({ category: CategoryId, score: Schema.Number })
export type ScoredCategory = typeof ScoredCategory.Type

/**
 * How the LLM categorizer routed a user: `offline`, the offline model's answer kept whole;
 * `explain`, its category kept and explained by the LLM; `llm`, categorized by the LLM. With the
 * offline model's category (to measure agreement) and what the user's LLM calls cost tonight.
 */
export const Route = Schema.Struct({
  name: Schema.Literal("offline", "explain", "llm"),
  offlineCategory: CategoryId,
  costUsd: Schema.Number
})
export type Route = typeof Route.Type

/** What a categorizer concludes about one user. */
export const CategorizationResult = Schema.Struct({
  userId: UserId,
  category: CategoryId,
  confidence: Schema.Number.pipe(Schema.between(0, 1)),
  explanation: Schema.String,
  recommendations: Schema.Array(Schema.String),
  evidenceApps: Schema.Array(Schema.String),
  alternatives: Schema.Array(ScoredCategory),
  /** Which categorizer and version produced this, e.g. `offline-knn/1` or an LLM model id. */
  categorizer: Schema.String,
  route: Schema.optional(Route)
})
export type CategorizationResult = typeof CategorizationResult.Type

/** An already-categorized colleague similar to the user, used as evidence or few-shot example. */
export interface Neighbour {
  readonly userId: UserId
  readonly category: CategoryId
  readonly similarity: number
}

/** Everything a categorizer may use to categorize one user. */
export interface CategorizationInput {
  readonly profile: AppProfile
  readonly employee: Employee | null
  /** Most similar first. */
  readonly neighbours: ReadonlyArray<Neighbour>
  /** The tenant's inverse document frequency per app. */
  readonly appIdf: ReadonlyMap<string, number>
  readonly taxonomy: Taxonomy
  /** The centroid of each category's profiles in the tenant tonight (the offline model's `RoleCentroids`), when the night learned them. */
  readonly roleCentroids?: ReadonlyMap<CategoryId, SparseVector>
}

/** A categorizer could not categorize a user; the run records the reason and goes on. */
export class CategorizationError extends Schema.TaggedError<CategorizationError>()("CategorizationError", {
  userId: Schema.String,
  reason: Schema.String,
  /** Worth another attempt (a timeout, a rate limit), as opposed to a verdict on the input. */
  retryable: Schema.optional(Schema.Boolean)
}) {}

/**
 * Assigns a work category to a user. Implemented offline (nearest neighbours) and by an LLM
 * agent; a categorizer that spends money does it through the tenant's `LlmMeter`.
 */
export class Categorizer extends Context.Tag("workcat/Categorizer")<
  Categorizer,
  {
    /** Names the categorizer and its version; part of the inputs hash, so a change recategorizes. */
    readonly name: string
    readonly categorize: (input: CategorizationInput) => Effect.Effect<CategorizationResult, CategorizationError, LlmMeter>
  }
>() {}

/** The tenant's LLM budget for the month is spent: no new calls until it is raised or the month ends. */
export class BudgetExhausted extends Schema.TaggedError<BudgetExhausted>()("BudgetExhausted", {
  tenant: Schema.String,
  spentUsd: Schema.Number,
  budgetUsd: Schema.Number
}) {}

/** One LLM call, as the tenant's cost ledger records it. */
export interface LlmCall {
  readonly operation: "categorize" | "explain"
  readonly model: string
  readonly userId: string | null
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  /** `invalid`: the answer was cut off or did not match the schema (it is still paid for). */
  readonly status: "ok" | "invalid"
}

/** One exact request to an LLM: `key` hashes everything sent (model, prompt version, messages). */
export interface LlmRequest {
  readonly key: string
  readonly userId: string | null
  readonly operation: "categorize" | "explain"
  readonly model: string
}

/** An LLM's answer: `problem` names what makes it unusable, if anything; `reused` when nothing was paid for it. */
export interface LlmAnswer {
  readonly content: string
  readonly problem: string | undefined
  readonly reused: boolean
  readonly costUsd: number
}

/** A tenant's routing by difficulty (see the tenant's `llm.routing` settings). */
export interface LlmRoutingPolicy {
  readonly routing: "off" | "explain" | "offline"
  readonly minConfidence: number
  readonly minMargin: number
}

/**
 * The tenant side of LLM spend, provided by the tenant's layer: calls run within the tenant's
 * concurrency cap and only while its monthly budget lasts, each call's cost is recorded, and
 * an answer already paid for is not paid for again.
 */
export class LlmMeter extends Context.Tag("workcat/LlmMeter")<
  LlmMeter,
  {
    /** The tenant whose spend this is. */
    readonly tenant: string
    readonly policy: LlmRoutingPolicy
    /**
     * Runs `call` within the tenant's concurrency cap once `estimatedUsd` (an upper bound of
     * its cost) is reserved in the month's budget; the reservation ends with `call`, which
     * `record`s what it really cost before it ends.
     */
    readonly guard: <A, E, R>(estimatedUsd: number, call: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BudgetExhausted, R>
    readonly record: (call: LlmCall) => Effect.Effect<void>
    /**
     * The tenant's answer to this exact request if one was paid for already, else `call`'s (kept
     * when valid); identical requests in flight at once in this process share one call.
     */
    readonly once: <E, R>(request: LlmRequest, call: Effect.Effect<LlmAnswer, E, R>) => Effect.Effect<LlmAnswer, E, R>
    /** The tenant's kept answer to the request with this key, if any. */
    readonly recall: (key: string) => Effect.Effect<Option.Option<string>>
  }
>() {}
