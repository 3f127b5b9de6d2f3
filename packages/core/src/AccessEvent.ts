import { Schema } from "effect"
import type { AppKey } from "./AppCatalog.js"
import type { UserId } from "./Pseudonym.js"

/** Identity providers workcat reads audit events from. */
export const Provider = Schema.Literal("okta", "gws", "entra")
export type Provider = typeof Provider.Type

/**
 * A provider event after normalization and pseudonymization: what is stored in `sso_events`.
 * `app` is set only when the event is an application access (and so counts in `user_app_daily`).
 * No login, name or IP address survives normalization.
 */
export interface AccessEvent {
  /** The provider's id of the record, unique per provider and the same on every re-delivery. */
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
  /** A keyed hash (`s_…`) of the provider's session id, never the id itself. */
  readonly sessionId: string | null
  /** As the provider reports it: Okta a country name (`United States`), Google and Entra ISO 3166-1 alpha-2 (`US`). */
  readonly country: string | null
}
