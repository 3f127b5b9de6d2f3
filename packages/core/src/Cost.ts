import { Schema } from "effect"

/** List prices of a model in USD per million tokens. */
export const ModelPrice = Schema.Struct({
  input: Schema.Number.pipe(Schema.nonNegative()),
  cachedInput: Schema.Number.pipe(Schema.nonNegative()),
  output: Schema.Number.pipe(Schema.nonNegative())
})
export type ModelPrice = typeof ModelPrice.Type

/** Tokens of one LLM call, as the provider reports them (cached tokens are part of the input). */
export interface TokenUsage {
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly outputTokens: number
}

/** USD of one call: uncached input, cached input (billed at a tenth, usually) and output. */
export const costUsd = (price: ModelPrice, usage: TokenUsage): number => {
  const cached = Math.min(usage.cachedTokens, usage.inputTokens)
  return ((usage.inputTokens - cached) * price.input + cached * price.cachedInput + usage.outputTokens * price.output) / 1_000_000
}
