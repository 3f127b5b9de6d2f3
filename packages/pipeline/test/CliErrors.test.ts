import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Pg from "pg"
import { startBigQueryServer } from "./support/BigQueryServer.js"
import { pubsubClient, startPubSub } from "./support/PubSub.js"
import { freshTenant, testDatabaseUrl, testMasterKey } from "./support/TestLayers.js"

const home = mkdtempSync(join(tmpdir(), "workcat-cli-errors-"))

/** Runs the `workcat` binary as an operator would, with these variables set too. */
const workcatWith = (env: Readonly<Record<string, string>>, ...args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["packages/server/bin/workcat.mjs", ...args],
      { env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: home, WORKCAT_DEBUG: "", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
  })
const workcat = (...args: ReadonlyArray<string>) => workcatWith({}, ...args)

/** One line on stderr, naming the problem: no stack trace, no schema dump, never a bare `workcat: `. */
const oneLine = (stderr: string) => {
  const lines = stderr.trim().split("\n")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^workcat: \S/)
  expect(stderr).not.toMatch(/\bat \S+:\d+|└─|readonly /)
  return lines[0]
}

/** An Okta sign-in to an app, as the System Log gives it. */
const oktaEvent = (uuid: string, at: string) =>
  JSON.stringify({
    uuid,
    published: at,
    eventType: "user.authentication.sso",
    actor: { id: "00u1", type: "User", alternateId: "jane@example.com" },
    outcome: { result: "SUCCESS" },
    target: [{ id: "0oa1", type: "AppInstance", alternateId: "GitHub", displayName: "GitHub" }]
  })

const count = async (query: string, params: ReadonlyArray<unknown>) => {
  const client = new Pg.Client(testDatabaseUrl())
  await client.connect()
  try {
    return Number((await client.query(query, [...params])).rows[0].n)
  } finally {
    await client.end()
  }
}

describe("the workcat CLI's answers to mistakes", () => {
  it("an unknown tenant is exit 3 with one line, and nothing is stored for it", async () => {
    const nosuch = freshTenant("nosuch")
    for (const args of [["run", "nightly", "--tenant", nosuch], ["tokens", "create", "--tenant", nosuch, "--role", "admin"], ["dead-letters", "list", "--tenant", nosuch]]) {
      const { code, stderr } = await workcat(...args)
      expect({ args, code }).toEqual({ args, code: 3 })
      expect(oneLine(stderr)).toContain(`Unknown tenant "${nosuch}"`)
    }
    expect(await count("SELECT count(*) AS n FROM workcat.runs WHERE tenant = $1", [nosuch])).toBe(0)
    expect(await count("SELECT count(*) AS n FROM workcat.api_tokens WHERE tenant = $1", [nosuch])).toBe(0)
  }, 60_000)

  it("an invalid option value is exit 3 with a sentence naming the option", async () => {
    const t = freshTenant("badopt")
    expect((await workcat("tenants", "add", t)).code).toBe(0)
    const settings = await workcat("tenants", "set", t, "--anomaly-threshold", "5")
    expect(settings.code).toBe(3)
    expect(oneLine(settings.stderr)).toBe("workcat: invalid settings: --anomaly-threshold: Expected a number between 0 and 1")
    // The nightly's settings are named by their options, without their group; a rule with a stored setting too.
    const window = await workcat("tenants", "set", t, "--profile-window-days", "400", "--metrics-window-days", "30")
    expect(window.code).toBe(3)
    expect(oneLine(window.stderr)).toMatch(
      /^workcat: invalid settings: --profile-window-days: must be a whole number from 7 to 365: .*; --metrics-window-days: must be a multiple of 7 from 7 to 364: /
    )
    expect((await workcat("tenants", "set", t, "--profile-window-days", "30", "--ledger-retention-days", "30")).code).toBe(0)
    const recent = await workcat("tenants", "set", t, "--recent-window-days", "30")
    expect(recent.code).toBe(3)
    expect(oneLine(recent.stderr)).toBe(
      "workcat: invalid settings: --recent-window-days: must be shorter than the profile window: the rest of it is the baseline the recent app mix is compared with"
    )
    // A value the command line itself refuses: named too, one line.
    const role = await workcat("tokens", "create", "--tenant", t, "--role", "owner")
    expect(role).toMatchObject({ code: 3, stderr: expect.stringMatching(/^--role: expected one of admin, analyst, ingest, hr_admin, operator\s*$/) })
    const mappingFile = join(home, "bad-mapping.json")
    writeFileSync(mappingFile, JSON.stringify({ preset: "sap", columns: { login: 3 } }))
    const mapping = await workcat("tenants", "set", t, "--hr-mapping", mappingFile)
    expect(mapping.code).toBe(3)
    expect(oneLine(mapping.stderr)).toMatch(/is not an HR mapping: preset: .*; columns\.login: /)
  }, 60_000)

  it("a tenant's warehouse options are checked together, and a worker's tenants must be tenant ids", async () => {
    const t = freshTenant("wh")
    expect((await workcat("tenants", "add", t)).code).toBe(0)
    const incomplete = await workcat("tenants", "set", t, "--warehouse", "bigquery")
    expect(incomplete.code).toBe(3)
    expect(oneLine(incomplete.stderr)).toBe("workcat: --warehouse bigquery needs --bq-project and --bq-location")
    const mixed = await workcat("tenants", "set", t, "--warehouse", "postgres", "--bq-project", "acme-analytics")
    expect(oneLine(mixed.stderr)).toBe("workcat: the --bq-* options need --warehouse bigquery, not postgres")
    const set = await workcat("tenants", "set", t, "--warehouse", "bigquery", "--bq-project", "acme-analytics", "--bq-location", "EU")
    expect(set.code).toBe(0)
    expect(JSON.parse(set.stdout).warehouse).toEqual({ kind: "bigquery", project: "acme-analytics", dataset: `workcat_${t}`, location: "EU", kmsKeyName: null, maxBytesBilled: 1024 ** 4, maxErasureBytesBilled: 100 * 1024 ** 4, usdPerTib: 6.25, postgresDays: 7 })
    // The --bq-* options alone change a BigQuery tenant's settings.
    expect(JSON.parse((await workcat("tenants", "set", t, "--bq-max-bytes-billed", String(20 * 1024 ** 3))).stdout).warehouse).toMatchObject({ project: "acme-analytics", maxBytesBilled: 20 * 1024 ** 3 })
    const worker = await workcat("worker", "--tenant", "Not-A-Tenant")
    expect(worker).toMatchObject({ code: 3, stderr: expect.stringContaining("--tenant") })
  }, 60_000)

  it("an intake that refused records exits 2 and names the top reasons and the next step; the letters can be listed, opened and replayed", async () => {
    const t = freshTenant("rejects")
    expect((await workcat("tenants", "add", t)).code).toBe(0)
    const file = join(home, "people.csv")
    writeFileSync(file, "Work Email,Job Title,Start Date,Status\nana@northwind.example,Engineer,2024-01-08,Active\nbo@northwind.example,Analyst,2024-02-01,On garden leave\n")
    const hr = await workcat("hr", "--tenant", t, file)
    expect(hr.code).toBe(2)
    expect(hr.stdout).toContain("1 accepted, 0 duplicates, 1 rejected")
    expect(hr.stderr).toContain("not an HR record: status: not a known value")
    expect(hr.stderr).toContain(`workcat dead-letters list --tenant ${t}`)
    expect(hr.stderr).not.toContain("bo@northwind")

    const list = await workcat("dead-letters", "list", "--tenant", t, "--json")
    const { items } = JSON.parse(list.stdout) as { items: Array<{ id: number }> }
    expect(items).toHaveLength(1)
    expect(list.stdout).not.toContain("bo@northwind")
    const show = await workcat("dead-letters", "show", "--tenant", t, String(items[0]!.id))
    expect(show).toMatchObject({ code: 0, stdout: expect.stringContaining("bo@northwind.example") })
    expect(await count("SELECT count(*) AS n FROM workcat.audit_log WHERE tenant = $1 AND action = 'dead-letters.show'", [t])).toBe(1)

    const mappingFile = join(home, "leave-mapping.json")
    writeFileSync(mappingFile, JSON.stringify({ statusValues: { active: ["On garden leave"] } }))
    expect((await workcat("tenants", "set", t, "--hr-mapping", mappingFile)).code).toBe(0)
    const replay = await workcat("dead-letters", "replay", "--tenant", t)
    expect(replay).toMatchObject({ code: 0, stdout: expect.stringContaining("1 records accepted") })
  }, 90_000)
})

describe("the workcat binary's intake paths", () => {
  it("a one-shot ingest of a BigQuery tenant loads its events there before it exits", async () => {
    const bq = await startBigQueryServer({ projectId: "acme-analytics" })
    try {
      const t = freshTenant("bqcli")
      expect((await workcat("tenants", "add", t)).code).toBe(0)
      expect((await workcat("tenants", "set", t, "--warehouse", "bigquery", "--bq-project", "acme-analytics", "--bq-location", "EU")).code).toBe(0)
      const file = join(home, `${t}.ndjson`)
      const at = new Date(Date.now() - 3 * 86_400_000).toISOString()
      writeFileSync(file, [oktaEvent("bq-1", at), oktaEvent("bq-2", at)].join("\n") + "\n")
      // No periodic load: only the ingest's own settle can have loaded them.
      const ingest = await workcatWith({ WORKCAT_BQ_API_ENDPOINT: bq.url, WORKCAT_BQ_FLUSH_SECONDS: "0" }, "ingest", "--tenant", t, file)
      expect(ingest).toMatchObject({ code: 0, stdout: expect.stringContaining("2 accepted") })
      expect(bq.jobs.filter((j) => j.kind === "load").length).toBe(1)
      expect(await count(`SELECT rows AS n FROM tenant_${t}.bq_exports WHERE state = 'done'`, [])).toBe(2)
    } finally {
      await bq.close()
    }
  }, 60_000)

  it("ingest --from pubsub reads a subscription through the binary until it is idle", async () => {
    const server = await startPubSub({ prefer: "fake" })
    try {
      const t = freshTenant("pscli")
      expect((await workcat("tenants", "add", t)).code).toBe(0)
      const client = pubsubClient(server)
      const [topic] = await client.createTopic(`${t}-topic`)
      await topic.createSubscription(`${t}-sub`)
      const at = new Date(Date.now() - 86_400_000).toISOString()
      for (const id of ["ps-1", "ps-2", "ps-1"]) await topic.publishMessage({ data: Buffer.from(oktaEvent(id, at)) })
      await client.close()
      const env = { PUBSUB_EMULATOR_HOST: server.host, METADATA_SERVER_DETECTION: "none" }
      const ingest = await workcatWith(env, "ingest", "--tenant", t, "--from", "pubsub", "--subscription", `${t}-sub`, "--project", server.projectId, "--idle-exit", "2", "--json")
      expect(ingest).toMatchObject({ code: 0 })
      expect(JSON.parse(ingest.stdout)).toMatchObject({ messages: 3, accepted: 2, duplicates: 1, rejected: 0 })
    } finally {
      await server.stop()
    }
  }, 60_000)
})
