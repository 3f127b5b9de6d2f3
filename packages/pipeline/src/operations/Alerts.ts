import { ControlSql, type TenantId, TenantRegistry, TenantSecrets, type TenantSettings } from "@workcat/tenancy"
import { Config, Duration, Effect, Option, Redacted, Schedule } from "effect"
import { runWorker, type WorkerOptions } from "../durable/Worker.js"
import { FleetHealth, type TenantOverview } from "./FleetHealth.js"

/** What an alert is about; each is raised at most once per tenant and day. */
export type AlertCondition = "accuracy" | "budget" | "sla" | "dead_letters"

export interface Alert {
  readonly tenant: TenantId
  readonly condition: AlertCondition
  readonly severity: "warning" | "error" | "critical"
  readonly summary: string
  /** Counts and times only: never a person. */
  readonly details: Readonly<Record<string, unknown>>
}

/** Refusals of a day below this many are no spike, whatever their share. */
export const SPIKE_MIN_REFUSED = 100

/**
 * The alerts a tenant's overview calls for, by its settings: the month's LLM spend past the
 * budget's warning share, the last nightly run not READY within the SLA, a day's refused SSO
 * records past `alerts.deadLetterSpike` of those received (at least `SPIKE_MIN_REFUSED`), and an
 * accuracy sample of the last day below `alerts.minAccuracy`.
 */
export const alertsFor = (o: TenantOverview, settings: TenantSettings, now: Date): ReadonlyArray<Alert> => {
  const found: Array<Alert> = []
  const tenant = o.tenant
  const { budgetWarnAt } = settings.llm
  if (o.spend.budgetUsd > 0 && o.spend.budgetUsed >= budgetWarnAt) {
    found.push({
      tenant,
      condition: "budget",
      severity: o.spend.budgetUsed >= 1 ? "error" : "warning",
      summary: `${tenant}: LLM spend $${o.spend.monthUsd.toFixed(2)} this month is ${(o.spend.budgetUsed * 100).toFixed(0)}% of the $${o.spend.budgetUsd.toFixed(0)} budget`,
      details: { ...o.spend, warnAt: budgetWarnAt }
    })
  }
  if (o.run !== null && o.run.sla === "missed") {
    found.push({
      tenant,
      condition: "sla",
      severity: "critical",
      summary: `${tenant}: the nightly run of ${o.run.key} is ${o.run.state}, not READY within the SLA`,
      details: { night: o.run.key, state: o.run.state, queuedAt: o.run.queuedAt.toISOString(), durationSeconds: Math.round(o.run.durationSeconds) }
    })
  }
  const received = o.intake.accepted + o.intake.duplicates + o.intake.rejected
  if (o.intake.rejected >= SPIKE_MIN_REFUSED && o.deadLetters.rate > settings.alerts.deadLetterSpike) {
    found.push({
      tenant,
      condition: "dead_letters",
      severity: "error",
      summary: `${tenant}: ${o.intake.rejected} of ${received} SSO records refused in the last 24 hours (${(o.deadLetters.rate * 100).toFixed(1)}%)`,
      details: { refused: o.intake.rejected, received, rate: o.deadLetters.rate, byReason: o.deadLetters.byReason.slice(0, 5) }
    })
  }
  const sample = o.accuracy
  if (sample !== null && now.getTime() - sample.validatedAt.getTime() < 86_400_000) found.push(...Option.toArray(accuracyAlert(tenant, sample, settings)))
  return found
}

/** The accuracy alert a validate sample calls for: its accuracy below the tenant's `alerts.minAccuracy`. */
export const accuracyAlert = (
  tenant: TenantId,
  sample: { readonly accuracy: number | null; readonly judged: number; readonly sampled: number; readonly validatedAt: Date },
  settings: Pick<TenantSettings, "alerts">
): Option.Option<Alert> =>
  sample.accuracy === null || sample.accuracy >= settings.alerts.minAccuracy
    ? Option.none()
    : Option.some({
        tenant,
        condition: "accuracy",
        severity: "warning",
        summary: `${tenant}: ${(sample.accuracy * 100).toFixed(0)}% of ${sample.judged} sampled categorizations agree with HR titles, below ${(settings.alerts.minAccuracy * 100).toFixed(0)}%`,
        details: { accuracy: sample.accuracy, judged: sample.judged, sampled: sample.sampled, validatedAt: sample.validatedAt.toISOString() }
      })

/** The body a Slack incoming webhook (and the many tools that take its shape) posts. */
export const slackPayload = (alert: Alert) => ({
  text: `workcat ${alert.severity}: ${alert.summary}`,
  blocks: [
    { type: "section", text: { type: "mrkdwn", text: `*workcat ${alert.severity}* (${alert.condition})\n${alert.summary}` } },
    { type: "context", elements: [{ type: "mrkdwn", text: `tenant \`${alert.tenant}\`` }] }
  ]
})

/** A PagerDuty Events API v2 trigger; the dedup key makes the day's repeats one incident. */
export const pagerDutyPayload = (alert: Alert, routingKey: string, day: string) => ({
  routing_key: routingKey,
  event_action: "trigger",
  dedup_key: `workcat:${alert.tenant}:${alert.condition}:${day}`,
  payload: {
    summary: alert.summary.slice(0, 1024),
    source: "workcat",
    severity: alert.severity,
    component: alert.tenant,
    group: alert.condition,
    class: "workcat.alert",
    custom_details: alert.details
  }
})

class DeliveryFailed extends Error {}

/**
 * Raises alerts: a row per tenant, condition and day (the second of a day is dropped), then one
 * POST to each webhook the tenant has (`alerts.slack`: a Slack-compatible URL; `alerts.pagerduty`:
 * a PagerDuty routing key), retried with exponential backoff (`WORKCAT_ALERT_RETRY_MS`, default
 * 1 s, 5 attempts), each delivery recorded; a failed one is tried again at each check that day.
 */
export class Alerts extends Effect.Service<Alerts>()("workcat/Alerts", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const secrets = yield* TenantSecrets
    const registry = yield* TenantRegistry
    const fleet = yield* FleetHealth
    const retryMs = yield* Config.integer("WORKCAT_ALERT_RETRY_MS").pipe(Config.withDefault(1_000))
    const pagerDutyUrl = yield* Config.string("WORKCAT_PAGERDUTY_URL").pipe(Config.withDefault("https://events.pagerduty.com/v2/enqueue"))

    /** One POST, retried; the attempts it took and the last answer (a status, never a body). */
    const post = (url: string, body: unknown) =>
      Effect.gen(function* () {
        let attempts = 0
        let answer = ""
        const once = Effect.tryPromise({
          try: async () => {
            attempts++
            const response = await fetch(url, {
              method: "POST",
              // A webhook that redirects is not followed (it could point anywhere, the inside included).
              redirect: "error",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(10_000)
            })
            answer = `HTTP ${response.status}`
            await response.arrayBuffer()
            // 4xx but 429 will not get better by trying again.
            if (response.status === 429 || response.status >= 500) throw new DeliveryFailed(answer)
            return response.ok
          },
          catch: (e) => {
            if (!(e instanceof DeliveryFailed)) answer = e instanceof Error ? e.name : "error"
            return new DeliveryFailed(answer)
          }
        })
        const ok = yield* once.pipe(
          Effect.retry(Schedule.exponential(Duration.millis(retryMs)).pipe(Schedule.intersect(Schedule.recurs(4)))),
          Effect.orElseSucceed(() => false)
        )
        return { ok, attempts, answer }
      })

    /** Where the tenant's alerts go, each with the body it takes. */
    const targetsOf = (alert: Alert, day: string) =>
      Effect.gen(function* () {
        const slack = yield* secrets.get(alert.tenant, "alerts.slack")
        const pagerDuty = yield* secrets.get(alert.tenant, "alerts.pagerduty")
        return [
          ...Option.toArray(Option.map(slack, (url) => ({ target: "slack", url: Redacted.value(url), body: slackPayload(alert) }))),
          ...Option.toArray(Option.map(pagerDuty, (key) => ({ target: "pagerduty", url: pagerDutyUrl, body: pagerDutyPayload(alert, Redacted.value(key), day) })))
        ]
      })

    /**
     * Delivers an alert to its targets (or to `only` of them): each delivery is recorded pending
     * first, so one a process died in the middle of is taken up by the next check.
     */
    const deliver = (id: number, alert: Alert, day: string, only?: ReadonlySet<string>) =>
      Effect.gen(function* () {
        const targets = (yield* targetsOf(alert, day)).filter((t) => only === undefined || only.has(t.target))
        yield* Effect.forEach(
          targets,
          (t) =>
            Effect.gen(function* () {
              yield* sql`
                INSERT INTO alert_deliveries (alert_id, target, status, attempts) VALUES (${id}, ${t.target}, 'pending', 0)
                ON CONFLICT (alert_id, target) DO UPDATE SET status = 'pending', delivered_at = now()`.pipe(Effect.orDie)
              const { answer, attempts, ok } = yield* post(t.url, t.body)
              yield* sql`
                UPDATE alert_deliveries SET status = ${ok ? "sent" : "failed"}, attempts = attempts + ${attempts}, last_answer = ${answer}, delivered_at = now()
                WHERE alert_id = ${id} AND target = ${t.target}`.pipe(Effect.orDie)
              if (!ok) yield* Effect.logWarning("An alert could not be delivered").pipe(Effect.annotateLogs({ tenant: alert.tenant, target: t.target, attempts, answer }))
            }),
          { concurrency: "unbounded", discard: true }
        )
      })

    /** Today's deliveries that failed, or stayed pending 10 minutes (their process died), tried again (20 attempts at most). */
    const redeliver = (now: Date, tenants?: ReadonlyArray<TenantId>) =>
      Effect.gen(function* () {
        const due = yield* sql<{ id: number; target: string; tenant: TenantId; condition: Alert["condition"]; severity: Alert["severity"]; summary: string; details: Record<string, unknown>; day: string }>`
          SELECT a.id, d.target, a.tenant, a.condition, a.severity, a.summary, a.details, a.day::text AS day
          FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
          WHERE a.day = ${now.toISOString().slice(0, 10)}::date AND d.attempts < 20
            AND (d.status = 'failed' OR (d.status = 'pending' AND d.delivered_at < ${now}::timestamptz - interval '10 minutes'))`.pipe(Effect.orDie)
        for (const d of due) {
          if (tenants !== undefined && !tenants.includes(d.tenant)) continue
          const { day, id, target, ...alert } = d
          yield* deliver(id, alert, day, new Set([target]))
        }
      })

    /** Raises an alert unless the tenant had it today; whether it was raised now. */
    const raise = Effect.fn("Alerts.raise")(function* (alert: Alert, now: Date) {
      const day = now.toISOString().slice(0, 10)
      const [row] = yield* sql<{ id: number }>`
        INSERT INTO alerts (tenant, condition, day, severity, summary, details)
        VALUES (${alert.tenant}, ${alert.condition}, ${day}::date, ${alert.severity}, ${alert.summary}, ${JSON.stringify(alert.details)}::jsonb)
        ON CONFLICT (tenant, condition, day) DO NOTHING
        RETURNING id`.pipe(Effect.orDie)
      if (row === undefined) return false
      yield* Effect.logWarning(`Alert: ${alert.summary}`).pipe(Effect.annotateLogs({ tenant: alert.tenant, condition: alert.condition }))
      yield* deliver(row.id, alert, day)
      return true
    })

    /** Every tenant's conditions, from the control plane, after today's undelivered alerts are tried again; the alerts raised now. */
    const check = Effect.fn("Alerts.check")(function* (now: Date, tenants?: ReadonlyArray<TenantId>) {
      yield* redeliver(now, tenants)
      const overviews = (yield* fleet.overview(now)).filter((o) => tenants === undefined || tenants.includes(o.tenant))
      const settings = new Map((yield* registry.list()).map((t) => [t.id, t.settings]))
      const raised: Array<Alert> = []
      for (const o of overviews) {
        const own = settings.get(o.tenant)
        // A tenant removed between the two reads has nothing to say.
        if (own === undefined) continue
        for (const alert of alertsFor(o, own, now)) if (yield* raise(alert, now)) raised.push(alert)
      }
      return raised
    })

    return { raise, check } as const
  }),
  dependencies: [FleetHealth.Default, TenantSecrets.Default]
}) {}

/** `Alerts.check` of these tenants (default every one) every few minutes, forever, beside a worker: a failed look is logged. */
const watchAlerts = (tenants?: ReadonlyArray<string>, every: Duration.DurationInput = "5 minutes") =>
  Effect.flatMap(Alerts, (alerts) => alerts.check(new Date(), tenants as ReadonlyArray<TenantId> | undefined)).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("alerts: checking the tenants failed", cause)),
    Effect.repeat(Schedule.spaced(every)),
    Effect.delay("30 seconds"),
    Effect.zipRight(Effect.never)
  )

/**
 * A worker (`runWorker`) that also watches its tenants for alerts, until interrupted: every
 * process that works on runs looks for alerts too (each raised once a day however many look).
 */
export const runWorkerWatching = (options: WorkerOptions) =>
  Effect.all([runWorker(options), watchAlerts(options.tenants)], { concurrency: 2, discard: true }).pipe(Effect.provide(Alerts.Default))
