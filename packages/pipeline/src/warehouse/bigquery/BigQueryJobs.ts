import type { Job, Query, QueryResultsOptions } from "@google-cloud/bigquery"
import type { BigQueryWarehouse } from "@workcat/tenancy"
import { Data, Effect } from "effect"
import { createHash } from "node:crypto"
import { WarehouseError } from "../EventWarehouse.js"

/** Where a tenant's BigQuery work goes: its warehouse settings, and the endpoint (tests and emulators set one). */
export interface BigQueryTarget extends BigQueryWarehouse {
  readonly tenant: string
  readonly retentionDays: number
  /** `WORKCAT_BQ_API_ENDPOINT`: another endpoint than Google's (a test server); no credentials are sent there. */
  readonly apiEndpoint: string | undefined
}

/** What a query job billed, for the tenant's cost ledger. */
export interface Billed {
  readonly jobId: string
  readonly operation: string
  readonly bytesBilled: number
  readonly usd: number
}

/** BigQuery refused a load or a query because of the rows or values sent (a row that does not fit the schema). */
export class BigQueryRefused extends Data.TaggedError("BigQueryRefused")<{ readonly reason: string; readonly message: string }> {}

const TiB = 1024 ** 4

/**
 * A BigQuery job id made of what identifies the work, so a retried job is the same job: BigQuery
 * refuses a second job under an id it has seen (`duplicate`), which makes a retry after a crash a no-op.
 */
export const jobIdFor = (...parts: ReadonlyArray<string>) =>
  `workcat_${createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 40)}`

/** The error's reason as BigQuery gives it (`duplicate`, `invalid`, `bytesBilledLimitExceeded`, …), from the client's error. */
export const reasonOf = (e: unknown): string | undefined => {
  const err = e as { errors?: ReadonlyArray<{ reason?: string }>; code?: number; response?: { body?: unknown } }
  return err.errors?.[0]?.reason ?? (err.code === 409 ? "duplicate" : undefined)
}

/**
 * The tenant's BigQuery jobs through the official client: parameterized queries only (values are
 * never spliced into SQL text), every one capped by `maximumBytesBilled` (BigQuery refuses a job
 * that would bill more) and priced at the tenant's on-demand rate; loads with a job id of the
 * caller's (see `jobIdFor`).
 */
export const makeBigQueryJobs = (target: BigQueryTarget, record: (billed: Billed) => Effect.Effect<void>) =>
  // The client is loaded when a tenant needs it: it is a good part of a process's start otherwise.
  Effect.map(
    Effect.promise(() => Promise.all([import("@google-cloud/bigquery"), import("google-auth-library")])),
    ([{ BigQuery }, { PassThroughClient }]) => jobsWith(BigQuery, PassThroughClient, target, record)
  )

const jobsWith = (
  BigQuery: typeof import("@google-cloud/bigquery").BigQuery,
  PassThroughClient: typeof import("google-auth-library").PassThroughClient,
  target: BigQueryTarget,
  record: (billed: Billed) => Effect.Effect<void>
) => {
  const client = new BigQuery({
    projectId: target.project,
    location: target.location,
    // Another endpoint (a test server, an emulator) gets no credentials: the client would otherwise look for them, and send them there.
    ...(target.apiEndpoint === undefined ? {} : { apiEndpoint: target.apiEndpoint, authClient: new PassThroughClient() })
  })
  const dataset = client.dataset(target.dataset, { location: target.location })
  const name = (table: string) => `\`${target.project}.${target.dataset}.${table}\``
  const usdOf = (bytes: number) => (bytes / TiB) * target.usdPerTib

  const fail = (cause: unknown) =>
    reasonOf(cause) === "invalid" || reasonOf(cause) === "invalidQuery" ? new BigQueryRefused({ reason: reasonOf(cause)!, message: (cause as Error).message }) : new WarehouseError({ cause })

  /** `cap`: which of the tenant's caps the job is under: reads' (the default), or the one of statements that rewrite partitions. */
  type Options = { readonly types?: Query["types"]; readonly jobId?: string; readonly cap?: "query" | "erasure" }
  const capOf = (options: Options) => (options.cap === "erasure" ? target.maxErasureBytesBilled : target.maxBytesBilled)

  /**
   * Runs one parameterized query job (a SELECT, DML or a script) and returns its rows. A dry run
   * first estimates its bytes: over the tenant's cap, it is refused before it runs; the job itself
   * carries the cap too (`maximumBytesBilled`), so BigQuery refuses it should the estimate be low.
   * A script (`BEGIN TRANSACTION; …`) has no single estimate: the cap alone guards each of its statements.
   */
  const query = <A>(operation: string, sql: string, params: Record<string, unknown> = {}, options: Options = {}) =>
    Effect.flatMap(/^\s*BEGIN\b/i.test(sql) ? Effect.succeed(0) : estimate(sql, params, options.types), (bytes) =>
      bytes > capOf(options) ? Effect.fail(overCap(operation, bytes, options)) : run<A>(operation, sql, params, options)
    )
  const overCap = (operation: string, bytes: number, options: Options) =>
    new WarehouseError({
      cause: new Error(
        `the ${operation} query would bill ${bytes} bytes, over the tenant's cap of ${capOf(options)} (${options.cap === "erasure" ? "bq-max-erasure-bytes-billed" : "bq-max-bytes-billed"})`
      )
    })

  const start = (operation: string, sql: string, params: Record<string, unknown>, options: Options) =>
    client.createQueryJob({
      query: sql,
      params,
      ...(options.types === undefined ? {} : { types: options.types }),
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      location: target.location,
      maximumBytesBilled: String(capOf(options)),
      labels: { app: "workcat", tenant: target.tenant, operation: operation.replace(/[^a-z0-9_-]/g, "_").slice(0, 63) }
    })
  /** What the finished job billed, recorded in the tenant's ledger. */
  const billed = (operation: string, job: Job) =>
    Effect.tryPromise({ try: () => job.getMetadata(), catch: fail }).pipe(
      Effect.flatMap(([metadata]) => {
        const bytes = Number(metadata.statistics?.query?.totalBytesBilled ?? 0)
        return record({ jobId: job.id ?? "", operation, bytesBilled: bytes, usd: usdOf(bytes) })
      })
    )

  const run = <A>(operation: string, sql: string, params: Record<string, unknown>, options: Options) =>
    Effect.tryPromise({
      try: async () => {
        const [job] = await start(operation, sql, params, options)
        const [rows] = await job.getQueryResults()
        return { rows: rows as ReadonlyArray<A>, job }
      },
      catch: fail
    }).pipe(
      Effect.tap(({ job }) => billed(operation, job)),
      Effect.map(({ rows }) => rows),
      Effect.withSpan("BigQuery.query", { attributes: { operation } })
    )

  /**
   * `query` for results too many to hold at once: each page of at most `pageRows` rows goes to
   * `each` before the next is fetched.
   */
  const queryPages = <A, E>(
    operation: string,
    sql: string,
    params: Record<string, unknown>,
    options: Options & { readonly pageRows: number },
    each: (rows: ReadonlyArray<A>) => Effect.Effect<void, E>
  ) =>
    Effect.gen(function* () {
      const bytes = yield* estimate(sql, params, options.types)
      if (bytes > capOf(options)) return yield* Effect.fail(overCap(operation, bytes, options))
      const [job] = yield* Effect.tryPromise({ try: () => start(operation, sql, params, options), catch: fail })
      let page: QueryResultsOptions | undefined = { autoPaginate: false, maxResults: options.pageRows }
      while (page !== undefined) {
        const asked: QueryResultsOptions = page
        const [rows, next] = yield* Effect.tryPromise({ try: () => job.getQueryResults(asked), catch: fail })
        if (rows.length > 0) yield* each(rows as ReadonlyArray<A>)
        page = next ?? undefined
      }
      yield* billed(operation, job)
    }).pipe(Effect.withSpan("BigQuery.queryPages", { attributes: { operation } }))

  /** The bytes a query would bill, from a dry run (nothing runs, nothing is billed). */
  const estimate = (sql: string, params: Record<string, unknown> = {}, types?: Query["types"]) =>
    Effect.tryPromise({
      try: async () => {
        const [job] = await client.createQueryJob({ query: sql, params, ...(types === undefined ? {} : { types }), location: target.location, dryRun: true })
        return Number(job.metadata?.statistics?.totalBytesProcessed ?? 0)
      },
      catch: fail
    })

  /**
   * Loads NDJSON rows into a table with a load job (free, atomic: all rows or none) under `jobId`.
   * A job id BigQuery has seen already means this load ran before, or runs now (a retry after a
   * crash or a lost answer, another process loading the same export): once that job has ended, if
   * it succeeded, nothing is loaded again ("existed").
   */
  const load = (table: string, ndjson: string, jobId: string) =>
    Effect.tryPromise({
      try: async () => {
        try {
          // The upload of the rows and the job in one request (the client's write stream); the job is awaited to its end.
          await new Promise<void>((resolve, reject) => {
            const stream = dataset.table(table).createWriteStream({ sourceFormat: "NEWLINE_DELIMITED_JSON", writeDisposition: "WRITE_APPEND", jobId } as never)
            stream.on("error", reject)
            stream.on("complete", (job: { metadata?: { status?: { errorResult?: { message?: string; reason?: string } } } }) => {
              const error = job.metadata?.status?.errorResult
              if (error) reject(Object.assign(new Error(error.message ?? "load failed"), { errors: [error] }))
              else resolve()
            })
            stream.end(ndjson)
          })
          return "loaded" as const
        } catch (e) {
          if (reasonOf(e) !== "duplicate") throw e
          // That job may still be running (another process loading the same export): its end is waited for.
          await client
            .job(jobId, { location: target.location })
            .promise()
            .catch((failed: { errors?: ReadonlyArray<{ message?: string; reason?: string }>; message?: string }) => {
              throw Object.assign(new Error(`an earlier load under ${jobId} failed: ${failed.errors?.[0]?.message ?? failed.message}`), { errors: failed.errors })
            })
          return "existed" as const
        }
      },
      catch: fail
    }).pipe(Effect.withSpan("BigQuery.load", { attributes: { table, jobId } }))

  /** A DATE parameter: a plain string typed DATE would reach BigQuery without its value. */
  const date = (day: string) => BigQuery.date(day)
  /** A TIMESTAMP parameter from RFC 3339 text, to the microsecond (a `Date` would keep milliseconds only). */
  const timestamp = (text: string) => BigQuery.timestamp(text)

  return { dataset, name, query, queryPages, estimate, load, date, timestamp } as const
}
export type BigQueryJobs = ReturnType<typeof jobsWith>
