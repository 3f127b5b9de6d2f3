import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { WebSessions } from "@workcat/tenancy"
import { Config, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { WorkcatApi } from "./Api.js"
import { AuthenticationLive } from "./Auth.js"
import { DashboardPageLive } from "./dashboard/Page.js"
import { SessionLive, SignInLive } from "./dashboard/SessionHandlers.js"
import { FreshSettingsLive } from "./Fresh.js"
import { limitBodies } from "./http/Bodies.js"
import { CategoriesLive } from "./http/CategoriesHandlers.js"
import { EventsLive } from "./http/EventsHandlers.js"
import { respondToFailures } from "./http/Failures.js"
import { HealthLive } from "./http/HealthHandlers.js"
import { MetricsLive } from "./http/MetricsHandlers.js"
import { OperatorLive } from "./http/OperatorHandlers.js"
import { PipelineLive } from "./http/PipelineHandlers.js"
import { AuditLive, DeadLettersLive, PrivacyLive } from "./http/PrivacyHandlers.js"
import { logRequests } from "./http/RequestLog.js"
import { secureResponses } from "./http/ResponseHeaders.js"
import { SettingsLive } from "./http/SettingsHandlers.js"

export { MAX_JSON_BODY_BYTES } from "./http/Bodies.js"

/** The API's handlers, over the run runtime (`RuntimeLive`: database, tenants, runs). */
export const ApiLive = HttpApiBuilder.api(WorkcatApi).pipe(
  Layer.provide([
    HealthLive,
    SignInLive,
    SessionLive,
    CategoriesLive,
    MetricsLive,
    SettingsLive,
    EventsLive,
    PrivacyLive,
    DeadLettersLive,
    AuditLive,
    PipelineLive,
    OperatorLive
  ]),
  Layer.provide(AuthenticationLive),
  Layer.provide(FreshSettingsLive),
  Layer.provide(WebSessions.Default)
)

/**
 * Around every route (the docs' too), outermost first: security headers and error bodies on
 * every response, JSON bodies read under their limits, the database out of reach as a 503.
 */
const ApiMiddlewareLive = HttpApiBuilder.middleware(WorkcatApi, (app) => secureResponses(limitBodies(respondToFailures(app))))

/**
 * The API with the dashboard at `/`, Swagger UI at `/docs` and the OpenAPI document at
 * `/docs/openapi.json`, on any HttpServer.
 */
export const HttpAppLive = HttpApiBuilder.serve(logRequests).pipe(
  Layer.provide(ApiMiddlewareLive),
  Layer.provide(DashboardPageLive),
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/docs/openapi.json" })),
  Layer.provide(ApiLive),
  // `logRequests` makes the request spans: the platform's would record the query string (`url.full`, `url.query`).
  HttpMiddleware.withTracerDisabledWhen(() => true)
)

/** Another process listens on the port `serve` was asked for. */
export class PortInUse extends Schema.TaggedError<PortInUse>()("PortInUse", { port: Schema.Int, message: Schema.String }) {}

export interface ServeOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
}

/**
 * Node's HTTP server for `NodeHttpServer`, whose finalizer (on SIGTERM or Ctrl-C) calls `close()`:
 * it stops accepting, closes the idle connections and waits for the others. A keep-alive
 * connection whose response ends after that would then hold the server, and the process, for
 * `keepAliveTimeout` (5 s, plus Node's 1 s) more; once closing, it is closed as soon as its
 * response is sent, so `serve` answers the requests in flight and ends well within the 10 s Cloud
 * Run gives it after SIGTERM.
 */
const createServerLettingGo = () => {
  const server = createServer()
  let closing = false
  server.on("request", (_request, response) =>
    response.once("finish", () => {
      if (closing) server.closeIdleConnections()
    })
  )
  const close = server.close.bind(server)
  server.close = (callback) => {
    closing = true
    return close(callback)
  }
  return server
}

/** The HTTP server on Node. `PORT` (default 8080) and `HOST` (default 127.0.0.1) configure it. */
export const ServerLive = (options: ServeOptions = {}) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const port = options.port ?? (yield* Config.port("PORT").pipe(Config.withDefault(8080)))
      const host = options.host ?? (yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1")))
      const listening = NodeHttpServer.layer(createServerLettingGo, { port, host }).pipe(
        Layer.mapError((e) =>
          (e.cause as { readonly code?: unknown } | undefined)?.code === "EADDRINUSE"
            ? new PortInUse({ port, message: `port ${port} is in use; set PORT or --port` })
            : e
        )
      )
      return HttpAppLive.pipe(HttpServer.withLogAddress, Layer.provide(listening))
    })
  )
