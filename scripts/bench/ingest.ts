/**
 * `npm run bench:ingest -- [--events 2000000] [--users 3000] [--apps 100] [--days 60] [--keep]`
 *
 * End-to-end SSO event ingest against its ceiling, one plain COPY of the same rows, on the same
 * PostgreSQL server (a fresh embedded cluster, or DATABASE_URL):
 * 1. Generates N Okta System Log events (~900 bytes each, shaped like the synthetic generator's:
 *    ~88% `user.authentication.sso` into one of `--apps` AppInstances, the rest session starts
 *    and MFA, 0.5% failed; `--users` users, each with their own apps and a session a day; unique
 *    uuids; in time order over the `--days` days before today) into a temp NDJSON file. Not timed.
 * 2. Ingest: the real CLI in a child process, `workcat ingest --tenant T --json FILE`. Events/s
 *    are the records of its summary over its `seconds` (first file opened to last batch
 *    committed: process start-up and migrations excluded); peak RSS is the CLI process's own.
 * 3. COPY ceiling: the rows as stored (the normalized columns of `sso_events`) are exported to a
 *    file (not timed), then `COPY ... FROM STDIN` (text format) streams it, from this process,
 *    into an empty table with the same columns, defaults and primary key. Timed: that one COPY.
 * Targets: at least 50,000 events/s, peak RSS under 512 MiB, ingest at least half of COPY.
 * On Linux it also reports the CPU seconds of the CLI process and of the local postgres
 * processes in each phase, which shows what bounds the ingest on a 2-core machine.
 */
import { Command, Options } from "@effect/cli"
import * as Shell from "@effect/platform/Command"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { DefaultAppCatalog } from "@workcat/core"
import { BaseLive, CliOutput } from "@workcat/pipeline"
import { TenantId, TenantRegistry, tenantSchema } from "@workcat/tenancy"
import { Config, Console, Data, Effect, Layer, Schema, Stream } from "effect"
import { once } from "node:events"
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join } from "node:path"
import { finished, pipeline } from "node:stream/promises"
import { fileURLToPath } from "node:url"
import Pg from "pg"
import { from as copyFrom, to as copyTo } from "pg-copy-streams"
import { benchDatabase } from "./Database.js"

const CLI = fileURLToPath(new URL("../../packages/server/bin/workcat.mjs", import.meta.url))
const COLUMNS = "provider, event_id, event_type, occurred_at, user_id, app, app_name, outcome, auth_steps, session_id, country"
const TARGET = { eventsPerSecond: 50_000, peakRssMiB: 512, ofCopy: 0.5 }
const DAY_MS = 86_400_000
const MiB = 1024 * 1024

/** The benchmark cannot give a meaningful figure (bad options, or an ingest that did not store every event). */
class BenchFailed extends Data.TaggedError("BenchFailed")<{ readonly message: string }> {}

// ---- The events: a seeded PRNG (mulberry32), so every run ingests the same file. ----

const makeRandom = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
  const token = (length: number) => {
    let s = ""
    for (let i = 0; i < length; i++) s += ALPHABET[int(62)]
    return s
  }
  const hex = (length: number) => int(2 ** 32).toString(16).padStart(8, "0").slice(0, length)
  return { next, int, token, hex, pick: <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)]! }
}

const FIRST = ["Anna", "Ben", "Chloe", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Mia", "Noah", "Olga", "Pablo"]
const LAST = ["Schmidt", "Okafor", "Martin", "Kowalski", "Rossi", "Nguyen", "Silva", "Jensen", "Yilmaz", "Brown", "Tanaka", "Dubois"]
const PLACES = [
  { city: "Berlin", country: "Germany", ip: "203.0.113." },
  { city: "London", country: "United Kingdom", ip: "192.0.2." },
  { city: "New York", country: "United States", ip: "100.64.12." },
  { city: "Lisbon", country: "Portugal", ip: "100.64.56." }
]
const AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
]

interface Shape {
  readonly events: number
  readonly users: number
  readonly apps: number
  readonly days: number
}

/** Writes `events` Okta LogEvents as NDJSON, 1 MiB at a time (never all in memory); returns the bytes written. */
const writeEvents = async (file: string, shape: Shape) => {
  const random = makeRandom(20_260_101)
  const domain = "bench.example.com"
  const apps = Array.from({ length: shape.apps }, (_, i) => ({
    id: `0oa${random.token(17)}`,
    name: DefaultAppCatalog.apps[i]?.name ?? `Internal Tool ${i + 1}`
  }))
  const users = Array.from({ length: shape.users }, (_, i) => {
    const [first, last] = [random.pick(FIRST), random.pick(LAST)]
    // Popular apps are popular with everyone: indices skewed towards the start of the list.
    const own = Array.from({ length: 8 + random.int(13) }, () => apps[Math.floor(shape.apps * random.next() ** 2)]!)
    const place = random.pick(PLACES)
    return {
      oktaId: `00u${random.token(17)}`,
      login: `${first}.${last}${i}@${domain}`.toLowerCase(),
      name: `${first} ${last}`,
      agent: random.pick(AGENTS),
      ip: `${place.ip}${1 + random.int(254)}`,
      place,
      apps: own,
      session: { day: -1, id: "" }
    }
  })
  const end = Math.floor(Date.now() / DAY_MS) * DAY_MS
  const start = end - shape.days * DAY_MS
  const slot = (end - start) / shape.events
  const out = createWriteStream(file)
  let chunk = ""
  let bytes = 0
  const flush = async () => {
    bytes += Buffer.byteLength(chunk)
    if (!out.write(chunk)) await once(out, "drain")
    chunk = ""
  }
  for (let i = 0; i < shape.events; i++) {
    const at = start + (i + random.next()) * slot
    const user = random.pick(users)
    const day = Math.floor(at / DAY_MS)
    if (user.session.day !== day) user.session = { day, id: `102${random.token(22)}` }
    const kind = random.next()
    const eventType = kind < 0.08 ? "user.session.start" : kind < 0.12 ? "user.authentication.auth_via_mfa" : "user.authentication.sso"
    const app = eventType === "user.authentication.sso" ? random.pick(user.apps) : undefined
    const failed = random.next() < 0.005
    const event = {
      uuid: `${random.hex(8)}-${random.hex(4)}-4${random.hex(3)}-${"89ab"[random.int(4)]}${random.hex(3)}-${i.toString(16).padStart(12, "0")}`,
      published: new Date(at).toISOString(),
      eventType,
      version: "0",
      severity: failed ? "WARN" : "INFO",
      displayMessage: app === undefined ? "User login to Okta" : "User single sign on to app",
      actor: { id: user.oktaId, type: "User", alternateId: user.login, displayName: user.name },
      client: {
        userAgent: { rawUserAgent: user.agent },
        ipAddress: user.ip,
        geographicalContext: { city: user.place.city, country: user.place.country }
      },
      authenticationContext: {
        authenticationStep: eventType === "user.authentication.auth_via_mfa" || random.next() < 0.2 ? 2 : 1,
        externalSessionId: user.session.id
      },
      outcome: { result: failed ? "FAILURE" : "SUCCESS", reason: failed ? "INVALID_CREDENTIALS" : null },
      target:
        app === undefined
          ? null
          : [
              { id: app.id, type: "AppInstance", alternateId: app.name, displayName: app.name },
              { id: `0ua${user.oktaId.slice(3)}`, type: "AppUser", alternateId: user.login, displayName: user.name }
            ]
    }
    chunk += JSON.stringify(event) + "\n"
    if (chunk.length >= MiB) await flush()
  }
  await flush()
  out.end()
  await finished(out)
  return bytes
}

// ---- CPU accounting from /proc (Linux; USER_HZ is 100 there). ----

const TICK = 100
const statOf = (pid: number | "self") => {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  const n = (i: number) => Number(fields[i])
  return { ppid: n(1), own: (n(11) + n(12)) / TICK, children: (n(13) + n(14)) / TICK }
}

/**
 * CPU seconds so far: of this process, of its exited children (the CLI, once reaped), and of the
 * benchmark's PostgreSQL server (the postmaster, its live processes, and its exited backends;
 * other servers on the machine are not counted). `postmaster` is null when the server is not local.
 */
const cpuNow = (postmaster: number | null) => {
  if (!existsSync("/proc/self/stat")) return null
  let postgres: number | null = null
  if (postmaster !== null) {
    const root = statOf(postmaster)
    postgres = root.own + root.children
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue
      try {
        const s = statOf(Number(pid))
        if (s.ppid === postmaster) postgres += s.own + s.children
      } catch {
        // exited meanwhile: its time is now in the postmaster's children
      }
    }
  }
  const self = process.cpuUsage()
  return { self: (self.user + self.system) / 1e6, children: statOf("self").children, postgres, machine: machineBusy() }
}

/** Busy CPU seconds of the whole machine, all cores (`/proc/stat`: user, nice, system, irq, softirq). */
const machineBusy = () => {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number)
  return ticks.slice(0, 7).reduce((a, b) => a + b, 0) / TICK - (ticks[3]! + ticks[4]!) / TICK
}
type Cpu = ReturnType<typeof cpuNow>
const cpuSince = (postmaster: number | null, before: Cpu) => {
  const after = cpuNow(postmaster)
  if (before === null || after === null) return null
  const postgres = before.postgres === null || after.postgres === null ? null : after.postgres - before.postgres
  const self = after.self - before.self
  const children = after.children - before.children
  // What else ran meanwhile (other people's tests, builds): figures taken with this high are not comparable.
  const others = postgres === null ? null : Math.max(0, after.machine - before.machine - self - children - postgres)
  return { self, children, postgres, others }
}

/** The pid of the server's postmaster, if it runs on this machine (the parent of our backend). */
const findPostmaster = (url: string) =>
  withClient(url, async (c) => {
    const backend = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid
    try {
      const parent = statOf(backend).ppid
      return readFileSync(`/proc/${parent}/comm`, "utf8").trim() === "postgres" ? parent : null
    } catch {
      return null
    }
  })

// ---- The two measurements. ----

const IngestSummary = Schema.Struct({
  total: Schema.Struct({ accepted: Schema.Number, duplicates: Schema.Number, rejected: Schema.Number }),
  seconds: Schema.Number,
  peakRssBytes: Schema.Number
})

/** `workcat ingest --json` in a child process; its summary, and the child's wall time. */
const runIngest = (tenant: TenantId, file: string, env: Record<string, string>) =>
  Effect.gen(function* () {
    const started = performance.now()
    const child = yield* Shell.make("node", CLI, "ingest", "--tenant", tenant, "--json", file).pipe(Shell.env(env), Shell.stderr("inherit"), Shell.start)
    const [stdout, exitCode] = yield* Effect.all([child.stdout.pipe(Stream.decodeText(), Stream.mkString), child.exitCode], { concurrency: 2 })
    const wallSeconds = (performance.now() - started) / 1000
    if (exitCode !== 0) return yield* new BenchFailed({ message: `workcat ingest exited with ${exitCode}:\n${stdout}` })
    // The summary is the last pretty-printed JSON object; log lines may come before it.
    const at = stdout.startsWith("{\n") ? 0 : stdout.lastIndexOf("\n{\n") + 1
    const summary = yield* Schema.decode(Schema.parseJson(IngestSummary))(stdout.slice(at)).pipe(Effect.orDie)
    return { ...summary, wallSeconds }
  }).pipe(Effect.scoped)

const withClient = <A>(url: string, use: (client: Pg.Client) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const client = new Pg.Client({ connectionString: url })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => use(client)),
    (client) => Effect.promise(() => client.end())
  )

/** A checkpoint before each timed phase, so neither pays for the other's dirty pages (needs a superuser; skipped otherwise). */
const checkpoint = (url: string) => withClient(url, (c) => c.query("CHECKPOINT").then(() => undefined, () => undefined))

/** Exports the tenant's stored rows (not timed), then times one COPY of them into an empty twin of `sso_events`. */
const copyCeiling = (url: string, tenant: TenantId, twin: string, file: string, postmaster: number | null) =>
  withClient(url, async (client) => {
    const exported = client.query(copyTo(`COPY (SELECT ${COLUMNS} FROM ${tenantSchema(tenant)}.sso_events) TO STDOUT`))
    await pipeline(exported, createWriteStream(file))
    await client.query(`DROP TABLE IF EXISTS ${twin}`)
    await client.query(`CREATE TABLE ${twin} (LIKE ${tenantSchema(tenant)}.sso_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`)
    await client.query("CHECKPOINT").catch(() => undefined)
    const cpu = cpuNow(postmaster)
    const started = performance.now()
    const load = client.query(copyFrom(`COPY ${twin} (${COLUMNS}) FROM STDIN`))
    await pipeline(createReadStream(file, { highWaterMark: MiB }), load)
    const seconds = (performance.now() - started) / 1000
    return { exported: exported.rowCount, rows: load.rowCount, seconds, bytes: statSync(file).size, cpu: cpuSince(postmaster, cpu) }
  })

// ---- The report. ----

const int = (n: number) => Math.round(n).toLocaleString("en-US")
const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL")
const share = (cpuSeconds: number | null, seconds: number) =>
  cpuSeconds === null ? "not local" : `${cpuSeconds.toFixed(1)} s (${((100 * cpuSeconds) / seconds).toFixed(0)}% of a core)`

const positive = (name: string, fallback: number, description: string) =>
  Options.integer(name).pipe(Options.withSchema(Schema.Int.pipe(Schema.positive())), Options.withDefault(fallback), Options.withDescription(description))

const bench = Command.make(
  "bench-ingest",
  {
    events: positive("events", 2_000_000, "Okta events to generate and ingest"),
    users: positive("users", 3_000, "distinct users"),
    apps: positive("apps", 100, "distinct apps (the app catalog's first ones)"),
    days: positive("days", 60, "the days before today the events spread over (within the default retention of 730)"),
    keep: Options.boolean("keep").pipe(Options.withDescription("Keep the temp files, the tenant, the COPY table and the embedded cluster"))
  },
  (args) =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "workcat-bench-ingest-"))
      let clusterDir: string | null = null
      // Added before the database: finalizers run last-in first-out, so this runs once the server stopped.
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (args.keep) return
          rmSync(dir, { recursive: true, force: true })
          if (clusterDir !== null) rmSync(clusterDir, { recursive: true, force: true })
        })
      )
      const { config, label, url } = yield* benchDatabase
      const masterKey = yield* Config.string("WORKCAT_MASTER_KEY").pipe(Effect.provide(config))
      const tenant = TenantId.make(`bench_ingest_${Date.now().toString(36)}`)
      const twin = `public.${tenant}_copy`
      yield* Effect.flatMap(TenantRegistry, (r) => r.create(tenant)).pipe(Effect.provide(BaseLive.pipe(Layer.provide(config))))
      if (label !== "DATABASE_URL") {
        const data = yield* withClient(url, (c) => c.query<{ data_directory: string }>("SHOW data_directory"))
        const parent = dirname(data.rows[0]!.data_directory)
        if (/^workcat-(bench|pg)-/.test(basename(parent))) clusterDir = parent
      }
      yield* Console.log(`events ${int(args.events)}, users ${int(args.users)}, apps ${args.apps}, days ${args.days}; tenant ${tenant}; PostgreSQL ${label}`)

      const file = join(dir, "events.ndjson")
      const started = performance.now()
      const bytes = yield* Effect.promise(() => writeEvents(file, args))
      const generation = (performance.now() - started) / 1000
      yield* Console.log(
        `generated ${file}: ${(bytes / MiB).toFixed(0)} MiB, ${int(bytes / args.events)} bytes/event, in ${generation.toFixed(1)} s (not measured)`
      )

      yield* checkpoint(url)
      yield* Console.log(`ingesting: node ${CLI} ingest --tenant ${tenant} --json ${file}`)
      const postmaster = yield* findPostmaster(url)
      const cpu = cpuNow(postmaster)
      const ingest = yield* runIngest(tenant, file, { DATABASE_URL: url, WORKCAT_MASTER_KEY: masterKey })
      const ingestCpu = cpuSince(postmaster, cpu)
      const { accepted, duplicates, rejected } = ingest.total
      const records = accepted + duplicates + rejected
      if (records !== args.events) return yield* new BenchFailed({ message: `the CLI counted ${records} records, not ${args.events}` })
      if (accepted !== args.events) {
        const reasons = yield* withClient(url, (c) =>
          c.query<{ reason: string; n: string }>(`SELECT reason, count(*) AS n FROM ${tenantSchema(tenant)}.dead_letters GROUP BY reason ORDER BY n DESC LIMIT 5`)
        )
        return yield* new BenchFailed({
          message: `every generated event should be accepted; ${int(duplicates)} duplicates, ${int(rejected)} rejected:\n${reasons.rows.map((r) => `  ${r.n} x ${r.reason}`).join("\n")}`
        })
      }
      const eventsPerSecond = records / ingest.seconds
      const rssMiB = ingest.peakRssBytes / MiB

      yield* Console.log("COPY ceiling: exporting the stored rows (not measured), then one COPY FROM STDIN into an empty twin …")
      const copy = yield* copyCeiling(url, tenant, twin, join(dir, "rows.copy"), postmaster)
      if (copy.rows !== copy.exported || copy.exported !== accepted) {
        return yield* new BenchFailed({ message: `COPY loaded ${copy.rows} of ${copy.exported} exported rows; the ingest accepted ${accepted}` })
      }
      const copyPerSecond = copy.rows / copy.seconds
      const ratio = eventsPerSecond / copyPerSecond

      if (!args.keep) {
        yield* withClient(url, (c) => c.query(`DROP TABLE IF EXISTS ${twin}`))
        yield* Effect.flatMap(TenantRegistry, (r) => r.remove(tenant)).pipe(Effect.provide(BaseLive.pipe(Layer.provide(config))))
      } else yield* Console.log(`kept: ${dir}, tenant ${tenant}, table ${twin}${clusterDir === null ? "" : `, cluster ${clusterDir} (stopped)`}`)

      const row = (what: string, figure: string, target = "", ok?: boolean) =>
        `${what.padEnd(34)} ${figure.padEnd(36)} ${target.padEnd(20)} ${ok === undefined ? "" : verdict(ok)}`
      yield* Console.log(
        [
          "",
          row("measurement", "result", "target"),
          row(
            "ingest, workcat CLI",
            `${int(eventsPerSecond)} events/s (${ingest.seconds} s)`,
            `>= ${int(TARGET.eventsPerSecond)} events/s`,
            eventsPerSecond >= TARGET.eventsPerSecond
          ),
          row("  counts", `${int(accepted)} accepted, ${int(duplicates)} dup, ${int(rejected)} rejected`),
          row("  child wall time (with start-up)", `${ingest.wallSeconds.toFixed(1)} s`),
          row("peak RSS of the CLI", `${rssMiB.toFixed(0)} MiB`, `< ${TARGET.peakRssMiB} MiB`, rssMiB < TARGET.peakRssMiB),
          row("COPY ceiling, same rows", `${int(copyPerSecond)} rows/s (${copy.seconds.toFixed(1)} s, ${(copy.bytes / MiB).toFixed(0)} MiB)`),
          row("ingest / COPY", ratio.toFixed(2), `>= ${TARGET.ofCopy}`, ratio >= TARGET.ofCopy),
          ...(ingestCpu === null
            ? []
            : [`CPU, ingest child (${ingest.wallSeconds.toFixed(1)} s): CLI process ${share(ingestCpu.children, ingest.wallSeconds)}, postgres ${share(ingestCpu.postgres, ingest.wallSeconds)}, other processes ${share(ingestCpu.others, ingest.wallSeconds)}`]),
          ...(copy.cpu === null
            ? []
            : [`CPU, COPY (${copy.seconds.toFixed(1)} s): this process ${share(copy.cpu.self, copy.seconds)}, postgres ${share(copy.cpu.postgres, copy.seconds)}, other processes ${share(copy.cpu.others, copy.seconds)}`]),
          "",
          "For README.md, Benchmarks (\"SSO event ingest\"):",
          "| input | ingest, events/s | peak RSS | COPY ceiling, rows/s | ingest / COPY |",
          "| --- | --- | --- | --- | --- |",
          `| ${int(args.events)} Okta events, ${(bytes / MiB).toFixed(0)} MiB NDJSON | ${int(eventsPerSecond)} events/s | ${rssMiB.toFixed(0)} MiB | ${int(copyPerSecond)} rows/s | ${ratio.toFixed(2)} |`
        ].join("\n")
      )
    }).pipe(Effect.scoped)
)

Command.run(bench, { name: "bench-ingest", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
