import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { testDatabaseUrl, testMasterKey } from "@workcat/pipeline/testing"

describe("npm run demo", () => {
  it("runs the whole job on a small tenant and prints the summary", async () => {
    const home = mkdtempSync(join(tmpdir(), "workcat-demo-"))
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--conditions=workcat-source", "--import", "tsx", "scripts/demo.ts", "--employees", "60", "--days", "21", "--no-serve"],
      { env: { ...process.env, WORKCAT_HOME: home, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey }, timeout: 90_000 }
    )
    expect(stdout).toMatch(/ingested\s+[\d,]+ accepted, 0 duplicates, \d+ rejected/)
    expect(stdout).toMatch(/nightly\s+READY: (\d+) selected, \1 categorized, 0 failed/)
    expect(stdout).toMatch(/accuracy\s+\d+\.\d% \(\d+\/\d+\) against the generated ground truth/)
  }, 120_000)
})
