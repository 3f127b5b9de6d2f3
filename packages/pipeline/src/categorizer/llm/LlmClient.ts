import { costUsd, LlmMeter } from "@workcat/core"
import { ControlSql } from "@workcat/tenancy"
import { Data, Duration, Effect, Redacted, Schedule } from "effect"
import OpenAI from "openai"
import type { LlmSettings } from "./LlmSettings.js"
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

const estimateTokens = (messages: ReadonlyArray<{ readonly content: string }>, maxOutput: number) =>
  Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4) + maxOutput

export type Message = { readonly role: "system" | "user" | "assistant"; readonly content: string }

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
     * One chat completion: rate-limited, retried, metered, recorded, and traced as a GenAI span.
     * `check` names what is wrong with an answer (cut off, not matching the schema), if anything;
     * such an answer is recorded as invalid (it is paid for all the same).
     */
    const chat = (
      operation: "categorize" | "explain",
      userId: string,
      messages: ReadonlyArray<Message>,
      options: {
        readonly maxTokens: number
        readonly schema?: Record<string, unknown>
        readonly check: (content: string) => Effect.Effect<string | undefined>
      }
    ) =>
      Effect.gen(function* () {
        const meter = yield* LlmMeter
        yield* Effect.annotateCurrentSpan("workcat.tenant", meter.tenant)
        const model = settings.models[operation]
        const estimated = estimateTokens(messages, options.maxTokens)
        const attempt = limiter.acquire(estimated).pipe(
          Effect.zipRight(
            Effect.tryPromise({
              try: (signal) =>
                client.chat.completions.create(
                  {
                    model,
                    messages: messages.map((m) => ({ role: m.role, content: m.content })),
                    max_completion_tokens: options.maxTokens,
                    ...(options.schema
                      ? { response_format: { type: "json_schema", json_schema: { name: operation, strict: true, schema: options.schema } } }
                      : {})
                  },
                  { signal }
                ),
              catch: toLlmError
            })
          )
        )
        const response = yield* meter.guard(Effect.retry(attempt, { schedule: retry, while: (e) => e.retryable }))
        const usage = {
          inputTokens: response.usage?.prompt_tokens ?? 0,
          cachedTokens: response.usage?.prompt_tokens_details?.cached_tokens ?? 0,
          outputTokens: response.usage?.completion_tokens ?? 0
        }
        yield* limiter.settle(estimated, usage.inputTokens + usage.outputTokens)
        const cost = costUsd(settings.prices[model]!, usage)
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
        return { content, problem }
      }).pipe(
        Effect.withSpan(`llm.${operation}`, {
          attributes: {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": settings.models[operation],
            "workcat.user": userId
          }
        })
      )

    return { chat }
  })
