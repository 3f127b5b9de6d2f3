/**
 * A workcat process using the embedded PostgreSQL, for the sharing tests: starts or joins the
 * server of DATA_DIR, prints `{url, owned, adopted, dataDir}` as one JSON line, keeps one
 * connection open (as a command's pool would), then answers stdin: `query` runs `SELECT 1` on
 * that connection and prints `{"one":1}` (or `{"error":...}`); `exit` (or the end of stdin)
 * ends the process normally.
 * Usage: embeddedHolder.ts DATA_DIR
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Stream } from "effect"
import { createInterface } from "node:readline"
import Pg from "pg"
import * as EmbeddedPostgres from "../../src/db/EmbeddedPostgres.js"

const [dataDir] = process.argv.slice(2) as [string]

const stdinLines = Stream.async<string>((emit) => {
  const lines = createInterface({ input: process.stdin })
  lines.on("line", (line) => emit.single(line.trim()))
  lines.on("close", () => emit.end())
  // An open stdin would keep the process alive after the program ended.
  return Effect.sync(() => {
    lines.close()
    process.stdin.destroy()
  })
})

Effect.gen(function* () {
  const server = yield* EmbeddedPostgres.start({ dataDir, settings: { fsync: "off", synchronous_commit: "off" } })
  // The plain driver: this process starts in seconds, and it is one connection held throughout.
  const client = yield* Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const client = new Pg.Client({ connectionString: server.url })
      client.on("error", () => {}) // a server gone under us shows in the next query's answer
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )
  yield* Console.log(JSON.stringify({ url: server.url, owned: server.owned, adopted: server.adopted, dataDir: server.dataDir }))
  yield* stdinLines.pipe(
    Stream.takeWhile((line) => line !== "exit"),
    Stream.runForEach((line) =>
      line === "query"
        ? Effect.tryPromise(() => client.query<{ one: number }>("SELECT 1 AS one")).pipe(
            Effect.map(({ rows }) => ({ one: rows[0]?.one })),
            Effect.catchAll((e) => Effect.succeed({ error: String(e.error) })),
            Effect.flatMap((result) => Console.log(JSON.stringify(result)))
          )
        : Effect.void
    )
  )
}).pipe(Effect.scoped, NodeRuntime.runMain)
