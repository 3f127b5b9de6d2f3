import { Effect } from "effect"
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * An OpenAI-compatible chat completions server for tests and benchmarks, so the real `openai`
 * client is exercised over HTTP. It answers structured outputs that follow the request's JSON
 * schema, or, as a test scripts it, 429 with Retry-After, 500, slow answers, truncated JSON and
 * JSON that violates the schema. It enforces its own requests-per-minute limit like a provider,
 * simulates prompt caching of repeated system prompts, and counts what it saw.
 */

/** What the server does with one request. */
export type Behaviour =
  | { readonly kind: "ok" }
  | { readonly kind: "rate_limited"; readonly retryAfterSeconds: number }
  | { readonly kind: "server_error" }
  | { readonly kind: "truncated" }
  | { readonly kind: "schema_violation" }
  | { readonly kind: "not_json" }

export interface ChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }>
  readonly response_format?: { readonly type: string; readonly json_schema?: { readonly name: string; readonly schema: JsonSchema } }
}

interface JsonSchema {
  readonly type?: string
  readonly enum?: ReadonlyArray<string>
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly items?: JsonSchema
  readonly required?: ReadonlyArray<string>
}

export interface FakeOpenAiOptions {
  /** Decides each request's fate, numbered from 1 in arrival order; "ok" when omitted. */
  readonly script?: (request: ChatRequest, n: number) => Behaviour
  /** Milliseconds before answering (drawn per request); none when omitted. */
  readonly latencyMs?: () => number
  /** The server's own limit over a sliding minute; beyond it, 429 with the seconds until a slot frees. */
  readonly requestsPerMinute?: number
  /** The category of a structured answer, among the schema's allowed ids; by default a hash of the request. */
  readonly choose?: (request: ChatRequest, allowed: ReadonlyArray<string>) => string
}

export interface FakeOpenAiStats {
  requests: number
  /** Answers by kind, plus `rejected_by_limit` for the server's own 429s. */
  readonly outcomes: Record<string, number>
  inFlight: number
  maxInFlight: number
  /** Arrival times (ms since the epoch) of the requests that were served, not rejected by the limit. */
  readonly arrivals: Array<number>
  /** Completed requests' message lists, in completion order. */
  readonly requestsSeen: Array<ChatRequest>
}

export interface FakeOpenAi {
  /** The base URL to give the client (`…/v1`). */
  readonly url: string
  readonly stats: FakeOpenAiStats
}

const tokens = (text: string) => Math.ceil(text.length / 4)

const hashPick = <A>(seed: string, items: ReadonlyArray<A>): A =>
  items[createHash("sha256").update(seed).digest().readUInt32BE(0) % items.length]!

/** An answer that follows the schema: enums get a choice, strings and numbers plausible values. */
const answerFor = (schema: JsonSchema, pick: (allowed: ReadonlyArray<string>) => string): unknown => {
  if (schema.enum !== undefined) return pick(schema.enum)
  switch (schema.type) {
    case "object":
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, answerFor(s, pick)]))
    case "array":
      return schema.items?.type === "string" ? ["Jira", "GitHub"] : []
    case "number":
    case "integer":
      return 0.8
    case "boolean":
      return true
    default:
      return "evidence"
  }
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const error = (type: string, message: string) => ({ error: { message, type, param: null, code: type } })

/** Starts the server on a free local port for the enclosing scope. */
export const makeFakeOpenAi = (options: FakeOpenAiOptions = {}) =>
  Effect.gen(function* () {
    const stats: FakeOpenAiStats = { requests: 0, outcomes: {}, inFlight: 0, maxInFlight: 0, arrivals: [], requestsSeen: [] }
    const seenPrefixes = new Set<string>()
    const count = (kind: string) => (stats.outcomes[kind] = (stats.outcomes[kind] ?? 0) + 1)

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) return send(res, 404, error("not_found", "no such route"))
      const request = JSON.parse(await readBody(req)) as ChatRequest
      const n = ++stats.requests
      const now = Date.now()
      if (options.requestsPerMinute !== undefined) {
        const windowStart = now - 60_000
        const recent = stats.arrivals.filter((t) => t > windowStart)
        if (recent.length >= options.requestsPerMinute) {
          count("rejected_by_limit")
          const freeAt = recent[recent.length - options.requestsPerMinute]! + 60_000
          return send(res, 429, error("rate_limit_exceeded", "Rate limit reached for requests"), {
            "retry-after": String(Math.max(1, Math.ceil((freeAt - now) / 1000)))
          })
        }
      }
      stats.arrivals.push(now)
      stats.inFlight++
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
      try {
        const delay = options.latencyMs?.() ?? 0
        if (delay > 0) await new Promise((r) => setTimeout(r, delay))
        const behaviour = options.script?.(request, n) ?? { kind: "ok" }
        count(behaviour.kind)
        switch (behaviour.kind) {
          case "rate_limited":
            return send(res, 429, error("rate_limit_exceeded", "Rate limit reached"), { "retry-after": String(behaviour.retryAfterSeconds) })
          case "server_error":
            return send(res, 500, error("server_error", "The server had an error while processing your request"))
        }
        stats.requestsSeen.push(request)
        const schema = request.response_format?.json_schema?.schema
        const pick = (allowed: ReadonlyArray<string>) =>
          options.choose?.(request, allowed) ?? hashPick(JSON.stringify(request.messages), allowed)
        let content: string
        let finish = "stop"
        if (schema === undefined) {
          // About the length of a real three-sentence explanation (60 tokens).
          content =
            "Most of this person's working days start in GitHub and Jira, the tools of software delivery, and they take the largest share of sign-ins. " +
            "Mail and chat are used like everywhere else and say little. The mix has been stable over the period."
        } else {
          const answer = answerFor(schema, pick) as Record<string, unknown>
          content = JSON.stringify(answer)
          if (behaviour.kind === "truncated") {
            content = content.slice(0, Math.floor(content.length / 2))
            finish = "length"
          } else if (behaviour.kind === "schema_violation") {
            content = JSON.stringify({ ...answer, category: "astronaut", confidence: 7 })
          } else if (behaviour.kind === "not_json") {
            content = "I think this person is an engineer."
          }
        }
        // Providers cache a repeated prompt prefix: here, a system message seen before.
        const system = request.messages.find((m) => m.role === "system")?.content ?? ""
        const cached = seenPrefixes.has(system) ? tokens(system) : 0
        seenPrefixes.add(system)
        const prompt = request.messages.reduce((acc, m) => acc + tokens(m.content), 0)
        const completion = tokens(content)
        return send(res, 200, {
          id: `chatcmpl-${n}`,
          object: "chat.completion",
          created: Math.floor(now / 1000),
          model: `${request.model}-2025-04-14`,
          choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: finish, logprobs: null }],
          usage: {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: { cached_tokens: cached }
          }
        })
      } finally {
        stats.inFlight--
      }
    }

    const server = createServer((req, res) => {
      handle(req, res).catch((e) => send(res, 400, error("invalid_request_error", String(e))))
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const { port } = server.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}/v1`, stats } satisfies FakeOpenAi
  })
