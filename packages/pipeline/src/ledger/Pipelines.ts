import type { Categorizer } from "@workcat/core"
import { Context, Layer } from "effect"
import type { PipelineLive } from "../Layers.js"
import type { Pipeline } from "./Pipeline.js"

/** What a pipeline's body may use: one tenant's services, and the process's categorizer. */
export type PipelineServices = Layer.Layer.Success<ReturnType<typeof PipelineLive>> | Categorizer

/** A pipeline of any input and output, as the registry holds them. */
export type AnyPipeline = Pipeline<any, any, any, any, PipelineServices>

/** The pipelines a worker can run, by name (a run row names its pipeline). */
export class Pipelines extends Context.Tag("workcat/Pipelines")<Pipelines, ReadonlyMap<string, AnyPipeline>>() {
  static readonly layer = (...pipelines: ReadonlyArray<AnyPipeline>) =>
    Layer.succeed(Pipelines, new Map(pipelines.map((p) => [p.name, p])))
}
