import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { accepts, type Holder, holder, isRunning, portOf, postmasterPid, send } from "./support/Holders.js"

/** Every cluster made here, so no server outlives the file even when a test fails midway. */
const dirs: Array<string> = []

const freshDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "workcat-ep-"))
  chmodSync(dir, 0o755) // the server runs as the postgres user when we are root
  dirs.push(dir)
  return join(dir, "pg")
}

afterAll(() => {
  for (const dir of dirs) {
    const pid = postmasterPid(join(dir, "pg"))
    if (pid !== undefined && isRunning(pid)) process.kill(pid, "SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  }
})

const query = (h: Holder) => send(h, "query").pipe(Effect.zipRight(h.next))

const leave = (h: Holder) => send(h, "exit").pipe(Effect.zipRight(h.exited))

/** The server is gone: nothing listens on its port, its pid file is removed, its process ended. */
const expectStopped = (dataDir: string, port: number, pid: number) =>
  Effect.gen(function* () {
    expect(yield* accepts(port)).toBe(false)
    expect(postmasterPid(dataDir)).toBeUndefined()
    expect(isRunning(pid)).toBe(false)
  })

describe("the embedded PostgreSQL shared between workcat processes", () => {
  it.scopedLive("stays up for a process that joined it when the one that started it exits, and stops after the last", () =>
    Effect.gen(function* () {
      const dataDir = freshDataDir()
      const a = yield* holder(dataDir)
      const started = yield* a.next
      expect(started.owned).toBe(true)
      const b = yield* holder(dataDir)
      const joined = yield* b.next
      expect(joined).toMatchObject({ owned: false, adopted: false, url: started.url })
      const pid = postmasterPid(dataDir)!

      yield* leave(a)
      expect(a.child.exitCode).toBe(0)
      expect(yield* query(b)).toEqual({ one: 1 })
      expect(isRunning(pid)).toBe(true)

      yield* leave(b)
      expect(b.child.exitCode).toBe(0)
      yield* expectStopped(dataDir, portOf(started.url), pid)
    }))

  it.scopedLive("keeps running when its starter is SIGKILLed; the next process adopts it and stops it when done", () =>
    Effect.gen(function* () {
      const dataDir = freshDataDir()
      const a = yield* holder(dataDir)
      const started = yield* a.next
      const pid = postmasterPid(dataDir)!
      a.child.kill("SIGKILL")
      yield* a.exited
      expect(yield* accepts(portOf(started.url))).toBe(true)

      const b = yield* holder(dataDir)
      const adopted = yield* b.next
      expect(adopted).toMatchObject({ owned: false, adopted: true, url: started.url })
      expect(yield* query(b)).toEqual({ one: 1 })

      yield* leave(b)
      yield* expectStopped(dataDir, portOf(started.url), pid)
    }))

  it.scopedLive("starts one server for two processes starting at once; SIGTERM and SIGINT release their leases", () =>
    Effect.gen(function* () {
      const dataDir = freshDataDir()
      const [a, b] = yield* Effect.all([holder(dataDir), holder(dataDir)])
      const [first, second] = yield* Effect.all([a.next, b.next], { concurrency: 2 })
      expect([first.owned, second.owned].sort()).toEqual([false, true])
      expect(second.url).toBe(first.url)
      const pid = postmasterPid(dataDir)!

      a.child.kill("SIGTERM")
      yield* a.exited
      expect(yield* query(b)).toEqual({ one: 1 })

      b.child.kill("SIGINT")
      yield* b.exited
      yield* expectStopped(dataDir, portOf(first.url), pid)
    }))
})
