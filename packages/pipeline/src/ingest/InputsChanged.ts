import { Context, type Effect } from "effect"

/**
 * What an intake announces once its batches have committed, for whatever was computed from the
 * old inputs (the nightly runs whose windows they fall in). The intake does not know who listens:
 * the application wires it to the run ledger (`app/Layers.ts`).
 */
export class InputsChanged extends Context.Tag("workcat/InputsChanged")<
  InputsChanged,
  {
    /** Events of days `firstDay`..`lastDay` (ISO dates) were stored. */
    readonly events: (firstDay: string, lastDay: string) => Effect.Effect<void>
    /** HR records effective from `from` (an ISO date) on were stored. */
    readonly hr: (from: string) => Effect.Effect<void>
  }
>() {}
