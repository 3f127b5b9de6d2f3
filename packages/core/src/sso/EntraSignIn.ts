import { ParseResult, Schema } from "effect"
import type { AccessEvent } from "../AccessEvent.js"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import { Id, Name, nonEmpty, NonEmptyId, resolveApp, Timestamp } from "./Decoding.js"

const OptionalNullableString = Schema.optional(Schema.NullOr(Schema.String))
const OptionalId = Schema.optional(Schema.NullOr(Id))

/**
 * A boolean, or the same spelled as a string in any case (`"true"`, `"False"`): CSV-born and some
 * SIEM exports of the sign-in logs write flags that way. Any other string is refused.
 */
export const FlagFromJson = Schema.transformOrFail(Schema.Union(Schema.Boolean, Schema.String), Schema.Boolean, {
  strict: true,
  decode: (value, _, ast) => {
    if (typeof value === "boolean") return ParseResult.succeed(value)
    const lower = value.toLowerCase()
    return lower === "true" || lower === "false"
      ? ParseResult.succeed(lower === "true")
      : ParseResult.fail(new ParseResult.Type(ast, value, "Expected true or false"))
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "Flag" })

/**
 * An Entra error code: an integer, or its decimal string (`resultType` of a diagnostic record is
 * documented as a string, `"50126"`, and some exports write `errorCode` that way too).
 */
export const ErrorCode = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Int, {
  strict: true,
  decode: (value, _, ast) => {
    const code = typeof value === "number" ? value : /^-?\d{1,15}$/.test(value) ? Number(value) : Number.NaN
    return Number.isSafeInteger(code)
      ? ParseResult.succeed(code)
      : ParseResult.fail(new ParseResult.Type(ast, value, "Expected an integer error code"))
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "ErrorCode" })

/** One step of a sign-in's authentication (`authenticationDetails`). */
export const EntraAuthenticationDetail = Schema.Struct({
  authenticationMethod: OptionalNullableString,
  succeeded: Schema.optional(Schema.NullOr(FlagFromJson)),
  authenticationStepResultDetail: OptionalNullableString
}).annotations({ identifier: "EntraAuthenticationDetail" })
export type EntraAuthenticationDetail = typeof EntraAuthenticationDetail.Type

/**
 * The fields of a Microsoft Graph `signIn` (Entra ID sign-in log entry) that workcat reads
 * (https://learn.microsoft.com/en-us/graph/api/resources/signin), v1.0 or beta, and of the
 * `properties` of a diagnostic record, which carry the same fields. Names, IP addresses, device
 * details and the rest are never read; `null` is accepted for every optional object, and as an entry
 * of `authenticationDetails`.
 */
export const EntraSignIn = Schema.Struct({
  id: NonEmptyId,
  createdDateTime: Timestamp,
  userPrincipalName: OptionalId,
  userId: OptionalId,
  appDisplayName: Schema.optional(Schema.NullOr(Name)),
  isInteractive: Schema.optional(Schema.NullOr(FlagFromJson)),
  signInEventTypes: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  status: Schema.optional(Schema.NullOr(Schema.Struct({ errorCode: Schema.optional(Schema.NullOr(ErrorCode)) }))),
  location: Schema.optional(Schema.NullOr(Schema.Struct({ countryOrRegion: Schema.optional(Schema.NullOr(Name)) }))),
  authenticationRequirement: OptionalNullableString,
  authenticationDetails: Schema.optional(Schema.NullOr(Schema.Array(Schema.NullOr(EntraAuthenticationDetail)))),
  sessionId: OptionalId,
  correlationId: OptionalId
}).annotations({ identifier: "EntraSignIn" })
export type EntraSignIn = typeof EntraSignIn.Type

/**
 * What a sign-in is, one kind per Entra sign-in log (`SignInLogs`, `NonInteractiveUserSignInLogs`,
 * `ServicePrincipalSignInLogs`, `ManagedIdentitySignInLogs`, `ADFSSignInLogs`); the event type is
 * `signIn.<kind>` however the sign-in arrived, so Graph and Event Hubs copies of it agree.
 */
export type EntraSignInKind = "interactive" | "nonInteractive" | "servicePrincipal" | "managedIdentity" | "adfs"

/**
 * A sign-in's kind by its own fields: interactive unless it says otherwise (v1.0 lists only
 * interactive sign-ins and may omit `isInteractive`); beta's `signInEventTypes` tells
 * non-interactive, service principal and managed identity sign-ins apart.
 */
export const kindOfSignIn = (signIn: EntraSignIn): EntraSignInKind => {
  const types = signIn.signInEventTypes ?? []
  if (signIn.isInteractive !== false && (types.length === 0 || types.includes("interactiveUser"))) return "interactive"
  if (types.includes("servicePrincipal")) return "servicePrincipal"
  if (types.includes("managedIdentity")) return "managedIdentity"
  return "nonInteractive"
}

/** A step this sign-in did not perform: reused from an earlier sign-in or its token. */
const satisfiedEarlier = (step: EntraAuthenticationDetail) =>
  step.authenticationMethod === "Previously satisfied" || /satisfied by claim in the token/i.test(step.authenticationStepResultDetail ?? "")

/**
 * Steps the sign-in took: the `authenticationDetails` that succeeded in this sign-in (password,
 * authenticator push, ...; "Previously satisfied" and "satisfied by claim in the token" are session
 * reuse and do not count). Without details, `authenticationRequirement` decides:
 * `multiFactorAuthentication` 2, otherwise 1. At least 1.
 */
const authStepsOf = (signIn: EntraSignIn): number => {
  const details = signIn.authenticationDetails?.filter((d) => d !== null) ?? []
  if (details.length === 0) return signIn.authenticationRequirement === "multiFactorAuthentication" ? 2 : 1
  return Math.min(20, Math.max(1, details.filter((d) => d.succeeded === true && !satisfiedEarlier(d)).length))
}

/**
 * Entra → AccessEvent, for a sign-in of `kind` (by default, what its own fields say). An app access
 * is a successful (`status.errorCode` 0) sign-in of a user into an app with a display name that is
 * interactive, or an AD FS sign-in that is interactive by its own fields. Failed, interrupted (any
 * other error code) and non-interactive sign-ins (token refreshes by clients in the background,
 * which would count a mail client's hourly refresh as a visit) are raw events only; service
 * principal and managed identity sign-ins have no user. The session is `sessionId` when the log has
 * it, else the `correlationId` of the sign-in flow, both hashed.
 */
export const normalizeEntra = (
  signIn: EntraSignIn,
  catalog: AppCatalog,
  pseudonyms: Pseudonyms,
  kind: EntraSignInKind = kindOfSignIn(signIn)
): AccessEvent => {
  const person = kind !== "servicePrincipal" && kind !== "managedIdentity"
  const upn = nonEmpty(signIn.userPrincipalName)
  const userId = nonEmpty(signIn.userId)
  const login = !person ? null : (upn ?? (userId === null ? null : `entra:${userId}`))
  const appName = nonEmpty(signIn.appDisplayName)
  const errorCode = signIn.status?.errorCode
  const outcome = errorCode === undefined || errorCode === null ? "UNKNOWN" : errorCode === 0 ? "SUCCESS" : "FAILURE"
  const interactive = kind === "interactive" || (kind === "adfs" && kindOfSignIn(signIn) === "interactive")
  const session = nonEmpty(signIn.sessionId) ?? nonEmpty(signIn.correlationId)
  return {
    eventId: signIn.id,
    provider: "entra",
    eventType: `signIn.${kind}`,
    occurredAt: signIn.createdDateTime,
    userId: login === null ? null : pseudonyms.user(login),
    app: login !== null && appName !== null && outcome === "SUCCESS" && interactive ? resolveApp(catalog, appName) : null,
    appName,
    outcome,
    authSteps: authStepsOf(signIn),
    sessionId: session === null ? null : pseudonyms.session(session),
    country: nonEmpty(signIn.location?.countryOrRegion)
  }
}
