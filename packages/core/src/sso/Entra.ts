import { Either, Schema } from "effect"
import type { AccessEvent } from "../AccessEvent.js"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import { type DecodedRecord, formatParseError, type RecordOutcome, isRecord, located, nonEmpty, refuse, resolveApp, Timestamp } from "./Decoding.js"

const OptionalNullableString = Schema.optional(Schema.NullOr(Schema.String))

/** One step of a sign-in's authentication (`authenticationDetails`). */
export const EntraAuthenticationDetail = Schema.Struct({
  authenticationMethod: OptionalNullableString,
  succeeded: Schema.optional(Schema.NullOr(Schema.Boolean)),
  authenticationStepResultDetail: OptionalNullableString
}).annotations({ identifier: "EntraAuthenticationDetail" })
export type EntraAuthenticationDetail = typeof EntraAuthenticationDetail.Type

/**
 * The fields of a Microsoft Graph `signIn` (Entra ID sign-in log entry) that workcat reads
 * (https://learn.microsoft.com/en-us/graph/api/resources/signin), v1.0 or beta. Names, IP
 * addresses, device details and the rest are never read; `null` is accepted for every optional
 * object, and as an entry of `authenticationDetails`.
 */
export const EntraSignIn = Schema.Struct({
  id: Schema.NonEmptyString,
  createdDateTime: Timestamp,
  userPrincipalName: OptionalNullableString,
  userId: OptionalNullableString,
  appDisplayName: OptionalNullableString,
  isInteractive: Schema.optional(Schema.NullOr(Schema.Boolean)),
  signInEventTypes: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  status: Schema.optional(Schema.NullOr(Schema.Struct({ errorCode: Schema.optional(Schema.NullOr(Schema.Int)) }))),
  location: Schema.optional(Schema.NullOr(Schema.Struct({ countryOrRegion: OptionalNullableString }))),
  authenticationRequirement: OptionalNullableString,
  authenticationDetails: Schema.optional(Schema.NullOr(Schema.Array(Schema.NullOr(EntraAuthenticationDetail)))),
  sessionId: OptionalNullableString,
  correlationId: OptionalNullableString
}).annotations({ identifier: "EntraSignIn" })
export type EntraSignIn = typeof EntraSignIn.Type

/** A Graph collection page (`@odata.context`, `value`, `@odata.nextLink`). */
export const EntraSignInPage = Schema.Struct({ value: Schema.Array(Schema.Unknown) }).annotations({ identifier: "EntraSignInPage" })

/**
 * Interactive unless it says otherwise: v1.0 lists only interactive sign-ins and may omit
 * `isInteractive`; beta's `signInEventTypes` tells non-interactive and service principal ones apart.
 */
const isInteractive = (signIn: EntraSignIn): boolean =>
  signIn.isInteractive !== false &&
  (signIn.signInEventTypes === undefined || signIn.signInEventTypes === null || signIn.signInEventTypes.length === 0 ||
    signIn.signInEventTypes.includes("interactiveUser"))

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
 * Entra → AccessEvent. An app access is a successful (`status.errorCode` 0), interactive sign-in
 * of a user into an app with a display name. Failed, interrupted (any other error code) and
 * non-interactive sign-ins (token refreshes by clients in the background, which would count a
 * mail client's hourly refresh as a visit) are raw events only. The session is `sessionId` when
 * the log has it, else the `correlationId` of the sign-in flow, both hashed.
 */
export const normalizeEntra = (signIn: EntraSignIn, catalog: AppCatalog, pseudonyms: Pseudonyms): AccessEvent => {
  const upn = nonEmpty(signIn.userPrincipalName)
  const userId = nonEmpty(signIn.userId)
  const login = upn ?? (userId === null ? null : `entra:${userId}`)
  const appName = nonEmpty(signIn.appDisplayName)
  const errorCode = signIn.status?.errorCode
  const outcome = errorCode === undefined || errorCode === null ? "UNKNOWN" : errorCode === 0 ? "SUCCESS" : "FAILURE"
  const interactive = isInteractive(signIn)
  const session = nonEmpty(signIn.sessionId) ?? nonEmpty(signIn.correlationId)
  return {
    eventId: signIn.id,
    provider: "entra",
    eventType: interactive ? "signIn.interactive" : "signIn.nonInteractive",
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

const decodeSignIn = Schema.decodeUnknownEither(EntraSignIn, { errors: "all" })
const decodePage = Schema.decodeUnknownEither(EntraSignInPage, { errors: "all" })

const decodeRecord = (json: unknown, where: string, catalog: AppCatalog, pseudonyms: Pseudonyms): DecodedRecord => {
  const decoded = decodeSignIn(json)
  return Either.isLeft(decoded)
    ? refuse(located(where, `not an Entra signIn: ${formatParseError(decoded.left)}`))
    : Either.right(normalizeEntra(decoded.right, catalog, pseudonyms))
}

/**
 * The Entra records of one parsed JSON value: a signIn (an NDJSON line), a Graph page
 * (`{"@odata.context": ..., "value": [...], "@odata.nextLink": ...}`), or a JSON array of signIns.
 */
export const decodeEntraValue = (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms): ReadonlyArray<RecordOutcome> => {
  const outcome = (record: unknown, where: string): RecordOutcome => ({ record, result: decodeRecord(record, where, catalog, pseudonyms) })
  if (Array.isArray(json)) return json.map((signIn, i) => outcome(signIn, `[${i}]`))
  if (isRecord(json) && json.id === undefined && (json.value !== undefined || json["@odata.context"] !== undefined)) {
    const page = decodePage(json)
    if (Either.isLeft(page)) return [{ record: json, result: refuse(`not an Entra signIn page: ${formatParseError(page.left)}`) }]
    return page.right.value.map((signIn, i) => outcome(signIn, `value[${i}]`))
  }
  return [outcome(json, "")]
}
