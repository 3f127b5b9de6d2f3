import { HttpServer } from "@effect/platform"
import { Effect } from "effect"
import * as net from "node:net"

/** The port of the test server the HttpClient talks to. */
export const serverPort = Effect.map(HttpServer.HttpServer, (server) => (server.address as HttpServer.TcpAddress).port)

export interface Exchange {
  readonly status: number | undefined
  readonly head: string
  readonly body: string
  /** The server ended the connection (rather than the wait timing out). */
  readonly closed: boolean
}

/**
 * One connection: writes `parts` in order, then reads until the server ends the connection or
 * `waitMs` passes. A real socket, so what the server does with the connection itself is visible.
 */
export const exchange = (port: number, parts: ReadonlyArray<string | Uint8Array>, waitMs = 2_000) =>
  Effect.async<Exchange>((resume) => {
    const socket = net.connect(port, "127.0.0.1")
    const received: Array<Buffer> = []
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(received).toString("utf8")
      const split = text.indexOf("\r\n\r\n")
      const head = split === -1 ? text : text.slice(0, split)
      resume(Effect.succeed({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]) || undefined, head, body: split === -1 ? "" : text.slice(split + 4), closed }))
    }
    const timer = setTimeout(() => finish(false), waitMs)
    socket.on("data", (chunk) => received.push(chunk))
    socket.on("end", () => finish(true))
    // A reset after the answer (the server closing on a body it did not read) still ends the connection.
    socket.on("error", () => finish(true))
    socket.on("connect", () => {
      for (const part of parts) socket.write(part)
    })
    return Effect.sync(() => finish(false))
  })

/** A request's head, HTTP/1.1 keep-alive. */
export const head = (method: string, path: string, headers: Readonly<Record<string, string>>) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`

/** A chunked body of `bytes` bytes of JSON-ish filler, in 16 KiB chunks, with its terminating chunk. */
export const chunked = (bytes: number): ReadonlyArray<string> => {
  const parts: Array<string> = []
  for (let sent = 0; sent < bytes; sent += 16_384) {
    const chunk = "x".repeat(Math.min(16_384, bytes - sent))
    parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
  }
  return [...parts, "0\r\n\r\n"]
}
