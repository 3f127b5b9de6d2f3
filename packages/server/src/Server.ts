import { HttpApiBuilder, type HttpApp, HttpApiSwagger, HttpIncomingMessage, HttpMiddleware, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Option } from "effect"
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

/** Bodies other than events' are small JSON documents (settings, run requests). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024

/** The events routes read their bodies themselves, under `WORKCAT_MAX_BODY_BYTES`. */
const EVENTS_ROUTE = /^\/api\/v1\/tenants\/[^/]+\/events\//

const tooLarge = HttpServerResponse.unsafeJson(
  { _tag: "PayloadTooLarge", message: `The request body is larger than ${MAX_JSON_BODY_BYTES} bytes`, maxBytes: MAX_JSON_BODY_BYTES },
  { status: 413 }
)

/**
 * Every body is read under a limit: without one a caller with any token can make the server hold
 * a body of any size. A declared length over it is refused before reading; a streamed body is cut
 * off once it passes the limit (the framework reports that as a defect, answered 413 here).
 */
const limitBodies = (app: HttpApp.Default): HttpApp.Default =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    if (EVENTS_ROUTE.test(request.url)) return app
    if (Number(request.headers["content-length"] ?? "0") > MAX_JSON_BODY_BYTES) return Effect.succeed(tooLarge)
    return app.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(MAX_JSON_BODY_BYTES)),
      Effect.catchAllCause((cause) => {
        const defect = Cause.squash(cause) as { readonly _tag?: string; readonly cause?: { readonly message?: string } }
        return defect?._tag === "RequestError" && defect.cause?.message === "maxBytes exceeded" ? Effect.succeed(tooLarge) : Effect.failCause(cause)
      })
    )
  })

/** The API with Swagger UI at `/docs` and the OpenAPI document at `/docs/openapi.json`, on any HttpServer. */
export const HttpAppLive = HttpApiBuilder.serve((app) => HttpMiddleware.logger(limitBodies(app))).pipe(
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
