import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { TenantLayers } from "@workcat/pipeline"
import { CurrentTenant, isLoopbackHost, MasterKey, type OidcSettings, type SignInRole, TenantId, TenantRegistry, TenantSecrets } from "@workcat/tenancy"
import { Cache, Config, Data, Duration, Effect, Exit, Option, Redacted, Schema } from "effect"
import * as client from "openid-client"
import { securedRequest } from "../Auth.js"
import { openSession } from "./SessionHandlers.js"

/** The cookie holding a sign-in in progress (sealed: the PKCE verifier, state and nonce), for the way back from the provider. */
const LOGIN_COOKIE = "workcat_oidc"
const LOGIN_PATH = "/signin/oidc"
export const CALLBACK_PATH = "/signin/oidc/callback"
/** How long the provider may take to send the browser back. */
const LOGIN_LIFETIME_MS = 10 * 60_000
const LOGIN_CONTEXT = "oidc-login"

const PendingLogin = Schema.parseJson(
  Schema.Struct({ tenant: TenantId, state: Schema.String, nonce: Schema.String, verifier: Schema.String, redirectUri: Schema.String, expires: Schema.Number })
)

const SIGNED_IN = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>workcat</title></head>
<body><p>Signed in. <a href="/">Continue to the dashboard</a>.</p></body></html>
`

/** A sign-in through the identity provider that cannot go on: the page says why, in words safe to show. */
export class OidcRefused extends Data.TaggedError("OidcRefused")<{
  readonly status: number
  readonly message: string
  /** For the log only (a provider's error text), never shown to the visitor. */
  readonly detail?: string
}> {}

/**
 * Where the browser reaches this server: `WORKCAT_PUBLIC_URL`, else the request's own host and
 * scheme (`X-Forwarded-Proto` behind a load balancer). The provider sends the browser back only
 * to a redirect URI registered with it, so a forged Host header leads nowhere.
 */
const publicOrigin = (request: HttpServerRequest.HttpServerRequest, configured: string) => {
  if (configured !== "") return configured.replace(/\/+$/, "")
  const proto = request.headers["x-forwarded-proto"] === "https" ? "https" : "http"
  return `${proto}://${request.headers.host ?? "127.0.0.1"}`
}

/** The first of the tenant's mapped groups the person is in, else the default role, else none. */
export const roleFor = (oidc: Pick<OidcSettings, "roles" | "defaultRole">, groups: ReadonlyArray<string>): SignInRole | null => {
  const member = new Set(groups)
  return oidc.roles.find((r) => member.has(r.group))?.role ?? oidc.defaultRole
}

const groupsOf = (claims: Readonly<Record<string, unknown>> | undefined, claim: string): ReadonlyArray<string> | undefined => {
  const value = claims?.[claim]
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === "string")
  if (typeof value === "string") return [value]
  return undefined
}

/**
 * OpenID Connect sign-in (authorization code with PKCE, `openid-client`): `/signin/oidc?tenant=T`
 * sends the browser to the tenant's provider, `/signin/oidc/callback` takes it back, maps the
 * person's groups to a role and opens a dashboard session. The person is recorded as
 * `oidc:` + a keyed hash of issuer and subject: no name, e-mail or provider id is kept.
 */
export const makeOidcRoutes = Effect.gen(function* () {
  const registry = yield* TenantRegistry
  const secrets = yield* TenantSecrets
  const box = yield* MasterKey
  const configuredOrigin = yield* Config.string("WORKCAT_PUBLIC_URL").pipe(Config.withDefault(""))
  // A plain-HTTP provider (on loopback: the settings allow no other) only where allowed: a test or a laptop.
  const insecureAllowed = yield* Config.boolean("WORKCAT_ALLOW_INSECURE_OIDC").pipe(Config.withDefault(false))
  // A provider's discovery document and keys are fetched once an hour per client, not per sign-in;
  // a failed fetch is tried again after a few seconds (a provider's bad minute must not last an hour).
  const configurations = yield* Cache.makeWith({
    capacity: 1_000,
    timeToLive: (exit) => (Exit.isSuccess(exit) ? Duration.hours(1) : Duration.seconds(5)),
    lookup: (key: { readonly issuer: string; readonly clientId: string; readonly secret: string }) =>
      Effect.gen(function* () {
        const issuer = new URL(key.issuer)
        const insecure = issuer.protocol === "http:" && isLoopbackHost(issuer.hostname)
        if (insecure && !insecureAllowed) {
          return yield* new OidcRefused({ status: 503, message: "This tenant's identity provider is not reachable over HTTPS: ask its admin" })
        }
        return yield* Effect.tryPromise({
          try: () => client.discovery(issuer, key.clientId, key.secret, undefined, insecure ? { execute: [client.allowInsecureRequests] } : undefined),
          catch: (e) => new OidcRefused({ status: 502, message: "The identity provider cannot be reached: try again shortly", detail: e instanceof Error ? e.message : String(e) })
        })
      })
  })

  const clientOf = (tenant: TenantId) =>
    Effect.gen(function* () {
      const record = yield* registry.get(tenant).pipe(Effect.catchTag("TenantNotFound", () => new OidcRefused({ status: 404, message: "No such tenant signs in here" })))
      const oidc = record.settings.oidc
      if (oidc === null) return yield* new OidcRefused({ status: 404, message: "No such tenant signs in here" })
      const secret = yield* secrets.get(tenant, "oidc.clientSecret")
      if (Option.isNone(secret)) return yield* new OidcRefused({ status: 503, message: "This tenant's sign-in is not set up: its client secret is missing" })
      const config = yield* configurations.get(Data.struct({ issuer: oidc.issuer, clientId: oidc.clientId, secret: Redacted.value(secret.value) }))
      return { oidc, config }
    })

  /** `GET /signin/oidc?tenant=T`: to the provider, with a sealed record of this sign-in in a cookie. */
  const start = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const named = new URL(request.url, "http://x").searchParams.get("tenant") ?? ""
    const tenant = yield* Schema.decodeUnknown(TenantId)(named).pipe(Effect.mapError(() => new OidcRefused({ status: 400, message: "Give your organization's workcat tenant id" })))
    const { config, oidc } = yield* clientOf(tenant)
    const verifier = client.randomPKCECodeVerifier()
    const pending = {
      tenant,
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier,
      redirectUri: `${publicOrigin(request, configuredOrigin)}${CALLBACK_PATH}`,
      expires: Date.now() + LOGIN_LIFETIME_MS
    }
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: pending.redirectUri,
      scope: ["openid", ...oidc.scopes.filter((s) => s !== "openid")].join(" "),
      code_challenge: yield* Effect.promise(() => client.calculatePKCECodeChallenge(verifier)),
      code_challenge_method: "S256",
      state: pending.state,
      nonce: pending.nonce
    })
    const sealed = box.seal(Buffer.from(Schema.encodeSync(PendingLogin)(pending), "utf8"), LOGIN_CONTEXT)
    // Lax, not Strict: the provider's redirect back is a navigation from another site.
    return yield* HttpServerResponse.empty({ status: 302, headers: { location: url.href } }).pipe(
      HttpServerResponse.setCookie(LOGIN_COOKIE, sealed, {
        httpOnly: true,
        sameSite: "lax",
        path: LOGIN_PATH,
        secure: securedRequest(request),
        maxAge: Duration.millis(LOGIN_LIFETIME_MS)
      }),
      Effect.orDie
    )
  })

  /** `GET /signin/oidc/callback`: the code for tokens, the groups for a role, and a session. */
  const callback = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const refused = (message: string) => new OidcRefused({ status: 400, message })
    const cookie = request.cookies[LOGIN_COOKIE]
    if (cookie === undefined) return yield* refused("This sign-in was not started here, or took longer than 10 minutes: start again")
    const opened = yield* box.open(cookie, LOGIN_CONTEXT).pipe(Effect.catchAllDefect(() => refused("This sign-in cannot be read: start again")))
    const pending = yield* Schema.decodeUnknown(PendingLogin)(Buffer.from(Redacted.value(opened)).toString("utf8")).pipe(
      Effect.mapError(() => refused("This sign-in cannot be read: start again"))
    )
    if (pending.expires < Date.now()) return yield* refused("This sign-in took longer than 10 minutes: start again")
    const { config, oidc } = yield* clientOf(pending.tenant)
    const here = new URL(request.url, pending.redirectUri)
    const tokens = yield* Effect.tryPromise({
      try: () =>
        client.authorizationCodeGrant(config, new URL(`${pending.redirectUri}${here.search}`), {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true
        }),
      // The provider's error code only (`access_denied`, `invalid_grant`): never its tokens.
      catch: (e) => refused(`The identity provider did not sign you in (${e instanceof client.AuthorizationResponseError || e instanceof client.ResponseBodyError ? e.error : "an invalid answer"})`)
    })
    const claims = tokens.claims()!
    // Entra replaces a long list of groups (over 200) with a pointer to Graph, which workcat does not follow.
    const overage = (claims as { readonly _claim_names?: Readonly<Record<string, unknown>> })._claim_names
    if (overage !== undefined && oidc.groupsClaim in overage) {
      return yield* new OidcRefused({
        status: 403,
        message: "Your account is in too many groups for the identity provider to list them: ask the admin to send the app's roles (or only its groups) instead"
      })
    }
    // Groups from the ID token, else from the UserInfo endpoint (providers that keep the ID token
    // small); if that cannot be read, none (the tenant's default role may still apply).
    const groups =
      groupsOf(claims, oidc.groupsClaim) ??
      groupsOf(
        yield* Effect.tryPromise(() => client.fetchUserInfo(config, tokens.access_token, claims.sub)).pipe(Effect.orElseSucceed(() => undefined)),
        oidc.groupsClaim
      ) ??
      []
    const role = roleFor(oidc, groups)
    if (role === null) return yield* new OidcRefused({ status: 403, message: "Your account is in no group this organization gives a workcat role: ask its admin" })
    const { pseudonyms } = yield* Effect.provide(CurrentTenant, TenantLayers.get(pending.tenant, 1_000)).pipe(
      Effect.catchAll(() => refused("No such tenant signs in here"))
    )
    const person = pseudonyms.record(`oidc ${claims.iss} ${claims.sub}`)
    yield* openSession(request, { tenant: pending.tenant, role, actor: `oidc:${person}` }, "oidc")
    // A page that moves on to the dashboard itself, not a redirect: the redirect would still be
    // the provider's navigation, which a SameSite=Strict cookie does not go with.
    return yield* HttpServerResponse.text(SIGNED_IN, { contentType: "text/html; charset=utf-8" }).pipe(
      HttpServerResponse.expireCookie(LOGIN_COOKIE, { path: LOGIN_PATH }),
      Effect.orDie
    )
  })

  return { start, callback } as const
})
