import { Effect, Layer } from "effect"
import { Executor } from "../durable/Executor.js"
import type { Pipeline } from "../durable/Pipeline.js"
import { Pipelines } from "../durable/Pipelines.js"
import { Runs } from "../durable/Runs.js"
import { TenantRuntimes, TenantUnavailable } from "../durable/TenantRuntimes.js"
import { NightlyPipeline } from "../nightly/Nightly.js"
import { ValidatePipeline } from "../validate/Validate.js"
import { BaseLive, CategorizerLive, type PipelineServices } from "./Layers.js"
import { TenantLayers } from "./TenantLayers.js"

/** Pipelines whose bodies need nothing but a tenant's services and the categorizer. */
export const pipelinesLayer = (...pipelines: ReadonlyArray<Pipeline<any, any, any, any, PipelineServices>>) => Pipelines.layer(...pipelines)

/** The pipelines this build runs. */
export const PipelinesLive = pipelinesLayer(NightlyPipeline, ValidatePipeline)

/** The engine runs pipeline bodies in the tenant's services from the shared per-tenant map. */
const TenantRuntimesLive = Layer.effect(
  TenantRuntimes,
  Effect.map(TenantLayers, (layers) => ({
    runtime: (tenant, maxAgeMs) =>
      layers
        .runtime(tenant, maxAgeMs)
        .pipe(Effect.mapError((e) => new TenantUnavailable({ tenant, message: String((e as { message?: string }).message ?? e) })))
  }))
)

/**
 * The run runtime for some pipelines, over whatever provides the process-wide services
 * (`BaseLive` and a `Categorizer`): runs, the executor, and one layer per tenant on demand.
 */
export const runsFor = (pipelines: Layer.Layer<Pipelines>) =>
  Runs.Default.pipe(
    Layer.provideMerge(Executor.Default),
    Layer.provideMerge(TenantRuntimesLive),
    Layer.provideMerge(TenantLayers.Default),
    Layer.provideMerge(pipelines)
  )

export const RunsLive = runsFor(PipelinesLive)

/** Everything a process needs to start, drive and serve runs. */
export const RuntimeLive = RunsLive.pipe(Layer.provideMerge(CategorizerLive), Layer.provideMerge(BaseLive))
