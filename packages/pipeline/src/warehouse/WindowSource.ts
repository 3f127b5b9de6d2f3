import { Context, type Effect } from "effect"
import type { NightWindows } from "./EventWarehouse.js"

/** One row of a night's per-user, per-app window sums (see `postgres/WindowSums.ts`). */
export interface AppSums {
  readonly user_id: string
  readonly app: string
  readonly accesses: number
  readonly auth_steps: number
  readonly days: number
  readonly recent_accesses: number
  readonly recent_days: number
  readonly metric_accesses: number
  readonly metric_auth_steps: number
  readonly metric_days: number
}

/** One row of a night's per-user window sums. */
export interface UserSums {
  readonly user_id: string
  readonly days: number
  readonly recent_days: number
  readonly metric_days: number
}

/**
 * Where the night's window sums come from: the rollup in the tenant's PostgreSQL schema (the
 * default: built in place), or a rollup elsewhere (BigQuery) whose sums are computed there and
 * copied into the tenant's schema, where the night's queries join them with labels and HR.
 */
export class WindowSource extends Context.Tag("workcat/WindowSource")<
  WindowSource,
  {
    /** Brings that rollup up to date with every append so far. */
    readonly settle: Effect.Effect<number>
    /** The sums over a night's windows; null: the PostgreSQL rollup's, built in place. */
    readonly sums: ((w: NightWindows) => Effect.Effect<{ readonly apps: ReadonlyArray<AppSums>; readonly users: ReadonlyArray<UserSums> }>) | null
  }
>() {}
