import { Either, Schema } from "effect"
import type { AppCatalog } from "../AppCatalog.js"
import type { Pseudonyms } from "../Pseudonym.js"
import { type DecodedRecord, formatParseError, isRecord, located, type RecordOutcome, refuse } from "./Decoding.js"
import { decodeDiagnosticRecord, EntraDiagnosticRecords, isDiagnosticRecord } from "./EntraDiagnostic.js"
import { EntraSignIn, normalizeEntra } from "./EntraSignIn.js"

/** A Graph collection page (`@odata.context`, `value`, `@odata.nextLink`). */
export const EntraSignInPage = Schema.Struct({ value: Schema.Array(Schema.Unknown) }).annotations({ identifier: "EntraSignInPage" })

const decodeSignIn = Schema.decodeUnknownEither(EntraSignIn, { errors: "all" })
const decodePage = Schema.decodeUnknownEither(EntraSignInPage, { errors: "all" })
const decodeRecords = Schema.decodeUnknownEither(EntraDiagnosticRecords, { errors: "all" })

/** One record: a diagnostic record (it has a `category` or `properties`), or a Graph signIn. */
const decodeRecord = (json: unknown, where: string, catalog: AppCatalog, pseudonyms: Pseudonyms): DecodedRecord => {
  if (isDiagnosticRecord(json)) return decodeDiagnosticRecord(json, where, catalog, pseudonyms)
  const decoded = decodeSignIn(json)
  return Either.isLeft(decoded)
    ? refuse(located(where, `not an Entra signIn: ${formatParseError(decoded.left)}`))
    : Either.right(normalizeEntra(decoded.right, catalog, pseudonyms))
}

/**
 * The Entra records of one parsed JSON value: a Graph signIn (an NDJSON line), a Graph page
 * (`{"@odata.context": ..., "value": [...], "@odata.nextLink": ...}`), a diagnostic-settings record
 * (a line of a storage blob), an Event Hubs message (`{"records": [...]}`), or a JSON array of
 * signIns or records.
 */
export const decodeEntraValue = (json: unknown, catalog: AppCatalog, pseudonyms: Pseudonyms): ReadonlyArray<RecordOutcome> => {
  const outcome = (record: unknown, where: string): RecordOutcome => ({ record, result: decodeRecord(record, where, catalog, pseudonyms) })
  if (Array.isArray(json)) return json.map((record, i) => outcome(record, `[${i}]`))
  if (isRecord(json) && json.id === undefined && json.records !== undefined && !isDiagnosticRecord(json)) {
    const delivery = decodeRecords(json)
    if (Either.isLeft(delivery)) return [{ record: json, result: refuse(`not an Entra diagnostic log message: ${formatParseError(delivery.left)}`) }]
    return delivery.right.records.map((record, i) => outcome(record, `records[${i}]`))
  }
  if (isRecord(json) && json.id === undefined && (json.value !== undefined || json["@odata.context"] !== undefined)) {
    const page = decodePage(json)
    if (Either.isLeft(page)) return [{ record: json, result: refuse(`not an Entra signIn page: ${formatParseError(page.left)}`) }]
    return page.right.value.map((signIn, i) => outcome(signIn, `value[${i}]`))
  }
  return [outcome(json, "")]
}
