import { Either, Schema } from "effect"
import type { AccessEvent } from "../AccessEvent.js"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import {
  type DecodedRecord,
  formatParseError,
  Id,
  isRecord,
  isWithinTimeBounds,
  located,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  Name,
  nonEmpty,
  NonEmptyId,
  parseTimestamp,
  type RecordOutcome,
  refuse,
  resolveApp,
  Timestamp
} from "./Decoding.js"

const OptionalId = Schema.optional(Schema.NullOr(Id))
const OptionalName = Schema.optional(Schema.NullOr(Name))

/** An Okta actor or target: the principal or resource an event is about. */
export const OktaEntity = Schema.Struct({
  id: Id,
  type: Id,
  alternateId: OptionalId,
  displayName: OptionalName
}).annotations({ identifier: "OktaEntity" })
export type OktaEntity = typeof OktaEntity.Type

/**
 * The fields of an Okta System Log `LogEvent` that workcat reads
 * (https://developer.okta.com/docs/reference/api/system-log/#logevent-object).
 * Unknown fields are ignored (the client's IP address and user agent are never read); `null` is
 * accepted wherever Okta documents an optional object, and as an entry of `target`.
 */
export const OktaLogEvent = Schema.Struct({
  uuid: NonEmptyId,
  published: Timestamp,
  eventType: NonEmptyId,
  actor: OktaEntity,
  client: Schema.optional(
    Schema.NullOr(Schema.Struct({ geographicalContext: Schema.optional(Schema.NullOr(Schema.Struct({ country: OptionalName }))) }))
  ),
  outcome: Schema.optional(Schema.NullOr(Schema.Struct({ result: OptionalName }))),
  target: Schema.optional(Schema.NullOr(Schema.Array(Schema.NullOr(OktaEntity)))),
  authenticationContext: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        authenticationStep: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.between(0, 20)))),
        externalSessionId: OptionalId
      })
    )
  )
}).annotations({ identifier: "OktaLogEvent" })
export type OktaLogEvent = typeof OktaLogEvent.Type
export type OktaLogEventEncoded = typeof OktaLogEvent.Encoded

/** The envelope of an Okta event hook delivery; its `data.events` are LogEvents. */
export const OktaEventHookDelivery = Schema.Struct({
  eventType: Schema.Literal("com.okta.event_hook"),
  data: Schema.Struct({ events: Schema.Array(Schema.Unknown) })
}).annotations({ identifier: "OktaEventHookDelivery" })

/** The Okta event type of a single sign-on into an application (an `AppInstance` target). */
export const OKTA_SSO_EVENT = "user.authentication.sso"
const OKTA_EVENT_HOOK = "com.okta.event_hook"

const SUCCESS = new Set(["SUCCESS", "ALLOW"])

/** A decoded LogEvent, or a raw one the fast path has checked field by field, before its time is read. */
type OktaFields = Omit<OktaLogEvent, "published">

const toAccessEvent = (event: OktaFields, occurredAt: Date, catalog: AppCatalog, pseudonyms: Pseudonyms): AccessEvent => {
  const actor = event.actor
  const login = actor.type === "User" ? (nonEmpty(actor.alternateId) ?? `okta:${actor.id}`) : null
  const outcome = nonEmpty(event.outcome?.result) ?? "UNKNOWN"
  let appName: string | null = null
  const targets = event.target
  if (targets) {
    for (const t of targets) {
      if (t !== null && t.type === "AppInstance") {
        appName = nonEmpty(t.displayName) ?? nonEmpty(t.alternateId) ?? nonEmpty(t.id)
        break
      }
    }
  }
  const isAccess = login !== null && appName !== null && event.eventType === OKTA_SSO_EVENT && SUCCESS.has(outcome)
  const context = event.authenticationContext
  // Okta writes "unknown" when an event has no session (API-token actions, for one).
  const session = nonEmpty(context?.externalSessionId)
  return {
    eventId: event.uuid,
    provider: "okta",
    eventType: event.eventType,
    occurredAt,
    userId: login === null ? null : pseudonyms.user(login),
    app: isAccess ? resolveApp(catalog, appName!) : null,
    appName,
    outcome,
    authSteps: Math.max(1, context?.authenticationStep ?? 1),
    sessionId: session === null || session === "unknown" ? null : pseudonyms.session(session),
    country: nonEmpty(event.client?.geographicalContext?.country)
  }
}

/**
 * Okta → AccessEvent. An app access is `user.authentication.sso` by a `User` actor, with a
 * successful outcome (`SUCCESS`/`ALLOW`) and an `AppInstance` target (the first one, when there
 * are several); every other event is kept as a raw event only (`app` null).
 */
export const normalizeOkta = (event: OktaLogEvent, catalog: AppCatalog, pseudonyms: Pseudonyms): AccessEvent =>
  toAccessEvent(event, event.published, catalog, pseudonyms)

/** An absent, `null` or string value of at most `max` characters. */
const optionalString = (u: unknown, max: number) => u === undefined || u === null || (typeof u === "string" && u.length <= max)
const isId = (u: unknown) => typeof u === "string" && u.length <= MAX_ID_LENGTH
const isEntity = (u: unknown) =>
  isRecord(u) && isId(u.id) && isId(u.type) && optionalString(u.alternateId, MAX_ID_LENGTH) && optionalString(u.displayName, MAX_NAME_LENGTH)

/**
 * The ingest hot path (~100k events a second): checks a parsed LogEvent field by field and
 * normalizes it without building the decoded copy Schema would. It accepts a strict subset of what
 * `OktaLogEvent` accepts and returns `undefined` for anything else, which then goes through Schema
 * (for the reason, or for what this path is too cautious about). The tests hold both to the same result.
 */
const fastOkta = (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms): AccessEvent | undefined => {
  if (!isRecord(json)) return undefined
  const { uuid, published, eventType, actor, client, outcome, target, authenticationContext: context } = json
  if (!isId(uuid) || uuid === "" || !isId(eventType) || eventType === "") return undefined
  if (typeof published !== "string" || !isEntity(actor)) return undefined
  if (client !== undefined && client !== null) {
    if (!isRecord(client)) return undefined
    const geo = client.geographicalContext
    if (geo !== undefined && geo !== null && !(isRecord(geo) && optionalString(geo.country, MAX_NAME_LENGTH))) return undefined
  }
  if (outcome !== undefined && outcome !== null && !(isRecord(outcome) && optionalString(outcome.result, MAX_NAME_LENGTH))) return undefined
  if (target !== undefined && target !== null) {
    if (!Array.isArray(target)) return undefined
    for (const t of target) if (t !== null && !isEntity(t)) return undefined
  }
  if (context !== undefined && context !== null) {
    if (!isRecord(context) || !optionalString(context.externalSessionId, MAX_ID_LENGTH)) return undefined
    const step = context.authenticationStep
    if (step !== undefined && step !== null && !(typeof step === "number" && Number.isInteger(step) && step >= 0 && step <= 20)) {
      return undefined
    }
  }
  const occurredAt = parseTimestamp(published)
  if (occurredAt === undefined || !isWithinTimeBounds(occurredAt)) return undefined
  return toAccessEvent(json as unknown as OktaFields, occurredAt, catalog, pseudonyms)
}

const decodeLogEvent = Schema.decodeUnknownEither(OktaLogEvent, { errors: "all" })
const decodeDelivery = Schema.decodeUnknownEither(OktaEventHookDelivery, { errors: "all" })

const decodeRecord = (json: unknown, where: string, catalog: AppCatalog, pseudonyms: Pseudonyms): DecodedRecord => {
  const fast = fastOkta(json, catalog, pseudonyms)
  if (fast !== undefined) return Either.right(fast)
  const decoded = decodeLogEvent(json)
  return Either.isLeft(decoded)
    ? refuse(located(where, `not an Okta LogEvent: ${formatParseError(decoded.left)}`))
    : Either.right(normalizeOkta(decoded.right, catalog, pseudonyms))
}

/**
 * The Okta records of one parsed JSON value: a LogEvent (an NDJSON line or a Pub/Sub message), a
 * System Log API page (a JSON array of LogEvents), or an event hook delivery (`data.events`).
 */
export const decodeOktaValue = (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms): ReadonlyArray<RecordOutcome> => {
  const outcome = (record: unknown, where: string): RecordOutcome => ({ record, result: decodeRecord(record, where, catalog, pseudonyms) })
  if (Array.isArray(json)) return json.map((event, i) => outcome(event, `[${i}]`))
  if (isRecord(json) && json.eventType === OKTA_EVENT_HOOK) {
    const delivery = decodeDelivery(json)
    if (Either.isLeft(delivery)) return [{ record: json, result: refuse(`not an Okta event hook delivery: ${formatParseError(delivery.left)}`) }]
    return delivery.right.data.events.map((event, i) => outcome(event, `data.events[${i}]`))
  }
  return [outcome(json, "")]
}
