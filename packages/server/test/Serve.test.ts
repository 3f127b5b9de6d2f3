import { describe, expect, it } from "@effect/vitest"
import { freshTenant, testDatabaseUrl, testMasterKey } from "@workcat/pipeline/testing"
import { execFile, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync } from "node:fs"
import { Agent, request } from "node:http"
import { createServer, type AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const env = () => ({ ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: mkdtempSync(join(tmpdir(), "workcat-serve-")) })

const freePort = async () => {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  return port
}

const oktaLine = (uuid: string) =>
  JSON.stringify({
    uuid,
    published: "2026-11-20T10:00:00Z",
    eventType: "user.authentication.sso",
    actor: { id: "00u1", type: "User", alternateId: "mallory@example.com" },
    outcome: { result: "SUCCESS" },
    target: [{ id: "0oa1", type: "AppInstance", displayName: "GitHub" }]
  }) + "\n"

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

  // Cloud Run sends SIGTERM and kills the container 10 s later: the request in flight is answered,
  // then the process ends by itself (130, the code of an interrupted command), with its worker.
  it("on SIGTERM answers the request in flight and exits 130 well within 10 s", async () => {
    const tenant = freshTenant("sigterm")
    const cli = (...args: ReadonlyArray<string>) => promisify(execFile)(process.execPath, ["packages/server/bin/workcat.mjs", ...args], { env: env() })
    await cli("tenants", "add", tenant)
    const token = (await cli("tokens", "create", "--tenant", tenant, "--role", "ingest")).stdout.trim()
    const port = await freePort()
    // No built-in worker: it would drive other tests' runs on the shared test database (their abandoned runs, with its own categorizer).
    const server = spawn(process.execPath, ["packages/server/bin/workcat.mjs", "serve", "--port", String(port), "--worker-runs", "0"], { env: env(), stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    server.stdout.on("data", (chunk) => (output += chunk))
    server.stderr.on("data", (chunk) => (output += chunk))
    const exited = once(server, "exit") as Promise<[number | null, NodeJS.Signals | null]>
    try {
      while (!output.includes("Listening on")) {
        if (server.exitCode !== null) throw new Error(`serve exited: ${output}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      // A keep-alive request whose body is still arriving when SIGTERM comes.
      const post = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: `/api/v1/tenants/${tenant}/events/okta`,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" },
        agent: new Agent({ keepAlive: true }) // no timeout of its own: the server lets go of the connection
      })
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        post.on("response", (response) => {
          let body = ""
          response.on("data", (chunk) => (body += chunk))
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
        })
        post.on("error", reject)
      })
      post.write(oktaLine("s1"))
      await new Promise((resolve) => setTimeout(resolve, 500))
      const signalled = Date.now()
      server.kill("SIGTERM")
      await new Promise((resolve) => setTimeout(resolve, 500))
      post.end(oktaLine("s2"))
      const { status, body } = await answer
      expect({ status, body: JSON.parse(body) }).toEqual({ status: 200, body: { accepted: 2, duplicates: 0, rejected: 0, reasons: {} } })
      const [code, signal] = await exited
      expect({ code, signal }).toEqual({ code: 130, signal: null })
      // Well within Cloud Run's 10 s: the body took 0.5 s more, then the keep-alive connection is
      // let go at once (not after the 5 s of Node's keepAliveTimeout and its 1 s more).
      expect(Date.now() - signalled).toBeLessThan(3_000)
    } finally {
      if (server.exitCode === null) server.kill("SIGKILL")
    }
  }, 60_000)
})
