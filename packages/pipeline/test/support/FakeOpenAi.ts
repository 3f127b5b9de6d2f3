import { Effect } from "effect"
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * An OpenAI-compatible chat completions server for tests and benchmarks, so the real `openai`
 * client is exercised over HTTP. It answers structured outputs that follow the request's JSON
 * schema, or, as a test scripts it, 429 with Retry-After, 500, slow answers, truncated JSON and
 * JSON that violates the schema. It enforces its own requests-per-minute limit like a provider,
 * simulates prompt caching of repeated system prompts, and counts what it saw. It also has the
 * Files and Batch APIs (upload a JSONL file, create a batch of chat completions, poll it, read
 * its output and error files), answering each line as it would synchronously; a test decides
 * how long a batch takes and which lines fail, or that the whole batch expires or fails.
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
  readonly batches?: {
    /** Milliseconds from creation to the batch's end (it is `in_progress` meanwhile); 0 when omitted. */
    readonly durationMs?: number
    /** How the batch ends: `completed` (default); `expired`, with only the first `expiredAfter` lines answered; `failed`, none. */
    readonly end?: "completed" | "expired" | "failed"
    readonly expiredAfter?: number
    /** Lines (numbered from 1 in the file) answered with an error instead, e.g. a 500. */
    readonly failLine?: (n: number) => boolean
  }
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
  /** Batches created, with their lines; batch status reads. */
  readonly batches: Array<{ readonly id: string; readonly lines: number; readonly models: ReadonlyArray<string> }>
  batchPolls: number
  /** Lines of every batch file: the requests a batch was asked for. */
  batchLines: number
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

const readBuffer = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })
const readBody = (req: IncomingMessage) => readBuffer(req).then((b) => b.toString("utf8"))

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const error = (type: string, message: string) => ({ error: { message, type, param: null, code: type } })

/** Starts the server on a free local port for the enclosing scope. */
export const makeFakeOpenAi = (options: FakeOpenAiOptions = {}) =>
  Effect.gen(function* () {
    const stats: FakeOpenAiStats = { requests: 0, outcomes: {}, inFlight: 0, maxInFlight: 0, arrivals: [], requestsSeen: [], batches: [], batchPolls: 0, batchLines: 0 }
    const seenPrefixes = new Set<string>()
    const count = (kind: string) => (stats.outcomes[kind] = (stats.outcomes[kind] ?? 0) + 1)

    /** The chat completion answering `request` (the `n`th) as `behaviour` says. */
    const completion = (request: ChatRequest, n: number, behaviour: Behaviour, now: number) => {
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
      const completionTokens = tokens(content)
      return {
        id: `chatcmpl-${n}`,
        object: "chat.completion",
        created: Math.floor(now / 1000),
        model: `${request.model}-2025-04-14`,
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: finish, logprobs: null }],
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completionTokens,
          total_tokens: prompt + completionTokens,
          prompt_tokens_details: { cached_tokens: cached }
        }
      }
    }

    const files = new Map<string, string>()
    const batches = new Map<string, Record<string, unknown>>()
    const timers = new Map<string, ReturnType<typeof setTimeout>>()
    const fileObject = (id: string, bytes: number, purpose: string) =>
      ({ id, object: "file", bytes, created_at: Math.floor(Date.now() / 1000), filename: `${id}.jsonl`, purpose, status: "processed" })

    /** Runs a batch: `in_progress` for the test's duration, then its output and error files as the test decided. */
    const runBatch = (batch: Record<string, unknown>, lines: ReadonlyArray<{ custom_id: string; body: ChatRequest }>) => {
      const settings = options.batches ?? {}
      timers.set(batch["id"] as string, setTimeout(() => {
        const now = Date.now()
        const end = settings.end ?? "completed"
        const answered = end === "failed" ? 0 : end === "expired" ? Math.min(lines.length, settings.expiredAfter ?? 0) : lines.length
        const output: Array<string> = []
        const errors: Array<string> = []
        lines.forEach((line, i) => {
          const n = ++stats.requests
          if (i >= answered) {
            if (end === "expired") errors.push(JSON.stringify({ id: `batch_req_${n}`, custom_id: line.custom_id, response: null, error: { code: "batch_expired", message: "This request could not be executed before the completion window expired." } }))
            return
          }
          if (settings.failLine?.(i + 1) === true) {
            count("batch_line_failed")
            errors.push(JSON.stringify({ id: `batch_req_${n}`, custom_id: line.custom_id, response: { status_code: 500, request_id: `req_${n}`, body: error("server_error", "The server had an error") }, error: null }))
            return
          }
          count("batch_ok")
          output.push(JSON.stringify({ id: `batch_req_${n}`, custom_id: line.custom_id, response: { status_code: 200, request_id: `req_${n}`, body: completion(line.body, n, { kind: "ok" }, now) }, error: null }))
        })
        const file = (text: Array<string>) => {
          if (text.length === 0) return null
          const id = `file-${files.size + 1}`
          files.set(id, text.join("\n") + "\n")
          return id
        }
        Object.assign(batch, {
          status: end,
          output_file_id: file(output),
          error_file_id: file(errors),
          ...(end === "failed" ? { errors: { object: "list", data: [{ code: "invalid_request", message: "The batch failed", line: null, param: null }] } } : {}),
          [`${end}_at`]: Math.floor(now / 1000),
          request_counts: { total: lines.length, completed: output.length, failed: lines.length - output.length }
        })
      }, settings.durationMs ?? 0))
    }

    /** The Files and Batch APIs; false when the request is for neither. */
    const handleBatches = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
      const path = new URL(req.url ?? "/", "http://fake").pathname.replace(/^\/v1/, "")
      if (req.method === "POST" && path === "/files") {
        const form = await new Request("http://fake/files", { method: "POST", headers: req.headers as Record<string, string>, body: await readBuffer(req) }).formData()
        const file = form.get("file") as File
        const text = await file.text()
        const id = `file-${files.size + 1}`
        files.set(id, text)
        send(res, 200, fileObject(id, text.length, String(form.get("purpose"))))
        return true
      }
      const content = path.match(/^\/files\/([^/]+)\/content$/)
      if (req.method === "GET" && content) {
        const text = files.get(content[1]!)
        if (text === undefined) send(res, 404, error("not_found", "no such file"))
        else {
          res.writeHead(200, { "content-type": "application/octet-stream" })
          res.end(text)
        }
        return true
      }
      if (req.method === "POST" && path === "/batches") {
        const params = JSON.parse((await readBuffer(req)).toString("utf8")) as { input_file_id: string; endpoint: string; completion_window: string; metadata?: Record<string, string> }
        const text = files.get(params.input_file_id)
        if (text === undefined) {
          send(res, 400, error("invalid_request_error", `No such File object: ${params.input_file_id}`))
          return true
        }
        const lines = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { custom_id: string; method: string; url: string; body: ChatRequest })
        const models = [...new Set(lines.map((l) => l.body.model))]
        if (lines.length > 50_000 || models.length !== 1 || new Set(lines.map((l) => l.custom_id)).size !== lines.length || lines.some((l) => l.url !== params.endpoint)) {
          send(res, 400, error("invalid_request_error", "a batch file holds at most 50,000 requests to one endpoint and one model, with distinct custom_ids"))
          return true
        }
        const id = `batch_${batches.size + 1}`
        const batch: Record<string, unknown> = {
          id, object: "batch", endpoint: params.endpoint, errors: null, input_file_id: params.input_file_id,
          completion_window: params.completion_window, status: "in_progress", output_file_id: null, error_file_id: null,
          created_at: Math.floor(Date.now() / 1000), metadata: params.metadata ?? null,
          request_counts: { total: lines.length, completed: 0, failed: 0 }
        }
        batches.set(id, batch)
        stats.batches.push({ id, lines: lines.length, models })
        stats.batchLines += lines.length
        runBatch(batch, lines)
        send(res, 200, batch)
        return true
      }
      const cancel = path.match(/^\/batches\/([^/]+)\/cancel$/)
      if (req.method === "POST" && cancel) {
        const batch = batches.get(cancel[1]!)
        if (batch === undefined) send(res, 404, error("not_found", "no such batch"))
        else {
          // Nothing answered yet is kept: the batch ends cancelled with no output.
          clearTimeout(timers.get(cancel[1]!))
          Object.assign(batch, { status: "cancelled", cancelled_at: Math.floor(Date.now() / 1000) })
          send(res, 200, batch)
        }
        return true
      }
      const one = path.match(/^\/batches\/([^/]+)$/)
      if (req.method === "GET" && one) {
        stats.batchPolls++
        const batch = batches.get(one[1]!)
        if (batch === undefined) send(res, 404, error("not_found", "no such batch"))
        else send(res, 200, batch)
        return true
      }
      if (req.method === "GET" && path === "/batches") {
        send(res, 200, { object: "list", data: [...batches.values()].reverse(), first_id: null, last_id: null, has_more: false })
        return true
      }
      return false
    }

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      if (await handleBatches(req, res)) return
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
        return send(res, 200, completion(request, n, behaviour, now))
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
