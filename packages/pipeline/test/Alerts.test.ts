import { describe, expect, it } from "@effect/vitest"
import { ControlSql, defaultSettings, type TenantId, TenantSecrets } from "@workcat/tenancy"
import { DefaultTaxonomy } from "@workcat/core"
import { ConfigProvider, Effect, Layer, Redacted, TestServices } from "effect"
import { randomUUID } from "node:crypto"
import { Alerts, alertsFor, type Alert } from "../src/operations/Alerts.js"
import type { TenantOverview } from "../src/operations/FleetHealth.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"
import { webhookReceiver } from "./support/WebhookReceiver.js"

const tenant = freshTenant("alert")
const settings = defaultSettings("Alert Corp", DefaultTaxonomy)
// A fixed day in the past: the checks against today's clock (the SLA test) raise their own day's alerts.
const now = new Date("2026-11-04T12:00:00Z")

/** A tenant with nothing to say, to change one thing of at a time. */
const quiet: TenantOverview = {
  tenant,
  displayName: "Alert Corp",
  run: { key: "2026-11-04", state: "READY", queuedAt: new Date("2026-11-04T01:00:00Z"), finishedAt: new Date("2026-11-04T02:00:00Z"), durationSeconds: 3600, sla: "met", costUsd: 1 },
  spend: { monthUsd: 10, budgetUsd: 100, budgetUsed: 0.1 },
  intake: { accepted: 10_000, duplicates: 0, rejected: 10, lastIntakeAt: now, newestEventAt: now, lagSeconds: 0 },
  deadLetters: { total: 10, rate: 0.001, byReason: [{ reason: "invalid JSON", count: 10 }] },
  accuracy: { validatedAt: new Date("2026-11-04T06:00:00Z"), sampled: 100, judged: 90, accuracy: 0.9 }
}

const conditions = (o: TenantOverview) => alertsFor(o, settings, now).map((a) => a.condition)

/** Alerts with fast retries, PagerDuty's endpoint on the receiver, on the real clock (the backoff waits). */
const withAlerts =
  (url: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(
        Alerts.Default.pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["WORKCAT_ALERT_RETRY_MS", "5"], ["WORKCAT_PAGERDUTY_URL", `${url}/pagerduty`]]))))
        )
      ),
      TestServices.provideLive
    )

const anAlert = (condition: Alert["condition"]): Alert => ({ tenant, condition, severity: "warning", summary: `${tenant}: ${condition} is off`, details: { share: 0.5 } })

describe("alert conditions", () => {
  it("raises nothing for a tenant in good health", () => {
    expect(conditions(quiet)).toEqual([])
  })

  it("raises the budget alert past the warning share, an error once spent", () => {
    expect(conditions({ ...quiet, spend: { monthUsd: 80, budgetUsd: 100, budgetUsed: 0.8 } })).toEqual(["budget"])
    expect(alertsFor({ ...quiet, spend: { monthUsd: 120, budgetUsd: 100, budgetUsed: 1.2 } }, settings, now)[0]!.severity).toBe("error")
  })

  it("raises the SLA alert for a night not READY within it", () => {
    expect(conditions({ ...quiet, run: { ...quiet.run!, state: "PROCESSING", finishedAt: null, sla: "missed" } })).toEqual(["sla"])
    expect(conditions({ ...quiet, run: { ...quiet.run!, state: "PROCESSING", finishedAt: null, sla: "pending" } })).toEqual([])
  })

  it("raises the dead-letter alert for a spike of at least 100 refusals, not for a few", () => {
    expect(conditions({ ...quiet, intake: { ...quiet.intake, rejected: 900 }, deadLetters: { ...quiet.deadLetters, rate: 0.083 } })).toEqual(["dead_letters"])
    expect(conditions({ ...quiet, intake: { ...quiet.intake, accepted: 20, rejected: 5 }, deadLetters: { ...quiet.deadLetters, rate: 0.2 } })).toEqual([])
  })

  it("raises the accuracy alert for a sample of the last day below the tenant's threshold, not for an old one", () => {
    const low = { ...quiet.accuracy!, accuracy: 0.6 }
    expect(conditions({ ...quiet, accuracy: low })).toEqual(["accuracy"])
    expect(conditions({ ...quiet, accuracy: { ...low, validatedAt: new Date("2026-11-01T06:00:00Z") } })).toEqual([])
    expect(alertsFor({ ...quiet, accuracy: low }, { ...settings, alerts: { ...settings.alerts, minAccuracy: 0.5 } }, now)).toEqual([])
  })
})

describe("alert delivery", () => {
  it.layer(testTenantLayer(tenant), { timeout: 60_000 })((it) => {
    const configure = (url: string) =>
      Effect.flatMap(TenantSecrets, (s) =>
        Effect.all([s.put(tenant, "alerts.slack", Redacted.make(`${url}/slack`)), s.put(tenant, "alerts.pagerduty", Redacted.make("R0UTINGKEY0123456789"))])
      ).pipe(Effect.provide(TenantSecrets.Default))

    const deliveries = (alertCondition: string) =>
      Effect.flatMap(ControlSql, (sql) =>
        sql<{ target: string; status: string; attempts: number; lastAnswer: string }>`
          SELECT d.target, d.status, d.attempts, d.last_answer AS "lastAnswer"
          FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
          WHERE a.tenant = ${tenant} AND a.condition = ${alertCondition} ORDER BY d.target`
      )

    it.scoped("posts Slack's and PagerDuty's payloads, retrying a failing receiver with backoff, and records each delivery", () =>
      Effect.gen(function* () {
        const receiver = yield* webhookReceiver({ failFirst: 2, failStatus: 503 })
        yield* configure(receiver.url)
        const raised = yield* Effect.flatMap(Alerts, (a) => a.raise(anAlert("budget"), now)).pipe(withAlerts(receiver.url))
        expect(raised).toBe(true)
        const slack = receiver.received.filter((r) => r.path === "/slack")
        const pagerDuty = receiver.received.filter((r) => r.path === "/pagerduty")
        expect([slack.length, pagerDuty.length]).toEqual([3, 3])
        expect(slack[0]!.body).toMatchObject({ text: `workcat warning: ${tenant}: budget is off`, blocks: expect.any(Array) })
        expect(pagerDuty[0]!.body).toEqual({
          routing_key: "R0UTINGKEY0123456789",
          event_action: "trigger",
          dedup_key: `workcat:${tenant}:budget:2026-11-04`,
          payload: { summary: `${tenant}: budget is off`, source: "workcat", severity: "warning", component: tenant, group: "budget", class: "workcat.alert", custom_details: { share: 0.5 } }
        })
        expect(yield* deliveries("budget")).toEqual([
          { target: "pagerduty", status: "sent", attempts: 3, lastAnswer: "HTTP 202" },
          { target: "slack", status: "sent", attempts: 3, lastAnswer: "HTTP 202" }
        ])
      }))

    it.scoped("raises a condition once a day however often it holds", () =>
      Effect.gen(function* () {
        const receiver = yield* webhookReceiver()
        yield* configure(receiver.url)
        const raise = (at: Date) => Effect.flatMap(Alerts, (a) => a.raise(anAlert("sla"), at)).pipe(withAlerts(receiver.url))
        expect(yield* raise(now)).toBe(true)
        expect(yield* raise(new Date(now.getTime() + 3_600_000))).toBe(false)
        expect(receiver.received).toHaveLength(2)
        // The next day it is news again.
        expect(yield* raise(new Date(now.getTime() + 86_400_000))).toBe(true)
        expect(receiver.received).toHaveLength(4)
      }))

    it.scoped("gives up at once on an answer that will not change (400), and says so", () =>
      Effect.gen(function* () {
        const receiver = yield* webhookReceiver({ failFirst: 99, failStatus: 400 })
        yield* configure(receiver.url)
        expect(yield* Effect.flatMap(Alerts, (a) => a.raise(anAlert("dead_letters"), now)).pipe(withAlerts(receiver.url))).toBe(true)
        expect(yield* deliveries("dead_letters")).toEqual([
          { target: "pagerduty", status: "failed", attempts: 1, lastAnswer: "HTTP 400" },
          { target: "slack", status: "failed", attempts: 1, lastAnswer: "HTTP 400" }
        ])
      }))

    it.scoped("tries a failed delivery again at the next check that day", () =>
      Effect.gen(function* () {
        const receiver = yield* webhookReceiver({ failFirst: 1, failStatus: 400 })
        yield* configure(receiver.url)
        const day = new Date("2026-11-05T12:00:00Z")
        yield* Effect.flatMap(Alerts, (a) => a.raise(anAlert("accuracy"), day)).pipe(withAlerts(receiver.url))
        expect((yield* deliveries("accuracy")).map((d) => d.status)).toEqual(["failed", "failed"])
        yield* Effect.flatMap(Alerts, (a) => a.check(day, [tenant as TenantId])).pipe(withAlerts(receiver.url))
        expect(yield* deliveries("accuracy")).toEqual([
          { target: "pagerduty", status: "sent", attempts: 2, lastAnswer: "HTTP 202" },
          { target: "slack", status: "sent", attempts: 2, lastAnswer: "HTTP 202" }
        ])
      }))

    it.scoped("finds a nightly run not READY within the SLA on its own, from the control plane", () =>
      Effect.gen(function* () {
        const receiver = yield* webhookReceiver()
        yield* configure(receiver.url)
        const sql = yield* ControlSql
        const queued = new Date(Date.now() - 5 * 3_600_000)
        yield* sql`
          INSERT INTO runs (id, tenant, pipeline, run_key, state, input, queued_at, created_at, started_at)
          VALUES (${randomUUID()}, ${tenant}, 'nightly', '2099-01-01', 'PROCESSING', '{}', ${queued}, ${queued}, ${queued})`
        const raised = yield* Effect.flatMap(Alerts, (a) => a.check(new Date(), [tenant as TenantId])).pipe(withAlerts(receiver.url))
        expect(raised.map((a) => a.condition)).toEqual(["sla"])
        expect(receiver.received.find((r) => r.path === "/slack")!.body.text).toMatch(/not READY within the SLA/)
      }))
  })
})
