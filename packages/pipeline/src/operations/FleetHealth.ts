import { NIGHTLY_SLA_HOURS, slaOf } from "@workcat/core"
import { ControlSql, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { RunLedger } from "../durable/RunLedger.js"

/** One tenant as an operator sees it: counts, money and times, never a person. */
export interface TenantOverview {
  readonly tenant: TenantId
  readonly displayName: string
  readonly run: null | {
    readonly key: string
    readonly state: string
    readonly queuedAt: Date
    readonly finishedAt: Date | null
    readonly durationSeconds: number
    readonly sla: "met" | "missed" | "pending"
    readonly costUsd: number
  }
  /** LLM spend of this month's runs (UTC) against the monthly budget. */
  readonly spend: { readonly monthUsd: number; readonly budgetUsd: number; readonly budgetUsed: number }
  /** SSO intake of the last 24 hours, and how far behind now its newest event is. */
  readonly intake: {
    readonly accepted: number
    readonly duplicates: number
    readonly rejected: number
    readonly lastIntakeAt: Date | null
    readonly newestEventAt: Date | null
    readonly lagSeconds: number | null
  }
  /** Records refused in the last 24 hours (SSO and HR) by kind of reason; `rate`: SSO records refused of those received. */
  readonly deadLetters: { readonly total: number; readonly rate: number; readonly byReason: ReadonlyArray<{ readonly reason: string; readonly count: number }> }
  /** The latest weekly check (`workcat run validate`). */
  readonly accuracy: null | { readonly validatedAt: Date; readonly sampled: number; readonly judged: number; readonly accuracy: number | null }
}

interface IntakeRow {
  readonly tenant: string
  readonly source: "sso" | "hr"
  readonly accepted: number
  readonly duplicates: number
  readonly rejected: number
  readonly reasons: Readonly<Record<string, number>>
  readonly lastIntakeAt: Date
  readonly newestEventAt: Date | null
}

/**
 * Every tenant's health from the control plane alone (runs, intake hours, validations, the
 * registry): no tenant's schema is opened, so a fleet of any size costs five queries.
 */
export class FleetHealth extends Effect.Service<FleetHealth>()("workcat/FleetHealth", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const registry = yield* TenantRegistry
    const ledger = yield* RunLedger

    const overview = Effect.fn("FleetHealth.overview")(function* (now: Date) {
      const [tenants, runs, intake, spend, accuracy] = yield* Effect.all([
        registry.list(),
        ledger.latestOfEach("nightly"),
        // At most 48 rows a tenant (24 hours, two sources), summed below.
        sql<IntakeRow>`
          SELECT tenant, source, accepted::float8 AS accepted, duplicates::float8 AS duplicates, rejected::float8 AS rejected, reasons,
                 updated_at AS "lastIntakeAt", newest_event_at AS "newestEventAt"
          FROM intake_hours WHERE hour > ${now}::timestamptz - interval '24 hours'`,
        sql<{ tenant: string; usd: number }>`
          SELECT tenant, sum(cost_usd)::float8 AS usd FROM runs
          WHERE created_at >= date_trunc('month', ${now}::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' GROUP BY tenant`,
        sql<{ tenant: string; validatedAt: Date; sampled: number; judged: number; accuracy: number | null }>`
          SELECT DISTINCT ON (tenant) tenant, validated_at AS "validatedAt", sampled, judged, accuracy
          FROM validations ORDER BY tenant, validated_at DESC`
      ]).pipe(Effect.orDie)
      const latest = new Map(runs.map((r) => [r.tenant, r]))
      const hours = new Map<string, Array<IntakeRow>>()
      for (const r of intake) hours.set(r.tenant, [...(hours.get(r.tenant) ?? []), r])
      const spent = new Map(spend.map((s) => [s.tenant, s.usd]))
      const checked = new Map(accuracy.map(({ tenant, ...a }) => [tenant, a]))
      return tenants.map((t): TenantOverview => {
        const run = latest.get(t.id)
        const rows = hours.get(t.id) ?? []
        const sum = (field: "accepted" | "duplicates" | "rejected", source?: "sso") =>
          rows.reduce((n, r) => (source === undefined || r.source === source ? n + r[field] : n), 0)
        const sso = { accepted: sum("accepted", "sso"), duplicates: sum("duplicates", "sso"), rejected: sum("rejected", "sso") }
        const reasons = new Map<string, number>()
        for (const r of rows) for (const [reason, n] of Object.entries(r.reasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + Number(n))
        const received = sso.accepted + sso.duplicates + sso.rejected
        const newest = rows.reduce<Date | null>((m, r) => (r.source === "sso" && r.newestEventAt !== null && (m === null || r.newestEventAt > m) ? r.newestEventAt : m), null)
        const monthUsd = spent.get(t.id) ?? 0
        const budgetUsd = t.settings.llm.monthlyBudgetUsd
        return {
          tenant: t.id,
          displayName: t.settings.displayName,
          run:
            run === undefined
              ? null
              : {
                  key: run.runKey,
                  state: run.state,
                  queuedAt: run.queuedAt,
                  finishedAt: run.finishedAt,
                  durationSeconds: ((run.finishedAt ?? now).getTime() - run.queuedAt.getTime()) / 1000,
                  sla: slaOf(run, now),
                  costUsd: run.costUsd
                },
          spend: { monthUsd, budgetUsd, budgetUsed: budgetUsd === 0 ? (monthUsd > 0 ? 1 : 0) : monthUsd / budgetUsd },
          intake: {
            ...sso,
            lastIntakeAt: rows.reduce<Date | null>((m, r) => (m === null || r.lastIntakeAt > m ? r.lastIntakeAt : m), null),
            newestEventAt: newest,
            lagSeconds: newest === null ? null : Math.max(0, (now.getTime() - newest.getTime()) / 1000)
          },
          deadLetters: {
            total: sum("rejected"),
            rate: received === 0 ? 0 : sso.rejected / received,
            byReason: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
          },
          accuracy: checked.get(t.id) ?? null
        }
      })
    })

    return { overview, slaHours: NIGHTLY_SLA_HOURS } as const
  })
}) {}
