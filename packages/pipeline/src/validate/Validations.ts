import { ControlSql, CurrentTenant } from "@workcat/tenancy"
import { Effect } from "effect"

/** One weekly check's outcome: counts only. */
export interface Validation {
  readonly runId: string
  readonly sampled: number
  readonly judged: number
  readonly agreed: number
  readonly accuracy: number | null
  readonly byCategory: Readonly<Record<string, { readonly judged: number; readonly agreed: number }>>
}

/** The tenant's accuracy samples over time, in the control plane (`validations`), where the operators' view reads them. */
export class Validations extends Effect.Service<Validations>()("workcat/Validations", {
  effect: Effect.gen(function* () {
    const sql = yield* ControlSql
    const { id: tenant } = yield* CurrentTenant

    /** Records a run's sample once (a replayed run records nothing twice). */
    const record = (v: Validation) =>
      sql`
        INSERT INTO validations (run_id, tenant, sampled, judged, agreed, accuracy, by_category)
        VALUES (${v.runId}, ${tenant}, ${v.sampled}, ${v.judged}, ${v.agreed}, ${v.accuracy}, ${JSON.stringify(v.byCategory)}::jsonb)
        ON CONFLICT (run_id) DO NOTHING`.pipe(Effect.orDie, Effect.asVoid)

    return { record } as const
  })
}) {}
