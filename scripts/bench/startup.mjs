/**
 * `npm run bench:startup -- [--runs 15]`
 *
 * How long a `workcat` command takes to start: `workcat --help` as operators run it (the binary,
 * which runs the bundle `packages/server/dist/workcat.mjs`), beside the same CLI from the
 * unbundled compiled JavaScript (`packages/server/dist/src/bin.js`, what the binary ran before
 * the bundle) and beside a bare `node -e 0` (the ceiling: Node's own start). Each is run `--runs`
 * times, interleaved, so the machine's drift touches all three alike; the median wall time of
 * each is printed. Needs a build (`npm run build`).
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const at = process.argv.indexOf("--runs")
const runs = at === -1 ? 15 : Number(process.argv[at + 1])
if (!Number.isInteger(runs) || runs < 1) {
  console.error("bench:startup: --runs takes a whole number of at least 1")
  process.exit(3)
}
for (const file of ["packages/server/dist/workcat.mjs", "packages/server/dist/src/bin.js"]) {
  if (!existsSync(`${root}/${file}`)) {
    console.error(`bench:startup: ${file} is missing: run \`npm run build\` first`)
    process.exit(1)
  }
}

const cases = [
  { name: "workcat --help (bundled, the binary)", args: ["packages/server/bin/workcat.mjs", "--help"] },
  { name: "workcat --help (unbundled compiled JS)", args: ["packages/server/dist/src/bin.js", "--help"] },
  { name: "node -e 0 (Node's own start)", args: ["-e", "0"] }
]
const times = cases.map(() => [])
const timed = (args) => {
  const start = process.hrtime.bigint()
  execFileSync(process.execPath, args, { cwd: root, stdio: "ignore" })
  return Number(process.hrtime.bigint() - start) / 1e9
}
for (const c of cases) timed(c.args) // warm the file cache
for (let i = 0; i < runs; i++) cases.forEach((c, k) => times[k].push(timed(c.args)))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`start-up, median of ${runs} runs each (interleaved):`)
cases.forEach((c, k) => console.log(`  ${c.name.padEnd(42)} ${median(times[k]).toFixed(2)} s`))
const [bundled, unbundled] = [median(times[0]), median(times[1])]
console.log(`  the bundle starts ${(unbundled / bundled).toFixed(1)}x faster than the unbundled CLI (target: --help <= 0.5 s: ${bundled <= 0.5 ? "met" : "NOT met"})`)
