import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { RuntimeLive } from "@workcat/pipeline"
import { freshTenant, provision, testConfig } from "@workcat/pipeline/testing"
import { ApiTokens, ControlSql, type Role, type TenantId, TenantRegistry, TenantSecrets, WebSessions } from "@workcat/tenancy"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { existsSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import Provider from "oidc-provider"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { HttpAppLive } from "../src/Server.js"
import { seedTenant } from "./support.js"

/** Debian's chromium (`.ci/run` installs it), or `CHROMIUM`. */
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium"

const tenant = freshTenant("web")
const other = freshTenant("web")

/** The server on a real port of loopback, as a browser reaches it. */
const runtime = ManagedRuntime.make(
  HttpAppLive.pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provide(provision(tenant, other)),
    Layer.provideMerge(TenantSecrets.Default),
    Layer.provideMerge(RuntimeLive),
    // The test's identity provider speaks plain HTTP on loopback.
    Layer.provide(testConfig({ WORKCAT_ALLOW_INSECURE_OIDC: "true" }))
  )
)
const run = <A, E>(effect: Effect.Effect<A, E, ManagedRuntime.ManagedRuntime.Context<typeof runtime>>) => runtime.runPromise(effect)

let browser: Browser
let base = ""
let provider: Server | undefined

/** The people of the test's identity provider and their groups (any password signs them in). */
const PEOPLE: Readonly<Record<string, ReadonlyArray<string>>> = {
  "ana@example.com": ["everyone", "workcat-analysts"],
  "hal@example.com": ["everyone", "workcat-hr", "workcat-analysts"],
  "nobody@example.com": ["everyone"]
}

/**
 * A local OpenID provider (the `oidc-provider` package, its development login and consent pages)
 * with workcat registered as a client, and the tenant set up to sign in with it.
 */
const startProvider = async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const oidc = new Provider(issuer, {
    clients: [{ client_id: "workcat", client_secret: "s3cret-of-the-test", redirect_uris: [`${base}/signin/oidc/callback`], grant_types: ["authorization_code"], response_types: ["code"] }],
    claims: { openid: ["sub"], groups: ["groups"] },
    scopes: ["openid", "groups"],
    // The groups in the ID token itself, as Okta and Entra put them.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, groups: [...(PEOPLE[sub] ?? [])] }) })
  })
  server.on("request", oidc.callback())
  provider = server
  await run(
    Effect.gen(function* () {
      yield* Effect.flatMap(TenantSecrets, (s) => s.put(tenant, "oidc.clientSecret", Redacted.make("s3cret-of-the-test")))
      yield* Effect.flatMap(TenantRegistry, (r) =>
        r.update(tenant, {
          oidc: {
            issuer,
            clientId: "workcat",
            scopes: ["groups"],
            groupsClaim: "groups",
            roles: [
              { group: "workcat-hr", role: "hr_admin" },
              { group: "workcat-analysts", role: "analyst" }
            ],
            defaultRole: null
          }
        })
      )
    })
  )
}

/** Through the provider's login and consent pages, as `login`; the page the browser lands on. */
const signInWithProvider = async (login: string) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(base)
  await page.waitForSelector("body[data-ready=sign-in]")
  await page.fill("#oidc-tenant", tenant)
  await page.press("#oidc-tenant", "Enter")
  await page.waitForSelector("input[name=login]")
  await page.fill("input[name=login]", login)
  await page.fill("input[name=password]", "any")
  await page.click("button[type=submit]")
  await page.waitForSelector("button.login-submit")
  await page.click("button.login-submit")
  await page.waitForURL(`${base}/**`)
  return { page, close: () => context.close() }
}

const tokenOf = (t: TenantId, role: Role) => run(Effect.flatMap(ApiTokens, (tokens) => tokens.create(t, role)).pipe(Effect.map((c) => Redacted.value(c.token))))

/** What the API answers the page's caller (the page's own session, from inside the page). */
const fromPage = (page: Page, path: string): Promise<{ status: number; body: any }> =>
  page.evaluate(async (p) => {
    const response = await fetch(p, { headers: { accept: "application/json" } })
    return { status: response.status, body: await response.json() }
  }, path)

/** A new browser context (no cookies), signed in through the form with a token. */
const signedIn = async (role: Role = "analyst") => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text())
  })
  page.on("pageerror", (e) => errors.push(String(e)))
  await page.goto(base)
  await page.waitForSelector("body[data-ready=sign-in]")
  await page.fill("#token", await tokenOf(tenant, role))
  await page.press("#token", "Enter")
  await page.waitForSelector("body[data-ready=dashboard]")
  return { page, errors, close: () => context.close() }
}

/** The numbers a chart's table holds, by row heading. */
const tableValues = (page: Page, figure: string) =>
  page.$$eval(`#${figure} tbody tr`, (rows) =>
    rows.map((row) => ({
      label: row.querySelector("th")!.textContent,
      values: [...row.querySelectorAll("td")].map((td) => Number(td.getAttribute("data-value")))
    }))
  )

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does), or set CHROMIUM`)
  const address = await run(Effect.map(HttpServer.HttpServer, (s) => s.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  base = `http://127.0.0.1:${address.port}`
  await run(seedTenant(tenant, 120))
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
  })
  await startProvider()
}, 180_000)

afterAll(async () => {
  provider?.close()
  await browser?.close()
  await runtime.dispose()
})

describe("the dashboard in a browser", () => {
  it("signs in with a token and shows the API's numbers, with no script error", async () => {
    const { close, errors, page } = await signedIn()
    const categories = await fromPage(page, `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=category`)
    expect(categories.status).toBe(200)
    const rows = await tableValues(page, "categories-chart")
    expect(rows.map((r) => r.label).sort()).toEqual(categories.body.groups.map((g: any) => g.label).sort())
    const scale = 365 / categories.body.windowDays
    for (const g of categories.body.groups) {
      const row = rows.find((r) => r.label === g.label)!
      expect(row.values[0]).toBe(g.employees)
      expect(row.values[2]).toBeCloseTo(g.wasteCostUsd * scale, 6)
    }
    const departments = await fromPage(page, `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department`)
    for (const row of await tableValues(page, "departments-chart")) {
      const g = departments.body.groups.find((d: any) => d.label === row.label)
      expect(row.values.slice(0, 3)).toEqual([g.employees, g.authWasteHours, g.contextSwitchWasteHours])
    }
    // The headline is the largest category's sentence.
    const largest = [...categories.body.groups].filter((g: any) => g.group !== "uncategorized").sort((a: any, b: any) => b.employees - a.employees)[0]
    expect(await page.textContent("#headline h2")).toMatch(new RegExp(`^${largest.label} \\(\\d+%\\): \\$[\\d.,]+[KM]?/year opportunity in tool friction$`))
    expect(await page.textContent("#run-state")).toBe("READY")
    expect(await page.$$eval("canvas", (c) => c.every((x) => x.width > 0 && x.height > 0))).toBe(true)
    expect(errors).toEqual([])
    await close()
  })

  it("shows a department's categories with its small groups withheld", async () => {
    const admin = await tokenOf(tenant, "admin")
    await fetch(`${base}/api/v1/tenants/${tenant}/settings`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ minGroupSize: 5, smallGroupPolicy: "suppress" })
    })
    const { close, page } = await signedIn()
    const departments = await fromPage(page, `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department`)
    // A department with categories both shown and withheld (a generated company's mix varies with its id).
    let chosen: { group: string; drill: { body: any } } | undefined
    for (const d of departments.body.groups) {
      const drill = await fromPage(page, `/api/v1/tenants/${tenant}/metrics/productivity?department=${encodeURIComponent(d.group)}`)
      if (drill.body.suppressedGroups > 0 && drill.body.groups.length > 0) chosen = { group: d.group, drill }
    }
    expect(chosen, "a department with a small category").toBeDefined()
    const { drill, group } = chosen!
    await page.click(`button[data-department="${group}"]`)
    await page.waitForSelector("#drill-title:focus")
    const rows = await tableValues(page, "drill-chart")
    expect(rows.map((r) => r.label).sort()).toEqual(drill.body.groups.map((g: any) => g.label).sort())
    for (const row of rows) expect(row.values[0]).toBeGreaterThanOrEqual(5)
    expect(await page.textContent("#drill-withheld")).toBe(`${drill.body.suppressedGroups} group${drill.body.suppressedGroups === 1 ? "" : "s"} of fewer than 5 people withheld for privacy.`)
    await close()
  })

  it("cannot see another tenant's numbers", async () => {
    const { close, page } = await signedIn()
    const answer = await fromPage(page, `/api/v1/tenants/${other}/metrics/productivity`)
    expect(answer.status).toBe(404)
    expect(await page.textContent("#who")).toContain(tenant)
    await close()
  })

  it("is usable by keyboard alone: Tab reaches a department's drill-down, Enter opens it and moves focus there", async () => {
    const { close, page } = await signedIn()
    const first = await page.getAttribute("#departments .drill-buttons button", "data-department")
    let focused: string | null = null
    for (let i = 0; i < 60 && focused !== first; i++) {
      await page.keyboard.press("Tab")
      // Runs in the page (this file's types have no DOM).
      focused = await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute("data-department") ?? null)
    }
    expect(focused).toBe(first)
    await page.keyboard.press("Enter")
    await page.waitForSelector("#drill-title:focus")
    expect(await page.textContent("#drill-title")).toBe(`${first}: its categories`)
    // The tables behind the charts open from the keyboard too.
    await page.focus("#categories-chart-table summary")
    await page.keyboard.press("Enter")
    expect(await page.$eval("#categories-chart-table", (d) => (d as any).open)).toBe(true)
    await close()
  })

  it("is ready within a second of navigation on loopback, signed in", async () => {
    const { close, page } = await signedIn()
    await page.reload()
    await page.waitForSelector("body[data-ready=dashboard]")
    const ready = await page.evaluate(() => performance.getEntriesByName("dashboard-ready")[0]!.startTime)
    expect(ready).toBeLessThan(1000)
    await close()
  })

  it("signs out: the page asks for a token again and the cookie no longer reads anything", async () => {
    const { close, page } = await signedIn()
    await page.click("#sign-out")
    await page.waitForSelector("body[data-ready=sign-in]")
    // The cookie is gone from the browser; the page's requests are refused.
    expect((await fromPage(page, `/api/v1/tenants/${tenant}/metrics/productivity`)).status).toBe(401)
    await close()
  })
})

describe("a one-time sign-in link in a browser", () => {
  it("asks before it signs in, then opens the dashboard and takes the code out of the address bar", async () => {
    const created = await run(Effect.flatMap(ApiTokens, (t) => t.create(tenant, "analyst")))
    const { code } = await run(
      Effect.flatMap(WebSessions, (s) => s.link({ tenant, role: "analyst", actor: `token:${created.id}`, tokenId: created.id })).pipe(Effect.provide(WebSessions.Default))
    )
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${base}/signin?code=${encodeURIComponent(Redacted.value(code))}`)
    await page.waitForSelector("body[data-ready=link]")
    expect(await context.cookies()).toEqual([])
    await page.keyboard.press("Enter")
    await page.waitForSelector("body[data-ready=dashboard]")
    expect(new URL(page.url()).search).toBe("")
    expect(await page.textContent("#who")).toContain(`${tenant} · analyst`)
    await context.close()
  })
})

describe("the operators' view in a browser", () => {
  it("shows every tenant's row, with the API's numbers", async () => {
    const operator = await run(Effect.flatMap(ApiTokens, (t) => t.create(null, "operator")).pipe(Effect.map((c) => Redacted.value(c.token))))
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(base)
    await page.waitForSelector("body[data-ready=sign-in]")
    await page.fill("#token", operator)
    await page.press("#token", "Enter")
    await page.waitForSelector("body[data-ready=fleet]")
    const view = await fromPage(page, "/api/v1/operator/tenants")
    const rows = await page.$$eval("#fleet tbody tr", (trs) => trs.map((tr) => tr.querySelector("th")!.textContent))
    expect(rows).toEqual(view.body.tenants.map((t: any) => `${t.displayName} (${t.tenant})`))
    expect(await page.textContent("#fleet")).toContain("READY")
    await context.close()
  })
})

describe("signing in with the tenant's identity provider (OpenID Connect)", () => {
  it("maps the person's groups to a role, the first mapped group first, and keeps nothing readable of them", async () => {
    const ana = await signInWithProvider("ana@example.com")
    await ana.page.waitForSelector("body[data-ready=dashboard]")
    expect(await ana.page.textContent("#who")).toContain(`${tenant} · analyst`)
    await ana.close()
    const hal = await signInWithProvider("hal@example.com")
    await hal.page.waitForSelector("body[data-ready=dashboard]")
    expect(await hal.page.textContent("#who")).toContain(`${tenant} · hr_admin`)
    await hal.close()
    const stored = await run(
      Effect.flatMap(ControlSql, (sql) =>
        sql<{ text: string }>`
          SELECT (SELECT string_agg(row_to_json(a)::text, ' ') FROM audit_log a WHERE tenant = ${tenant}) ||
                 (SELECT string_agg(row_to_json(s)::text, ' ') FROM web_sessions s WHERE tenant = ${tenant}) AS text`
      )
    )
    const text = stored[0]!.text
    expect(text).toMatch(/"actor":"oidc:r_[0-9a-f]+"/)
    expect(text).not.toContain("example.com")
  })

  it("lets no one in whose groups give no role", async () => {
    const nobody = await signInWithProvider("nobody@example.com")
    expect(await nobody.page.textContent("main")).toContain("no group this organization gives a workcat role")
    expect((await fromPage(nobody.page, `/api/v1/tenants/${tenant}/metrics/productivity`)).status).toBe(401)
    await nobody.close()
  })

  it("refuses a callback it did not start", async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const response = await page.goto(`${base}/signin/oidc/callback?code=forged&state=forged`)
    expect(response!.status()).toBe(400)
    expect(await page.textContent("main")).toContain("not started here")
    await context.close()
  })
})
