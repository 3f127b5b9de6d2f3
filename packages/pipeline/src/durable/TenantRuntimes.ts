import type { TenantId } from "@workcat/tenancy"
import { Context, Data, type Effect, type Runtime, type Scope } from "effect"

/** A tenant's services could not be built (the tenant removed, its database out of reach). */
export class TenantUnavailable extends Data.TaggedError("TenantUnavailable")<{ readonly tenant: string; readonly message: string }> {}

/**
 * Where the engine gets a tenant's services to run a pipeline's body in: the application's
 * per-tenant layers. The engine knows nothing of what they contain; the application registers
 * only pipelines whose bodies need no more than it provides (see `app/Runtime.ts`).
 */
export class TenantRuntimes extends Context.Tag("workcat/TenantRuntimes")<
  TenantRuntimes,
  {
    /**
     * The tenant's services, held until the scope closes; a build found current within the last
     * `maxAgeMs` is trusted without asking the registry again.
     */
    readonly runtime: (tenant: TenantId, maxAgeMs?: number) => Effect.Effect<Runtime.Runtime<any>, TenantUnavailable, Scope.Scope>
  }
>() {}
