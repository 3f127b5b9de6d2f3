import { type AccessEvent, addDays, type AppKey, type AppProfile, type CategoryId, type GroupTotals, type IsoDate, type UserId } from "@workcat/core"
import { Context, Data, type Effect, type Stream } from "effect"

/** What an append really added (duplicates of earlier deliveries add nothing), and the days of it (ISO dates). */
export interface Inserted {
  readonly inserted: number
  readonly firstDay: string | null
  readonly lastDay: string | null
}
export const noneInserted: Inserted = { inserted: 0, firstDay: null, lastDay: null }

/** The warehouse refused a value of the batch (too long, out of range): some of its rows cannot be stored. */
export class ValuesRefused extends Data.TaggedError("ValuesRefused")<{
  /** The warehouse's own code for it (PostgreSQL: the SQLSTATE). */
  readonly code: string
}> {}

/**
 * The warehouse failed for another reason than the rows (out of reach, a broken schema). The
 * batch may be sent again: appends are idempotent. `cause` is the client's own error.
 */
export class WarehouseError extends Data.TaggedError("WarehouseError")<{ readonly cause: unknown }> {}

/** A window of days, `start` inclusive, `end` exclusive. */
export interface ProfileWindow {
  readonly start: IsoDate
  readonly end: IsoDate
}

/** The window of `days` days ending (exclusive) on `end`. */
export const windowEnding = (end: IsoDate, days: number): ProfileWindow => ({ start: addDays(end, -days), end })

/** The windows a night reads, ending (exclusive) on its date: the tenant's `nightly` settings. */
export interface NightWindows {
  readonly date: IsoDate
  readonly profileWindowDays: number
  readonly recentWindowDays: number
  readonly metricsWindowDays: number
}

/** What tonight's trigger selection asks of the warehouse: the tenant's `nightly` settings for a run date. */
export interface NightQuery extends NightWindows {
  readonly newHireDays: number
  readonly periodicDays: number
  readonly anomalyMinAccesses: number
  readonly anomalyMinDays: number
  /** A drift above this is an anomaly (the tenant's `anomalyThreshold`). */
  readonly anomalyThreshold: number
}

/**
 * A user some trigger may fire for tonight, as the warehouse sees them: whether they have
 * activity in the profile window, and their drift when it is above the anomaly threshold. The
 * caller decides the reasons from HR and the user's label (see `triggerReasons`).
 */
export interface Candidate {
  readonly userId: UserId
  readonly active: boolean
  readonly drift: number | null
}

/** One user's apps over a window, with the category they were last given (null: never categorized). */
export interface UserApps {
  readonly userId: UserId
  readonly category: CategoryId | null
  readonly apps: ReadonlyArray<{ readonly app: AppKey; readonly activeDays: number }>
}

/**
 * A tenant's event warehouse: its raw SSO events and the daily per-user, per-app rollup the
 * nightly reads. What the pipeline asks of it, and nothing about how it is stored: the
 * PostgreSQL adapter (`postgres/`) keeps day partitions and rollup marks behind it.
 */
export class EventWarehouse extends Context.Tag("workcat/EventWarehouse")<
  EventWarehouse,
  {
    /** Stores events, idempotently on (provider, event id, time); fails whole on a refused value. */
    readonly append: (events: ReadonlyArray<AccessEvent>) => Effect.Effect<Inserted, ValuesRefused | WarehouseError>
    /** Which days (ISO dates) the warehouse already holds a place for: an intake bounds how many new ones it adds. */
    readonly knownDays: Effect.Effect<(day: string) => boolean, WarehouseError>
    /** Makes room for these days ahead of their first events. */
    readonly prepareDays: (days: ReadonlyArray<string>) => Effect.Effect<void, WarehouseError>
    /** Brings the rollup up to date with every append so far; the number of days it recomputed. */
    readonly settle: Effect.Effect<number>
    /** The same for the days before `day` (an ISO date) only: a bulk load settles the days it has moved past as it goes. */
    readonly settleBefore: (day: string) => Effect.Effect<number>
    /** Retention: removes the events and rollups of days before `cutoff` (an ISO date); the days removed. */
    readonly dropBefore: (cutoff: string) => Effect.Effect<number>
    /** These users' app profiles over the night's profile window (the rollup settled first); users without activity in it are absent. */
    readonly profiles: (night: NightWindows, users: ReadonlyArray<UserId>) => Effect.Effect<ReadonlyMap<UserId, AppProfile>>
    /**
     * A superset of tonight's users, chosen in the warehouse from the rollup, the tenant's labels
     * and HR events: the never categorized (with activity or an HR record), recent hires, users
     * with an HR event since their categorization, the periodic slice and the overdue, and users
     * whose drift passes the threshold.
     */
    readonly candidates: (night: NightQuery) => Effect.Effect<ReadonlyArray<Candidate>>
    /** Every user with activity in the night's profile window and their apps, ordered by user: the neighbour index is built from it. */
    readonly appActivity: (night: NightWindows) => Stream.Stream<UserApps>
    /**
     * Productivity totals of the users active in the night's metrics window by department and team
     * (HR as of the night's date, "Unknown" without) and by category ("uncategorized" without), grouped in the warehouse.
     */
    readonly groupTotals: (night: NightWindows) => Effect.Effect<ReadonlyArray<GroupTotals>>
    /** Of these users, those with any activity left in the rollup, on any day kept (the others were forgotten). */
    readonly usersWithActivity: (users: ReadonlyArray<UserId>) => Effect.Effect<ReadonlySet<UserId>>
    /** Right to forget: removes every event and rollup of the user; rows removed per table. */
    readonly forget: (userId: UserId) => Effect.Effect<Readonly<Record<string, number>>>
    /** Key rotation: every stored user pseudonym and session hash becomes `rekey` of itself; the distinct values re-keyed. */
    readonly rekey: (rekey: (old: string) => string) => Effect.Effect<number>
    /** What a night's first stage does before anything else: the warehouse's own upkeep (BigQuery: queued forgets applied, events exported). */
    readonly beforeNight: Effect.Effect<void>
    /** After a READY night: its labels and metrics where the tenant's analysts read them (nothing to do when that is this PostgreSQL); the rows written. */
    readonly publishResults: (run: { readonly runId: string; readonly date: IsoDate }) => Effect.Effect<number, WarehouseError>
  }
>() {}
