import { Either, Schema } from "effect"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import { type DecodedRecord, formatParseError, isRecord, located, refuse, Timestamp } from "./Decoding.js"
import { EntraSignIn, type EntraSignInKind, ErrorCode, kindOfSignIn, normalizeEntra } from "./EntraSignIn.js"

/**
 * The sign-in fields of a diagnostic record's `properties`: a Graph signIn, camelCase, whose
 * `createdDateTime` some exports leave out (the record's `time` is then the sign-in's time).
 */
export const EntraSignInProperties = Schema.Struct({
  ...EntraSignIn.fields,
  createdDateTime: Schema.optional(Schema.NullOr(Timestamp))
}).annotations({ identifier: "EntraSignInProperties" })

/**
 * An Entra sign-in log record as Azure Monitor diagnostic settings write it to an event hub, a
 * storage account or a partner (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-azure-monitor-sign-ins-log-schema).
 * Of the envelope only `category`, `time` (when `properties.createdDateTime` is missing) and
 * `resultType` (the error code as a string, when `properties.status.errorCode` is missing) are
 * read; `identity` (the user's display name), `callerIpAddress` and the rest never are.
 */
export const EntraDiagnosticRecord = Schema.Struct({
  category: Schema.String,
  properties: EntraSignInProperties
}).annotations({ identifier: "EntraDiagnosticRecord" })

/** An Event Hubs message body: the records of one delivery in `records`. */
export const EntraDiagnosticRecords = Schema.Struct({ records: Schema.Array(Schema.Unknown) }).annotations({
  identifier: "EntraDiagnosticRecords"
})

/**
 * The kind of sign-in each sign-in log category holds. `SignInLogs` are interactive user sign-ins
 * unless the record says otherwise (as through Graph); AD FS sign-ins (Connect Health) keep their
 * own kind, and count as an access when interactive by their own fields.
 */
const SIGN_IN_CATEGORIES: ReadonlyMap<string, (signIn: EntraSignIn) => EntraSignInKind> = new Map([
  ["SignInLogs", kindOfSignIn],
  ["NonInteractiveUserSignInLogs", () => "nonInteractive"],
  ["ServicePrincipalSignInLogs", () => "servicePrincipal"],
  ["ManagedIdentitySignInLogs", () => "managedIdentity"],
  ["ADFSSignInLogs", () => "adfs"]
] as const)

/** The other categories Entra diagnostic settings route: named in a refusal (any other is not, as it could be anything). */
const OTHER_CATEGORIES = [
  "AuditLogs", "ProvisioningLogs", "RiskyUsers", "UserRiskEvents", "RiskyServicePrincipals", "ServicePrincipalRiskEvents",
  "MicrosoftGraphActivityLogs", "NetworkAccessTrafficLogs", "NetworkAccessAlerts", "NetworkAccessConnectionEvents",
  "RemoteNetworkHealthLogs", "EnrichedOffice365AuditLogs", "B2CRequestLogs", "CustomSecurityAttributeAuditLogs"
]

/** Category names compare case-insensitively: exports differ in case (`NonInteractiveUserSIgnInLogs` in Microsoft's own list). */
const canonical = new Map([...SIGN_IN_CATEGORIES.keys(), ...OTHER_CATEGORIES].map((name) => [name.toLowerCase(), name]))
const kindsOf = (category: string) => SIGN_IN_CATEGORIES.get(canonical.get(category.toLowerCase()) ?? "")

/** Whether a record is in the diagnostic form (a Graph signIn has neither key), to decode it as such. */
export const isDiagnosticRecord = (json: unknown): boolean =>
  isRecord(json) && (json.category !== undefined || json.properties !== undefined)

const decodeCategory = Schema.decodeUnknownEither(Schema.Struct({ category: Schema.String }))
const decodeDiagnostic = Schema.decodeUnknownEither(EntraDiagnosticRecord, { errors: "all" })
const decodeTime = Schema.decodeUnknownEither(Schema.Struct({ time: Timestamp }))
const decodeResultType = Schema.decodeUnknownEither(Schema.Struct({ resultType: Schema.optional(Schema.NullOr(ErrorCode)) }))

const NOT_A_RECORD = "not an Entra sign-in log record"

/**
 * One diagnostic record: refused when its category is not a sign-in log (naming the category when
 * it is one Entra documents), else its `properties` normalized as a Graph signIn of the category's
 * kind. The event id is `properties.id`, the Graph id of the same sign-in.
 */
export const decodeDiagnosticRecord = (json: unknown, where: string, catalog: AppCatalog, pseudonyms: Pseudonyms): DecodedRecord => {
  const category = decodeCategory(json)
  if (Either.isLeft(category)) return refuse(located(where, `${NOT_A_RECORD}: ${formatParseError(category.left)}`))
  const name = category.right.category
  const kindOf = kindsOf(name)
  if (kindOf === undefined) return refuse(located(where, `not a sign-in log category: ${canonical.get(name.toLowerCase()) ?? "(an unrecognized category)"}`))
  const decoded = decodeDiagnostic(json)
  if (Either.isLeft(decoded)) return refuse(located(where, `${NOT_A_RECORD}: ${formatParseError(decoded.left)}`))
  const { properties } = decoded.right
  // The envelope repeats the sign-in's time and error code; it is read only where `properties` lack them.
  let createdDateTime = properties.createdDateTime
  if (createdDateTime === undefined || createdDateTime === null) {
    const time = decodeTime(json)
    if (Either.isLeft(time)) return refuse(located(where, `${NOT_A_RECORD}: properties.createdDateTime: is missing; ${formatParseError(time.left)}`))
    createdDateTime = time.right.time
  }
  let errorCode = properties.status?.errorCode
  if (errorCode === undefined || errorCode === null) {
    const result = decodeResultType(json)
    if (Either.isLeft(result)) return refuse(located(where, `${NOT_A_RECORD}: properties.status.errorCode: is missing; ${formatParseError(result.left)}`))
    errorCode = result.right.resultType
  }
  const signIn: EntraSignIn = { ...properties, createdDateTime, status: { errorCode: errorCode ?? null } }
  return Either.right(normalizeEntra(signIn, catalog, pseudonyms, kindOf(signIn)))
}
