import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fail } from "./Error.js"
import * as Process from "./ProcessIdentity.js"

/**
 * Who uses the server of a data directory: one file per user (a scope of a workcat process) in
 * `<dataDir>.leases/`, named `<pid>-<nonce>` and holding the process identity. Leases are added
 * and removed under the start lock only, so "no live lease left" is decided by one process.
 */
export const directory = (dataDir: string) => `${dataDir}.leases`

export const add = (dataDir: string) =>
  Effect.gen(function* () {
    const me = yield* Process.self
    const file = path.join(directory(dataDir), `${me.pid}-${randomBytes(4).toString("hex")}`)
    yield* Effect.tryPromise({
      try: async () => {
        await fs.mkdir(directory(dataDir), { recursive: true, mode: 0o755 })
        await fs.writeFile(file, JSON.stringify(me), { mode: 0o644 })
      },
      catch: (cause) => fail(`Cannot record the lease ${file}: ${String(cause)}`)
    })
    return file
  })

export const remove = (file: string) => Effect.promise(() => fs.rm(file, { force: true }))

const holder = (dir: string, name: string) =>
  Effect.promise(async () => {
    const text = await fs.readFile(path.join(dir, name), "utf8").catch(() => "")
    // A process killed while writing its lease leaves it empty: its pid is in the name.
    return Process.parse(text) ?? { pid: Number(name.split("-")[0]) }
  })

/** The processes holding a lease; leases of dead processes (or of reused pids) are removed. */
export const live = (dataDir: string) =>
  Effect.gen(function* () {
    const dir = directory(dataDir)
    const names = yield* Effect.promise(() => fs.readdir(dir).catch(() => [] as Array<string>))
    const holders = yield* Effect.forEach(
      names,
      (name) =>
        Effect.gen(function* () {
          const identity = yield* holder(dir, name)
          if (yield* Process.isAlive(identity)) return [identity]
          yield* remove(path.join(dir, name))
          return []
        }),
      { concurrency: 8 }
    )
    return holders.flat()
  })
