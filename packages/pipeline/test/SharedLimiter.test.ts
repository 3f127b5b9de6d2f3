import { describe, expect, it } from "vitest"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { promisify } from "node:util"
import { testDatabaseUrl, testMasterKey } from "./support/TestLayers.js"

const CHILD = new URL("./support/limiterChild.ts", import.meta.url).pathname

/** One worker process taking `count` requests of the key's limiter; the times it took them at. */
const worker = (key: string, rpm: number, count: number) =>
  promisify(execFile)(process.execPath, ["--conditions=workcat-source", "--import", "tsx", CHILD, key, String(rpm), String(count)], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: "/nonexistent-workcat-home" },
    timeout: 60_000
  }).then(({ stdout }) => stdout.trim().split("\n").map(Number))

describe("the LLM request limiter, shared by processes through the control plane", () => {
  it("keeps three worker processes on one API key under the key's limit together", async () => {
    const key = `k_test_${randomBytes(6).toString("hex")}`
    const rpm = 600
    const times = (await Promise.all([worker(key, rpm, 20), worker(key, rpm, 20), worker(key, rpm, 20)])).flat().sort((a, b) => a - b)
    expect(times).toHaveLength(60)
    // As the limiter is built: a bucket of two requests, refilled with the rest of the minute (99% of the limit).
    const capacity = 2
    const perMs = (rpm * 0.99 - capacity) / 60_000
    // Never more in any stretch of time than the bucket plus its refill (and a request's printing late).
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        expect(j - i + 1, `requests ${i}..${j} in ${times[j]! - times[i]!} ms`).toBeLessThanOrEqual(capacity + perMs * (times[j]! - times[i]!) + 2)
      }
    }
    // Three separate limiters would have taken them in about 2 s; one shared takes 6 s at least.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual((60 - capacity - 2) / perMs)
  }, 90_000)
})
