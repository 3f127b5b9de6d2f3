import { ModelPrice } from "@workcat/core"
import { Config, Effect, Option, Redacted, Schema } from "effect"

/**
 * List prices in USD per million tokens (OpenAI's published prices for these models at the time
 * of writing). Models are retired within months: the model is configuration, the table is keyed
 * by model, and `WORKCAT_LLM_PRICES` adds or overrides entries.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-4.1": { input: 2.0, cachedInput: 0.5, output: 8.0 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10.0 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2.0 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 }
}

export interface LlmSettings {
  readonly apiKey: Redacted.Redacted<string>
  readonly baseUrl: string | undefined
  /** `hard`: the categorize model for users the offline model is unsure of when the tenant routes (default: `categorize`'s). */
  readonly models: { readonly categorize: string; readonly explain: string; readonly hard?: string | undefined }
  readonly prices: Readonly<Record<string, ModelPrice>>
  readonly requestsPerMinute: number
  readonly tokensPerMinute: number
  readonly timeoutMs: number
  /** Attempts per call for transient failures (429, 5xx, timeouts), the first included. */
  readonly maxAttempts: number
  /** Requests per batch file (the provider's limit, 50,000, by default). */
  readonly batchMaxLines?: number
  /** How often a batch is looked at (60 s), and how long a night waits for it before cancelling it (3 h). */
  readonly batchPollMs?: number
  readonly batchMaxWaitMs?: number
}

const Prices = Schema.parseJson(Schema.Record({ key: Schema.String, value: ModelPrice }))

/**
 * The LLM configuration, read once at start-up. A model without a price is a start-up error, so
 * cost tracking is never silently zero.
 */
export const loadLlmSettings = Effect.gen(function* () {
  const key = yield* Config.option(Config.redacted("OPENAI_API_KEY"))
  if (Option.isNone(key) || Redacted.value(key.value).trim() === "") {
    return yield* Effect.fail(new Error("OPENAI_API_KEY is required when WORKCAT_CATEGORIZER=openai"))
  }
  const apiKey = key.value
  const baseUrl = Option.getOrUndefined(yield* Config.option(Config.string("OPENAI_BASE_URL")))
  const models = {
    categorize: yield* Config.string("WORKCAT_LLM_MODEL_CATEGORIZE").pipe(Config.withDefault("gpt-4.1-mini")),
    explain: yield* Config.string("WORKCAT_LLM_MODEL_EXPLAIN").pipe(Config.withDefault("gpt-4.1-nano")),
    hard: Option.getOrUndefined(yield* Config.option(Config.string("WORKCAT_LLM_MODEL_HARD")))
  }
  const overrides = yield* Config.option(Config.string("WORKCAT_LLM_PRICES"))
  const extra = Option.isSome(overrides)
    ? yield* Schema.decodeUnknown(Prices)(overrides.value).pipe(
        Effect.mapError((e) => new Error(`WORKCAT_LLM_PRICES is not {"model": {"input", "cachedInput", "output"}}: ${e.message}`))
      )
    : {}
  const prices = { ...DEFAULT_PRICES, ...extra }
  for (const model of [models.categorize, models.explain, models.hard ?? models.categorize]) {
    if (prices[model] === undefined) {
      return yield* Effect.fail(new Error(`No price for model ${model}: add it to WORKCAT_LLM_PRICES (USD per million tokens)`))
    }
  }
  return {
    apiKey,
    baseUrl,
    models,
    prices,
    requestsPerMinute: yield* Config.integer("WORKCAT_LLM_RPM").pipe(Config.withDefault(500)),
    tokensPerMinute: yield* Config.integer("WORKCAT_LLM_TPM").pipe(Config.withDefault(200_000)),
    timeoutMs: (yield* Config.number("WORKCAT_LLM_TIMEOUT_SECONDS").pipe(Config.withDefault(60))) * 1000,
    maxAttempts: yield* Config.integer("WORKCAT_LLM_MAX_ATTEMPTS").pipe(Config.withDefault(5)),
    batchPollMs: (yield* Config.number("WORKCAT_LLM_BATCH_POLL_SECONDS").pipe(Config.withDefault(60))) * 1000,
    batchMaxWaitMs: (yield* Config.number("WORKCAT_LLM_BATCH_MAX_WAIT_MINUTES").pipe(Config.withDefault(180))) * 60_000
  } satisfies LlmSettings
})
