import { Schema } from "effect"

const OptionalNullableString = Schema.optional(Schema.NullOr(Schema.String))

/** An Okta actor or target: the principal or resource an event is about. */
export const OktaEntity = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  alternateId: OptionalNullableString,
  displayName: OptionalNullableString
})
export type OktaEntity = typeof OktaEntity.Type

/**
 * The fields of an Okta System Log `LogEvent` that workcat reads
 * (https://developer.okta.com/docs/reference/api/system-log/#logevent-object).
 * Unknown fields are ignored; `null` is accepted wherever Okta documents an optional object.
 */
export const OktaLogEvent = Schema.Struct({
  uuid: Schema.NonEmptyString,
  published: Schema.Date,
  eventType: Schema.NonEmptyString,
  actor: OktaEntity,
  client: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        ipAddress: OptionalNullableString,
        geographicalContext: Schema.optional(Schema.NullOr(Schema.Struct({ country: OptionalNullableString })))
      })
    )
  ),
  outcome: Schema.optional(Schema.NullOr(Schema.Struct({ result: Schema.String, reason: OptionalNullableString }))),
  target: Schema.optional(Schema.NullOr(Schema.Array(OktaEntity))),
  authenticationContext: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        authenticationStep: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.between(0, 20)))),
        externalSessionId: OptionalNullableString
      })
    )
  )
})
export type OktaLogEvent = typeof OktaLogEvent.Type
export type OktaLogEventEncoded = typeof OktaLogEvent.Encoded

/** The Okta event type of a single sign-on into an application (an `AppInstance` target). */
export const OKTA_SSO_EVENT = "user.authentication.sso"
