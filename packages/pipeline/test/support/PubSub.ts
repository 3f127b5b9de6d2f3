import { PubSub } from "@google-cloud/pubsub"
import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createConnection, createServer, type AddressInfo } from "node:net"
import { delimiter, join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { startPubSubFake } from "./PubSubFake.js"

/**
 * A Pub/Sub server for tests: the official emulator where `gcloud` is installed, else the gRPC
 * fake of PubSubFake.ts. Product code reaches it with the real `@google-cloud/pubsub` client,
 * through `PUBSUB_EMULATOR_HOST=host` or `pubsubClient(server)`.
 */
export interface PubSubServer {
  /** `127.0.0.1:PORT`, the value for `PUBSUB_EMULATOR_HOST`. */
  readonly host: string
  readonly kind: "emulator" | "fake"
  /** Any id works with either server; resource names must use this one to be found again. */
  readonly projectId: string
  /** Ends the server (the emulator's whole process group); the port refuses afterwards. */
  stop(): Promise<void>
}

export interface StartPubSubOptions {
  /**
   * Without it: the emulator, or the fake (saying so on stderr) when `gcloud` is missing.
   * "emulator" fails instead of falling back. Env `WORKCAT_PUBSUB=fake` picks the fake regardless.
   */
  readonly prefer?: "emulator" | "fake"
  readonly projectId?: string
}

const STARTUP_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 3_000

/**
 * A client for `server`, talking plaintext without credentials and without touching
 * `process.env`. `apiEndpoint` is what `PUBSUB_EMULATOR_HOST` amounts to in the client, and
 * `emulatorMode: true` gives it insecure channel credentials (needed here: with `universeDomain`
 * set, the client would otherwise take the endpoint for a real one and look for ADC).
 * `projectId` spares it a project lookup, and `universeDomain` spares google-gax the metadata
 * server probe it makes before every channel (that probe is what `METADATA_SERVER_DETECTION=none`
 * turns off for code configured through `PUBSUB_EMULATOR_HOST` alone).
 */
export const pubsubClient = (server: PubSubServer): PubSub =>
  new PubSub({ projectId: server.projectId, apiEndpoint: server.host, emulatorMode: true, universeDomain: "googleapis.com" })

/** Starts a Pub/Sub server on a free loopback port; see `PubSubServer`. */
export const startPubSub = async (options: StartPubSubOptions = {}): Promise<PubSubServer> => {
  const projectId = options.projectId ?? "workcat-test"
  const gcloud = onPath("gcloud")
  const forced = process.env.WORKCAT_PUBSUB === "fake"
  if (options.prefer === "emulator" && gcloud === undefined && !forced) {
    throw new Error(
      "The Pub/Sub emulator was asked for, but `gcloud` is not on PATH: install the Google Cloud SDK and its " +
        "pubsub-emulator component (Java 17), or set WORKCAT_PUBSUB=fake to run against the in-memory fake"
    )
  }
  if (options.prefer === "fake" || forced || gcloud === undefined) {
    const why = options.prefer === "fake" ? "the test asked for it" : forced ? "WORKCAT_PUBSUB=fake" : "`gcloud` is not on PATH"
    process.stderr.write(`[pubsub] using the in-memory gRPC fake instead of the official emulator: ${why}\n`)
    const fake = await startPubSubFake()
    return { ...fake, kind: "fake", projectId }
  }
  return startEmulator(gcloud, projectId)
}

/** Whether the official emulator can run here (`gcloud` on PATH, and not overridden by WORKCAT_PUBSUB=fake). */
export const emulatorAvailable = () => onPath("gcloud") !== undefined && process.env.WORKCAT_PUBSUB !== "fake"

const onPath = (command: string): string | undefined =>
  (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, command))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK)
        return true
      } catch {
        return false
      }
    })

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

/** Whether any process of the group still exists. */
const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const signalGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // already gone
  }
}

/** Emulator process groups still running, killed if the test process ends without stopping them. */
const running = new Set<number>()
let hooked = false
const killRunningOnExit = () => {
  if (hooked) return
  hooked = true
  const killAll = () => running.forEach((pgid) => signalGroup(pgid, "SIGKILL"))
  process.on("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll()
      // Keep the signal's usual effect unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}

const startEmulator = async (gcloud: string, projectId: string): Promise<PubSubServer> => {
  const port = await freePort()
  // Its own process group: gcloud (Python) starts the Java server as a child, which outlives a
  // signal sent to gcloud alone.
  const child: ChildProcess = spawn(gcloud, ["beta", "emulators", "pubsub", "start", `--host-port=127.0.0.1:${port}`, `--project=${projectId}`], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  const pgid = child.pid
  if (pgid === undefined) throw new Error(`Could not start ${gcloud}`)
  running.add(pgid)
  killRunningOnExit()

  let tail = ""
  const keep = (chunk: Buffer) => void (tail = (tail + chunk.toString()).slice(-4000))
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  let exited: string | undefined
  child.once("exit", (code, signal) => void (exited = `exited with ${signal ?? `code ${code}`}`))

  const stop = async () => {
    signalGroup(pgid, "SIGTERM")
    const grace = Date.now() + STOP_GRACE_MS
    while (groupAlive(pgid) && Date.now() < grace) await sleep(50)
    if (groupAlive(pgid)) {
      signalGroup(pgid, "SIGKILL")
      // Bounded: an orphan the container's init never reaps stays "alive" as a zombie.
      const reaped = Date.now() + 2_000
      while (groupAlive(pgid) && Date.now() < reaped) await sleep(20)
    }
    running.delete(pgid)
  }

  const giveUp = Date.now() + STARTUP_TIMEOUT_MS
  while (!(await accepts(port))) {
    if (exited !== undefined || Date.now() > giveUp) {
      await stop()
      const why = exited ?? `did not accept connections within ${STARTUP_TIMEOUT_MS / 1000} s`
      throw new Error(`The Pub/Sub emulator (gcloud beta emulators pubsub start, port ${port}) ${why}. Its output ends:\n${tail}`)
    }
    await sleep(50)
  }
  return { host: `127.0.0.1:${port}`, kind: "emulator", projectId, stop }
}
