import { type AppKey, type CategorizationInput, DefaultTaxonomy, type IsoDate, type UserId } from "@workcat/core"
import { Redacted } from "effect"
import { DEFAULT_PRICES, type LlmSettings } from "../../src/categorizer/llm/LlmSettings.js"

/** LLM settings against a test server at `url`: limits high enough never to pace a test unless it asks. */
export const llmSettings = (url: string, over: Partial<LlmSettings> = {}): LlmSettings => ({
  apiKey: Redacted.make("sk-test"),
  baseUrl: url,
  models: { categorize: "gpt-4.1-mini", explain: "gpt-4.1-nano" },
  prices: DEFAULT_PRICES,
  requestsPerMinute: 60_000,
  tokensPerMinute: 100_000_000,
  timeoutMs: 10_000,
  maxAttempts: 5,
  ...over
})

/** An app's use over the window. */
export const usage = (app: string, accesses: number, activeDays: number) => ({ app: app as AppKey, accesses, activeDays, authSteps: 1.5 * accesses })

/** User `i`, a developer: mostly GitHub and Jira, mail and chat like everybody (each user's a little different). */
export const developer = (i: number): CategorizationInput => {
  const apps = [usage("github", 300 + i, 40), usage("jira", 150, 38), usage("slack", 200, 44), usage("gmail", 100, 44)]
  return {
    profile: {
      userId: `u_${i.toString(16).padStart(32, "0")}` as UserId,
      windowStart: "2026-08-25" as IsoDate,
      windowEnd: "2026-11-23" as IsoDate,
      activeDays: 44,
      accesses: apps.reduce((n, a) => n + a.accesses, 0),
      authSteps: apps.reduce((n, a) => n + a.authSteps, 0),
      appDays: 160,
      apps
    },
    employee: null,
    neighbours: [],
    appIdf: new Map(),
    taxonomy: DefaultTaxonomy
  }
}
