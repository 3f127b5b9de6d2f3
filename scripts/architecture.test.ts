import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative, sep } from "node:path"
import { describe, expect, it } from "vitest"

const packages = join(import.meta.dirname, "..", "packages")

/** Every `.ts` file below `dir`, as paths relative to it. */
const sources = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))

/**
 * The part of a package a source file belongs to: its top-level folder below `src/`, or the file
 * itself when it sits directly in `src/`. The package's `index.ts` (its exports) belongs to none.
 */
const partOf = (file: string): string | null => {
  const path = file.replace(/\.(ts|js)$/, "")
  if (path === "index") return null
  return path.split(sep)[0]!
}

/** The package's parts and which other parts each imports (relative imports only). */
const importsOf = (src: string): Map<string, Set<string>> => {
  const graph = new Map<string, Set<string>>()
  for (const file of sources(src)) {
    const from = partOf(file)
    if (from === null) continue
    const targets = graph.get(from) ?? new Set<string>()
    graph.set(from, targets)
    for (const [, spec] of readFileSync(join(src, file), "utf8").matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const to = partOf(relative(src, normalize(join(src, dirname(file), spec!))))
      if (to !== null && to !== from) targets.add(to)
    }
  }
  return graph
}

/** The import cycles between parts, each as the path that closes it (empty when there is none). */
export const cycles = (graph: ReadonlyMap<string, ReadonlySet<string>>): Array<Array<string>> => {
  const found: Array<Array<string>> = []
  const state = new Map<string, "open" | "done">()
  const path: Array<string> = []
  const visit = (node: string) => {
    state.set(node, "open")
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next])
      else if (state.get(next) === undefined) visit(next)
    }
    path.pop()
    state.set(node, "done")
  }
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node)
  return found
}

describe("architecture", () => {
  it("finds a cycle between folders when there is one", () => {
    const graph = new Map([
      ["durable", new Set(["app"])],
      ["app", new Set(["ingest"])],
      ["ingest", new Set(["durable"])],
      ["cli", new Set(["app"])]
    ])
    expect(cycles(graph)).toEqual([["app", "ingest", "durable", "app"]])
  })

  for (const pkg of readdirSync(packages)) {
    it(`no two folders of packages/${pkg} import each other, directly or around a circle`, () => {
      const graph = importsOf(join(packages, pkg, "src"))
      expect(graph.size).toBeGreaterThan(1)
      expect(cycles(graph)).toEqual([])
    })
  }
})
