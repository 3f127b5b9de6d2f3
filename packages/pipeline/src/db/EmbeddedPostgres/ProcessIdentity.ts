import { type Duration, Effect, Schedule } from "effect"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"

/**
 * A process as recorded in a lock or lease file. A pid alone is not enough: pids are reused, so
 * a lease of a dead process could look alive. With `/proc`, the identity also holds the boot id
 * and the process's start time (clock ticks since boot), which together name one process.
 */
export interface ProcessIdentity {
  readonly pid: number
  /** `<boot id>/<start ticks>`; absent without `/proc` (then only the pid is compared). */
  readonly start?: string | undefined
}

const hasProc = existsSync("/proc/self/stat")

const bootId = hasProc
  ? fs.readFile("/proc/sys/kernel/random/boot_id", "utf8").then(
      (text) => text.trim(),
      () => ""
    )
  : Promise.resolve("")

/** State and start time from `/proc/<pid>/stat`; the command name may hold spaces and parentheses. */
const procStat = async (pid: number) => {
  const text = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined)
  if (text === undefined) return undefined
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0] ?? "", start: `${await bootId}/${fields[19] ?? ""}` }
}

const validPid = (pid: number) => Number.isInteger(pid) && pid > 0

export const identify = (pid: number): Effect.Effect<ProcessIdentity> =>
  Effect.promise(async () => ({ pid, start: (await procStat(pid))?.start }))

export const self: Effect.Effect<ProcessIdentity> = identify(process.pid)

/** Whether the process still runs: a zombie has exited, a different start time means a reused pid. */
export const isAlive = (identity: ProcessIdentity): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    if (!validPid(identity.pid)) return false
    try {
      process.kill(identity.pid, 0)
    } catch (e) {
      // EPERM: it runs, as another user (the postgres server when we are not root).
      if ((e as NodeJS.ErrnoException).code !== "EPERM") return false
    }
    if (!hasProc) return true
    const stat = await procStat(identity.pid)
    if (stat === undefined || stat.state === "Z" || stat.state === "X") return false
    return identity.start === undefined || identity.start === stat.start
  })

export const sameProcess = (a: ProcessIdentity, b: ProcessIdentity) => a.pid === b.pid && a.start === b.start

/** An identity as written by `JSON.stringify`; a bare pid is what earlier versions wrote. */
export const parse = (text: string): ProcessIdentity | undefined => {
  if (/^\d+$/.test(text.trim())) return validPid(Number(text)) ? { pid: Number(text) } : undefined
  try {
    const value = JSON.parse(text) as { pid?: unknown; start?: unknown }
    return typeof value.pid === "number" && validPid(value.pid)
      ? { pid: value.pid, start: typeof value.start === "string" ? value.start : undefined }
      : undefined
  } catch {
    return undefined
  }
}

const signal = (pid: number, name: NodeJS.Signals) =>
  Effect.sync(() => {
    try {
      process.kill(pid, name)
    } catch {
      // Gone already.
    }
  })

const goneWithin = (identity: ProcessIdentity, within: Duration.DurationInput) =>
  isAlive(identity).pipe(
    Effect.filterOrFail((alive) => !alive, () => "still running"),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo(within))),
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

/**
 * Sends `signal` and waits for the process to exit; after `grace`, SIGKILL. Signalling another
 * user's process (the postgres server) needs that user or root, which is how the server runs.
 */
export const terminate = (identity: ProcessIdentity, name: NodeJS.Signals, grace: Duration.DurationInput) =>
  Effect.gen(function* () {
    if (!(yield* isAlive(identity))) return true
    yield* signal(identity.pid, name)
    if (yield* goneWithin(identity, grace)) return true
    yield* signal(identity.pid, "SIGKILL")
    return yield* goneWithin(identity, "5 seconds")
  })
