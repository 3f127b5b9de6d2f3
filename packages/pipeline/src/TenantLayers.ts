import type { TenantId } from "@workcat/tenancy"
import { LayerMap } from "effect"
import { PipelineLive } from "./Layers.js"

/**
 * One tenant's pipeline services per tenant id, built on first use and released after five idle
 * minutes (each holds a small connection pool logged in as the tenant's role). Shared by the
 * server's handlers and the run executor.
 */
export class TenantLayers extends LayerMap.Service<TenantLayers>()("workcat/TenantLayers", {
  lookup: (tenant: TenantId) => PipelineLive(tenant),
  idleTimeToLive: "5 minutes"
}) {}
