import { costUsd, LlmMeter } from "@workcat/core"
import { ControlSql } from "@workcat/tenancy"
import { Data, Duration, Effect, Redacted, Schedule } from "effect"
import { createHash } from "node:crypto"
import OpenAI from "openai"
import type { LlmSettings } from "./LlmSettings.js"
import { PROMPT_VERSION } from "./Prompts.js"
import { limiterKey, makeRequestLimiter } from "./RequestLimiter.js"

/** A failed request to the provider; `retryable` for rate limits, server errors and timeouts. */
export class LlmError extends Data.TaggedError("LlmError")<{
  readonly message: string
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined
}> {}

const toLlmError = (cause: unknown): LlmError => {
  if (cause instanceof OpenAI.APIError) {
    const status = cause.status
    const header = (name: string) => cause.headers?.get(name) ?? undefined
    const ms = Number(header("retry-after-ms"))
    const seconds = Number(header("retry-after"))
    const retryAfterMs = Number.isFinite(ms) && ms > 0 ? ms : Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
    const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500
    return new LlmError({ message: `${status ?? "connection"}: ${cause.message}`, retryable, retryAfterMs })
  }
  return new LlmError({ message: String(cause), retryable: true, retryAfterMs: undefined })
}

/**
 * Tokens a request can take at most, for the rate limiter and the budget: its output is bounded
 * by `max_completion_tokens`; its input is taken as a token per three characters of what is sent
 * (English text and JSON average about four), and one per character outside ASCII, so the
 * estimate stays above the real count for the prompts built here.
 */
const estimateTokens = (body: ChatBody) => {
  const sent = JSON.stringify({ messages: body.messages, response_format: body.response_format })
  const wide = sent.replace(/[\x00-\x7f]/g, "").length
  return { input: Math.ceil((sent.length - wide) / 3) + wide, output: body.max_completion_tokens }
}

export type Message = { readonly role: "system" | "user" | "assistant"; readonly content: string }

/** The body of a chat completion request, as sent (synchronously, or as a line of a batch). */
export const chatBody = (
  model: string,
  messages: ReadonlyArray<Message>,
  maxTokens: number,
  name: string,
  schema: Record<string, unknown> | undefined
) => ({
  model,
  messages: messages.map((m) => ({ role: m.role, content: m.content })),
  max_completion_tokens: maxTokens,
  ...(schema ? { response_format: { type: "json_schema" as const, json_schema: { name, strict: true, schema } } } : {})
})
type ChatBody = ReturnType<typeof chatBody>

/** Identifies a request by everything sent, and the prompt version. */
export const requestKey = (body: ChatBody): string =>
  createHash("sha256").update(JSON.stringify([PROMPT_VERSION, body])).digest("hex").slice(0, 40)

/**
 * Chat completions through the official `openai` client with its own retries off, so the Effect
 * schedule here is the only retry policy; paced by the API key's request limiter (shared by every process) and metered
 * by the tenant's `LlmMeter`.
 */
export const makeLlmClient = (settings: LlmSettings) =>
  Effect.gen(function* () {
    const client = new OpenAI({
      apiKey: Redacted.value(settings.apiKey),
      ...(settings.baseUrl ? { baseURL: settings.baseUrl } : {}),
      maxRetries: 0,
      timeout: settings.timeoutMs
    })
    // The key's limits, shared through the control plane with every process using the key.
    const limiter = yield* makeRequestLimiter(yield* ControlSql, { ...settings, key: limiterKey(Redacted.value(settings.apiKey), settings.baseUrl) })
    // Exponential with jitter, bounded; never sooner than a 429's Retry-After.
    const retry = Schedule.exponential("500 millis", 2).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(Math.max(0, settings.maxAttempts - 1))),
      Schedule.intersect(Schedule.identity<LlmError>()),
      Schedule.modifyDelay(([, error], delay) =>
        error.retryAfterMs === undefined ? delay : Duration.max(delay, Duration.millis(error.retryAfterMs))
      )
    )

    /**
     * One chat completion: answered from the tenant's earlier answers to the exact same request
     * if any, else rate-limited, retried, metered within the budget, recorded, and traced as a
     * GenAI span. `check` names what is wrong with an answer (cut off, not matching the schema),
     * if anything; such an answer is recorded as invalid (it is paid for all the same) and not kept.
     */
    const chat = (
      operation: "categorize" | "explain",
      userId: string,
      messages: ReadonlyArray<Message>,
      options: {
        readonly maxTokens: number
        readonly schema?: Record<string, unknown>
        readonly check: (content: string) => Effect.Effect<string | undefined>
        /** Another model than the operation's. */
        readonly model?: string
      }
    ) =>
      Effect.gen(function* () {
        const meter = yield* LlmMeter
        yield* Effect.annotateCurrentSpan("workcat.tenant", meter.tenant)
        const model = options.model ?? settings.models[operation]
        const body = chatBody(model, messages, options.maxTokens, operation, options.schema)
        const price = settings.prices[model]
        if (price === undefined) return yield* Effect.dieMessage(`No price for model ${model}`)
        const estimated = estimateTokens(body)
        const attempt = limiter.acquire(estimated.input + estimated.output).pipe(
          Effect.zipRight(Effect.tryPromise({ try: (signal) => client.chat.completions.create(body, { signal }), catch: toLlmError }))
        )
        const paid = Effect.gen(function* () {
          const response = yield* Effect.retry(attempt, { schedule: retry, while: (e) => e.retryable })
          const usage = {
            inputTokens: response.usage?.prompt_tokens ?? 0,
            cachedTokens: response.usage?.prompt_tokens_details?.cached_tokens ?? 0,
            outputTokens: response.usage?.completion_tokens ?? 0
          }
          yield* limiter.settle(estimated.input + estimated.output, usage.inputTokens + usage.outputTokens)
          const cost = costUsd(price, usage)
          const choice = response.choices[0]
          const content = choice?.message.content ?? ""
          const problem = choice?.finish_reason === "stop" ? yield* options.check(content) : "the answer was cut off"
          yield* meter.record({ operation, model, userId, ...usage, costUsd: cost, status: problem === undefined ? "ok" : "invalid" })
          yield* Effect.annotateCurrentSpan({
            "gen_ai.response.model": response.model,
            "gen_ai.usage.input_tokens": usage.inputTokens,
            "gen_ai.usage.output_tokens": usage.outputTokens,
            "gen_ai.usage.cached_input_tokens": usage.cachedTokens,
            "workcat.cost_usd": cost
          })
          return { content, problem, reused: false, costUsd: cost }
        })
        const request = { key: requestKey(body), userId, operation, model }
        const answer = yield* meter.once(request, meter.guard(costUsd(price, { inputTokens: estimated.input, cachedTokens: 0, outputTokens: estimated.output }), paid))
        yield* Effect.annotateCurrentSpan("workcat.llm.reused", answer.reused)
        return answer
      }).pipe(
        Effect.withSpan(`llm.${operation}`, {
          attributes: {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": options.model ?? settings.models[operation],
            "workcat.user": userId
          }
        })
      )

    return { chat }
  })
