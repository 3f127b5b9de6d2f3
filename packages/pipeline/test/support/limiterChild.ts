/**
 * A worker process for the shared limiter's test: takes `COUNT` requests of the API key `KEY`'s
 * limiter (`RPM` a minute) from the control plane at `DATABASE_URL`, printing the time of each.
 *
 *   node --conditions=workcat-source --import tsx limiterChild.ts KEY RPM COUNT
 */
import { NodeRuntime } from "@effect/platform-node"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import { BaseLive } from "../../src/app/Layers.js"
import { makeRequestLimiter } from "../../src/categorizer/llm/RequestLimiter.js"

const [key = "", rpm = "0", count = "0"] = process.argv.slice(2)

const program = Effect.gen(function* () {
  const limiter = yield* makeRequestLimiter(yield* ControlSql, { key, requestsPerMinute: Number(rpm), tokensPerMinute: 1e9 })
  for (let i = 0; i < Number(count); i++) {
    yield* limiter.acquire(1)
    process.stdout.write(`${Date.now()}\n`)
  }
})

NodeRuntime.runMain(program.pipe(Effect.provide(BaseLive)))
