import { Config, Effect, Layer, Option } from "effect"

/**
 * Traces to an OpenTelemetry collector over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
 * (the exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables itself); otherwise spans stay
 * in-process. Every LLM call is a span with the GenAI semantic attributes and its cost.
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const endpoint = yield* Config.option(Config.nonEmptyString("OTEL_EXPORTER_OTLP_ENDPOINT"))
    if (Option.isNone(endpoint)) return Layer.empty
    const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("workcat"))
    // Loaded only when exporting: the SDK is a good part of the CLI's start-up otherwise.
    const [{ NodeSdk }, { OTLPTraceExporter }, { BatchSpanProcessor }] = yield* Effect.promise(() =>
      Promise.all([import("@effect/opentelemetry"), import("@opentelemetry/exporter-trace-otlp-http"), import("@opentelemetry/sdk-trace-base")])
    )
    return NodeSdk.layer(() => ({
      resource: { serviceName },
      spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter())
    }))
  })
)
