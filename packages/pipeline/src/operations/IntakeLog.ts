import { ControlSql, CurrentTenant } from "@workcat/tenancy"
import { Clock, Effect } from "effect"

/** What one batch of an intake added: records accepted, duplicated and refused, the refusals by kind, its newest event. */
export interface IntakeBatch {
  readonly accepted: number
  readonly duplicates: number
  readonly rejected: number
  readonly reasons: Readonly<Record<string, number>>
  readonly newestEventAt: Date | null
}

/** Reasons without their numbers ("invalid JSON at character N"): a few kinds an hour, not one per place. */
const kindsOf = (reasons: Readonly<Record<string, number>>) => {
  const kinds: Record<string, number> = {}
  for (const [reason, n] of Object.entries(reasons)) {
    const kind = reason.replace(/\d+/g, "N")
    kinds[kind] = (kinds[kind] ?? 0) + n
  }
  return kinds
}

/**
 * The tenant's intake by hour and source, in the control plane (`intake_hours`), where the
 * operators' view reads every tenant's without opening their schemas: one upsert per batch.
 * Nothing of a person: counts, kinds of reasons and a time.
 */
export class IntakeLog extends Effect.Service<IntakeLog>()("workcat/IntakeLog", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const { id: tenant } = yield* CurrentTenant

    const record = (source: "sso" | "hr", batch: IntakeBatch) =>
      Effect.gen(function* () {
        if (batch.accepted + batch.duplicates + batch.rejected === 0) return
        const reasons = kindsOf(batch.reasons)
        const now = yield* Clock.currentTimeMillis
        const hour = new Date(Math.floor(now / 3_600_000) * 3_600_000)
        yield* sql`
          INSERT INTO intake_hours (tenant, hour, source, accepted, duplicates, rejected, reasons, newest_event_at, updated_at)
          VALUES (${tenant}, ${hour}, ${source}, ${batch.accepted}, ${batch.duplicates}, ${batch.rejected}, ${JSON.stringify(reasons)}::jsonb,
                  ${batch.newestEventAt}, ${new Date(now)})
          ON CONFLICT (tenant, hour, source) DO UPDATE SET
            accepted = intake_hours.accepted + excluded.accepted,
            duplicates = intake_hours.duplicates + excluded.duplicates,
            rejected = intake_hours.rejected + excluded.rejected,
            reasons = (
              SELECT coalesce(jsonb_object_agg(k, coalesce((intake_hours.reasons->>k)::bigint, 0) + coalesce((excluded.reasons->>k)::bigint, 0)), '{}')
              FROM jsonb_object_keys(intake_hours.reasons || excluded.reasons) AS k
            ),
            newest_event_at = greatest(intake_hours.newest_event_at, excluded.newest_event_at),
            updated_at = greatest(intake_hours.updated_at, excluded.updated_at)`.pipe(Effect.orDie)
      })

    /** Hours kept: the operators' view reads the last day; the rest is there to look back. */
    const expire = (days: number) => sql`DELETE FROM intake_hours WHERE tenant = ${tenant} AND hour < now() - make_interval(days => ${days})`.pipe(Effect.orDie, Effect.asVoid)

    return { record, expire } as const
  })
}) {}
