import { Schema } from "effect"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import { type DecodedRecord, isRecord } from "./Decoding.js"
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
  const entraKeys = ENTRA_KEYS.filter((k) => has(json, k)).length
  if ((has(json, "createdDateTime") && entraKeys >= 1) || entraKeys >= 3) return "entra"
  return undefined
}

const ENTRA_KEYS = ["userPrincipalName", "appDisplayName", "appId", "clientAppUsed", "conditionalAccessStatus", "correlationId", "isInteractive"]

/**
 * The format of one parsed JSON value: a record, or a page, list or delivery of records (an Okta
 * API page or event hook delivery, a Google Workspace activities list, an Entra `{"value": [...]}`
 * page), judged by its first record where the wrapper alone does not say. `undefined` when unknown
 * (an empty array, an empty page without a telling wrapper, anything else).
 */
export const detectFormat = (json: unknown): SsoFormat | undefined => {
  if (Array.isArray(json)) return isRecord(json[0]) ? detectRecord(json[0]) : undefined
  if (!isRecord(json)) return undefined
  if (json.eventType === "com.okta.event_hook") return "okta"
  if (json.kind === "admin#reports#activities") return "gws"
  const context = json["@odata.context"]
  if (typeof context === "string" && /signIns/i.test(context)) return "entra"
  for (const key of ["value", "items"]) {
    const page = json[key]
    if (Array.isArray(page) && !has(json, "id")) return isRecord(page[0]) ? detectRecord(page[0]) : undefined
  }
  return detectRecord(json)
}

const decoders: Record<SsoFormat, (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms) => ReadonlyArray<DecodedRecord>> = {
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
): ReadonlyArray<DecodedRecord> => decoders[format](json, catalog, pseudonyms)

/**
 * The record a refusal of `decodeValue` is about: for a value holding several (a page, a
 * delivery, a list), the one its location names (`value[3]: …`, `data.events[1]: …`,
 * `items[2].events[0]: …` is activity `items[2]`); otherwise the value itself. Dead letters keep
 * that record, not the whole page.
 */
export const refusedRecord = (json: unknown, reason: string): unknown => {
  const location = /^((?:[A-Za-z_@.]+)?\[\d+\])/.exec(reason)?.[1]
  if (location === undefined) return json
  let node: unknown = json
  for (const step of location.matchAll(/([A-Za-z_@]+)|\[(\d+)\]/g)) {
    if (!isRecord(node) && !Array.isArray(node)) return json
    node = step[1] !== undefined ? (node as Record<string, unknown>)[step[1]] : (node as ReadonlyArray<unknown>)[Number(step[2])]
  }
  return node === undefined ? json : node
}
