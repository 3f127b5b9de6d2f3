import { Schema } from "effect"

/** The states of a pipeline run. */
export const RunState = Schema.Literal("QUEUED", "PROCESSING", "READY", "DEGRADED", "FAILED", "STALE", "CANCELLED")
export type RunState = typeof RunState.Type

/**
 * The state machine of a run: QUEUED → PROCESSING → READY | DEGRADED (some items failed, the
 * rest kept) | FAILED; FAILED or DEGRADED → QUEUED on retry; READY → STALE when its inputs
 * change, STALE → QUEUED to run again; any non-final state → CANCELLED.
 */
export const TRANSITIONS: Readonly<Record<RunState, ReadonlyArray<RunState>>> = {
  QUEUED: ["PROCESSING", "CANCELLED"],
  PROCESSING: ["READY", "DEGRADED", "FAILED", "CANCELLED"],
  READY: ["STALE"],
  DEGRADED: ["QUEUED", "CANCELLED"],
  FAILED: ["QUEUED", "CANCELLED"],
  STALE: ["QUEUED"],
  CANCELLED: []
}

export const canTransition = (from: RunState, to: RunState): boolean => TRANSITIONS[from].includes(to)

/** States in which a run does no work and needs none. */
export const isFinal = (state: RunState): boolean => state === "READY" || state === "CANCELLED" || state === "STALE"

/** States whose run can be retried (only its failed work runs again). */
export const isRetryable = (state: RunState): boolean => state === "FAILED" || state === "DEGRADED"

/** A run was asked to move where the state machine does not allow. */
export class IllegalTransition extends Schema.TaggedError<IllegalTransition>()("IllegalTransition", {
  runId: Schema.String,
  from: RunState,
  to: RunState,
  message: Schema.String
}) {}

/** A nightly run must be READY within this long of being queued. */
export const NIGHTLY_SLA_HOURS = 4

/**
 * Whether a nightly run met its service level: READY (or READY and since STALE) within
 * `NIGHTLY_SLA_HOURS` of being queued (`met`); not so and past it (`missed`); else still in time (`pending`).
 */
export const slaOf = (
  run: { readonly state: RunState; readonly queuedAt: Date; readonly finishedAt: Date | null },
  now: Date
): "met" | "missed" | "pending" => {
  const deadline = run.queuedAt.getTime() + NIGHTLY_SLA_HOURS * 3_600_000
  if ((run.state === "READY" || run.state === "STALE") && run.finishedAt !== null && run.finishedAt.getTime() <= deadline) return "met"
  return now.getTime() > deadline || run.state === "READY" ? "missed" : "pending"
}
