import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import type { TestProject } from "vitest/node"

import type {} from "./TestLayers.js" // the `databaseUrl` the tests inject

/** The `workcat` CLI, as the tests and a user run it. */
export const workcatBin = ["packages/server/bin/workcat.mjs"] as const

const firstLine = async (child: ChildProcess): Promise<string> => {
  const lines = createInterface({ input: child.stdout! })
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`workcat db start exited with code ${code} before printing its URL`)
  })
  try {
    return await Promise.race([once(lines, "line").then(([line]) => String(line)), exited])
  } finally {
    lines.close()
  }
}

/**
 * Starts one embedded PostgreSQL for the whole run through `workcat db start` (tests share it;
 * each test uses its own tenants), unless `DATABASE_URL` points at a server already.
 */
export default async function setup(project: TestProject) {
  const configured = process.env.DATABASE_URL
  if (configured !== undefined && configured !== "") {
    project.provide("databaseUrl", configured)
    return
  }
  const dir = await mkdtemp(join(tmpdir(), "workcat-test-"))
  await chmod(dir, 0o755) // the server runs as the postgres user when we are root
  const child = spawn(process.execPath, [...workcatBin, "db", "start", "--data-dir", join(dir, "pg"), "--no-fsync", "--json", "--exit-with-parent"], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const { url } = JSON.parse(await firstLine(child)) as { url: string }
  project.provide("databaseUrl", url)
  return async () => {
    if (child.exitCode === null) {
      child.kill("SIGINT")
      await once(child, "exit")
    }
    await rm(dir, { recursive: true, force: true })
  }
}
