import { describe, expect, it } from "@effect/vitest"
import { BigQuery, type Job, type Table } from "@google-cloud/bigquery"
import { Effect } from "effect"
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bigQueryClientOptions, bigQueryServerResource, PARSER_GAPS, parserVerdicts } from "./support/BigQueryServer.js"

const PROJECT = "workcat-test"
const KMS = "projects/workcat-test/locations/eu/keyRings/tenants/cryptoKeys/acme"

/** Every SQL text the tests sent, checked against node-sql-parser by the last test. */
const sent: Array<string> = []

/** A fresh server and a client on it (retries after 50 ms at most, where the client retries). */
const setup = Effect.gen(function* () {
  const server = yield* bigQueryServerResource({ projectId: PROJECT })
  yield* Effect.addFinalizer(() => Effect.sync(() => sent.push(...server.queries)))
  const bq = new BigQuery({ ...bigQueryClientOptions(server), location: "EU", retryOptions: { maxRetryDelay: 0.05 } })
  return { server, bq }
})

const run = <A>(f: () => Promise<A>) => Effect.promise(f)

const EVENT_FIELDS = [
  { name: "event_id", type: "STRING", mode: "REQUIRED" },
  { name: "user_id", type: "STRING", mode: "NULLABLE" },
  { name: "app", type: "STRING", mode: "NULLABLE" },
  { name: "occurred_at", type: "TIMESTAMP", mode: "REQUIRED" },
  { name: "auth_steps", type: "INT64", mode: "NULLABLE" }
]

/** Four events over three days; timestamps as RFC 3339 and as epoch seconds (2024-01-03T10:00:00Z). */
const EVENTS = [
  { event_id: "e1", user_id: "u_1", app: "github", occurred_at: "2024-01-01T09:00:00Z", auth_steps: 1 },
  { event_id: "e2", user_id: "u_2", app: "jira", occurred_at: "2024-01-01T10:00:00.500Z", auth_steps: 2 },
  { event_id: "e3", user_id: "u_1", app: "jira", occurred_at: "2024-01-02T11:00:00Z", auth_steps: 1 },
  { event_id: "e4", user_id: "u_3", app: "slack", occurred_at: 1704276000, auth_steps: null }
]
const ndjson = (rows: ReadonlyArray<object>) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n"

/** The `events` dataset (EU) and its day-partitioned `sso` table, which requires a partition filter. */
const createEvents = async (bq: BigQuery) => {
  const [dataset] = await bq.createDataset("events", { location: "EU", labels: { app: "workcat" }, defaultEncryptionConfiguration: { kmsKeyName: KMS } })
  const [table] = await dataset.createTable("sso", {
    schema: { fields: EVENT_FIELDS },
    timePartitioning: { type: "DAY", field: "occurred_at", expirationMs: String(730 * 86_400_000) },
    requirePartitionFilter: true,
    clustering: { fields: ["user_id", "app"] },
    labels: { app: "workcat" },
    encryptionConfiguration: { kmsKeyName: KMS }
  })
  return table
}

/** Loads NDJSON through the client's write stream (a multipart upload) under `jobId`, as the product does. */
const load = (table: Table, data: string, jobId: string) =>
  new Promise<Job>((resolve, reject) => {
    const stream = table.createWriteStream({ sourceFormat: "NEWLINE_DELIMITED_JSON", writeDisposition: "WRITE_APPEND", jobId } as never)
    stream.on("error", reject)
    stream.on("complete", resolve)
    stream.end(data)
  })

const withEvents = async (bq: BigQuery) => {
  const table = await createEvents(bq)
  await load(table, ndjson(EVENTS), "seed")
  return table
}

const ALL_DAYS = "occurred_at >= TIMESTAMP '2024-01-01'"

const eventIds = async (bq: BigQuery) => {
  const [rows] = await bq.query(`SELECT event_id FROM \`${PROJECT}.events.sso\` WHERE ${ALL_DAYS} ORDER BY event_id`)
  return rows.map((r: { event_id: string }) => r.event_id)
}

/** Bytes of a STRING value in BigQuery's on-demand model. */
const str = (s: string) => 2 + Buffer.byteLength(s)

describe("BigQueryServer: datasets and tables", () => {
  it.scoped("creates a dataset and a partitioned, clustered table with a required partition filter, labels and CMEK, read back by the client", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        await createEvents(bq)
        const [dataset] = await bq.dataset("events").getMetadata()
        expect(dataset).toMatchObject({ location: "EU", labels: { app: "workcat" }, defaultEncryptionConfiguration: { kmsKeyName: KMS } })
        const [table] = await bq.dataset("events").table("sso").getMetadata()
        expect(table).toMatchObject({
          schema: { fields: EVENT_FIELDS },
          timePartitioning: { type: "DAY", field: "occurred_at", expirationMs: String(730 * 86_400_000) },
          requirePartitionFilter: true,
          clustering: { fields: ["user_id", "app"] },
          labels: { app: "workcat" },
          encryptionConfiguration: { kmsKeyName: KMS },
          numRows: "0"
        })
        expect([(await bq.dataset("events").table("sso").exists())[0], (await bq.dataset("events").table("other").exists())[0]]).toEqual([true, false])
      })
      expect(server.datasets.get("events")).toMatchObject({ location: "EU", defaultEncryptionConfiguration: { kmsKeyName: KMS } })
      expect(server.tables.get("events.sso")).toMatchObject({ requirePartitionFilter: true, clustering: { fields: ["user_id", "app"] } })
    }))

  it.scoped("answers an existing dataset or table with 409 duplicate and a missing one with 404 notFound, as BigQuery-shaped errors", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await createEvents(bq)
        const duplicate = { code: 409, errors: [expect.objectContaining({ reason: "duplicate" })] }
        await expect(bq.createDataset("events", { location: "EU" })).rejects.toMatchObject(duplicate)
        await expect(bq.dataset("events").createTable("sso", { schema: { fields: EVENT_FIELDS } })).rejects.toMatchObject(duplicate)
        const notFound = { code: 404, errors: [expect.objectContaining({ reason: "notFound" })] }
        await expect(bq.dataset("nope").getMetadata()).rejects.toMatchObject(notFound)
        await expect(bq.dataset("nope").createTable("t", { schema: { fields: EVENT_FIELDS } })).rejects.toMatchObject(notFound)
      })
    }))

  it.scoped("refuses to delete a dataset that holds tables unless asked to delete its contents", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        await createEvents(bq)
        await expect(bq.dataset("events").delete()).rejects.toMatchObject({ code: 400, errors: [expect.objectContaining({ reason: "resourceInUse" })] })
        await bq.dataset("events").delete({ force: true })
        expect((await bq.dataset("events").exists())[0]).toBe(false)
      })
      expect([server.datasets.size, server.tables.size]).toEqual([0, 0])
    }))
})

describe("BigQueryServer: load jobs", () => {
  it.scoped("lands every NDJSON row of a load, and refuses a second load under the same job id as a duplicate, adding no row", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        const table = await createEvents(bq)
        const job = await load(table, ndjson(EVENTS), "load-1")
        expect(job.metadata).toMatchObject({ status: { state: "DONE" }, statistics: { load: { outputRows: "4" } } })
        await expect(load(table, ndjson(EVENTS), "load-1")).rejects.toMatchObject({ code: 409, errors: [expect.objectContaining({ reason: "duplicate" })] })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
      })
      expect(server.jobs.filter((j) => j.kind === "load").map((j) => j.jobId)).toEqual(["load-1"])
    }))

  it.scoped("stores what was loaded with its types: timestamps from RFC 3339 and epoch seconds, integers, NULLs", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        const table = await withEvents(bq)
        const [rows] = await table.getRows()
        expect(rows.map((r) => [r.event_id, r.occurred_at.value, r.auth_steps])).toEqual([
          ["e1", "2024-01-01T09:00:00.000Z", 1],
          ["e2", "2024-01-01T10:00:00.500Z", 2],
          ["e3", "2024-01-02T11:00:00.000Z", 1],
          ["e4", "2024-01-03T10:00:00.000Z", null]
        ])
      })
    }))

  it.scoped("fails a load with a row that does not fit the schema whole, as BigQuery does: reason invalid, and no row added", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        const table = await withEvents(bq)
        const bad = [{ event_id: "e5", occurred_at: "2024-01-02T00:00:00Z" }, { event_id: "e6", occurred_at: "2024-01-02T00:00:00Z", auth_steps: "two" }]
        const failure = await load(table, ndjson(bad), "load-bad").catch((e: unknown) => e)
        expect(failure).toMatchObject({
          errors: [
            { reason: "invalid", message: expect.stringMatching(/^Error while reading data, error message: JSON table encountered too many errors/) },
            { reason: "invalid", message: expect.stringContaining("Could not convert value to INT64. Field: auth_steps") }
          ]
        })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
        // The job exists, failed: its id cannot load anything later either.
        expect((await bq.job("load-bad").getMetadata())[0].status.errorResult.reason).toBe("invalid")
      })
    }))

  it.scoped("replaces a table's rows with a WRITE_TRUNCATE load, and leaves them when that load fails", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        const table = await withEvents(bq)
        const truncate = (data: string, jobId: string) =>
          new Promise<Job>((resolve, reject) => {
            const stream = table.createWriteStream({ sourceFormat: "NEWLINE_DELIMITED_JSON", writeDisposition: "WRITE_TRUNCATE", jobId } as never)
            stream.on("error", reject).on("complete", resolve).end(data)
          })
        await expect(truncate(ndjson([{ event_id: "x1", occurred_at: "not a time" }]), "truncate-bad")).rejects.toMatchObject({ errors: expect.arrayContaining([expect.objectContaining({ reason: "invalid" })]) })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
        await truncate(ndjson([{ event_id: "x1", occurred_at: "2024-01-05 08:00:00 UTC" }]), "truncate-ok")
        expect(await eventIds(bq)).toEqual(["x1"])
      })
    }))

  it.scoped("loads a local file with createLoadJob, whose job answers with the failure in status.errorResult", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        const table = await createEvents(bq)
        const file = join(tmpdir(), `bq-load-${process.pid}.json`)
        await writeFile(file, ndjson(EVENTS))
        const [job] = await table.createLoadJob(file, { sourceFormat: "NEWLINE_DELIMITED_JSON", jobId: "file-1" } as never)
        expect(job.metadata.status).toEqual({ state: "DONE" })
        await writeFile(file, '{"event_id": "e9"}\n')
        const [failed] = await table.createLoadJob(file, { sourceFormat: "NEWLINE_DELIMITED_JSON", jobId: "file-2" } as never)
        expect(failed.metadata.status.errorResult).toMatchObject({ reason: "invalid" })
        expect(failed.metadata.status.errors[1].message).toContain("Missing required field: occurred_at.")
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
      })
    }))
})

describe("BigQueryServer: queries", () => {
  it.scoped("runs a parameterized query with scalar and array parameters, answering typed rows: dates, timestamps, integers, arrays of structs", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const [rows] = await bq.query({
          query: `SELECT user_id, DATE(occurred_at) AS day, MIN(occurred_at) AS first_at, COUNT(*) AS n, SUM(auth_steps) AS steps,
  ARRAY_AGG(STRUCT(app AS app, auth_steps AS steps) ORDER BY occurred_at) AS apps
FROM \`${PROJECT}.events.sso\`
WHERE occurred_at >= @from AND DATE(occurred_at) <= @to AND user_id IN UNNEST(@users) AND auth_steps >= @minSteps
GROUP BY user_id, day
ORDER BY user_id, day`,
          params: { from: new Date("2024-01-01T00:00:00Z"), to: BigQuery.date("2024-01-02"), users: ["u_1", "u_2"], minSteps: 1 }
        })
        expect(rows).toEqual([
          { user_id: "u_1", day: BigQuery.date("2024-01-01"), first_at: BigQuery.timestamp("2024-01-01T09:00:00Z"), n: 1, steps: 1, apps: [{ app: "github", steps: 1 }] },
          { user_id: "u_1", day: BigQuery.date("2024-01-02"), first_at: BigQuery.timestamp("2024-01-02T11:00:00Z"), n: 1, steps: 1, apps: [{ app: "jira", steps: 1 }] },
          { user_id: "u_2", day: BigQuery.date("2024-01-01"), first_at: BigQuery.timestamp("2024-01-01T10:00:00.500Z"), n: 1, steps: 2, apps: [{ app: "jira", steps: 2 }] }
        ])
      })
      expect(server.jobs.at(-1)?.parameters?.map((p) => [p.name, p.parameterType.type])).toEqual([
        ["from", "TIMESTAMP"],
        ["to", "DATE"],
        ["users", "ARRAY"],
        ["minSteps", "INT64"]
      ])
    }))

  it.scoped("reads ARRAY<STRUCT> parameters as rows with FROM UNNEST(@rows) AS r", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        const [rows] = await bq.query({
          query: "SELECT r.name, r.days, ARRAY_LENGTH(r.days) AS n FROM UNNEST(@rows) AS r WHERE r.name IN UNNEST(@names) ORDER BY r.name",
          params: { rows: [{ name: "b", days: [BigQuery.date("2024-01-02")] }, { name: "a", days: [BigQuery.date("2024-01-01"), BigQuery.date("2024-01-03")] }], names: ["a", "b"] },
          types: { rows: [{ name: "STRING", days: ["DATE"] }], names: ["STRING"] }
        })
        expect(rows).toEqual([
          { name: "a", days: [BigQuery.date("2024-01-01"), BigQuery.date("2024-01-03")], n: 2 },
          { name: "b", days: [BigQuery.date("2024-01-02")], n: 1 }
        ])
      })
    }))

  it.scoped("refuses a DATE or TIMESTAMP parameter given as a plain string, which the client sends without a value", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        const query = bq.query({ query: "SELECT @day AS day", params: { day: "2024-01-01" }, types: { day: "DATE" } })
        await expect(query).rejects.toMatchObject({ errors: [expect.objectContaining({ reason: "invalidQuery", message: expect.stringContaining("pass BigQuery.date(…)") })] })
        const [rows] = await bq.query({ query: "SELECT @day AS day, @none AS none", params: { day: BigQuery.date("2024-01-01"), none: null }, types: { day: "DATE", none: "DATE" } })
        expect(rows).toEqual([{ day: BigQuery.date("2024-01-01"), none: null }])
      })
      expect(server.jobs[0]?.parameters?.[0]?.parameterValue).toEqual({})
    }))

  it.scoped("answers rows in BigQuery's wire form: strings in { f: [{ v }] }, records and arrays nested alike, TIMESTAMPs as the request's formatOptions ask", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        const [job] = await bq.createQueryJob({
          query: "SELECT 7 AS n, TRUE AS b, DATE '2024-01-02' AS d, TIMESTAMP '2024-01-01 10:00:00.25+00' AS t, [STRUCT('x' AS s, [1, 2] AS xs)] AS r, CAST(NULL AS STRING) AS z"
        })
        type Results = { schema: { fields: ReadonlyArray<{ name: string; type: string; mode: string }> }; rows: Array<{ f: Array<unknown> }> }
        const results = async (query: string) => (await (await fetch(`${server.url}/bigquery/v2/projects/${PROJECT}/queries/${job.id}?location=EU${query}`)).json()) as Results
        const floatSeconds = await results("")
        expect(floatSeconds.schema.fields.map((f) => `${f.name} ${f.type} ${f.mode}`)).toEqual([
          "n INTEGER NULLABLE",
          "b BOOLEAN NULLABLE",
          "d DATE NULLABLE",
          "t TIMESTAMP NULLABLE",
          "r RECORD REPEATED",
          "z STRING NULLABLE"
        ])
        expect(floatSeconds.rows).toEqual([
          { f: [{ v: "7" }, { v: "true" }, { v: "2024-01-02" }, { v: "1704103200.250000" }, { v: [{ v: { f: [{ v: "x" }, { v: [{ v: "1" }, { v: "2" }] }] } }] }, { v: null }] }
        ])
        expect((await results("&formatOptions.useInt64Timestamp=true")).rows[0]?.f[3]).toEqual({ v: "1704103200250000" })
      })
    }))

  it.scoped("refuses a query over the table without a filter on its partition column, as BigQuery does", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const refused = {
          code: 400,
          errors: [
            expect.objectContaining({
              reason: "invalidQuery",
              message: "Cannot query over table 'events.sso' without a filter over column(s) 'occurred_at' that can be used for partition elimination"
            })
          ]
        }
        await expect(bq.query(`SELECT COUNT(*) AS n FROM \`${PROJECT}.events.sso\` WHERE user_id = 'u_1'`)).rejects.toMatchObject(refused)
        // Every reference needs its own filter: here the subquery's has one, the join's other side none.
        await expect(
          bq.query(`SELECT a.event_id FROM events.sso a JOIN (SELECT event_id FROM events.sso WHERE ${ALL_DAYS}) b ON a.event_id = b.event_id`)
        ).rejects.toMatchObject(refused)
        const [rows] = await bq.query(`SELECT COUNT(*) AS n FROM events.sso s WHERE DATE(s.occurred_at) BETWEEN '2024-01-01' AND '2024-01-02'`)
        expect(rows).toEqual([{ n: 3 }])
      })
    }))

  it.scoped("pages results: getQueryResults with maxResults answers a page and the token of the next", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const [job] = await bq.createQueryJob({ query: `SELECT event_id FROM events.sso WHERE ${ALL_DAYS} ORDER BY event_id` })
        const [page, next] = await job.getQueryResults({ maxResults: 3, autoPaginate: false })
        expect([page.map((r) => r.event_id), next?.pageToken]).toEqual([["e1", "e2", "e3"], "3"])
        const [last, after] = await job.getQueryResults({ maxResults: 3, pageToken: next!.pageToken!, autoPaginate: false })
        expect([last.map((r) => r.event_id), after]).toEqual([["e4"], null])
      })
    }))

  it.scoped("reports a failed query job as BigQuery does: createQueryJob rejects with the job's errors, jobs.query and getQueryResults with the HTTP error", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const bad = `SELECT nope FROM events.sso WHERE ${ALL_DAYS}`
        const failure = (await bq.createQueryJob({ query: bad, jobId: "failed-1" }).catch((e: unknown) => e)) as Record<string, unknown>
        expect(failure).toMatchObject({ errors: [expect.objectContaining({ reason: "invalidQuery" })], response: { status: { state: "DONE" } } })
        expect(failure.code).toBeUndefined()
        const [metadata] = await bq.job("failed-1").getMetadata()
        expect(metadata.status.errorResult.reason).toBe("invalidQuery")
        const invalid = { code: 400, errors: [expect.objectContaining({ reason: "invalidQuery" })] }
        await expect(bq.job("failed-1").getQueryResults()).rejects.toMatchObject(invalid)
        await expect(bq.query(bad)).rejects.toMatchObject(invalid)
        await expect(bq.query("SELECT 1 FROM events.missing")).rejects.toMatchObject({ code: 404, errors: [expect.objectContaining({ reason: "notFound" })] })
      })
    }))

  it.scoped("refuses a job id it has seen with 409 duplicate, running nothing: retried jobs are no-ops", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const insert = { query: "INSERT INTO events.sso (event_id, occurred_at) VALUES ('e9', TIMESTAMP '2024-01-05 00:00:00+00')", jobId: "insert-1" }
        const [job] = await bq.createQueryJob(insert)
        expect(job.metadata.statistics.query).toMatchObject({ statementType: "INSERT", numDmlAffectedRows: "1" })
        await expect(bq.createQueryJob(insert)).rejects.toMatchObject({ code: 409, errors: [expect.objectContaining({ reason: "duplicate" })] })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4", "e9"])
        // A job lives in its location: asked for in another one, it is not found.
        await expect(bq.job("insert-1", { location: "US" }).getMetadata()).rejects.toMatchObject({ code: 404 })
      })
    }))
})

describe("BigQueryServer: bytes processed and billed", () => {
  it.scoped("counts only the columns a query mentions", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const [users] = await bq.createQueryJob({ query: `SELECT user_id FROM events.sso WHERE ${ALL_DAYS}` })
        const [star] = await bq.createQueryJob({ query: `SELECT * FROM events.sso WHERE ${ALL_DAYS}` })
        const userIds = 4 * str("u_1")
        const timestamps = 4 * 8
        const all = ["e1", "e2", "e3", "e4"].map(str).reduce((a, b) => a + b) + userIds + ["github", "jira", "jira", "slack"].map(str).reduce((a, b) => a + b) + timestamps + 3 * 8
        expect([users.metadata.statistics.query.totalBytesProcessed, star.metadata.statistics.query.totalBytesProcessed]).toEqual([String(userIds + timestamps), String(all)])
      })
    }))

  it.scoped("counts only the rows of the partitions that the filter's constant bounds leave", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const bytes = async (where: string, params: Record<string, unknown> = {}) =>
          (await bq.createQueryJob({ query: `SELECT user_id FROM events.sso WHERE ${where}`, params }))[0].metadata.statistics.query.totalBytesProcessed
        const perRow = str("u_1") + 8
        expect(await bytes(ALL_DAYS)).toBe(String(4 * perRow))
        expect(await bytes("occurred_at >= TIMESTAMP '2024-01-02 12:00:00+00'")).toBe(String(2 * perRow)) // a bound inside a day reads that day's partition
        expect(await bytes("DATE(occurred_at) = @day", { day: BigQuery.date("2024-01-01") })).toBe(String(2 * perRow))
        expect(await bytes("occurred_at >= @from AND occurred_at < @to", { from: new Date("2024-01-02T00:00:00Z"), to: new Date("2024-01-03T00:00:00Z") })).toBe(String(perRow))
        expect(await bytes("DATE(occurred_at) IN UNNEST(@days)", { days: [BigQuery.date("2024-01-03")] })).toBe(String(perRow))
        expect(await bytes("occurred_at >= TIMESTAMP '2025-01-01'")).toBe("0")
      })
    }))

  it.scoped("bills each table read 10 MB at least, and fails a job over maximumBytesBilled with bytesBilledLimitExceeded, running nothing", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const [one] = await bq.createQueryJob({ query: `SELECT user_id FROM events.sso WHERE ${ALL_DAYS}`, maximumBytesBilled: String(10 * 1024 * 1024) })
        expect(one.metadata.statistics.query.totalBytesBilled).toBe(String(10 * 1024 * 1024))
        const [two] = await bq.createQueryJob({ query: `SELECT a.user_id FROM events.sso a JOIN events.sso b ON a.event_id = b.event_id WHERE a.${ALL_DAYS} AND b.${ALL_DAYS}` })
        expect(two.metadata.statistics.query.totalBytesBilled).toBe(String(20 * 1024 * 1024))
        const capped = bq.createQueryJob({ query: `DELETE FROM events.sso WHERE ${ALL_DAYS}`, maximumBytesBilled: String(10 * 1024 * 1024 - 1), jobId: "capped" })
        await expect(capped).rejects.toMatchObject({
          errors: [expect.objectContaining({ reason: "bytesBilledLimitExceeded", message: "Query exceeded limit for bytes billed: 10485759. 10485760 or higher required." })]
        })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
      })
    }))

  it.scoped("answers a dry run with the bytes it would process, running nothing: a DML dry run changes no row, and bills the partitions it changes whole", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const [job] = await bq.createQueryJob({ query: `DELETE FROM events.sso WHERE ${ALL_DAYS} AND user_id = @user`, params: { user: "u_1" }, dryRun: true })
        // q': the user and time of the 4 rows its filter leaves; t': every column of those partitions' rows.
        const everyColumn = EVENTS.reduce((n, e) => n + str(e.event_id) + str(e.user_id) + str(e.app) + 8 + (e.auth_steps === null ? 0 : 8), 0)
        expect(job.metadata.statistics).toMatchObject({ totalBytesProcessed: String(4 * (str("u_1") + 8) + everyColumn), query: { statementType: "DELETE" } })
        expect(job.metadata.statistics.query.numDmlAffectedRows).toBeUndefined()
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
      })
      expect(server.jobs.find((j) => j.dryRun)).toMatchObject({ kind: "query", dryRun: true })
    }))
})

describe("BigQueryServer: DML and scripts", () => {
  it.scoped("applies a transaction's statements together, summing their DML counts and answering the last SELECT's rows", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const [job] = await bq.createQueryJob({
          query: `BEGIN TRANSACTION;
DELETE FROM \`${PROJECT}.events.sso\` WHERE ${ALL_DAYS} AND user_id = @user;
INSERT INTO \`${PROJECT}.events.sso\` (event_id, user_id, occurred_at) SELECT CONCAT(event_id, '-copy'), user_id, occurred_at FROM \`${PROJECT}.events.sso\` WHERE ${ALL_DAYS};
COMMIT TRANSACTION;
SELECT COUNT(*) AS n FROM \`${PROJECT}.events.sso\` WHERE ${ALL_DAYS};`,
          params: { user: "u_1" }
        })
        expect(job.metadata.statistics.query).toMatchObject({ statementType: "SCRIPT", numDmlAffectedRows: "4" })
        expect((await job.getQueryResults())[0]).toEqual([{ n: 4 }])
      })
    }))

  it.scoped("rolls a transaction back whole when one of its statements fails", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const script = `BEGIN TRANSACTION;
DELETE FROM events.sso WHERE ${ALL_DAYS} AND user_id = 'u_1';
INSERT INTO events.sso (event_id, occurred_at) VALUES (NULL, CURRENT_TIMESTAMP());
COMMIT TRANSACTION;`
        await expect(bq.query(script)).rejects.toMatchObject({ code: 400, errors: [expect.objectContaining({ reason: "invalidQuery" })] })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
        const unfinished = `BEGIN TRANSACTION;\nDELETE FROM events.sso WHERE ${ALL_DAYS};`
        await expect(bq.query(unfinished)).rejects.toMatchObject({ errors: [expect.objectContaining({ message: expect.stringContaining("Transaction was not committed") })] })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
      })
    }))

  it.scoped("runs UPDATE … FROM UNNEST(@pairs), MERGE, DELETE and TRUNCATE TABLE with BigQuery's affected row counts", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        const affected = async (query: string, params: Record<string, unknown> = {}, types: Record<string, unknown> = {}) => {
          const [job] = await bq.createQueryJob({ query, params, types: types as never })
          return job.metadata.statistics.query.numDmlAffectedRows
        }
        const update = `UPDATE \`${PROJECT}.events.sso\` t SET user_id = m.new FROM UNNEST(@pairs) AS m WHERE t.occurred_at >= @from AND t.user_id = m.old`
        const pairs = { pairs: [{ old: "u_1", new: "u_9" }], from: new Date("2024-01-01T00:00:00Z") }
        expect(await affected(update, pairs, { pairs: [{ old: "STRING", new: "STRING" }], from: "TIMESTAMP" })).toBe("2")
        const merge = `MERGE events.sso t USING (SELECT 'e1' AS event_id UNION ALL SELECT 'e7') s
ON t.event_id = s.event_id AND t.${ALL_DAYS}
WHEN MATCHED THEN UPDATE SET app = 'merged'
WHEN NOT MATCHED THEN INSERT (event_id, app, occurred_at) VALUES (s.event_id, 'new', TIMESTAMP '2024-01-04 00:00:00+00')`
        expect(await affected(merge)).toBe("2")
        const [apps] = await bq.query(`SELECT event_id, app, user_id FROM events.sso WHERE ${ALL_DAYS} AND event_id IN ('e1', 'e3', 'e7') ORDER BY event_id`)
        expect(apps).toEqual([
          { event_id: "e1", app: "merged", user_id: "u_9" },
          { event_id: "e3", app: "jira", user_id: "u_9" },
          { event_id: "e7", app: "new", user_id: null }
        ])
        expect(await affected(`DELETE events.sso WHERE DATE(occurred_at) = '2024-01-04'`)).toBe("1")
        await affected("TRUNCATE TABLE events.sso")
        expect(await eventIds(bq)).toEqual([])
      })
    }))
})

describe("BigQueryServer: failures on demand", () => {
  it.scoped("drop-after-commit on an upload: the client sees a network error although the load ran, and its retry under the same job id gets 409", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        const table = await createEvents(bq)
        server.failNext((req) => req.method === "POST" && req.path.startsWith("/upload/"), "drop-after-commit")
        await expect(load(table, ndjson(EVENTS), "lost-answer")).rejects.toMatchObject({ code: "ECONNRESET" })
        expect((await bq.job("lost-answer").getMetadata())[0].status).toEqual({ state: "DONE" })
        await expect(load(table, ndjson(EVENTS), "lost-answer")).rejects.toMatchObject({ code: 409, errors: [expect.objectContaining({ reason: "duplicate" })] })
        expect(await eventIds(bq)).toEqual(["e1", "e2", "e3", "e4"])
      })
    }))

  it.scoped("drop-after-commit on jobs.insert: the client retries by itself, and with the caller's job id that retry answers 409 duplicate", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        await withEvents(bq)
        server.failNext((req) => req.method === "POST" && req.path.endsWith("/jobs"), "drop-after-commit")
        const insert = bq.createQueryJob({ query: `DELETE FROM events.sso WHERE ${ALL_DAYS} AND event_id = 'e1'`, jobId: "delete-1" })
        await expect(insert).rejects.toMatchObject({ code: 409, errors: [expect.objectContaining({ reason: "duplicate" })] })
        expect(await eventIds(bq)).toEqual(["e2", "e3", "e4"])
      })
      expect(server.queries.filter((q) => q.startsWith("DELETE"))).toHaveLength(2)
    }))

  it.scoped("answers 500 backendError without doing anything, as often as told: the client retries 3 times, then gives up", () =>
    Effect.gen(function* () {
      const { server, bq } = yield* setup
      yield* run(async () => {
        server.failNext((req) => req.path.endsWith("/queries"), "500", 4)
        await expect(bq.query("SELECT 1 AS one")).rejects.toMatchObject({ code: 500, errors: [expect.objectContaining({ reason: "backendError" })] })
        server.failNext((req) => req.path.endsWith("/queries"), "500", 3)
        expect((await bq.query("SELECT 1 AS one"))[0]).toEqual([{ one: 1 }])
      })
      expect(server.jobs).toHaveLength(1)
    }))
})

describe("BigQueryServer: the SQL translation", () => {
  /** Expressions and what BigQuery answers for them (through the client's parsing). */
  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ["DATE(TIMESTAMP '2024-01-01 23:30:00-05')", BigQuery.date("2024-01-02")],
    ["DATE(TIMESTAMP '2024-01-02 01:00:00+00', 'America/New_York')", BigQuery.date("2024-01-01")],
    ["DATE_SUB(DATE '2024-03-01', INTERVAL 1 DAY)", BigQuery.date("2024-02-29")],
    ["DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH)", BigQuery.date("2024-02-29")],
    ["DATE_DIFF(DATE '2024-03-01', DATE '2024-02-01', DAY)", 29],
    ["DATE_TRUNC(DATE '2024-02-29', MONTH)", BigQuery.date("2024-02-01")],
    ["TIMESTAMP(DATE '2024-01-01')", BigQuery.timestamp("2024-01-01T00:00:00Z")],
    ["TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL 90 MINUTE)", BigQuery.timestamp("2024-01-01T01:30:00Z")],
    ["TIMESTAMP_SUB(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL 1 HOUR)", BigQuery.timestamp("2023-12-31T23:00:00Z")],
    ["TIMESTAMP_DIFF(TIMESTAMP '2024-01-01 05:59:00+00', TIMESTAMP '2024-01-01 00:00:00+00', HOUR)", 5],
    ["EXTRACT(DAYOFWEEK FROM DATE '2024-01-07')", 1],
    ["CAST('12' AS INT64) + CAST(2.5 AS INT64)", 15],
    ["CAST(DATE '2024-01-05' AS STRING)", "2024-01-05"],
    ["CAST('1.5' AS FLOAT64)", 1.5],
    ["SAFE_CAST('x' AS INT64)", null],
    ["SAFE_DIVIDE(3, 2)", 1.5],
    ["SAFE_DIVIDE(1, 0)", null],
    ["IFNULL(NULL, 3)", 3],
    ["COALESCE(NULL, 'b', 'c')", "b"],
    ["CONCAT('a', NULL)", null],
    ["IF(1 < 2, 'yes', 'no')", "yes"],
    ['"double-quoted\\n" || r"\\raw"', "double-quoted\n\\raw"],
    ["GENERATE_DATE_ARRAY('2024-01-30', '2024-02-01')", [BigQuery.date("2024-01-30"), BigQuery.date("2024-01-31"), BigQuery.date("2024-02-01")]],
    ["(SELECT COUNTIF(x > 1) FROM UNNEST([1, 2, 3]) AS x)", 2],
    ["(SELECT COUNT(DISTINCT x) FROM UNNEST([1, 1, 2]) AS x)", 2],
    ["(SELECT STRING_AGG(x, ',' ORDER BY x DESC) FROM UNNEST(['a', 'c', 'b']) AS x)", "c,b,a"],
    ["(SELECT ARRAY_AGG(x ORDER BY x) FROM UNNEST([3, NULL, 1]) AS x WHERE x IS NOT NULL)", [1, 3]],
    ["(SELECT ARRAY_AGG(x IS NULL ORDER BY x) FROM UNNEST([2, NULL]) AS x)", [true, false]], // BigQuery orders NULLs first
    ["EXISTS (SELECT 1 FROM UNNEST([1]) AS x WHERE x = 1)", true],
    ["(SELECT x FROM UNNEST([1, 2, 3]) AS x WHERE TRUE QUALIFY ROW_NUMBER() OVER (ORDER BY x DESC) = 1)", 3]
  ]
  it.scoped("translates BigQuery's functions, literals and clauses to DuckDB with BigQuery's results", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        const [rows] = await bq.query(`SELECT ${cases.map(([expr], i) => `${expr} AS c${i}`).join(",\n  ")}`)
        expect(cases.map((_, i) => rows[0][`c${i}`])).toEqual(cases.map(([, expected]) => expected))
      })
    }))

  it.scoped("fails with invalidQuery naming the construct for BigQuery it does not translate, so nothing passes silently", () =>
    Effect.gen(function* () {
      const { bq } = yield* setup
      yield* run(async () => {
        await createEvents(bq)
        const refusals: ReadonlyArray<readonly [string, string]> = [
          ["SELECT FARM_FINGERPRINT('a')", "function FARM_FINGERPRINT"],
          ["SELECT x FROM UNNEST([1]) AS x WITH OFFSET AS o", "UNNEST … WITH OFFSET"],
          ["SELECT DATE_DIFF(DATE '2024-01-08', DATE '2024-01-01', WEEK)", "DATE_DIFF with date part WEEK"],
          ["SELECT SAFE.PARSE_DATE('%F', '2024-01-01')", "function SAFE.PARSE_DATE"],
          ["SELECT AS STRUCT 1 AS a", "SELECT AS STRUCT"],
          ["SELECT @@project_id", "system variables"],
          ["CREATE TABLE events.t (a INT64)", "CREATE statements"],
          ["SELECT b'bytes'", "BYTES literals"]
        ]
        for (const [query, construct] of refusals) {
          await expect(bq.query(query), query).rejects.toMatchObject({ errors: [expect.objectContaining({ reason: "invalidQuery", message: expect.stringContaining(construct) })] })
        }
        await expect(bq.query("DELETE FROM events.sso")).rejects.toMatchObject({ errors: [expect.objectContaining({ message: "DELETE must have a WHERE clause" })] })
        await expect(bq.query("SELECT 1 FROM sso")).rejects.toMatchObject({ errors: [expect.objectContaining({ message: expect.stringContaining("must be qualified with a dataset") })] })
      })
    }))
})

describe("BigQueryServer: BigQuery SQL checks", () => {
  it("lists parser gaps that node-sql-parser does reject, each on its example", () => {
    for (const gap of PARSER_GAPS) expect(parserVerdicts(gap.example).map((v) => v.knownGap), gap.construct).toEqual([gap.construct])
  })

  // Runs last: vitest runs a file's tests in order, so `sent` holds every query the tests above sent.
  it("every query the tests above sent parses as BigQuery SQL, or falls in a documented parser gap", () => {
    expect(sent.length).toBeGreaterThan(40)
    const failures = sent.flatMap(parserVerdicts).filter((v) => v.parses !== true && v.knownGap === undefined && !isMeantToFail(v.statement))
    expect(failures).toEqual([])
  })
})

/** The statements sent above to see them refused (invalid BigQuery, or outside the translated subset). */
const isMeantToFail = (statement: string) => /FARM_FINGERPRINT|WITH OFFSET|WEEK\)|SAFE\.|SELECT AS STRUCT|@@|^CREATE|b'bytes'/.test(statement)

