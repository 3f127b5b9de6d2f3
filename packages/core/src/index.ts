export * from "./AccessEvent.js"
export * from "./AppCatalog.js"
export * from "./Archetypes.js"
export * from "./Categorization.js"
export * from "./Dates.js"
export * from "./Employee.js"
export * from "./Metrics.js"
export * from "./Profile.js"
export * from "./Pseudonym.js"
export * from "./Recommendations.js"
export * from "./Taxonomy.js"
export * from "./Trigger.js"
export * from "./Refusal.js"
export * from "./Run.js"
export * from "./Anomaly.js"
export * from "./Cost.js"
export * from "./InputsHash.js"
export {
  type DecodedRecord,
  EARLIEST_EVENT_TIME,
  formatParseError,
  LATEST_EVENT_TIME,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  parseTimestamp,
  type RecordOutcome,
  Timestamp
} from "./sso/Decoding.js"
export * from "./sso/Entra.js"
export { EntraDiagnosticRecord, EntraDiagnosticRecords, EntraSignInProperties } from "./sso/EntraDiagnostic.js"
export * from "./sso/EntraSignIn.js"
export * from "./sso/Formats.js"
export * from "./sso/Gws.js"
export * from "./sso/Okta.js"
export * from "./hr/HrMapping.js"
export * from "./hr/HrRecords.js"
export * from "./hr/Snapshot.js"
export * from "./TitleMapping.js"
