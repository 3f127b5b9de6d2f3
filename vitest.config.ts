import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

/**
 * Tests run the workspace packages' TypeScript sources: their package.json `exports` name them
 * under the `workcat-source` condition (the compiled `dist/` is the `default`, for Node and the
 * `workcat` binary, which tests spawning the CLI run: `npm test` rebuilds it first). Tests run in
 * Vite's `ssr` environment, so the condition goes in `ssr.resolve` (the top-level `resolve` is the
 * browser's); conditions given there replace the defaults, so these are listed again (without
 * `module`, as Vitest does for Node).
 */
const conditions = ["workcat-source", ...defaultServerConditions.filter((c) => c !== "module")]

export default defineConfig({
  ssr: { resolve: { conditions } },
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
