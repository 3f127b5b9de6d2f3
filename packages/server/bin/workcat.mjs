#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, which `npm ci` and `npm test` run: tsc -b into each
// package's dist/, then scripts/bundle.mjs into one file, dist/workcat.mjs), resolved from this
// file, so `workcat` works from any directory.
import { existsSync } from "node:fs"

const entry = new URL("../dist/workcat.mjs", import.meta.url)
const notBuilt = () => {
  process.stderr.write("workcat: the CLI is not built (no packages/server/dist/workcat.mjs): run `npm run build` in the workcat checkout\n")
  process.exit(1)
}

if (!existsSync(entry)) notBuilt()
await import(entry.href)
