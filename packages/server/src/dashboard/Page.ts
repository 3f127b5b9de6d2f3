import { HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { TenantLayers } from "@workcat/pipeline"
import { type AuditLog, isSessionShaped, type MasterKey, TenantSecrets, type WebSession, WebSessions } from "@workcat/tenancy"
import { Effect, Layer, Option, Redacted } from "effect"
import { sessionCookieOf } from "../Auth.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { CALLBACK_PATH, makeOidcRoutes, type OidcRefused } from "./Oidc.js"

/**
 * The dashboard's files, built by `npm run build` (scripts/bundle.mjs) from packages/server/web
 * into packages/server/dist/web: found by walking up from this module, whether it runs from the
 * sources, from tsc's dist/ or from the bundle.
 */
const webDirectory = (): string | undefined => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "dist", "web")
    if (fs.existsSync(path.join(candidate, "dashboard.js"))) return candidate
    dir = path.dirname(dir)
  }
  return undefined
}

const ASSETS: Readonly<Record<string, string>> = { "dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8" }

/** The page's own HTML: everything it shows, the page builds from the API with its script. */
const html = (body: string, head = "") => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>workcat</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/dashboard.css">
<script type="module" src="/assets/dashboard.js"></script>
${head}</head>
<body>
${body}
</body>
</html>
`

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/**
 * The page, with the browser's session when its cookie holds a valid one (tenant, role, expiry and
 * the CSRF token the page sends back): the page starts on the numbers, with no request to find out.
 */
const dashboard = (session: WebSession | undefined, view: "dashboard" | "link" = "dashboard") =>
  html(
    `<a class="skip" href="#main">Skip to the numbers</a>
<header id="top"><h1>workcat</h1><div id="who" aria-live="polite"></div></header>
<main id="main" tabindex="-1"><p id="status" role="status">Loading…</p></main>`,
    `<meta name="workcat-view" content="${view}">\n${
      session === undefined
        ? ""
        : `<meta name="workcat-session" content="${escapeHtml(JSON.stringify({ tenant: session.tenant, role: session.role, csrf: session.csrf, expiresAt: session.expiresAt }))}">\n`
    }`
  )

const page = (status: number, body: string) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8" })

const NOT_BUILT = html(`<main><h1>The dashboard is not built</h1><p>Run <code>npm run build</code>: it bundles the page into packages/server/dist/web.</p></main>`)

/**
 * `/` (the dashboard), `/assets/…` (its script and style), `/signin?code=…` (a one-time sign-in
 * link), `/signin/oidc?tenant=T` and its callback (the tenant's identity provider).
 */
export const DashboardPageLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<WebSessions | AuditLog | TenantLayers | MasterKey>()
    const oidc = yield* makeOidcRoutes
    /** A sign-in that cannot go on, as a page that says why. */
    const signInFailed = (e: OidcRefused) =>
      Effect.zipRight(
        Effect.logInfo("Refused a sign-in through an identity provider").pipe(
          Effect.annotateLogs({ status: e.status, reason: e.message, ...(e.detail === undefined ? {} : { detail: e.detail }) })
        ),
        Effect.succeed(page(e.status, html(`<main><h1>Sign-in failed</h1><p>${escapeHtml(e.message)}</p><p><a href="/">Back to the dashboard</a></p></main>`)))
      )
    yield* router.get("/signin/oidc", oidc.start.pipe(Effect.catchTag("OidcRefused", signInFailed), Effect.provide(services)))
    yield* router.get(CALLBACK_PATH, oidc.callback.pipe(Effect.catchTag("OidcRefused", signInFailed), Effect.provide(services)))
    const dir = webDirectory()
    const files = new Map<string, Uint8Array>()
    if (dir !== undefined) for (const name of Object.keys(ASSETS)) files.set(name, fs.readFileSync(path.join(dir, name)))
    yield* router.get(
      "/",
      Effect.gen(function* () {
        if (dir === undefined) return page(503, NOT_BUILT)
        const cookie = sessionCookieOf(yield* HttpServerRequest.HttpServerRequest)
        const session =
          cookie !== undefined && isSessionShaped(cookie)
            ? yield* Effect.flatMap(WebSessions, (s) => s.verify(Redacted.make(cookie))).pipe(Effect.option, Effect.map(Option.getOrUndefined))
            : undefined
        return page(200, dashboard(session))
      }).pipe(Effect.provide(services))
    )
    yield* router.get(
      "/assets/:file",
      Effect.gen(function* () {
        const { file } = yield* HttpRouter.params
        const body = file === undefined ? undefined : files.get(file)
        return body === undefined ? HttpServerResponse.empty({ status: 404 }) : HttpServerResponse.uint8Array(body, { contentType: ASSETS[file!]! })
      })
    )
    // A sign-in link's page: its script asks before it redeems the code (a POST), so a mail or
    // chat service opening the link to preview it does not spend it.
    yield* router.get("/signin", Effect.succeed(dir === undefined ? page(503, NOT_BUILT) : page(200, dashboard(undefined, "link"))))
  })
).pipe(Layer.provide([WebSessions.Default, TenantSecrets.Default]))
