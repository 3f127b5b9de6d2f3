import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { IsoDate } from "@workcat/core"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { fileValues } from "../src/ingest/Framing.js"
import { generate } from "../src/synthetic/Generate.js"
import { freshTenant, testDatabaseUrl, testMasterKey, testTenantLayer } from "./support/TestLayers.js"

const end = "2026-11-23" as IsoDate
const tenant = freshTenant("crash")
const dir = mkdtempSync(join(tmpdir(), "workcat-crash-"))
const calls = join(dir, "calls.log")
const CONCURRENCY = 4

const child = (): ChildProcess =>
  spawn(process.execPath, ["--conditions=workcat-source", "--import", "tsx", "packages/pipeline/test/support/nightlyChild.ts", tenant, end, calls, "40"], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_LEASE_SECONDS: "2" },
    stdio: ["ignore", "pipe", "inherit"]
  })

const callLog = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n").filter((l) => l !== "") : [])

describe("a nightly run that crashes", () => {
  it.live("resumes after SIGKILL mid-fan-out: every user categorized once, at most the concurrency repeated", () =>
    Effect.gen(function* () {
      const files = yield* generate({ tenant, employees: 80, days: 21, seed: "crash", end, out: dir })
      yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
      yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))

      const first = child()
      while (callLog().length < 20) yield* Effect.sleep("50 millis")
      first.kill("SIGKILL")
      yield* Effect.promise(() => once(first, "exit"))
      const beforeRestart = callLog().length

      const second = child()
      let output = ""
      second.stdout!.on("data", (chunk) => (output += String(chunk)))
      const [code] = yield* Effect.promise(() => once(second, "exit"))
      expect(code).toBe(0)
      const { id, state } = JSON.parse(output.trim().split("\n").at(-1)!)
      expect(state).toBe("READY")

      const sql = yield* SqlClient.SqlClient
      const [items] = yield* sql<{ total: number; done: number; users: number }>`
        SELECT count(*)::int AS total, count(*) FILTER (WHERE state = 'DONE')::int AS done, count(DISTINCT item_key)::int AS users
        FROM run_items WHERE run_id = ${id} AND stage = 'categorize'`
      const [stored] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM work_categories WHERE run_id = ${id}`
      expect(items!.done).toBe(items!.total)
      expect(stored!.n).toBe(items!.total)
      const log = callLog()
      expect(new Set(log).size).toBe(items!.total)
      // Only items in flight when the first process died are paid for twice.
      expect(beforeRestart).toBeGreaterThanOrEqual(20)
      expect(log.length - items!.total).toBeLessThanOrEqual(CONCURRENCY)

      const control = yield* ControlSql
      const transitions = yield* control<{ to: string }>`SELECT to_state AS "to" FROM run_transitions WHERE run_id = ${id} ORDER BY id`
      expect(transitions.map((t) => t.to)).toEqual(["QUEUED", "PROCESSING", "READY"])
    }).pipe(Effect.provide(testTenantLayer(tenant))), 120_000)
})
