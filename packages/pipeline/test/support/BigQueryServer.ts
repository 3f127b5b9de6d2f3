/**
 * A BigQuery test server: the subset of the BigQuery REST API v2 that `@google-cloud/bigquery`
 * 8.3.1 uses, over HTTP on 127.0.0.1, with every query and load executed for real on an
 * in-memory DuckDB (one schema per dataset), so that product code using the real client is
 * exercised end to end.
 *
 * What is real: the client and its requests as it sends them (URLs, bodies, multipart uploads,
 * its retries), the REST resources and BigQuery-shaped errors (`{ error: { code, message, errors:
 * [{ reason }] } }`), jobs that exist once created (a job id seen before answers 409 `duplicate`,
 * before anything runs), failed jobs reported as BigQuery does (DONE with `status.errorResult`),
 * and query execution: BigQuery SQL translated to DuckDB (`bigquery/Translate.ts`, a small set of
 * rules that refuses what it does not know with `invalidQuery`), named parameters bound as typed
 * DuckDB values, scripts with BEGIN/COMMIT TRANSACTION run atomically, loads all-or-nothing.
 *
 * What is simplified:
 * - no authentication, one project, no IAM; locations are stored and echoed (a job's location is
 *   the one it was created with, "US" by default), and `jobs.get` with another location is 404;
 * - jobs run synchronously: the insert answers with the job DONE;
 * - `requirePartitionFilter` is checked syntactically (`bigquery/Partitions.ts`): each reference to
 *   the table needs a comparison of the partition column (or DATE(column)) in its WHERE;
 * - billing follows the on-demand model (`bigquery/Query.ts`): bytes processed are the stored size
 *   of the columns a statement mentions (by name: a column counts for every table read that has
 *   one of that name; `*` counts all), over the partitions its constant bounds on the partition
 *   column leave (days, from `=`, `<`, `>`, BETWEEN and IN); billed, each table read is rounded up
 *   to the MB, 10 MB at least, and a script bills the sum of its statements; a dry run bills
 *   nothing and is not held to `maximumBytesBilled`;
 * - partition expiration, clustering and CMEK are stored, not applied;
 * - stricter than BigQuery on purpose: a query parameter with no value at all is refused. The
 *   client sends one for a DATE or TIMESTAMP given as a plain string (with `types`), which
 *   BigQuery would most likely take as NULL, silently; a real NULL arrives as `{ value: null }`;
 * - not implemented (501): streaming inserts, copy/extract jobs, loads from Cloud Storage,
 *   resumable uploads, PATCH of resources, views; loads read NEWLINE_DELIMITED_JSON only.
 *
 * The client, without credentials: `new BigQuery({ projectId, apiEndpoint: server.url, authClient:
 * new PassThroughClient() })` (`bigQueryClientOptions`), PassThroughClient from google-auth-library
 * (installed for @google-cloud/common; a package importing it should declare it).
 * With `apiEndpoint` alone, @google-cloud/common 6.1 still asks google-auth-library for
 * credentials before the first request (BigQuery does not set the `customEndpoint` flag that would
 * skip it): it probes the GCE metadata server (169.254.169.254, metadata.google.internal), and where
 * Application Default Credentials exist it would mint a token from Google and send it here. Its
 * "Could not load the default credentials" is ignored, so requests still arrive, but slower and
 * depending on the machine. The `authClient` option skips all of that.
 *
 * How the client surfaces failures (what product code matches on):
 * - 409 on jobs.insert with the caller's job id (`createQueryJob({ jobId })`, or an upload):
 *   rejects with `ApiError` `code: 409`, `errors[0].reason: "duplicate"`. Without a caller's job
 *   id, the client fetches the existing job instead (its own retry of a lost answer).
 * - a failed query job: `createQueryJob` rejects with an `ApiError` built from `status.errors`:
 *   `errors[0].reason` (`invalidQuery`, `notFound`, `bytesBilledLimitExceeded`), `code` undefined,
 *   `response` the job resource; `bigquery.query()` (jobs.query) and `job.getQueryResults()` reject
 *   with the HTTP error: `code: 400` (404 for notFound), the same `errors[0].reason`.
 * - a failed load: `table.createWriteStream()` emits `error` with an `ApiError` from the job's
 *   status (`errors[0].reason: "invalid"`, the row errors after it); `table.createLoadJob(file)`
 *   resolves with the job, its `metadata.status.errorResult` set (`job.promise()` then rejects).
 * - `failNext(…, "drop-after-commit")`: the request is carried out, then the socket is destroyed
 *   unanswered; the client sees `FetchError` (`code: "ECONNRESET"`). The client retries jobs.insert
 *   itself: with the caller's job id its retry rejects with the 409, without one it fetches the
 *   job and resolves. Uploads are not retried.
 */
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { PassThroughClient } from "google-auth-library"
import { type Catalog, type CatalogTable, duckName } from "./bigquery/Catalog.js"
import { type Duck, openDuck } from "./bigquery/Duck.js"
import { BigQueryError, errorBody, httpStatusOf } from "./bigquery/Errors.js"
import { type LoadConfiguration, runLoad } from "./bigquery/Load.js"
import { parsesAsBigQuery } from "./bigquery/ParserCheck.js"
import { type QueryOutcome, type QueryParameter, type ResultSet, runQuery } from "./bigquery/Query.js"
import { type Column, columnOf, duckTypeSql, quoteIdent, sizeSql, type TableFieldSchema, type TimestampFormat, wireValue } from "./bigquery/Types.js"

export { PARSER_GAPS, parserVerdicts, parsesAsBigQuery } from "./bigquery/ParserCheck.js"

/** A job as the server received and answered it. */
export interface RecordedJob {
  readonly jobId: string
  readonly kind: "query" | "load"
  readonly location: string
  /** The job's `configuration`, as received (jobs.query requests put in the same shape). */
  readonly configuration: JobConfiguration
  readonly query?: string
  readonly parameters?: ReadonlyArray<QueryParameter>
  readonly dryRun: boolean
  readonly maximumBytesBilled?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly load?: LoadConfiguration
  readonly status: JobStatus
  readonly statistics: Readonly<Record<string, unknown>>
  /** For a query job: whether node-sql-parser's BigQuery grammar accepts it (see `parsesAsBigQuery`). */
  readonly parses?: true | string
}

export interface JobConfiguration {
  readonly jobType?: string
  readonly query?: {
    readonly query?: string
    readonly useLegacySql?: boolean
    readonly parameterMode?: string
    readonly queryParameters?: ReadonlyArray<QueryParameter>
    readonly maximumBytesBilled?: string
    readonly defaultDataset?: { readonly datasetId?: string }
    readonly destinationTable?: unknown
  }
  readonly load?: LoadConfiguration
  readonly dryRun?: boolean
  readonly labels?: Readonly<Record<string, string>>
}

export interface JobStatus {
  readonly state: "DONE"
  readonly errorResult?: { readonly reason: string; readonly message: string }
  readonly errors?: ReadonlyArray<{ readonly reason: string; readonly message: string }>
}

export interface BigQueryServer {
  /** The client's `apiEndpoint`, e.g. "http://127.0.0.1:43123". */
  readonly url: string
  readonly projectId: string
  /** Every job the server received, in order (dry runs too; not those refused as duplicates). */
  readonly jobs: ReadonlyArray<RecordedJob>
  /** Every SQL text received in query jobs (a query refused as a duplicate job too). */
  readonly queries: ReadonlyArray<string>
  /** Dataset resources as created (the JSON bodies received), by dataset id. */
  readonly datasets: ReadonlyMap<string, unknown>
  /** Table resources as created (the JSON bodies received), by "dataset.table". */
  readonly tables: ReadonlyMap<string, unknown>
  /**
   * Makes the next `times` (1) requests matching `match` (method, and URL path without the query)
   * fail: "500" answers a backendError without doing anything; "drop-after-commit" does the work
   * (creates and runs the job, …) and then destroys the socket without answering.
   */
  readonly failNext: (match: (req: { method: string; path: string }) => boolean, how: "500" | "drop-after-commit", times?: number) => void
  readonly close: () => Promise<void>
}

export interface BigQueryServerOptions {
  readonly projectId?: string
}

/** The options that point the real client at the server, without looking for credentials. */
export const bigQueryClientOptions = (server: Pick<BigQueryServer, "projectId" | "url">) => ({
  projectId: server.projectId,
  apiEndpoint: server.url,
  authClient: new PassThroughClient()
})

interface Dataset {
  readonly body: Record<string, unknown>
  readonly location: string
  readonly created: number
}

interface Table {
  readonly body: Record<string, unknown>
  readonly catalog: CatalogTable
  readonly created: number
}

interface Job {
  readonly record: RecordedJob
  readonly resource: Record<string, unknown>
  readonly error: BigQueryError | undefined
  readonly outcome: QueryOutcome | undefined
}

interface Reply {
  readonly status: number
  readonly body?: unknown
}

const ok = (body: unknown): Reply => ({ status: 200, body })
const noContent: Reply = { status: 204 }

const ID = /^[A-Za-z0-9_]{1,1024}$/
const JOB_ID = /^[A-Za-z0-9_-]{1,1024}$/

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const jsonOf = (body: Buffer): Record<string, unknown> => {
  if (body.length === 0) return {}
  try {
    return JSON.parse(body.toString("utf8")) as Record<string, unknown>
  } catch {
    throw new BigQueryError("invalid", "Invalid JSON payload received.")
  }
}

/** The parts of a `multipart/related` upload (the client sends the job's JSON, then the data). */
const multipartParts = (body: Buffer, contentType: string | undefined): Array<Buffer> => {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType ?? "")?.[1]
  if (boundary === undefined) throw new BigQueryError("invalid", "A multipart upload needs a boundary in its Content-Type")
  return body
    .toString("latin1")
    .split(`--${boundary}`)
    .slice(1)
    .filter((part) => !part.startsWith("--"))
    .map((part) => Buffer.from(part.slice(part.indexOf("\r\n\r\n") + 4).replace(/\r\n$/, ""), "latin1"))
}

/** Which rows of a result a request asks for. */
interface Page {
  readonly maxResults?: unknown
  readonly pageToken?: unknown
  readonly startIndex?: unknown
}

const pageIn = (query: URLSearchParams): Page => ({
  ...(query.has("maxResults") ? { maxResults: query.get("maxResults") } : {}),
  ...(query.has("pageToken") ? { pageToken: query.get("pageToken") } : {}),
  ...(query.has("startIndex") ? { startIndex: query.get("startIndex") } : {})
})

const timestampFormat = (useInt64: unknown, output: unknown): TimestampFormat =>
  output === "ISO8601_STRING" ? "iso" : output === "INT64" || useInt64 === true || useInt64 === "true" ? "int64" : "float"

/** Starts a server on a random port of 127.0.0.1, with an empty in-memory DuckDB. */
export const startBigQueryServer = async (options: BigQueryServerOptions = {}): Promise<BigQueryServer> => {
  const projectId = options.projectId ?? "test-project"
  const duck: Duck = await openDuck()
  const datasets = new Map<string, Dataset>()
  const tables = new Map<string, Table>()
  const jobs = new Map<string, Job>()
  const jobLog: Array<RecordedJob> = []
  const queries: Array<string> = []
  const failures: Array<{ match: (req: { method: string; path: string }) => boolean; how: "500" | "drop-after-commit"; remaining: number }> = []

  const catalog: Catalog = { projectId, table: (d, t) => tables.get(`${d}.${t}`)?.catalog }

  const datasetOrFail = (id: string) => {
    const dataset = datasets.get(id)
    if (dataset === undefined) throw new BigQueryError("notFound", `Not found: Dataset ${projectId}:${id}`)
    return dataset
  }
  const tableOrFail = (datasetId: string, tableId: string) => {
    datasetOrFail(datasetId)
    const table = tables.get(`${datasetId}.${tableId}`)
    if (table === undefined) throw new BigQueryError("notFound", `Not found: Table ${projectId}:${datasetId}.${tableId}`)
    return table
  }

  // Datasets

  const datasetResource = (id: string) => {
    const { body, location, created } = datasets.get(id)!
    return {
      kind: "bigquery#dataset",
      id: `${projectId}:${id}`,
      selfLink: `/bigquery/v2/projects/${projectId}/datasets/${id}`,
      ...body,
      datasetReference: { projectId, datasetId: id },
      location,
      creationTime: String(created),
      lastModifiedTime: String(created)
    }
  }

  const insertDataset = (body: Record<string, unknown>) =>
    duck.exclusive(async () => {
      const id = (body.datasetReference as { datasetId?: string } | undefined)?.datasetId ?? ""
      if (!ID.test(id)) throw new BigQueryError("invalid", `Invalid dataset ID "${id}"`)
      if (datasets.has(id)) throw new BigQueryError("duplicate", `Already Exists: Dataset ${projectId}:${id}`)
      await duck.run(`CREATE SCHEMA ${quoteIdent(id)}`)
      datasets.set(id, { body, location: typeof body.location === "string" ? body.location : "US", created: Date.now() })
      return ok(datasetResource(id))
    })

  const deleteDataset = (id: string, deleteContents: boolean) =>
    duck.exclusive(async () => {
      datasetOrFail(id)
      const inside = [...tables.keys()].filter((k) => k.startsWith(`${id}.`))
      if (inside.length > 0 && !deleteContents) throw new BigQueryError("resourceInUse", `Dataset ${projectId}:${id} is still in use`)
      await duck.run(`DROP SCHEMA ${quoteIdent(id)} CASCADE`)
      inside.forEach((k) => tables.delete(k))
      datasets.delete(id)
      return noContent
    })

  // Tables

  /** The partitioning of a new table, checked against its columns. */
  const partitionOf = (body: Record<string, unknown>, columns: ReadonlyArray<Column>): CatalogTable["partition"] => {
    if (body.rangePartitioning !== undefined) throw new BigQueryError("invalid", "Integer range partitioning is not supported by the BigQuery test server")
    const tp = body.timePartitioning as { type?: string; field?: string } | undefined
    if (tp === undefined) return undefined
    if (tp.type !== "DAY") throw new BigQueryError("invalid", `The BigQuery test server partitions by DAY only, not ${tp.type}`)
    if (tp.field === undefined) throw new BigQueryError("invalid", "Ingestion-time partitioning (no timePartitioning.field) is not supported by the BigQuery test server")
    const column = columns.find((c) => c.name === tp.field)
    if (column === undefined) throw new BigQueryError("invalid", `The field specified for partitioning cannot be found in the schema: ${tp.field}`)
    if (column.type.kind !== "DATE" && column.type.kind !== "TIMESTAMP") {
      throw new BigQueryError("invalid", `The field specified for time partitioning can only be of type TIMESTAMP or DATE here. The type found is: ${column.type.kind}.`)
    }
    return { column: column.name, isDate: column.type.kind === "DATE" }
  }

  /** Creates a table from its resource (call it inside `duck.exclusive`). */
  const createTable = async (datasetId: string, body: Record<string, unknown>) => {
    datasetOrFail(datasetId)
    const tableId = (body.tableReference as { tableId?: string } | undefined)?.tableId ?? ""
    if (!/^[A-Za-z0-9_-]{1,1024}$/.test(tableId)) throw new BigQueryError("invalid", `Invalid table ID "${tableId}"`)
    if (tables.has(`${datasetId}.${tableId}`)) throw new BigQueryError("duplicate", `Already Exists: Table ${projectId}:${datasetId}.${tableId}`)
    if (body.view !== undefined || body.materializedView !== undefined || body.externalDataConfiguration !== undefined) {
      throw new BigQueryError("invalid", "Views and external tables are not supported by the BigQuery test server")
    }
    const fields = (body.schema as { fields?: ReadonlyArray<TableFieldSchema> } | undefined)?.fields ?? []
    if (fields.length === 0) throw new BigQueryError("invalid", "Tables without a schema are not supported by the BigQuery test server")
    let columns: Array<Column>
    try {
      columns = fields.map(columnOf)
    } catch (e) {
      throw new BigQueryError("invalid", (e as Error).message)
    }
    const duplicate = columns.find((c, i) => columns.findIndex((d) => d.name.toLowerCase() === c.name.toLowerCase()) !== i)
    if (duplicate !== undefined) throw new BigQueryError("invalid", `Field ${duplicate.name} already exists in schema`)
    const clustering = (body.clustering as { fields?: ReadonlyArray<string> } | undefined)?.fields ?? []
    const unclustered = clustering.find((f) => !columns.some((c) => c.name === f))
    if (unclustered !== undefined || clustering.length > 4) {
      throw new BigQueryError("invalid", `The field specified for clustering cannot be found in the schema (or more than 4 fields): ${unclustered ?? clustering.join(", ")}`)
    }
    const partition = partitionOf(body, columns)
    const tp = body.timePartitioning as { requirePartitionFilter?: boolean } | undefined
    const requirePartitionFilter = body.requirePartitionFilter === true || tp?.requirePartitionFilter === true
    const table: CatalogTable = { dataset: datasetId, table: tableId, columns, partition, requirePartitionFilter }
    const ddl = columns.map((c) => `${quoteIdent(c.name)} ${duckTypeSql(c.type)}${c.required ? " NOT NULL" : ""}`).join(", ")
    await duck.run(`CREATE TABLE ${duckName(table)} (${ddl})`)
    tables.set(`${datasetId}.${tableId}`, { body, catalog: table, created: Date.now() })
    return tableId
  }

  const tableResource = async (datasetId: string, tableId: string) => {
    const { body, catalog: table, created } = tables.get(`${datasetId}.${tableId}`)!
    const size = table.columns.map((c) => sizeSql(c.type, quoteIdent(c.name))).join(" + ")
    const [row] = (await duck.run(`SELECT count(*), CAST(COALESCE(SUM(${size}), 0) AS BIGINT) FROM ${duckName(table)}`)).getRows()
    return {
      kind: "bigquery#table",
      id: `${projectId}:${datasetId}.${tableId}`,
      selfLink: `/bigquery/v2/projects/${projectId}/datasets/${datasetId}/tables/${tableId}`,
      ...body,
      tableReference: { projectId, datasetId, tableId },
      type: "TABLE",
      location: datasets.get(datasetId)!.location,
      creationTime: String(created),
      lastModifiedTime: String(created),
      numRows: String(row![0]),
      numBytes: String(row![1])
    }
  }

  const deleteTable = (datasetId: string, tableId: string) =>
    duck.exclusive(async () => {
      const { catalog: table } = tableOrFail(datasetId, tableId)
      await duck.run(`DROP TABLE ${duckName(table)}`)
      tables.delete(`${datasetId}.${tableId}`)
      return noContent
    })

  /** A page of rows in the wire form (from the page token, or `startIndex`), and the token of the next page. */
  const pageOf = (rows: ResultSet["rows"], types: ResultSet["types"], page: Page, format: TimestampFormat) => {
    const start = Number(page.pageToken ?? page.startIndex ?? 0)
    const size = Number(page.maxResults ?? 0) > 0 ? Number(page.maxResults) : rows.length
    const slice = rows.slice(start, start + size)
    return {
      totalRows: String(rows.length),
      ...(slice.length === 0 ? {} : { rows: slice.map((row) => ({ f: row.map((v, i) => ({ v: wireValue(types[i]!, v, format) })) })) }),
      ...(start + size < rows.length ? { pageToken: String(start + size) } : {})
    }
  }

  const tableData = (datasetId: string, tableId: string, query: URLSearchParams) =>
    duck.exclusive(async () => {
      const { catalog: table } = tableOrFail(datasetId, tableId)
      const reader = await duck.run(`SELECT * FROM ${duckName(table)}`)
      const format = timestampFormat(query.get("formatOptions.useInt64Timestamp"), query.get("formatOptions.timestampOutputFormat"))
      return ok({ kind: "bigquery#tableDataList", ...pageOf(reader.getRows(), reader.columnTypes(), pageIn(query), format) })
    })

  // Jobs

  const jobResource = (record: RecordedJob) => ({
    kind: "bigquery#job",
    id: `${projectId}:${record.location}.${record.jobId}`,
    selfLink: `/bigquery/v2/projects/${projectId}/jobs/${record.jobId}?location=${record.location}`,
    jobReference: { projectId, jobId: record.jobId, location: record.location },
    configuration: record.configuration,
    status: record.status,
    statistics: record.statistics
  })

  /** Query job statistics as BigQuery answers them (a dry run's: its estimate and schema). */
  const queryStatistics = (outcome: QueryOutcome) => ({
    totalBytesProcessed: String(outcome.bytesProcessed),
    query: {
      totalBytesProcessed: String(outcome.bytesProcessed),
      totalBytesProcessedAccuracy: "PRECISE",
      ...(outcome.bytesBilled === undefined ? {} : { totalBytesBilled: String(outcome.bytesBilled), billingTier: 1 }),
      cacheHit: false,
      statementType: outcome.statementType,
      referencedTables: outcome.referencedTables.map((t) => ({ projectId, ...t })),
      ...(outcome.dmlAffectedRows === undefined ? {} : { numDmlAffectedRows: String(outcome.dmlAffectedRows) }),
      ...(outcome.result === undefined ? {} : { schema: { fields: outcome.result.schema } })
    }
  })

  /**
   * Creates and runs a job: a job id seen before is refused (409) before anything runs; the job is
   * then recorded DONE, with its statistics or its error. Dry runs are recorded but not kept (their
   * id may be used again), as BigQuery does not keep them either.
   */
  const createJob = (
    reference: { jobId?: string; location?: string } | undefined,
    configuration: JobConfiguration,
    location: string,
    run: () => Promise<{ outcome?: QueryOutcome; statistics: Record<string, unknown> }>
  ) =>
    duck.exclusive(async (): Promise<Job> => {
      const jobId = reference?.jobId ?? randomUUID()
      const dryRun = configuration.dryRun === true
      const kind = configuration.load === undefined ? "query" : "load"
      if (kind === "query") queries.push(configuration.query?.query ?? "")
      if (!JOB_ID.test(jobId)) throw new BigQueryError("invalid", `Invalid job ID "${jobId}"`)
      if (!dryRun && jobs.has(jobId)) throw new BigQueryError("duplicate", `Already Exists: Job ${projectId}:${location}.${jobId}`)
      const times = { creationTime: String(Date.now()), startTime: String(Date.now()) }
      let error: BigQueryError | undefined
      let done: { outcome?: QueryOutcome; statistics: Record<string, unknown> } = { statistics: {} }
      try {
        done = await run()
      } catch (e) {
        error = e instanceof BigQueryError ? e : new BigQueryError("backendError", `The BigQuery test server failed: ${(e as Error).stack ?? String(e)}`)
      }
      const query = configuration.query
      const record: RecordedJob = {
        jobId,
        kind,
        location,
        configuration: { ...configuration, jobType: kind === "query" ? "QUERY" : "LOAD" },
        dryRun,
        ...(query?.query === undefined ? {} : { query: query.query, parses: parsesAsBigQuery(query.query) }),
        ...(query?.queryParameters === undefined ? {} : { parameters: query.queryParameters }),
        ...(query?.maximumBytesBilled === undefined ? {} : { maximumBytesBilled: query.maximumBytesBilled }),
        ...(configuration.labels === undefined ? {} : { labels: configuration.labels }),
        ...(configuration.load === undefined ? {} : { load: configuration.load }),
        status: error === undefined ? { state: "DONE" } : { state: "DONE", errorResult: error.errorResult, errors: error.errors },
        statistics: { ...times, endTime: String(Date.now()), ...done.statistics }
      }
      jobLog.push(record)
      const job: Job = { record, resource: jobResource(record), error, outcome: done.outcome }
      if (!dryRun) jobs.set(jobId, job)
      return job
    })

  const queryJob = (reference: { jobId?: string; location?: string } | undefined, configuration: JobConfiguration) => {
    const query = configuration.query!
    if (query.useLegacySql === true) throw new BigQueryError("invalid", "Legacy SQL is not supported by the BigQuery test server")
    if (query.destinationTable !== undefined) throw new BigQueryError("invalid", "Query jobs with a destinationTable are not supported by the BigQuery test server")
    const defaultDataset = query.defaultDataset?.datasetId
    const location = reference?.location ?? (defaultDataset === undefined ? undefined : datasets.get(defaultDataset)?.location) ?? "US"
    return createJob(reference, configuration, location, async () => {
      const outcome = await runQuery(duck, catalog, {
        query: query.query ?? "",
        parameters: query.queryParameters ?? [],
        parameterMode: query.parameterMode,
        defaultDataset,
        dryRun: configuration.dryRun === true,
        maximumBytesBilled: query.maximumBytesBilled
      })
      return { outcome, statistics: queryStatistics(outcome) }
    })
  }

  const loadJob = (reference: { jobId?: string; location?: string } | undefined, configuration: JobConfiguration, data: Buffer) => {
    const load = configuration.load!
    const { datasetId = "", tableId = "" } = load.destinationTable ?? {}
    const location = reference?.location ?? datasets.get(datasetId)?.location ?? "US"
    return createJob(reference, configuration, location, async () => {
      const format = load.sourceFormat ?? "CSV"
      if (format !== "NEWLINE_DELIMITED_JSON") throw new BigQueryError("invalid", `The BigQuery test server loads NEWLINE_DELIMITED_JSON only, not ${format}`)
      datasetOrFail(datasetId)
      if (!tables.has(`${datasetId}.${tableId}`)) {
        if (load.createDisposition === "CREATE_NEVER") tableOrFail(datasetId, tableId)
        if (load.schema?.fields === undefined) throw new BigQueryError("invalid", "No schema specified on job or table.")
        await createTable(datasetId, { tableReference: { projectId, datasetId, tableId }, schema: load.schema })
      }
      const loaded = await runLoad(duck, tables.get(`${datasetId}.${tableId}`)!.catalog, load, data)
      return {
        statistics: {
          load: { inputFiles: "1", inputFileBytes: String(loaded.inputBytes), outputRows: String(loaded.outputRows), badRecords: String(loaded.badRecords) }
        }
      }
    })
  }

  const jobOrFail = (jobId: string, location: string | null) => {
    const job = jobs.get(jobId)
    if (job === undefined || (location !== null && location.toUpperCase() !== job.record.location.toUpperCase())) {
      throw new BigQueryError("notFound", `Not found: Job ${projectId}:${location ?? "US"}.${jobId}`)
    }
    return job
  }

  /** A query job's results (jobs.getQueryResults, jobs.query): a failed job answers with its error. */
  const queryResults = (job: Job, page: Page, format: TimestampFormat) => {
    if (job.error !== undefined) throw job.error
    if (job.record.kind !== "query") throw new BigQueryError("invalid", `Job ${job.record.jobId} is not a query job`)
    const outcome = job.outcome!
    const result = outcome.result
    return {
      jobReference: job.resource.jobReference,
      jobComplete: true,
      cacheHit: false,
      totalBytesProcessed: String(outcome.bytesProcessed),
      ...(outcome.dmlAffectedRows === undefined ? {} : { numDmlAffectedRows: String(outcome.dmlAffectedRows) }),
      ...(result === undefined ? { totalRows: "0" } : { schema: { fields: result.schema }, ...pageOf(result.rows, result.types, page, format) })
    }
  }

  /** jobs.query: the request made into a query job, answered with its first page. */
  const runJobsQuery = async (body: Record<string, unknown>) => {
    const configuration: JobConfiguration = {
      query: {
        query: body.query as string,
        useLegacySql: body.useLegacySql as boolean,
        ...(body.parameterMode === undefined ? {} : { parameterMode: body.parameterMode as string }),
        ...(body.queryParameters === undefined ? {} : { queryParameters: body.queryParameters as ReadonlyArray<QueryParameter> }),
        ...(body.maximumBytesBilled === undefined ? {} : { maximumBytesBilled: body.maximumBytesBilled as string }),
        ...(body.defaultDataset === undefined ? {} : { defaultDataset: body.defaultDataset as { datasetId?: string } })
      },
      ...(body.labels === undefined ? {} : { labels: body.labels as Record<string, string> }),
      ...(body.dryRun === undefined ? {} : { dryRun: body.dryRun as boolean })
    }
    const reference = { jobId: `job_${randomUUID().replaceAll("-", "")}`, ...(typeof body.location === "string" ? { location: body.location } : {}) }
    const job = await queryJob(reference, configuration)
    const options = body.formatOptions as { useInt64Timestamp?: boolean; timestampOutputFormat?: string } | undefined
    return ok({ kind: "bigquery#queryResponse", ...queryResults(job, { maxResults: body.maxResults }, timestampFormat(options?.useInt64Timestamp, options?.timestampOutputFormat)) })
  }

  const insertJob = async (body: Record<string, unknown>) => {
    const configuration = (body.configuration ?? {}) as JobConfiguration
    const reference = body.jobReference as { jobId?: string; location?: string } | undefined
    if (configuration.query !== undefined) return ok((await queryJob(reference, configuration)).resource)
    if (configuration.load !== undefined) throw new BigQueryError("notImplemented", "Load jobs from Cloud Storage are not supported by the BigQuery test server (upload the data)")
    throw new BigQueryError("notImplemented", `${Object.keys(configuration).join(", ")} jobs are not supported by the BigQuery test server`)
  }

  const upload = async (url: URL, body: Buffer, contentType: string | undefined) => {
    if (url.searchParams.get("uploadType") !== "multipart") throw new BigQueryError("notImplemented", `uploadType=${url.searchParams.get("uploadType")} is not supported by the BigQuery test server`)
    const [metadata, data] = multipartParts(body, contentType)
    const job = jsonOf(metadata ?? Buffer.alloc(0))
    const configuration = (job.configuration ?? {}) as JobConfiguration
    if (configuration.load === undefined) throw new BigQueryError("invalid", "An upload needs a load job configuration")
    return ok((await loadJob(job.jobReference as { jobId?: string; location?: string } | undefined, configuration, data ?? Buffer.alloc(0))).resource)
  }

  // Routing

  interface Request {
    readonly method: string
    readonly url: URL
    readonly body: Buffer
    readonly contentType: string | undefined
  }
  type Route = readonly [method: string, pattern: string, handle: (p: ReadonlyArray<string>, r: Request) => Promise<Reply>]
  const routes: ReadonlyArray<Route> = [
    ["POST", "datasets", (_, r) => insertDataset(jsonOf(r.body))],
    ["GET", "datasets", async () => ok({ kind: "bigquery#datasetList", datasets: [...datasets.keys()].map(datasetResource) })],
    ["GET", "datasets/*", async ([d]) => (datasetOrFail(d!), ok(datasetResource(d!)))],
    ["DELETE", "datasets/*", ([d], r) => deleteDataset(d!, r.url.searchParams.get("deleteContents") === "true")],
    ["POST", "datasets/*/tables", ([d], r) => duck.exclusive(async () => ok(await tableResource(d!, await createTable(d!, jsonOf(r.body)))))],
    [
      "GET",
      "datasets/*/tables",
      ([d]) =>
        duck.exclusive(async () => {
          datasetOrFail(d!)
          const list = []
          for (const t of tables.values()) if (t.catalog.dataset === d) list.push(await tableResource(d!, t.catalog.table))
          return ok({ kind: "bigquery#tableList", tables: list, totalItems: list.length })
        })
    ],
    ["GET", "datasets/*/tables/*", ([d, t]) => duck.exclusive(async () => (tableOrFail(d!, t!), ok(await tableResource(d!, t!))))],
    ["DELETE", "datasets/*/tables/*", ([d, t]) => deleteTable(d!, t!)],
    ["GET", "datasets/*/tables/*/data", ([d, t], r) => tableData(d!, t!, r.url.searchParams)],
    ["POST", "jobs", (_, r) => insertJob(jsonOf(r.body))],
    ["GET", "jobs/*", async ([j], r) => ok(jobOrFail(j!, r.url.searchParams.get("location")).resource)],
    ["POST", "queries", (_, r) => runJobsQuery(jsonOf(r.body))],
    [
      "GET",
      "queries/*",
      async ([j], r) => {
        const q = r.url.searchParams
        const format = timestampFormat(q.get("formatOptions.useInt64Timestamp"), q.get("formatOptions.timestampOutputFormat"))
        return ok({ kind: "bigquery#getQueryResultsResponse", ...queryResults(jobOrFail(j!, q.get("location")), pageIn(q), format) })
      }
    ]
  ]

  const route = async (r: Request): Promise<Reply> => {
    const uploadPath = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(r.url.pathname)
    const apiPath = /^\/bigquery\/v2\/projects\/([^/]+)\/(.+)$/.exec(r.url.pathname)
    const project = uploadPath?.[1] ?? apiPath?.[1]
    if (project !== undefined && decodeURIComponent(project) !== projectId) throw new BigQueryError("notFound", `Not found: Project ${decodeURIComponent(project)}`)
    if (uploadPath !== null && r.method === "POST") return upload(r.url, r.body, r.contentType)
    const segments = (apiPath?.[2] ?? "").split("/").map(decodeURIComponent)
    for (const [method, pattern, handle] of routes) {
      const parts = pattern.split("/")
      if (method === r.method && parts.length === segments.length && parts.every((p, i) => p === "*" || p === segments[i])) {
        return handle(
          segments.filter((_, i) => parts[i] === "*"),
          r
        )
      }
    }
    throw new BigQueryError("notImplemented", `${r.method} ${r.url.pathname} is not implemented by the BigQuery test server`)
  }

  const send = (res: ServerResponse, reply: Reply) => {
    if (reply.body === undefined) return void res.writeHead(reply.status).end()
    res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8" })
    res.end(JSON.stringify(reply.body))
  }

  const takeFailure = (req: { method: string; path: string }) => {
    const failure = failures.find((f) => f.remaining > 0 && f.match(req))
    if (failure !== undefined) failure.remaining--
    return failure?.how
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req)
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const method = req.method ?? "GET"
    const failure = takeFailure({ method, path: url.pathname })
    if (failure === "500") return send(res, { status: 500, body: errorBody(new BigQueryError("backendError", "Backend error (failNext)")) })
    let reply: Reply
    try {
      reply = await route({ method, url, body, contentType: req.headers["content-type"] })
    } catch (e) {
      const error = e instanceof BigQueryError ? e : new BigQueryError("backendError", `The BigQuery test server failed: ${(e as Error).stack ?? String(e)}`)
      reply = { status: httpStatusOf[error.reason][0], body: errorBody(error) }
    }
    if (failure === "drop-after-commit") return void req.socket.destroy()
    send(res, reply)
  }

  const server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    projectId,
    jobs: jobLog,
    queries,
    get datasets() {
      return new Map([...datasets].map(([id, d]) => [id, d.body]))
    },
    get tables() {
      return new Map([...tables].map(([key, t]) => [key, t.body]))
    },
    failNext: (match, how, times = 1) => void failures.push({ match, how, remaining: times }),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await duck.exclusive(async () => duck.close())
    }
  }
}

/** The server for the enclosing scope (for `it.scoped` and layers). */
export const bigQueryServerResource = (options: BigQueryServerOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startBigQueryServer(options)),
    (server) => Effect.promise(() => server.close())
  )
