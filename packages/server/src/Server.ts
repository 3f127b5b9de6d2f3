import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { WorkcatApi } from "./Api.js"
import { AuthenticationLive } from "./Auth.js"
import { CategoriesLive } from "./http/CategoriesHandlers.js"
import { EventsLive } from "./http/EventsHandlers.js"
import { HealthLive } from "./http/HealthHandlers.js"
import { MetricsLive } from "./http/MetricsHandlers.js"
import { PipelineLive } from "./http/PipelineHandlers.js"
import { AuditLive, PrivacyLive } from "./http/PrivacyHandlers.js"
import { SettingsLive } from "./http/SettingsHandlers.js"

/** The API's handlers, over the run runtime (`RuntimeLive`: database, tenants, runs). */
export const ApiLive = HttpApiBuilder.api(WorkcatApi).pipe(
  Layer.provide([HealthLive, CategoriesLive, MetricsLive, SettingsLive, EventsLive, PrivacyLive, AuditLive, PipelineLive]),
  Layer.provide(AuthenticationLive)
)

/** The API with Swagger UI at `/docs` and the OpenAPI document at `/docs/openapi.json`, on any HttpServer. */
export const HttpAppLive = HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/docs/openapi.json" })),
  Layer.provide(ApiLive)
)

export interface ServeOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
}

/** The HTTP server on Node. `PORT` (default 8080) and `HOST` (default 127.0.0.1) configure it. */
export const ServerLive = (options: ServeOptions = {}) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const port = options.port ?? (yield* Config.port("PORT").pipe(Config.withDefault(8080)))
      const host = options.host ?? (yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1")))
      return HttpAppLive.pipe(HttpServer.withLogAddress, Layer.provide(NodeHttpServer.layer(createServer, { port, host })))
    })
  )
