import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly path: string
  readonly body: any
}

/**
 * A local HTTP receiver for alert webhooks: records every POST, and answers the first
 * `failFirst` of each path with `failStatus` (a provider having a bad minute), then 202.
 */
export const webhookReceiver = (options: { readonly failFirst?: number; readonly failStatus?: number } = {}) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const received: Array<Received> = []
      const failures = new Map<string, number>()
      const server = createServer((request, response) => {
        let text = ""
        request.on("data", (chunk) => (text += chunk))
        request.on("end", () => {
          const path = request.url ?? "/"
          received.push({ path, body: JSON.parse(text) })
          const failed = failures.get(path) ?? 0
          if (failed < (options.failFirst ?? 0)) {
            failures.set(path, failed + 1)
            response.writeHead(options.failStatus ?? 503).end()
          } else response.writeHead(202, { "content-type": "application/json" }).end('{"status":"success"}')
        })
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      return { server, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )
