/** The LLM categorizer, as `@workcat/pipeline/llm`: kept out of the main entry, so the `openai` client loads only where used. */
export * from "./LlmCategorizer.js"
export * from "./LlmSettings.js"
