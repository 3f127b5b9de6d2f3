import { HttpMethod, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Option, Schema } from "effect"
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from "../Api.js"
import { pathOf } from "../RequestPath.js"

/** Bodies other than events' are small JSON documents (settings, run requests). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024

/**
 * Deeper JSON than any provider or settings document nests. Parsing a deeper one is fine, but
 * formatting or encoding it again (a schema error, a dead letter) recurses past the stack.
 */
export const MAX_JSON_DEPTH = 64

/** The events routes read their bodies themselves, under `WORKCAT_MAX_BODY_BYTES`. */
const EVENTS_ROUTE = /^\/api\/v1\/tenants\/[^/]+\/events\//

/** `application/json`, with parameters; the API's payload decoding reads nothing else as JSON. */
const isJson = (contentType: string | undefined) => contentType !== undefined && /^\s*application\/json\s*(;|$)/i.test(contentType)

/** The deepest nesting of arrays and objects in JSON text (or NDJSON), strings skipped; stops counting past `limit`. */
export const jsonDepth = (text: string, limit = MAX_JSON_DEPTH): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      depth++
      if (depth > deepest && (deepest = depth) > limit) return deepest
    } else if (c === 93 || c === 125) depth--
  }
  return deepest
}

export const tooDeep = () => new BadRequest({ message: `The body nests JSON deeper than ${MAX_JSON_DEPTH} levels` })

/**
 * Reads a request's body as text, up to `maxBytes`: none if it is longer. A longer body is not
 * destroyed with its socket (the client would get a reset instead of the answer): the rest is
 * discarded as it arrives, and the 413 closes the connection.
 */
export const readLimited = (request: HttpServerRequest.HttpServerRequest, maxBytes: number): Effect.Effect<Option.Option<string>> =>
  Effect.async<Option.Option<string>>((resume) => {
    const source = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let bytes = 0
    const stop = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= maxBytes) return void chunks.push(chunk)
      stop()
      source.resume()
      resume(Effect.succeed(Option.none()))
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Option.some(Buffer.concat(chunks).toString("utf8"))))
    }
    // An aborted upload: never act on part of a body (the client is gone, or about to be).
    const onError = (error: Error) => {
      stop()
      resume(Effect.die(error))
    }
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onError)
    return Effect.sync(stop)
  })

/** An error of the API's contract (`Api.ts`), answered by this middleware as the API would. */
const answer = <S extends Schema.Schema.AnyNoContext>(status: number, schema: S, error: Schema.Schema.Type<S>) =>
  HttpServerResponse.unsafeJson(Schema.encodeSync(schema)(error), { status })

const tooLarge = answer(
  413,
  PayloadTooLarge,
  new PayloadTooLarge({ message: `The request body is larger than ${MAX_JSON_BODY_BYTES} bytes`, maxBytes: MAX_JSON_BODY_BYTES })
)
const notJson = answer(415, UnsupportedMediaType, new UnsupportedMediaType({ message: "Send the body as application/json" }))
const invalid = (error: BadRequest) => answer(400, BadRequest, error)

/** The body as read here, so the API's payload decoding does not read the (consumed) request again. */
const withBody = (request: HttpServerRequest.HttpServerRequest, text: string, value: unknown): HttpServerRequest.HttpServerRequest =>
  Object.create(request, { text: { value: Effect.succeed(text) }, json: { value: Effect.succeed(value) } })

/**
 * Every JSON body is read here, before any handler: at most 1 MiB (a declared length over it is
 * refused unread, a longer streamed one once it passes), of type `application/json`, and nested
 * at most `MAX_JSON_DEPTH` deep. Events routes read theirs in their handler, once authorized.
 */
export const limitBodies = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    if (!HttpMethod.hasBody(request.method) || EVENTS_ROUTE.test(pathOf(request.url))) return app
    const declared = Number(request.headers["content-length"] ?? "0")
    const hasBody = declared > 0 || request.headers["transfer-encoding"] !== undefined
    if (!hasBody) return app
    if (!isJson(request.headers["content-type"])) return Effect.succeed(notJson)
    if (declared > MAX_JSON_BODY_BYTES) return Effect.succeed(tooLarge)
    return Effect.flatMap(readLimited(request, MAX_JSON_BODY_BYTES), (text) => {
      if (Option.isNone(text)) return Effect.succeed(tooLarge)
      if (jsonDepth(text.value) > MAX_JSON_DEPTH) return Effect.succeed(invalid(tooDeep()))
      let value: unknown
      try {
        value = text.value === "" ? null : JSON.parse(text.value)
      } catch {
        return Effect.succeed(invalid(new BadRequest({ message: "The body is not valid JSON" })))
      }
      return Effect.provideService(app, HttpServerRequest.HttpServerRequest, withBody(request, text.value, value))
    })
  })
