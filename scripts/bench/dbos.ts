/**
 * The DBOS Transact half of the durable-run benchmark (`scripts/bench/runtime.ts` runs the same
 * two measurements on our own ledger and compares): DBOS 5.x (`@dbos-inc/dbos-sdk`) on the same
 * PostgreSQL server, with its system tables in a database of their own.
 *
 * 1. N two-step runs: `runs` workflows of two checkpointed steps each (step 1 returns `seed + 1`,
 *    step 2 doubles it). All are durably enqueued on a DBOS queue whose per-process concurrency
 *    (`workerConcurrency`) is `concurrency`, then awaited (`DBOS.waitAll`, then each handle's
 *    result, checked). A DBOS queue is what DBOS documents for running many workflows with bounded
 *    concurrency, and it matches our runtime, where runs are queued in the ledger and admitted up
 *    to a limit. Steps = 2 × runs.
 * 2. One run of N items: one workflow in which every item is one checkpointed step (`n * n`),
 *    run concurrently inside the workflow by `concurrency` lanes: each lane takes the next item,
 *    runs its step, and repeats, exactly as our fan-out runs one lane per unit of concurrency.
 *    Concurrent steps inside one workflow are DBOS's in-process parallel-step pattern; they stay
 *    deterministic (safe to recover) because DBOS numbers a step when it is called, before any
 *    await, and the lanes call them in item order. The other DBOS fan-out, a child workflow per
 *    item on a queue, costs a workflow per item and is not what "one step per item" measures.
 *    Steps = items.
 *
 * Every step is registered with `DBOS.registerStep`, so each is a real checkpoint (a row in the
 * system database), and every workflow with `DBOS.registerWorkflow` (no decorators).
 */
import { DBOS, type WorkflowHandle } from "@dbos-inc/dbos-sdk"
import Pg from "pg"

export interface DbosResult {
  readonly workflows: { readonly count: number; readonly seconds: number; readonly stepsPerSecond: number }
  readonly fanOut: { readonly items: number; readonly seconds: number; readonly stepsPerSecond: number }
}

/** DBOS's system database on the benchmark's server; dropped and recreated by every call. */
const SYSTEM_DATABASE = "dbos_bench_sys"
const APP_NAME = "workcat-bench"
const QUEUE = "bench_runs"
/**
 * How often the queue's dispatcher and the awaiting caller poll the system database. DBOS queues
 * are polled, by default every 1000 ms (200 runs at concurrency 8 then take ~26 s, nearly all of
 * it waiting for the next poll); our runtime admits the next queued run as soon as one finishes,
 * so DBOS gets a short interval too.
 */
const POLL_MS = 10

interface Registered {
  readonly twoStep: (seed: number) => Promise<number>
  readonly fanOut: (items: number, concurrency: number) => Promise<{ readonly count: number; readonly sum: number }>
}

let registered: Registered | undefined

/** Registers the steps and workflows once per process: a relaunch after shutdown reuses them. */
const register = (): Registered => {
  if (registered !== undefined) return registered
  const first = DBOS.registerStep(async (seed: number) => seed + 1, { name: "bench.first" })
  const second = DBOS.registerStep(async (value: number) => value * 2, { name: "bench.second" })
  const square = DBOS.registerStep(async (n: number) => n * n, { name: "bench.square" })

  const twoStep = DBOS.registerWorkflow(
    async (seed: number): Promise<number> => {
      const a = await first(seed)
      return await second(a)
    },
    { name: "bench.twoStep" }
  )

  const fanOut = DBOS.registerWorkflow(
    async (items: number, concurrency: number): Promise<{ readonly count: number; readonly sum: number }> => {
      let next = 0
      let count = 0
      let sum = 0
      // Each lane claims the next item and calls its step before any await, so steps are started
      // (and numbered by DBOS) in item order whatever order they finish in.
      const lane = async () => {
        while (next < items) {
          const item = next++
          const out = await square(item)
          count++
          sum += out
        }
      }
      // allSettled, as DBOS advises for concurrent steps: the workflow never returns or fails
      // while a step it started is still running.
      const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items) }, lane))
      for (const s of settled) if (s.status === "rejected") throw s.reason
      return { count, sum }
    },
    { name: "bench.fanOut" }
  )

  registered = { twoStep, fanOut }
  return registered
}

/** The same server as `databaseUrl`, database `name`. */
const withDatabase = (databaseUrl: string, name: string): string => {
  const url = new URL(databaseUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Drops DBOS's system database left by a previous call, so every call starts from empty tables. */
const resetSystemDatabase = async (databaseUrl: string): Promise<void> => {
  if (decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) === SYSTEM_DATABASE) {
    throw new Error(`benchDbos: the benchmark's database must not be ${SYSTEM_DATABASE}, which it drops`)
  }
  const client = new Pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query(`DROP DATABASE IF EXISTS "${SYSTEM_DATABASE}" WITH (FORCE)`)
  } finally {
    await client.end()
  }
}

const positiveInteger = (name: string, value: number) => {
  if (!Number.isInteger(value) || value < 1) throw new Error(`benchDbos: ${name} must be a positive integer, got ${value}`)
}

export async function benchDbos(options: {
  readonly databaseUrl: string
  readonly runs: number
  readonly items: number
  readonly concurrency: number
}): Promise<DbosResult> {
  const { databaseUrl, runs, items, concurrency } = options
  positiveInteger("runs", runs)
  positiveInteger("items", items)
  positiveInteger("concurrency", concurrency)
  if (DBOS.isInitialized()) throw new Error("benchDbos: DBOS is already launched in this process")

  await resetSystemDatabase(databaseUrl)
  const { twoStep, fanOut } = register()
  // DBOS creates the system database and its `dbos` schema on launch. Pool: DBOS's default (10
  // connections, half of them at most for polling reads).
  DBOS.setConfig({ name: APP_NAME, systemDatabaseUrl: withDatabase(databaseUrl, SYSTEM_DATABASE), logLevel: "warn" })
  try {
    await DBOS.launch()
    // Queue configuration lives in the system database in 5.x, so it is registered after launch.
    await DBOS.registerQueue(QUEUE, { workerConcurrency: concurrency, minPollingIntervalMs: POLL_MS, onConflict: "always_update" })
    // The dispatcher discovers a queue registered after launch at its next reconcile (up to a
    // second later). One untimed run through the queue makes sure it is being dispatched before
    // the clock starts, so the measurement does not include that one-off delay.
    await (await DBOS.startWorkflow(twoStep, { queueName: QUEUE })(-1)).getResult({ pollingIntervalMs: POLL_MS })

    // 1. N two-step runs: enqueue all, then await all.
    const workflowsStart = performance.now()
    const handles: Array<WorkflowHandle<number>> = []
    for (let seed = 0; seed < runs; seed++) handles.push(await DBOS.startWorkflow(twoStep, { queueName: QUEUE })(seed))
    await DBOS.waitAll(handles, { pollingIntervalMs: POLL_MS })
    const results = await Promise.all(handles.map((handle) => handle.getResult()))
    const workflowsSeconds = (performance.now() - workflowsStart) / 1000
    results.forEach((result, seed) => {
      if (result !== (seed + 1) * 2) throw new Error(`benchDbos: run ${seed} returned ${result}, expected ${(seed + 1) * 2}`)
    })

    // 2. One run of N items, started directly (one run: nothing to bound) and awaited.
    const fanOutStart = performance.now()
    const outcome = await (await DBOS.startWorkflow(fanOut)(items, concurrency)).getResult()
    const fanOutSeconds = (performance.now() - fanOutStart) / 1000
    const expectedSum = ((items - 1) * items * (2 * items - 1)) / 6
    if (outcome.count !== items || (Number.isSafeInteger(expectedSum) && outcome.sum !== expectedSum)) {
      throw new Error(`benchDbos: the fan-out processed ${outcome.count} items summing to ${outcome.sum}, expected ${items} summing to ${expectedSum}`)
    }

    return {
      workflows: { count: runs, seconds: workflowsSeconds, stepsPerSecond: (2 * runs) / workflowsSeconds },
      fanOut: { items, seconds: fanOutSeconds, stepsPerSecond: items / fanOutSeconds }
    }
  } finally {
    await DBOS.shutdown()
  }
}
