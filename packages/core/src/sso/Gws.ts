import { Either, Schema } from "effect"
import type { AccessEvent } from "../AccessEvent.js"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import {
  formatParseError,
  Id,
  Int64Id,
  isRecord,
  located,
  longerThan,
  MAX_NAME_LENGTH,
  Name,
  nonEmpty,
  NonEmptyId,
  type RecordOutcome,
  refuse,
  resolveApp,
  Timestamp
} from "./Decoding.js"

const OptionalNullableString = Schema.optional(Schema.NullOr(Schema.String))
const OptionalId = Schema.optional(Schema.NullOr(Id))

/** The Reports API applications workcat reads: the rest (drive, admin, ...) are not sign-ins. */
export const GwsApplication = Schema.Literal("login", "saml", "token")
export type GwsApplication = typeof GwsApplication.Type

/**
 * One event parameter; `messageValue` and the other shapes workcat does not read are ignored.
 * `intValue` is an int64: a decimal string, or the integer number some forwarders make of it.
 */
export const GwsParameter = Schema.Struct({
  name: Schema.String,
  value: OptionalNullableString,
  multiValue: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  boolValue: Schema.optional(Schema.NullOr(Schema.Boolean)),
  intValue: Schema.optional(Schema.NullOr(Int64Id))
}).annotations({ identifier: "GwsParameter" })

/** The parameters an app name is read from: only these are held to the name length bound. */
const APP_NAME_PARAMETERS = new Set(["application_name", "app_name"])

/** One entry of an activity's `events`. */
export const GwsEvent = Schema.Struct({
  type: OptionalId,
  name: NonEmptyId,
  parameters: Schema.optional(Schema.NullOr(Schema.Array(GwsParameter)))
}).pipe(
  Schema.filter((event) => {
    const i = event.parameters?.findIndex((p) => APP_NAME_PARAMETERS.has(p.name) && (p.value?.length ?? 0) > MAX_NAME_LENGTH) ?? -1
    return i < 0 || { path: ["parameters", i, "value"], message: longerThan(MAX_NAME_LENGTH)() }
  })
).annotations({ identifier: "GwsEvent" })
export type GwsEvent = typeof GwsEvent.Type

/**
 * The fields of a Google Workspace Admin SDK Reports API activity that workcat reads
 * (https://developers.google.com/admin-sdk/reports/reference/rest/v1/activities). `ipAddress` and
 * `networkInfo.ipAsn` are never read. The int64 `uniqueQualifier` and `profileId` are read as
 * strings, or as the integer JSON numbers some forwarders turn them into (see `Int64Id`). Events
 * are decoded one by one (`GwsEvent`), so one damaged event does not cost its siblings.
 */
export const GwsActivity = Schema.Struct({
  id: Schema.Struct({
    time: Timestamp,
    uniqueQualifier: Int64Id.pipe(Schema.compose(Schema.NonEmptyString)),
    applicationName: GwsApplication
  }),
  actor: Schema.Struct({ email: OptionalId, profileId: Schema.optional(Schema.NullOr(Int64Id)) }),
  networkInfo: Schema.optional(Schema.NullOr(Schema.Struct({ regionCode: Schema.optional(Schema.NullOr(Name)) }))),
  events: Schema.Array(Schema.Unknown).pipe(Schema.minItems(1))
}).annotations({ identifier: "GwsActivity" })
export type GwsActivity = typeof GwsActivity.Type

/** An `activities.list` page: `items` is absent when the page is empty. */
export const GwsActivities = Schema.Struct({
  items: Schema.optional(Schema.NullOr(Schema.Array(Schema.Unknown)))
}).annotations({ identifier: "GwsActivities" })

const parameter = (event: GwsEvent, name: string) => event.parameters?.find((p) => p.name === name)
const stringParameter = (event: GwsEvent, name: string) => nonEmpty(parameter(event, name)?.value)

/** The app an event names: saml `application_name`, token `app_name`; login events name none. */
const appNameOf = (application: GwsApplication, event: GwsEvent): string | null =>
  application === "saml" ? stringParameter(event, "application_name") : application === "token" ? stringParameter(event, "app_name") : null

const isAccess = (application: GwsApplication, name: string) =>
  (application === "saml" && name === "login_success") || (application === "token" && name === "authorize")

const outcomeOf = (name: string): string =>
  name.endsWith("_failure") ? "FAILURE" : name === "login_challenge" || name === "login_verification" ? "CHALLENGE" : "SUCCESS"

/**
 * Steps of a Google sign-in (`login` `login_success`): one per challenge method it lists
 * (`password`, `google_authenticator`, `security_key`, ...), `none` not counted. Nothing else says
 * how a sign-in went, so every other event counts 1.
 */
const authStepsOf = (application: GwsApplication, event: GwsEvent): number => {
  if (application !== "login" || event.name !== "login_success") return 1
  const methods = parameter(event, "login_challenge_method")?.multiValue ?? []
  return Math.min(20, Math.max(1, new Set(methods.filter((m) => m !== "none" && m !== "")).size))
}

/**
 * Google Workspace → AccessEvent, for the event at `index` of an activity. An app access is a
 * saml `login_success` (app = `application_name`) or a token `authorize` (app = `app_name`) by an
 * actor with an e-mail or profile id; login events and every other saml or token event (failures,
 * `revoke`, the per-API-call `activity`) are raw events only. The event id
 * `application:time:uniqueQualifier:index` is the same on every delivery of the activity.
 */
export const normalizeGws = (
  activity: GwsActivity,
  event: GwsEvent,
  index: number,
  catalog: AppCatalog,
  pseudonyms: Pseudonyms
): AccessEvent => {
  const { applicationName: application, time, uniqueQualifier } = activity.id
  const email = nonEmpty(activity.actor.email)
  const profileId = nonEmpty(activity.actor.profileId)
  const login = email ?? (profileId === null ? null : `gws:${profileId}`)
  const appName = appNameOf(application, event)
  return {
    eventId: `${application}:${time.toISOString()}:${uniqueQualifier}:${index}`,
    provider: "gws",
    eventType: `${application}.${event.name}`,
    occurredAt: time,
    userId: login === null ? null : pseudonyms.user(login),
    app: login !== null && appName !== null && isAccess(application, event.name) ? resolveApp(catalog, appName) : null,
    appName,
    outcome: outcomeOf(event.name),
    authSteps: authStepsOf(application, event),
    // The Reports API has no session; networkInfo.regionCode is ISO 3166-1 alpha-2, the IP is never read.
    sessionId: null,
    country: nonEmpty(activity.networkInfo?.regionCode)
  }
}

const decodeActivity = Schema.decodeUnknownEither(GwsActivity, { errors: "all" })
const decodeEvent = Schema.decodeUnknownEither(GwsEvent, { errors: "all" })
const decodePage = Schema.decodeUnknownEither(GwsActivities, { errors: "all" })

const eventAt = (where: string, i: number) => (where === "" ? `events[${i}]` : `${where}.events[${i}]`)

/** The records of one activity (one per entry of its `events`); each keeps the activity it came from. */
const activityRecords = (json: unknown, where: string, catalog: AppCatalog, pseudonyms: Pseudonyms): Array<RecordOutcome> => {
  const activity = decodeActivity(json)
  if (Either.isLeft(activity)) return [{ record: json, result: refuse(located(where, `not a Google Workspace activity: ${formatParseError(activity.left)}`)) }]
  return activity.right.events.map((raw, i): RecordOutcome => {
    const event = decodeEvent(raw)
    return {
      record: json,
      result: Either.isLeft(event)
        ? refuse(located(eventAt(where, i), `not a Google Workspace activity event: ${formatParseError(event.left)}`))
        : Either.right(normalizeGws(activity.right, event.right, i, catalog, pseudonyms))
    }
  })
}

/**
 * The Google Workspace records of one parsed JSON value: an activity (an NDJSON line or a push
 * notification), an `activities.list` page (`kind: admin#reports#activities`, `items`), or a JSON
 * array of activities. Each activity gives one element per entry of its `events`.
 */
export const decodeGwsValue = (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms): ReadonlyArray<RecordOutcome> => {
  if (Array.isArray(json)) return json.flatMap((activity, i) => activityRecords(activity, `[${i}]`, catalog, pseudonyms))
  if (isRecord(json) && (json.kind === "admin#reports#activities" || (json.id === undefined && json.items !== undefined))) {
    const page = decodePage(json)
    if (Either.isLeft(page)) return [{ record: json, result: refuse(`not a Google Workspace activities page: ${formatParseError(page.left)}`) }]
    return (page.right.items ?? []).flatMap((activity, i) => activityRecords(activity, `items[${i}]`, catalog, pseudonyms))
  }
  return activityRecords(json, "", catalog, pseudonyms)
}
