import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "scripts/**/*.test.ts"],
    globalSetup: ["packages/pipeline/test/support/globalSetup.ts"],
    // Vitest leaves one core free by default (one worker on 2 cores); the tests mostly wait on
    // PostgreSQL and child processes, so two workers share 2 cores well.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
