import { describe, expect, it } from "@effect/vitest"
import { canTransition, isFinal, isRetryable, RunState, TRANSITIONS } from "../src/index.js"

describe("the run state machine", () => {
  const states = RunState.literals
  const allowed = [
    "QUEUED→PROCESSING",
    "QUEUED→CANCELLED",
    "PROCESSING→READY",
    "PROCESSING→DEGRADED",
    "PROCESSING→FAILED",
    "PROCESSING→CANCELLED",
    "READY→STALE",
    "DEGRADED→QUEUED",
    "DEGRADED→CANCELLED",
    "FAILED→QUEUED",
    "FAILED→CANCELLED",
    "STALE→QUEUED"
  ]

  it("allows exactly the documented transitions", () => {
    const all = states.flatMap((from) => states.map((to) => `${from}→${to}`))
    expect(all.filter((t) => canTransition(...(t.split("→") as [RunState, RunState])))).toEqual(allowed)
    expect(Object.values(TRANSITIONS).flat()).toHaveLength(allowed.length)
  })

  it("knows which states are final and which can be retried", () => {
    expect(states.filter(isFinal)).toEqual(["READY", "STALE", "CANCELLED"])
    expect(states.filter(isRetryable)).toEqual(["DEGRADED", "FAILED"])
  })
})
