import { describe, expect, it } from "@effect/vitest"
import { freshTenant, testDatabaseUrl, testMasterKey } from "@workcat/pipeline/testing"
import { execFile } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Pg from "pg"

const home = mkdtempSync(join(tmpdir(), "workcat-cli-"))

/** Runs the `workcat` binary as a scheduler or an operator would. */
const workcat = (...args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["packages/server/bin/workcat.mjs", ...args],
      { env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: home } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
  })

describe("the workcat CLI", () => {
  const t = freshTenant("cli")

  it("manages a tenant, its tokens and its privacy requests, never printing secrets", async () => {
    expect(await workcat("tenants", "add", t, "--display-name", "CLI Corp")).toMatchObject({ code: 0 })
    expect(await workcat("tenants", "add", t)).toMatchObject({ code: 3, stderr: expect.stringContaining("exists already") })

    const shown = await workcat("tenants", "show", t)
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: t, displayName: "CLI Corp", keyVersions: 1 })
    expect(shown.stdout).not.toMatch(/v1:|password|sealed/i)

    const set = await workcat("tenants", "set", t, "--min-group-size", "3", "--small-group-policy", "rollup")
    expect(JSON.parse(set.stdout)).toMatchObject({ minGroupSize: 3, smallGroupPolicy: "rollup" })
    expect((await workcat("tenants", "set", t, "--min-group-size", "0")).code).toBe(3)

    const created = await workcat("tokens", "create", "--tenant", t, "--role", "analyst", "--expires", "30d")
    const token = created.stdout.trim()
    expect(token).toMatch(/^wct_[0-9a-f]{10}_[0-9A-Za-z_-]{43}$/)
    const listed = await workcat("tokens", "list", "--tenant", t, "--json")
    const [info] = JSON.parse(listed.stdout)
    expect(info).toMatchObject({ role: "analyst", revokedAt: null })
    expect(listed.stdout).not.toContain(token.slice(15))
    expect((await workcat("tokens", "create", "--tenant", t, "--role", "analyst", "--expires", "soon")).code).toBe(3)
    expect(await workcat("tokens", "revoke", "--tenant", t, info.id)).toMatchObject({ code: 0 })

    const forgot = await workcat("forget", "--tenant", t, "--login", "someone@example.com")
    // A count per table holding the person (more as tables are added), nothing deleted for someone unknown.
    const deleted = JSON.parse(forgot.stdout).deleted
    expect(Object.keys(deleted)).toEqual(
      expect.arrayContaining(["sso_events", "user_app_daily", "hr_events", "employees", "work_categories", "run_items", "run_stages"])
    )
    expect(Object.values(deleted).every((n) => n === 0)).toBe(true)
    expect(forgot.stdout).not.toContain("someone")

    const costs = await workcat("costs", "--tenant", t, "--json")
    expect(JSON.parse(costs.stdout)).toMatchObject({ tenant: t, budgetUsd: 100, warnAt: 0.8, monthUsd: 0, status: "ok", days: [], months: [] })

    expect(await workcat("tenants", "rotate-key", t)).toMatchObject({ code: 0, stdout: expect.stringContaining("key version 1") })
    expect((await workcat("run", "nightly", "--tenant", t, "--date", "2099-01-01")).code).toBe(3)

    expect(await workcat("tenants", "remove", t)).toMatchObject({ code: 3, stderr: expect.stringContaining("--yes") })
    expect(await workcat("tenants", "remove", t, "--yes")).toMatchObject({ code: 0 })
    expect((await workcat("tenants", "show", t)).code).toBe(3)

    // Every admin action is in the audit log, which outlives the tenant.
    const client = new Pg.Client(testDatabaseUrl())
    await client.connect()
    const { rows } = await client.query("SELECT actor, action, origin FROM workcat.audit_log WHERE tenant = $1 ORDER BY id", [t])
    await client.end()
    expect(rows.map((r) => r.action)).toEqual([
      "tenant.create",
      "tenant.settings.update",
      "token.create",
      "token.revoke",
      "privacy.forget",
      "tenant.key.rotate",
      "tenant.remove"
    ])
    for (const r of rows) expect(r).toMatchObject({ actor: expect.stringMatching(/^cli:.+@.+/), origin: "cli" })
  }, 240_000)

  it("sets up sign-in with the tenant's identity provider, its client secret sealed, never printed", async () => {
    const u = freshTenant("cli")
    expect(await workcat("tenants", "add", u)).toMatchObject({ code: 0 })
    const secretFile = join(home, "client-secret")
    writeFileSync(secretFile, "the-client-secret-value\n")
    const issuer = "https://acme.okta.com/oauth2/default"
    const base = ["tenants", "sign-in", u, "--issuer", issuer, "--client-id", "0oa123"]
    expect(await workcat(...base, "--role", "workcat-analysts=analyst")).toMatchObject({ code: 3, stderr: expect.stringContaining("--client-secret-file") })
    expect(await workcat(...base, "--client-secret-file", secretFile, "--role", "analysts=ingest")).toMatchObject({
      code: 3,
      stderr: expect.stringContaining("GROUP=ROLE")
    })
    expect((await workcat("tenants", "sign-in", u, "--issuer", "http://idp.example.com", "--client-id", "x", "--client-secret-file", secretFile)).code).toBe(3)
    const set = await workcat(...base, "--client-secret-file", secretFile, "--scope", "groups", "--role", "workcat-admins=admin", "--role", "workcat-analysts=analyst")
    expect(set.code).toBe(0)
    expect(JSON.parse(set.stdout).oidc).toEqual({
      issuer,
      clientId: "0oa123",
      scopes: ["groups"],
      groupsClaim: "groups",
      roles: [
        { group: "workcat-admins", role: "admin" },
        { group: "workcat-analysts", role: "analyst" }
      ],
      defaultRole: null
    })
    // Changing the mapping keeps the stored secret.
    expect((await workcat(...base, "--default-role", "analyst")).code).toBe(0)
    const client = new Pg.Client(testDatabaseUrl())
    await client.connect()
    const { rows } = await client.query("SELECT sealed FROM workcat.tenant_secrets WHERE tenant = $1", [u])
    const shown = await workcat("tenants", "show", u)
    expect(rows).toHaveLength(1)
    expect(rows[0].sealed).not.toContain("the-client-secret")
    expect(shown.stdout + set.stdout).not.toContain("the-client-secret")
    expect(await workcat("tenants", "sign-in", u, "--off")).toMatchObject({ code: 0 })
    expect((await client.query("SELECT 1 FROM workcat.tenant_secrets WHERE tenant = $1", [u])).rows).toHaveLength(0)
    await client.end()
    await workcat("tenants", "remove", u, "--yes")
  }, 60_000)

  it("creates, lists and revokes the operators' tokens, which belong to no tenant", async () => {
    expect(await workcat("tokens", "create", "--role", "analyst")).toMatchObject({ code: 3, stderr: expect.stringContaining("--tenant") })
    expect(await workcat("tokens", "create", "--tenant", t, "--role", "operator")).toMatchObject({ code: 3, stderr: expect.stringContaining("no tenant") })
    const created = await workcat("tokens", "create", "--role", "operator", "--description", "on call")
    expect(created.code).toBe(0)
    expect(created.stderr).toContain("for the operators")
    const listed = JSON.parse((await workcat("tokens", "list", "--operator", "--json")).stdout)
    const mine = listed.find((i: any) => i.description === "on call")
    expect(mine).toMatchObject({ role: "operator", tenant: null, revokedAt: null })
    expect((await workcat("tokens", "list", "--json")).code).toBe(3)
    expect(await workcat("tokens", "revoke", "--operator", mine.id)).toMatchObject({ code: 0 })
  }, 60_000)
})
