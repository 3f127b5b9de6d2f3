import { Layer } from "effect"
import { BaseLive, CategorizerLive } from "./Layers.js"
import { Executor } from "./ledger/Executor.js"
import { Pipelines } from "./ledger/Pipelines.js"
import { Runs } from "./ledger/Runs.js"
import { NightlyPipeline } from "./nightly/Nightly.js"
import { TenantLayers } from "./TenantLayers.js"

/** The pipelines this build runs. */
export const PipelinesLive = Pipelines.layer(NightlyPipeline)

/**
 * The run runtime for some pipelines, over whatever provides the process-wide services
 * (`BaseLive` and a `Categorizer`): runs, the executor, and one layer per tenant on demand.
 */
export const runsFor = (pipelines: Layer.Layer<Pipelines>) =>
  Runs.Default.pipe(Layer.provideMerge(Executor.Default), Layer.provideMerge(TenantLayers.Default), Layer.provideMerge(pipelines))

export const RunsLive = runsFor(PipelinesLive)

/** Everything a process needs to start, drive and serve runs. */
export const RuntimeLive = RunsLive.pipe(Layer.provideMerge(CategorizerLive), Layer.provideMerge(BaseLive))
