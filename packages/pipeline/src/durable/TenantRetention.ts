import { Context, type Effect } from "effect"

/** Rows a retention removed or changed, by what they were (`llmCallsDeleted: 12`). */
export type Expired = Readonly<Record<string, number>>

/**
 * What else of a tenant's data expires with its run ledger (the cost ledger's calls), asked by
 * each day's ledger sweep in the tenant's services. The engine does not know what it is: the
 * application provides it (`CostLedgerRetentionLive`); absent, nothing else expires.
 */
export class TenantRetention extends Context.Tag("workcat/TenantRetention")<
  TenantRetention,
  {
    /** Expires what is older than the tenant's `ledgerRetentionDays`, at most `batch` rows a statement. */
    readonly expire: (days: number, batch: number) => Effect.Effect<Expired>
    /** What `expire` would do now. */
    readonly expiring: (days: number) => Effect.Effect<Expired>
  }
>() {}
