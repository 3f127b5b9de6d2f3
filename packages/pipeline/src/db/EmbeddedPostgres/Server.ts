import { Effect, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { type ServerUser, serverEnv } from "./Cluster.js"
import { type EmbeddedPostgresError, fail } from "./Error.js"
import * as Process from "./ProcessIdentity.js"

/** The postmaster of a data directory, as its `postmaster.pid` describes it. */
export interface Running {
  readonly pid: number
  readonly port: number
  /** `starting`, `ready`, `stopping` or `standby` (empty while the server writes the file). */
  readonly status: string
}

/** Where the server writes its log: a file, so it never depends on a pipe to the process that started it. */
export const logFile = (dataDir: string) => path.join(dataDir, "server.log")

const pollServer = Schedule.spaced("50 millis")

const freePort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const server = net.createServer()
  server.once("error", (e) => resume(Effect.fail(fail(`No free port: ${e.message}`))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const readPidFile = (dataDir: string) =>
  Effect.promise(async (): Promise<Running | undefined> => {
    const text = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined)
    if (text === undefined) return undefined
    const lines = text.split("\n")
    return { pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? "").trim() }
  })

/** The live postmaster of the data directory, if any (after a reboot its pid may be another program's). */
export const running = (dataDir: string) =>
  Effect.gen(function* () {
    const server = yield* readPidFile(dataDir)
    if (server === undefined || !(yield* Process.isAlive({ pid: server.pid }))) return undefined
    const command = yield* Effect.promise(() => fs.readFile(`/proc/${server.pid}/comm`, "utf8").catch(() => "postgres"))
    return command.trim() === "postgres" ? server : undefined
  })

/** A running server once it accepts connections, or none once a stopping one has gone. */
export const settled = (dataDir: string) =>
  running(dataDir).pipe(
    Effect.filterOrFail((server) => server === undefined || server.status === "ready", () => "settling"),
    Effect.retry(pollServer.pipe(Schedule.upTo("60 seconds"))),
    Effect.catchAll(() => Effect.fail(fail(`The PostgreSQL server in ${dataDir} neither became ready nor stopped within 60 s`)))
  )

/** Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit), SIGKILL after 10 s. */
export const stop = (dataDir: string) =>
  Effect.gen(function* () {
    const server = yield* running(dataDir)
    if (server === undefined) return
    const stopped = yield* Process.terminate(yield* Process.identify(server.pid), "SIGINT", "10 seconds")
    if (!stopped) yield* Effect.logWarning(`PostgreSQL (pid ${server.pid}) in ${dataDir} did not stop`)
  }).pipe(Effect.withSpan("EmbeddedPostgres.stop"))

const logTail = (dataDir: string) =>
  Effect.promise(async () => {
    const text = await fs.readFile(logFile(dataDir), "utf8").catch(() => "")
    return text.slice(-4000)
  })

/** Opens a fresh log (keeping the previous one as `server.log.1`), owned by the server's user. */
const openLog = (dataDir: string, user: ServerUser | undefined) =>
  Effect.tryPromise({
    try: async () => {
      await fs.rename(logFile(dataDir), `${logFile(dataDir)}.1`).catch(() => undefined)
      const handle = await fs.open(logFile(dataDir), "w", 0o600)
      if (user) await handle.chown(user.uid, user.gid)
      return handle
    },
    catch: (cause) => fail(`Cannot open ${logFile(dataDir)}: ${String(cause)}`)
  })

/** How the child ended, once it did; recorded from the spawn on, so an early exit is not missed. */
const watchEnd = (child: ChildProcess) => {
  const end: { how?: string } = {}
  child.once("exit", (code, signal) => (end.how = `exited (${signal ?? `code ${code}`})`))
  child.once("error", (e) => (end.how = `cannot be started: ${e.message}`))
  return end
}

/**
 * Polls until `postmaster.pid` names the child and says "ready". A poll, not a race: this runs
 * in the uninterruptible acquisition of a lease, where the loser of a race could not be stopped.
 */
const ready = (dataDir: string, pid: number, end: { readonly how?: string }) =>
  Effect.suspend(() =>
    end.how === undefined
      ? readPidFile(dataDir)
      : Effect.flatMap(logTail(dataDir), (log) => Effect.fail(fail(`PostgreSQL ${end.how} on start:\n${log}`)))
  ).pipe(
    Effect.filterOrFail((server) => server?.pid === pid && server.status === "ready", () => "starting" as const),
    Effect.retry({ schedule: pollServer.pipe(Schedule.upTo("60 seconds")), while: (e) => e === "starting" }),
    Effect.catchIf(
      (e) => e === "starting",
      () => Effect.fail(fail(`PostgreSQL did not start within 60 s; see ${logFile(dataDir)}`))
    ),
    Effect.asVoid
  )

/**
 * Starts the postmaster on a free loopback port and waits until `postmaster.pid` says "ready".
 * It runs in its own process group (a terminal's Ctrl-C reaches workcat, not the server), logs to
 * a file and is not waited for, so it outlives the process that started it: whoever holds the
 * last lease stops it.
 */
export const spawnServer = (
  dataDir: string,
  postgres: string,
  user: ServerUser | undefined,
  settings: Readonly<Record<string, string>>
) =>
  Effect.gen(function* () {
    const port = yield* freePort
    const flags = Object.entries({
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      logging_collector: "off",
      log_destination: "stderr",
      ...settings
    }).flatMap(([k, v]) => ["-c", `${k}=${v}`])
    const log = yield* openLog(dataDir, user)
    const { child, end } = yield* Effect.try({
      try: () => {
        const child = spawn(postgres, ["-D", dataDir, "-p", String(port), ...flags], {
          ...(user ?? {}),
          detached: true,
          stdio: ["ignore", log.fd, log.fd],
          env: serverEnv
        })
        return { child, end: watchEnd(child) }
      },
      catch: (cause) => fail(`Cannot start PostgreSQL: ${String(cause)}`)
    }).pipe(Effect.ensuring(Effect.promise(() => log.close())))
    child.unref()
    const pid = child.pid ?? 0
    yield* ready(dataDir, pid, end).pipe(Effect.onError(() => Process.terminate({ pid }, "SIGINT", "5 seconds")))
    return { port, pid }
  })
