import { costUsd, LlmMeter, type ModelPrice } from "@workcat/core"
import { ControlSql } from "@workcat/tenancy"
import { Data, Duration, Effect, Redacted, Schedule } from "effect"
import { createHash } from "node:crypto"
import OpenAI from "openai"
import type { LlmSettings } from "./LlmSettings.js"
import { type BatchLine, type BatchResult, type BatchStatus, customId } from "./BatchMode.js"
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

/** An upper bound of a request's cost (see `estimateTokens`). */
export const estimateUsd = (price: ModelPrice, body: ChatBody) => {
  const { input, output } = estimateTokens(body)
  return costUsd(price, { inputTokens: input, cachedTokens: 0, outputTokens: output })
}

/** What the Batch API costs against synchronous requests: half. */
export const BATCH_DISCOUNT = 0.5

type Operation = "categorize" | "explain"

export interface ChatOptions {
  readonly maxTokens: number
  readonly schema?: Record<string, unknown>
  /** What is wrong with an answer, if anything. */
  readonly check: (content: string) => Effect.Effect<string | undefined>
  /** Another model than the operation's. */
  readonly model?: string
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
export type ChatBody = ReturnType<typeof chatBody>

/** A line of a batch's output or error file, as the Batch API writes it. */
interface BatchOutputLine {
  readonly custom_id: string
  readonly response: {
    readonly status_code: number
    readonly body?: {
      readonly choices?: ReadonlyArray<{ readonly message: { readonly content: string | null }; readonly finish_reason: string }>
      readonly usage?: {
        readonly prompt_tokens: number
        readonly completion_tokens: number
        readonly prompt_tokens_details?: { readonly cached_tokens?: number }
      }
      readonly error?: { readonly message: string }
    }
  } | null
  readonly error: { readonly code: string; readonly message: string } | null
}

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

    /** A chat completion request: its body, key and estimated cost. */
    const line = (operation: Operation, userId: string, messages: ReadonlyArray<Message>, options: ChatOptions): Omit<BatchLine, "step"> & { body: ChatBody } => {
      const model = options.model ?? settings.models[operation]
      const price = settings.prices[model]
      if (price === undefined) throw new Error(`No price for model ${model}`)
      const body = chatBody(model, messages, options.maxTokens, operation, options.schema)
      return { body, estimatedUsd: estimateUsd(price, body), request: { key: requestKey(body), userId, operation, model } }
    }

    /**
     * One chat completion: answered from the tenant's earlier answers to the exact same request
     * if any, else rate-limited, retried, metered within the budget, recorded, and traced as a
     * GenAI span. `check` names what is wrong with an answer (cut off, not matching the schema),
     * if anything; such an answer is recorded as invalid (it is paid for all the same) and not kept.
     */
    const chat = (operation: Operation, userId: string, messages: ReadonlyArray<Message>, options: ChatOptions) =>
      Effect.gen(function* () {
        const meter = yield* LlmMeter
        yield* Effect.annotateCurrentSpan("workcat.tenant", meter.tenant)
        const { body, estimatedUsd, request } = line(operation, userId, messages, options)
        const { model } = request
        const price = settings.prices[model]!
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
        const answer = yield* meter.once(request, meter.guard(estimatedUsd, paid))
        yield* Effect.annotateCurrentSpan("workcat.llm.reused", answer.reused)
        // A kept answer (a batch's, say) was not checked against this request's expectations yet.
        return answer.reused ? { ...answer, problem: yield* options.check(answer.content) } : answer
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

    const call = <A>(f: (signal: AbortSignal) => Promise<A>) =>
      Effect.retry(Effect.tryPromise({ try: f, catch: toLlmError }), { schedule: retry, while: (e) => e.retryable })

    /** A batch of `lines` (one model): the JSONL file uploaded, the batch created; or the one created before with `tag`. */
    const submit = (lines: ReadonlyArray<BatchLine>, tag: string) =>
      Effect.gen(function* () {
        // A worker that died between creating the batch and checkpointing it finds it among the latest hundred.
        const latest = yield* call((signal) => client.batches.list({ limit: 100 }, { signal }))
        const earlier = latest.data.find((b) => b.metadata?.["workcat"] === tag)
        if (earlier !== undefined) return earlier.id
        const jsonl = lines
          .map((l) => JSON.stringify({ custom_id: customId(l.request), method: "POST", url: "/v1/chat/completions", body: l.body }))
          .join("\n")
        const file = yield* call((signal) => client.files.create({ file: new File([jsonl + "\n"], "requests.jsonl"), purpose: "batch" }, { signal }))
        const batch = yield* call((signal) =>
          client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { workcat: tag } }, { signal })
        )
        return batch.id
      }).pipe(Effect.withSpan("llm.batch.submit", { attributes: { "workcat.batch.lines": lines.length } }))

    const status = (batchId: string) =>
      call((signal) => client.batches.retrieve(batchId, { signal })).pipe(
        Effect.map(
          (b): BatchStatus => ({
            status: b.status,
            outputFileId: b.output_file_id ?? null,
            errorFileId: b.error_file_id ?? null,
            failure: b.errors?.data?.map((e) => e.message).join("; ") || null,
            counts: { total: b.request_counts?.total ?? 0, completed: b.request_counts?.completed ?? 0, failed: b.request_counts?.failed ?? 0 }
          })
        )
      )

    /** The lines of a batch's output or error file. */
    const results = (fileId: string) =>
      call((signal) => client.files.content(fileId, { signal }).then((r) => r.text())).pipe(
        Effect.map((text) =>
          text
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l): BatchResult => {
              const line = JSON.parse(l) as BatchOutputLine
              const body = line.response?.body
              if (line.response?.status_code !== 200 || body?.choices === undefined) {
                return { customId: line.custom_id, error: line.error?.message ?? body?.error?.message ?? `status ${line.response?.status_code}` }
              }
              const choice = body.choices[0]
              return {
                customId: line.custom_id,
                content: choice?.message.content ?? "",
                finish: choice?.finish_reason ?? "",
                usage: {
                  inputTokens: body.usage?.prompt_tokens ?? 0,
                  cachedTokens: body.usage?.prompt_tokens_details?.cached_tokens ?? 0,
                  outputTokens: body.usage?.completion_tokens ?? 0
                }
              }
            })
        ),
        Effect.withSpan("llm.batch.results")
      )

    const batchCost = (model: string, usage: NonNullable<BatchResult["usage"]>) => BATCH_DISCOUNT * costUsd(settings.prices[model]!, usage)

    const cancel = (batchId: string) => Effect.asVoid(call((signal) => client.batches.cancel(batchId, { signal })))

    return { chat, line, batch: { submit, status, results, cancel, cost: batchCost } }
  })
