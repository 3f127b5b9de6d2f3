#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, which `npm ci` and `npm test` run: tsc -b into each
// package's dist/), resolved from this file, so `workcat` works from any directory. The packages'
// compiled JavaScript is found through their package.json `exports` (the `default` condition).
import { existsSync } from "node:fs"

const entry = new URL("../dist/src/bin.js", import.meta.url)
const notBuilt = () => {
  process.stderr.write("workcat: the CLI is not built (no compiled JavaScript in packages/*/dist): run `npm run build` in the workcat checkout\n")
  process.exit(1)
}

if (!existsSync(entry)) notBuilt()
try {
  await import(entry.href)
} catch (error) {
  // Another workspace package's output missing (a partial build): the same answer, not a stack
  // trace. A missing dependency (`Cannot find package 'x' imported from …/dist/…`) is not that.
  const missing = error?.code === "ERR_MODULE_NOT_FOUND" ? /^Cannot find module '([^']*)'/.exec(String(error.message))?.[1] : undefined
  if (missing !== undefined && /[\\/](packages|node_modules[\\/]@workcat)[\\/][^\\/]+[\\/]dist[\\/]/.test(missing)) notBuilt()
  throw error
}
