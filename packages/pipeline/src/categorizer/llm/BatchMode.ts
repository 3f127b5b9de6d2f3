import type { CategorizationError, CategorizationInput, LlmMeter, LlmRequest } from "@workcat/core"
import { Context, type Effect, type Option } from "effect"
import type { LlmError } from "./LlmClient.js"

/** One request of a batch file: what it answers, and the chat completion body to send. */
export interface BatchLine {
  readonly request: LlmRequest
  readonly body: Readonly<Record<string, unknown>>
  /** An upper bound of what it costs at the batch price. */
  readonly estimatedUsd: number
  /** The user's first request (1), or one that needs the answer to their first (2). */
  readonly step: 1 | 2
}

/** A batch as the provider reports it. */
export interface BatchStatus {
  readonly status: "validating" | "in_progress" | "finalizing" | "completed" | "failed" | "expired" | "cancelling" | "cancelled"
  readonly outputFileId: string | null
  readonly errorFileId: string | null
  readonly failure: string | null
  readonly counts: { readonly total: number; readonly completed: number; readonly failed: number }
}

/** One line of a batch's output or error file. */
export interface BatchResult {
  readonly customId: string
  /** The answer, if the line was answered (`finish` other than `stop` means cut off). */
  readonly content?: string
  readonly finish?: string
  readonly usage?: { readonly inputTokens: number; readonly cachedTokens: number; readonly outputTokens: number }
  readonly error?: string
}

/**
 * The LLM categorizer's batch side (provided with it, absent with the offline one): the
 * next request a user needs that no answer is kept for, and the provider's Files and Batch
 * APIs. The nightly (`LlmBatchPhase`) writes every user's request into batch files, waits for
 * them, and keeps their answers, so the night's categorization then finds them already paid for.
 */
export class BatchMode extends Context.Tag("workcat/BatchMode")<
  BatchMode,
  {
    readonly plan: (input: CategorizationInput) => Effect.Effect<Option.Option<BatchLine>, CategorizationError, LlmMeter>
    /** Creates a batch of `lines` (one model), or finds the one created earlier with the same `tag`. */
    readonly submit: (lines: ReadonlyArray<BatchLine>, tag: string) => Effect.Effect<string, LlmError>
    readonly status: (batchId: string) => Effect.Effect<BatchStatus, LlmError>
    readonly results: (fileId: string) => Effect.Effect<ReadonlyArray<BatchResult>, LlmError>
    /** What a batch line costs, at the provider's batch price. */
    readonly cost: (model: string, usage: NonNullable<BatchResult["usage"]>) => number
    /** Asks the provider to stop a batch (what it answered so far stays in its output). */
    readonly cancel: (batchId: string) => Effect.Effect<void, LlmError>
    /** Lines per file: the provider's limit (50,000). */
    readonly maxLines: number
    /** How often a batch is looked at, and how long it is waited for before it is cancelled. */
    readonly pollMs: number
    readonly maxWaitMs: number
  }
>() {}

/** A line's id in the files: the operation and the request's key, so identical requests of several users are one line. */
export const customId = (request: LlmRequest) => `${request.operation}-${request.key}`
