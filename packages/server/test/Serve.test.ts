import { describe, expect, it } from "@effect/vitest"
import { testDatabaseUrl, testMasterKey } from "@workcat/pipeline/testing"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createServer, type AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

describe("workcat serve", () => {
  it("on a port in use says so in one line and exits 1", async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve))
    const port = (busy.address() as AddressInfo).port
    try {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ["packages/server/bin/workcat.mjs", "serve", "--port", String(port), "--worker-runs", "0"],
          { env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: mkdtempSync(join(tmpdir(), "workcat-serve-")) } },
          (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr })
        )
      )
      expect(result).toEqual({ code: 1, stderr: `workcat: port ${port} is in use; set PORT or --port\n` })
    } finally {
      busy.close()
    }
  }, 60_000)
})
