import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { TenantLayers } from "@workcat/pipeline"
import { CurrentTenant, MasterKey, type OidcSettings, type SignInRole, TenantId, TenantRegistry, TenantSecrets } from "@workcat/tenancy"
import { Cache, Data, Duration, Effect, Option, Redacted, Schema } from "effect"
import * as client from "openid-client"
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

/** A sign-in through the identity provider that cannot go on: the page says why, in words safe to show. */
export class OidcRefused extends Data.TaggedError("OidcRefused")<{ readonly status: number; readonly message: string }> {}

const isLoopback = (host: string) => host === "localhost" || host === "127.0.0.1" || host === "[::1]"

/**
 * Where the browser reaches this server: `WORKCAT_PUBLIC_URL`, else the request's own host and
 * scheme (`X-Forwarded-Proto` behind a load balancer). The provider sends the browser back only
 * to a redirect URI registered with it, so a forged Host header leads nowhere.
 */
const publicOrigin = (request: HttpServerRequest.HttpServerRequest, configured: string | undefined) => {
  if (configured !== undefined && configured !== "") return configured.replace(/\/+$/, "")
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
  const configuredOrigin = process.env.WORKCAT_PUBLIC_URL
  // A provider's discovery document and keys are fetched once an hour per client, not per sign-in.
  const configurations = yield* Cache.make({
    capacity: 1_000,
    timeToLive: Duration.hours(1),
    lookup: (key: { readonly issuer: string; readonly clientId: string; readonly secret: string }) =>
      Effect.tryPromise({
        try: () =>
          client.discovery(
            new URL(key.issuer),
            key.clientId,
            key.secret,
            undefined,
            // Plain HTTP only to a provider on loopback (the settings allow no other).
            new URL(key.issuer).protocol === "http:" && isLoopback(new URL(key.issuer).hostname) ? { execute: [client.allowInsecureRequests] } : undefined
          ),
        catch: (e) => new OidcRefused({ status: 502, message: `The identity provider cannot be reached (${e instanceof Error ? e.message : String(e)})` })
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
        secure: request.headers["x-forwarded-proto"] === "https",
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
    // Groups from the ID token, else from the UserInfo endpoint (providers that keep the ID token small).
    const groups =
      groupsOf(claims, oidc.groupsClaim) ??
      groupsOf(
        yield* Effect.tryPromise({ try: () => client.fetchUserInfo(config, tokens.access_token, claims.sub), catch: () => refused("The identity provider's UserInfo could not be read") }),
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
    return yield* HttpServerResponse.empty({ status: 303, headers: { location: "/" } }).pipe(
      HttpServerResponse.expireCookie(LOGIN_COOKIE, { path: LOGIN_PATH }),
      Effect.orDie
    )
  })

  return { start, callback } as const
})
