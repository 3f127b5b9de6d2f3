import { Schema } from "effect"
import type { AppCatalog, AppKey } from "./AppCatalog.js"
import { OKTA_SSO_EVENT, type OktaLogEvent } from "./Okta.js"
import type { Pseudonyms, UserId } from "./Pseudonym.js"

/** Identity providers workcat reads audit events from. */
export const Provider = Schema.Literal("okta", "gws", "entra")
export type Provider = typeof Provider.Type

/**
 * A provider event after normalization and pseudonymization: what is stored in `sso_events`.
 * `app` is set only when the event is an application access (and so counts in `user_app_daily`).
 * No login, name or IP address survives normalization.
 */
export interface AccessEvent {
  readonly eventId: string
  readonly provider: Provider
  readonly eventType: string
  readonly occurredAt: Date
  readonly userId: UserId | null
  readonly app: AppKey | null
  readonly appName: string | null
  readonly outcome: string
  /** Steps the sign-in took (1 = session reuse, 2+ = extra factor prompts); at least 1. */
  readonly authSteps: number
  readonly sessionId: string | null
  readonly country: string | null
}

const SUCCESS = new Set(["SUCCESS", "ALLOW"])

/**
 * Okta → AccessEvent. An app access is `user.authentication.sso` by a `User` actor, with a
 * successful outcome and an `AppInstance` target; every other event is kept as a raw event only.
 */
export const normalizeOkta = (event: OktaLogEvent, catalog: AppCatalog, pseudonyms: Pseudonyms): AccessEvent => {
  const actor = event.actor
  const login = actor.type === "User" ? (actor.alternateId ?? `okta:${actor.id}`) : null
  const outcome = event.outcome?.result ?? "UNKNOWN"
  const appTarget = event.target?.find((t) => t.type === "AppInstance")
  const appName = appTarget ? (appTarget.displayName ?? appTarget.alternateId ?? appTarget.id) : null
  const isAccess = event.eventType === OKTA_SSO_EVENT && login !== null && appName !== null && SUCCESS.has(outcome)
  const session = event.authenticationContext?.externalSessionId
  return {
    eventId: event.uuid,
    provider: "okta",
    eventType: event.eventType,
    occurredAt: event.published,
    userId: login === null ? null : pseudonyms.user(login),
    app: isAccess && appName !== null ? catalog.resolve(appName) : null,
    appName,
    outcome,
    authSteps: Math.max(1, event.authenticationContext?.authenticationStep ?? 1),
    sessionId: session ? pseudonyms.session(session) : null,
    country: event.client?.geographicalContext?.country ?? null
  }
}
