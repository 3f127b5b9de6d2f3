import { Context, Layer } from "effect"
import type { Pipeline } from "./Pipeline.js"

/** A pipeline of any input, output and services, as the registry holds them. */
export type AnyPipeline = Pipeline<any, any, any, any, any>

/** The pipelines a worker can run, by name (a run row names its pipeline). */
export class Pipelines extends Context.Tag("workcat/Pipelines")<Pipelines, ReadonlyMap<string, AnyPipeline>>() {
  static readonly layer = (...pipelines: ReadonlyArray<AnyPipeline>) =>
    Layer.succeed(Pipelines, new Map(pipelines.map((p) => [p.name, p])))
}
