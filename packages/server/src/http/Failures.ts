import { HttpApiError, HttpServerResponse } from "@effect/platform"
import { Cause, Effect } from "effect"

/** Seconds a client is asked to wait while the database cannot be reached. */
export const RETRY_AFTER_SECONDS = 5

/** Node's errors for a connection that could not be made or was lost. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"])

/**
 * SQLSTATEs of a server that cannot serve connections now: class 08 (connection exception),
 * 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many connections).
 */
const isUnavailableState = (code: string) => code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300"

/** What pg says when a connection dies under a query or cannot be made in time. */
const PG_CONNECTION_MESSAGE = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/

/** An error and what it wraps (`cause`, an AggregateError's `errors`), outermost first. */
const chain = (error: unknown): ReadonlyArray<unknown> => {
  const out: Array<unknown> = []
  const visit = (u: unknown, depth: number) => {
    if (typeof u !== "object" || u === null || depth > 6 || out.includes(u)) return
    out.push(u)
    const { cause, errors } = u as { readonly cause?: unknown; readonly errors?: unknown }
    visit(cause, depth + 1)
    if (Array.isArray(errors)) for (const e of errors) visit(e, depth + 1)
  }
  visit(error, 0)
  return out
}

const isPgConnectionFailure = (u: unknown) => {
  const { code, severity, message } = u as { readonly code?: unknown; readonly severity?: unknown; readonly message?: unknown }
  return (typeof code === "string" && typeof severity === "string" && isUnavailableState(code)) || (typeof message === "string" && PG_CONNECTION_MESSAGE.test(message))
}

const isNetworkFailure = (u: unknown) => {
  const code = (u as { readonly code?: unknown }).code
  return typeof code === "string" && NETWORK_CODES.has(code)
}

/**
 * The failure is PostgreSQL being out of reach, wherever it surfaced: a `SqlError` (typed, or a
 * defect after `orDie`) over a network error or a connection SQLSTATE, or pg's own connection
 * errors. A network error of anything else (a client that went away) is not.
 */
export const isDatabaseUnreachable = (cause: Cause.Cause<unknown>): boolean =>
  [...Cause.failures(cause), ...Cause.defects(cause)].some((error) => {
    const errors = chain(error)
    const sql = errors.findIndex((e) => (e as { readonly _tag?: unknown })._tag === "SqlError")
    return errors.some(isPgConnectionFailure) || (sql >= 0 && errors.slice(sql).some(isNetworkFailure))
  })

const unavailable = HttpServerResponse.unsafeJson(
  { _tag: "Unavailable", message: "The database cannot be reached; try again shortly" },
  { status: 503, headers: { "retry-after": String(RETRY_AFTER_SECONDS) } }
)

/** A tenant schema this build cannot use: the tenant's layer refused it (see `Tenant.layer`). */
const SCHEMA_MISMATCH = new Set(["TenantSchemaOutdated", "TenantSchemaAhead"])

/** The refusal, however it surfaced (a failure, or a defect after the tenant's layer died with it). */
const schemaMismatch = (cause: Cause.Cause<unknown>): { readonly message: string } | undefined =>
  [...Cause.failures(cause), ...Cause.defects(cause)].find(
    (error): error is { readonly _tag: string; readonly message: string } =>
      typeof error === "object" && error !== null && SCHEMA_MISMATCH.has(String((error as { readonly _tag?: unknown })._tag)) && typeof (error as { readonly message?: unknown }).message === "string"
  )

/** Long enough to say what was wrong, short enough never to echo a large input. */
const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * An issue's message without a dump of the expected schema (`Expected { readonly a: …; … }, actual …`)
 * and with little of the value it quotes.
 */
const plain = (message: string) =>
  clip(message.replace(/^Expected \{[\s\S]*\}, actual /, "Expected an object, actual ").replace(/, actual ([\s\S]*)$/, (_, actual: string) => `, actual ${clip(actual, 40)}`))

/** An optional field's `Expected undefined` says nothing the issue beside it does not. */
const isNoise = (message: string) => message.startsWith("Expected undefined, actual ")

const isDecodeError = (u: unknown): u is HttpApiError.HttpApiDecodeError => (u as { readonly _tag?: unknown })._tag === "HttpApiDecodeError"

/** The parameter or body field an issue is about, as a client names it. */
const subject = (path: ReadonlyArray<PropertyKey>) => (path.length === 0 ? "request" : path.map(String).join("."))

/**
 * An HttpApi-level middleware: the database out of reach answers 503 with `Retry-After` on any
 * route, whichever service noticed (token verification, a tenant's layer, a handler); so does a
 * tenant whose schema this build cannot use (not migrated yet after an upgrade), with a message
 * naming the fix, for the operator the client reports it to; a schema
 * error names the parameter in its message instead of printing the whole schema. Everything else
 * is left to the API's error encoding (and, for defects, to `fallbackBodies`).
 */
export const respondToFailures = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  app.pipe(
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      if (isDatabaseUnreachable(cause)) {
        return Effect.logWarning("The database cannot be reached").pipe(
          Effect.annotateLogs("error", clip(String(Cause.squash(cause)))),
          Effect.as(unavailable)
        )
      }
      const mismatch = schemaMismatch(cause)
      if (mismatch !== undefined) {
        return Effect.logError(mismatch.message).pipe(
          Effect.as(HttpServerResponse.unsafeJson({ _tag: "Unavailable", message: mismatch.message }, { status: 503 }))
        )
      }
      const failure = Cause.failureOption(cause)
      if (failure._tag === "Some" && isDecodeError(failure.value)) {
        const all = failure.value.issues.map((issue) => ({ ...issue, message: plain(issue.message) }))
        const meaningful = all.filter((issue) => !isNoise(issue.message))
        const issues = meaningful.length > 0 ? meaningful : all
        const message = issues.map((issue) => `${subject(issue.path)}: ${issue.message}`).join("; ")
        return Effect.fail(new HttpApiError.HttpApiDecodeError({ issues, message: clip(message, 1000) }) as E)
      }
      return Effect.failCause(cause)
    })
  )
