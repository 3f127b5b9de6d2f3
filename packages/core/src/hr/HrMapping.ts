import { Schema } from "effect"

/**
 * What workcat reads of an HR record. `login` (the person's SSO login, usually the work e-mail)
 * is only pseudonymized; names are never read at all. `managerLogin` is read only when it holds
 * an e-mail address (a column named "Manager" often holds a name instead).
 */
export const HrField = Schema.Literal(
  "login",
  "employeeId",
  "title",
  "department",
  "team",
  "managerLogin",
  "managerEmployeeId",
  "hireDate",
  "terminationDate",
  "status",
  "eventId",
  "eventType",
  "effectiveDate"
)
export type HrField = typeof HrField.Type

/** The built-in column sets: common exports, tried by their usual column names. */
export const HrPreset = Schema.Literal("generic", "workday", "bamboohr")
export type HrPreset = typeof HrPreset.Type

/** How dates with slashes or dots are read; ISO 8601 dates are always understood. */
export const HrDateFormat = Schema.Literal("iso", "mdy", "dmy")
export type HrDateFormat = typeof HrDateFormat.Type

const Column = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
/** A column name, or several tried in order (the first one a record has wins). */
const Columns = Schema.Union(Column, Schema.Array(Column).pipe(Schema.minItems(1), Schema.maxItems(20)))
const Values = Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))).pipe(Schema.maxItems(100))

/**
 * A tenant's HR column mapping (`workcat tenants set T --hr-mapping FILE`): a preset, and for any
 * field the column(s) to read it from instead of the preset's. Column names compare without case,
 * spaces or punctuation (`Work Email` = `work_email` = `workEmail`).
 */
export const HrMapping = Schema.Struct({
  preset: Schema.optional(HrPreset),
  columns: Schema.optional(Schema.partial(Schema.Record({ key: HrField, value: Columns }))),
  dateFormat: Schema.optional(HrDateFormat),
  /** Extra status values (besides the built-in ones) meaning employed, or no longer employed. */
  statusValues: Schema.optional(Schema.Struct({ active: Schema.optional(Values), terminated: Schema.optional(Values) })),
  /** Extra values of the event type column meaning each event type. */
  eventTypes: Schema.optional(
    Schema.Struct({ hire: Schema.optional(Values), role_change: Schema.optional(Values), termination: Schema.optional(Values) })
  )
}).annotations({ identifier: "HrMapping" })
export type HrMapping = typeof HrMapping.Type

/** A column name as compared: lower case, letters and digits only. */
export const normalizeColumn = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, "")

type ColumnSet = Readonly<Record<HrField, ReadonlyArray<string>>>

/**
 * The generic set: workcat's own NDJSON field names, and the names HRIS exports commonly use
 * (Workday report fields such as `Employee_ID`, `Business_Title`, `Hire_Date`; BambooHR fields
 * such as `workEmail`, `jobTitle`, `supervisorEId`, and their CSV headers).
 */
const GENERIC: ColumnSet = {
  login: ["login", "workEmail", "emailWork", "primaryWorkEmail", "workEmailAddress", "emailAddressWork", "email", "emailAddress", "mail", "userPrincipalName", "upn", "username", "ssoLogin"],
  employeeId: ["employeeId", "employeeNumber", "employeeNo", "employee#", "empId", "workerId", "personNumber", "eid", "id"],
  title: ["title", "jobTitle", "businessTitle", "positionTitle", "position", "jobProfile", "role"],
  department: ["department", "departmentName", "dept", "supervisoryOrganization", "organization", "orgUnit", "division"],
  team: ["team", "teamName", "subDepartment", "group", "unit", "squad"],
  managerLogin: ["managerEmail", "managerWorkEmail", "managerEmailAddress", "supervisorEmail", "reportsToEmail", "managerLogin", "manager", "supervisor", "reportsTo", "reportingTo"],
  managerEmployeeId: ["managerEmployeeId", "managerId", "managerNumber", "supervisorEId", "supervisorId", "reportsToId"],
  hireDate: ["hireDate", "startDate", "dateOfHire", "hiredOn", "employmentStartDate", "originalHireDate", "joiningDate", "dateJoined"],
  terminationDate: ["terminationDate", "endDate", "separationDate", "lastDayOfWork", "lastDay", "leavingDate", "dateOfLeaving", "employmentEndDate"],
  status: ["status", "employmentStatus", "employeeStatus", "workerStatus", "activeStatus", "active", "isActive"],
  eventId: ["eventId"],
  eventType: ["type", "eventType"],
  effectiveDate: ["effectiveDate"]
}

const PRESETS: Readonly<Record<HrPreset, ColumnSet>> = {
  generic: GENERIC,
  // Workday custom reports (RaaS: `{"Report_Entry": [...]}`, or CSV): the field names the report defines.
  workday: {
    ...GENERIC,
    login: ["Email_-_Work", "Primary_Work_Email", "Work_Email", "Email_Address", "Email", ...GENERIC.login],
    employeeId: ["Employee_ID", "Worker_ID", ...GENERIC.employeeId],
    title: ["Business_Title", "Job_Title", "Position", "Job_Profile", ...GENERIC.title],
    department: ["Department", "Supervisory_Organization", "Cost_Center", ...GENERIC.department],
    team: ["Team", "Team_Name", ...GENERIC.team],
    managerLogin: ["Manager_Email", "Manager_Email_Address", "Manager", ...GENERIC.managerLogin],
    managerEmployeeId: ["Manager_ID", "Manager_Employee_ID", ...GENERIC.managerEmployeeId],
    hireDate: ["Hire_Date", "Start_Date", "Original_Hire_Date", ...GENERIC.hireDate],
    terminationDate: ["Termination_Date", ...GENERIC.terminationDate],
    status: ["Active_Status", "Worker_Status", "Active", "Status", ...GENERIC.status]
  },
  // BambooHR reports (`{"fields": [...], "employees": [...]}` or CSV with its display names).
  bamboohr: {
    ...GENERIC,
    login: ["workEmail", "Work Email", ...GENERIC.login],
    employeeId: ["employeeNumber", "Employee #", ...GENERIC.employeeId],
    title: ["jobTitle", "Job Title", ...GENERIC.title],
    department: ["department", "Department", "division", ...GENERIC.department],
    managerLogin: ["supervisorEmail", "Supervisor Email", ...GENERIC.managerLogin],
    managerEmployeeId: ["supervisorEId", "Supervisor EID", ...GENERIC.managerEmployeeId],
    hireDate: ["hireDate", "Hire Date", "originalHireDate", ...GENERIC.hireDate],
    terminationDate: ["terminationDate", "Termination Date", ...GENERIC.terminationDate],
    status: ["status", "Status", "employmentHistoryStatus", ...GENERIC.status]
  }
}

/** Status values that mean the person is employed, or is not any more (compared without case or punctuation). */
const ACTIVE_STATUSES = ["active", "1", "true", "yes", "y", "employed", "onleave", "leaveofabsence", "leave", "fulltime", "parttime", "contractor", "intern", "temporary", "seasonal", "probation"]
const TERMINATED_STATUSES = ["terminated", "inactive", "0", "false", "no", "n", "separated", "former", "resigned", "retired", "dismissed", "deceased", "notactive", "exemployee", "left"]

const EVENT_TYPES = {
  hire: ["hire", "hired", "newhire", "rehire", "joiner", "onboarding", "start"],
  role_change: ["rolechange", "change", "transfer", "promotion", "jobchange", "update", "mover"],
  termination: ["termination", "terminated", "exit", "leaver", "offboarding", "separation"]
} as const

/** A mapping with its preset applied: every field's candidate columns (normalized), in order. */
export interface ResolvedHrMapping {
  readonly preset: HrPreset
  readonly columns: Readonly<Record<HrField, ReadonlyArray<string>>>
  /** Whether each field's columns were given by the tenant (then only they are tried). */
  readonly explicit: ReadonlySet<HrField>
  readonly dateFormat: HrDateFormat
  readonly status: ReadonlyMap<string, "active" | "terminated">
  readonly eventTypes: ReadonlyMap<string, keyof typeof EVENT_TYPES>
}

const unique = (names: ReadonlyArray<string>) => [...new Set(names.map(normalizeColumn))].filter((n) => n !== "")

/** The tenant's mapping (or none: the generic preset) made ready to apply. */
export const resolveHrMapping = (mapping: HrMapping | null | undefined): ResolvedHrMapping => {
  const preset = mapping?.preset ?? "generic"
  const explicit = new Set<HrField>()
  const columns = Object.fromEntries(
    HrField.literals.map((field) => {
      const given = mapping?.columns?.[field]
      if (given === undefined) return [field, unique(PRESETS[preset][field])]
      explicit.add(field)
      return [field, unique(typeof given === "string" ? [given] : given)]
    })
  ) as unknown as Record<HrField, ReadonlyArray<string>>
  const status = new Map<string, "active" | "terminated">()
  for (const v of [...ACTIVE_STATUSES, ...(mapping?.statusValues?.active ?? [])]) status.set(normalizeColumn(v), "active")
  for (const v of [...TERMINATED_STATUSES, ...(mapping?.statusValues?.terminated ?? [])]) status.set(normalizeColumn(v), "terminated")
  const eventTypes = new Map<string, keyof typeof EVENT_TYPES>()
  for (const type of ["hire", "role_change", "termination"] as const) {
    for (const v of [...EVENT_TYPES[type], ...(mapping?.eventTypes?.[type] ?? [])]) eventTypes.set(normalizeColumn(v), type)
  }
  return { preset, columns, explicit, dateFormat: mapping?.dateFormat ?? "iso", status, eventTypes }
}
