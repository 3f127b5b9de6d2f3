import { type HttpApp, HttpMiddleware, HttpServerError, HttpServerRequest, HttpTraceContext } from "@effect/platform"
import { Context, Effect, Exit, Option } from "effect"
import { pathOf } from "../RequestPath.js"

/**
 * One span per request, like `HttpMiddleware.tracer` but without `url.full`, `url.query` and the
 * request headers (the platform's is disabled in `Server.ts`): path, method, route and status.
 */
const traced = HttpMiddleware.make((app) =>
  Effect.withFiberRuntime((fiber) => {
    const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
    return Effect.useSpan(
      `http.server ${request.method}`,
      { parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(request.headers)), kind: "server", captureStackTrace: false },
      (span) => {
        span.attribute("http.request.method", request.method)
        span.attribute("url.path", pathOf(request.url))
        span.attribute("url.scheme", request.headers["x-forwarded-proto"] === "https" ? "https" : "http")
        if (request.headers["user-agent"] !== undefined) span.attribute("user_agent.original", request.headers["user-agent"])
        return Effect.withParentSpan(app, span).pipe(
          Effect.onExit((exit) => Effect.sync(() => span.attribute("http.response.status_code", HttpServerError.exitResponse(exit).status)))
        )
      }
    )
  })
)

/**
 * One log line per request, like `HttpMiddleware.logger` but with the path only (see `pathOf`):
 * at Debug level (not written by default: a load balancer logs requests anyway),
 * a refusal with its cause at Info, a server error at Error.
 */
const logged = HttpMiddleware.make((app) =>
  Effect.withFiberRuntime((fiber) => {
    const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
    return Effect.onExit(app, (exit) => {
      const annotations = { "http.method": request.method, "http.url": pathOf(request.url) }
      if (Exit.isSuccess(exit)) return Effect.logDebug("Sent HTTP response").pipe(Effect.annotateLogs({ ...annotations, "http.status": exit.value.status }))
      const [response, cause] = HttpServerError.causeResponseStripped(exit.cause)
      // 499: the client went away before its answer (nothing failed here).
      const log = response.status >= 500 ? Effect.logError : Option.isSome(cause) && response.status !== 499 ? Effect.logInfo : Effect.logDebug
      return log(Option.isSome(cause) ? cause.value : "Sent HTTP response").pipe(Effect.annotateLogs({ ...annotations, "http.status": response.status }))
    }).pipe(Effect.withLogSpan("http"))
  })
)

/**
 * The router's and the body reader's errors name the request's URL, query string included (a
 * mistyped path with `?access_token=…` would log the token): the same error with the path only.
 */
const withoutQuery = <E>(error: E): E => {
  if (!HttpServerError.isServerError(error) || error._tag === "ServeError") return error
  const request = error.request.modify({ url: pathOf(error.request.url) })
  if (error._tag === "RouteNotFound") return new HttpServerError.RouteNotFound({ request }) as E
  const detail = { ...(error.cause === undefined ? {} : { cause: error.cause }), ...(error.description === undefined ? {} : { description: error.description }) }
  return (error._tag === "RequestError"
    ? new HttpServerError.RequestError({ request, reason: error.reason, ...detail })
    : new HttpServerError.ResponseError({ request, response: error.response, reason: error.reason, ...detail })) as E
}

/** Request logs and spans that never hold a query string. */
export const logRequests = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> => traced(logged(Effect.mapError(app, withoutQuery)))
