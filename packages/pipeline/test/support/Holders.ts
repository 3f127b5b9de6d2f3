import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { createInterface } from "node:readline"

/** A separate process using the embedded PostgreSQL (see `embeddedHolder.ts`), driven over stdio. */
export interface Holder {
  readonly child: ChildProcess
  /** The next line it prints, as JSON; fails if it exits first or stays silent for 30 s. */
  readonly next: Effect.Effect<Record<string, unknown>, Error>
  readonly exited: Effect.Effect<void>
}

const track = (child: ChildProcess): Holder => {
  const lines: Array<string> = []
  const waiters = new Set<() => void>()
  const wake = () => waiters.forEach((w) => w())
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line)
    wake()
  })
  let ended = child.exitCode !== null || child.signalCode !== null
  child.once("exit", () => {
    ended = true
    wake()
  })
  const waitFor = <A>(ready: () => A | undefined) =>
    Effect.async<A>((resume) => {
      const check = () => {
        const value = ready()
        if (value === undefined) return
        waiters.delete(check)
        resume(Effect.succeed(value))
      }
      waiters.add(check)
      check()
      return Effect.sync(() => waiters.delete(check))
    })
  return {
    child,
    next: waitFor(() => (lines.length > 0 ? { line: lines.shift()! } : ended ? { line: undefined } : undefined)).pipe(
      Effect.flatMap(({ line }) =>
        line === undefined
          ? Effect.fail(new Error(`process ${child.pid} exited (${child.exitCode ?? child.signalCode}) without a line`))
          : Effect.try({ try: () => JSON.parse(line) as Record<string, unknown>, catch: () => new Error(`not JSON: ${line}`) })
      ),
      Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`process ${child.pid} printed nothing for 30 s`) })
    ),
    exited: waitFor(() => (ended ? true : undefined)).pipe(Effect.asVoid)
  }
}

/** Starts a holder on `dataDir`; killed (SIGKILL) when the scope closes if it still runs. */
export const holder = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      track(
        spawn(process.execPath, ["--conditions=workcat-source", "--import", "tsx", "packages/pipeline/test/support/embeddedHolder.ts", dataDir], {
          stdio: ["pipe", "pipe", "inherit"]
        })
      )
    ),
    (h) => (h.child.exitCode === null && h.child.signalCode === null ? Effect.sync(() => h.child.kill("SIGKILL")).pipe(Effect.zipRight(h.exited)) : Effect.void)
  )

export const send = (h: Holder, command: "query" | "exit") => Effect.sync(() => h.child.stdin!.write(`${command}\n`))

/** Whether something accepts TCP connections on the loopback port. */
export const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

export const portOf = (url: unknown) => Number(new URL(String(url)).port)

/** The pid in the cluster's `postmaster.pid`, if the file exists. */
export const postmasterPid = (dataDir: string) => {
  const file = join(dataDir, "postmaster.pid")
  return existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : undefined
}

/** Whether the process runs (a zombie, exited but not yet reaped by its new parent, does not). */
export const isRunning = (pid: number) => {
  const stat = join("/proc", String(pid), "stat")
  if (!existsSync(stat)) return false
  const state = readFileSync(stat, "utf8").split(") ").at(-1)?.[0]
  return state !== "Z" && state !== "X"
}
