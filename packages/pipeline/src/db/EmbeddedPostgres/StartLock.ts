import { Data, Effect, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fail } from "./Error.js"
import * as Process from "./ProcessIdentity.js"

class Held extends Data.TaggedError("Held")<{ readonly holder: Process.ProcessIdentity | undefined }> {}

/** How long a process waits for another one to start or stop the server. */
const waitForLock = Schedule.spaced("50 millis").pipe(Schedule.upTo("2 minutes"))

const readText = (file: string) => Effect.promise(() => fs.readFile(file, "utf8").catch(() => undefined))

/**
 * Creates `file` holding `content`, or returns false if it exists. The content is written to a
 * temporary file first and linked into place, so nobody ever reads a half-written lock.
 */
const createExclusive = (file: string, content: string) =>
  Effect.tryPromise({
    try: async () => {
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`
      await fs.writeFile(tmp, content)
      try {
        await fs.link(tmp, file)
        return true
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
        throw e
      } finally {
        await fs.unlink(tmp).catch(() => undefined)
      }
    },
    catch: (cause) => fail(`Cannot create ${file}: ${String(cause)}`)
  })

const isStale = (text: string) => {
  const holder = Process.parse(text)
  return holder === undefined ? Effect.succeed(true) : Effect.map(Process.isAlive(holder), (alive) => !alive)
}

/**
 * Removes a lock whose holder died. Two processes may find the same dead holder; the takeover
 * guard lets only one of them remove it, so neither removes a lock the other has just taken.
 * (A guard whose holder died within its few milliseconds is removed unguarded.)
 */
const takeOver = (lock: string, observed: string, me: string) =>
  Effect.gen(function* () {
    const guard = `${lock}.takeover`
    if (!(yield* createExclusive(guard, me))) {
      const text = yield* readText(guard)
      if (text !== undefined && (yield* isStale(text))) yield* Effect.promise(() => fs.rm(guard, { force: true }))
      return
    }
    yield* readText(lock).pipe(
      Effect.flatMap((text) => (text === observed ? Effect.promise(() => fs.rm(lock, { force: true })) : Effect.void)),
      Effect.ensuring(Effect.promise(() => fs.rm(guard, { force: true })))
    )
  })

const attempt = (lock: string, me: string) =>
  Effect.gen(function* () {
    if (yield* createExclusive(lock, me)) return
    const text = yield* readText(lock)
    if (text === undefined) return yield* new Held({ holder: undefined })
    if (!(yield* isStale(text))) return yield* new Held({ holder: Process.parse(text) })
    yield* takeOver(lock, text, me)
    return yield* new Held({ holder: undefined })
  })

/**
 * Runs `effect` while holding `<dataDir>.lock`: one process at a time starts, joins, leaves or
 * stops the server of a data directory. A lock whose holder died is taken over.
 */
export const withStartLock = <A, E, R>(dataDir: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const lock = `${dataDir}.lock`
    // The nonce tells this holder from another scope of the same process.
    const me = JSON.stringify({ ...(yield* Process.self), nonce: randomBytes(4).toString("hex") })
    const acquire = Effect.promise(() => fs.mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 })).pipe(
      Effect.zipRight(attempt(lock, me)),
      Effect.retry({ schedule: waitForLock, while: (e) => e._tag === "Held" }),
      Effect.catchTag("Held", (e) => Effect.fail(fail(`${lock} is held by process ${e.holder?.pid ?? "unknown"}`)))
    )
    // Removes the lock only while it is still ours.
    const release = readText(lock).pipe(
      Effect.flatMap((text) => (text === me ? Effect.promise(() => fs.rm(lock, { force: true })) : Effect.void))
    )
    return yield* Effect.acquireUseRelease(acquire, () => effect, () => release)
  })
