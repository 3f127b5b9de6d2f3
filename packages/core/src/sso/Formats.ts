import { Schema } from "effect"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import { type DecodedRecord, isRecord, type RecordOutcome } from "./Decoding.js"
import { decodeEntraValue } from "./Entra.js"
import { decodeGwsValue } from "./Gws.js"
import { decodeOktaValue } from "./Okta.js"

/** The audit-log formats workcat reads: Okta System Log, Google Workspace Reports, Entra sign-ins. */
export const SsoFormat = Schema.Literal("okta", "gws", "entra")
export type SsoFormat = typeof SsoFormat.Type

/** What `--format` accepts: a format, or `auto` (detected per file or request from its first record). */
export const FormatChoice = Schema.Literal("auto", "okta", "gws", "entra")
export type FormatChoice = typeof FormatChoice.Type

const has = (json: Readonly<Record<string, unknown>>, key: string) => json[key] !== undefined

/** A single record, recognized by keys only its provider writes (so a damaged record still counts). */
const detectRecord = (json: Readonly<Record<string, unknown>>): SsoFormat | undefined => {
  if (has(json, "uuid") && (has(json, "published") || has(json, "eventType"))) return "okta"
  if (has(json, "published") && has(json, "eventType") && has(json, "actor")) return "okta"
  const id = json.id
  if (isRecord(id) && (has(id, "applicationName") || has(id, "uniqueQualifier"))) return "gws"
  if (typeof json.kind === "string" && json.kind.startsWith("admin#reports#")) return "gws"
  if (isEntraDiagnostic(json)) return "entra"
  const entraKeys = ENTRA_KEYS.filter((k) => has(json, k)).length
  if ((has(json, "createdDateTime") && entraKeys >= 1) || entraKeys >= 3) return "entra"
  return undefined
}

const AADIAM = /\/providers\/microsoft\.aadiam(?:$|\/)/i

/**
 * An Azure Monitor diagnostic record of Entra ID: a `category` with the `resourceId` of the
 * `Microsoft.aadiam` provider, or with sign-in `properties` (an export that dropped `resourceId`).
 */
const isEntraDiagnostic = (json: Readonly<Record<string, unknown>>): boolean =>
  typeof json.category === "string" &&
  ((typeof json.resourceId === "string" && AADIAM.test(json.resourceId)) || (isRecord(json.properties) && detectRecord(json.properties) === "entra"))

const ENTRA_KEYS = ["userPrincipalName", "appDisplayName", "appId", "clientAppUsed", "conditionalAccessStatus", "correlationId", "isInteractive"]

/**
 * The format of one parsed JSON value: a record, or a page, list or delivery of records (an Okta
 * API page or event hook delivery, a Google Workspace activities list, an Entra `{"value": [...]}`
 * page or Event Hubs `{"records": [...]}` message), judged by its first record where the wrapper
 * alone does not say. `undefined` when unknown (an empty array, an empty page without a telling
 * wrapper, anything else).
 */
export const detectFormat = (json: unknown): SsoFormat | undefined => {
  if (Array.isArray(json)) return isRecord(json[0]) ? detectRecord(json[0]) : undefined
  if (!isRecord(json)) return undefined
  if (json.eventType === "com.okta.event_hook") return "okta"
  if (json.kind === "admin#reports#activities") return "gws"
  const context = json["@odata.context"]
  if (typeof context === "string" && /signIns/i.test(context)) return "entra"
  for (const key of ["value", "items", "records"]) {
    const page = json[key]
    if (Array.isArray(page) && !has(json, "id")) return isRecord(page[0]) ? detectRecord(page[0]) : undefined
  }
  return detectRecord(json)
}

const decoders: Record<SsoFormat, (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms) => ReadonlyArray<RecordOutcome>> = {
  okta: decodeOktaValue,
  gws: decodeGwsValue,
  entra: decodeEntraValue
}

/**
 * The provider records in one parsed JSON value of `format`, each normalized (pseudonymized, no
 * personal data left) or refused with a one-line reason that quotes no input value. A plain record
 * gives one element; a page, list or delivery one per record in it (none for an empty page); a
 * Google Workspace activity one per entry of its `events`; a value that is not of the format at
 * all, one refusal (`not an Okta LogEvent: actor: is missing`).
 */
export const decodeValue = (
  format: SsoFormat,
  json: unknown,
  catalog: AppCatalog,
  pseudonyms: Pseudonyms
): ReadonlyArray<DecodedRecord> => decodeRecords(format, json, catalog, pseudonyms).map((o) => o.result)

/**
 * `decodeValue`, each result with the provider record it came from (a page's element, a Google
 * Workspace activity): what a dead letter keeps of a refused record inside a page.
 */
export const decodeRecords = (
  format: SsoFormat,
  json: unknown,
  catalog: AppCatalog,
  pseudonyms: Pseudonyms
): ReadonlyArray<RecordOutcome> => decoders[format](json, catalog, pseudonyms)
