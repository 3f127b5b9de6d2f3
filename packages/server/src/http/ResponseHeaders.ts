import { HttpApp, HttpBody, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { RETRY_AFTER_SECONDS } from "./Failures.js"
import { pathOf } from "../RequestPath.js"

/** The JSON API loads nothing and may not be framed. */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/** Swagger UI is one page of inline script and style, with its spec inline; "Try it out" calls this origin. */
const DOCS_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/** The dashboard runs its own script and style only, and talks to this origin only. */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

const policyOf = (path: string) =>
  path === "/docs" ? DOCS_POLICY : path === "/" || path === "/signin" || path.startsWith("/signin/") || path.startsWith("/assets/") ? PAGE_POLICY : API_POLICY

const headersFor = (request: HttpServerRequest.HttpServerRequest) => ({
  // Behind HTTPS (a load balancer says so), browsers are told to come back only that way.
  ...(request.headers["x-forwarded-proto"] === "https" ? { "strict-transport-security": "max-age=31536000" } : {}),
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "content-security-policy": policyOf(pathOf(request.url))
})

/** Bodies of errors the framework answers without one (no route, a defect, a server shutting down). */
const FALLBACK: Readonly<Record<number, { readonly _tag: string; readonly message: string }>> = {
  404: { _tag: "NotFound", message: "Not found" },
  405: { _tag: "MethodNotAllowed", message: "Method not allowed" },
  500: { _tag: "InternalServerError", message: "Internal server error" },
  503: { _tag: "Unavailable", message: "The service is unavailable; try again shortly" }
}

/**
 * Every response, however it was produced (a handler, a middleware, the framework's own answer
 * to a defect), gets the security headers, a JSON body when it is an error without one,
 * `Retry-After` when it is a 503, and `Connection: close` when it is a 413: the refused body may
 * still be on its way, and the connection must not be reused for a next request behind it.
 */
const finish = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
  let out = HttpServerResponse.setHeaders(response, headersFor(request))
  const fallback = FALLBACK[out.status]
  if (fallback !== undefined && out.body._tag === "Empty" && request.method !== "HEAD") out = HttpServerResponse.setBody(out, HttpBody.unsafeJson(fallback))
  if (out.status === 503 && out.headers["retry-after"] === undefined) out = HttpServerResponse.setHeader(out, "retry-after", String(RETRY_AFTER_SECONDS))
  if (out.status === 413) out = HttpServerResponse.setHeader(out, "connection", "close")
  return Effect.succeed(out)
}

export const secureResponses = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.zipRight(HttpApp.appendPreResponseHandler(finish), app)
