import { Context, Effect, Layer } from "effect"
import * as net from "node:net"

/**
 * A TCP proxy in front of the test database that can be cut and restored, like PostgreSQL going
 * away and coming back; the shared test database itself is never touched. (The same as the
 * pipeline's `FlakyProxy`, which that package keeps to its own tests.)
 */
export class DatabaseProxy extends Context.Tag("test/DatabaseProxy")<
  DatabaseProxy,
  {
    /** `DATABASE_URL` through the proxy. */
    readonly url: string
    /** Cuts every open connection and refuses new ones until `restore`. */
    readonly cut: Effect.Effect<void>
    readonly restore: Effect.Effect<void>
  }
>() {
  static readonly layer = (databaseUrl: string) =>
    Layer.scoped(
      DatabaseProxy,
      Effect.gen(function* () {
        const target = new URL(databaseUrl)
        const sockets = new Set<net.Socket>()
        let down = false
        const server = net.createServer((client) => {
          if (down) return void client.destroy()
          const upstream = net.connect(Number(target.port || 5432), target.hostname)
          for (const [a, b] of [
            [client, upstream],
            [upstream, client]
          ] as const) {
            sockets.add(a)
            a.on("error", () => b.destroy())
            a.on("close", () => {
              sockets.delete(a)
              b.destroy()
            })
            a.pipe(b)
          }
        })
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
          () =>
            Effect.sync(() => {
              for (const socket of sockets) socket.destroy()
              server.close()
            })
        )
        const url = new URL(databaseUrl)
        url.hostname = "127.0.0.1"
        url.port = String((server.address() as net.AddressInfo).port)
        return {
          url: url.toString(),
          cut: Effect.sync(() => {
            down = true
            for (const socket of sockets) socket.destroy()
          }),
          restore: Effect.sync(() => void (down = false))
        }
      })
    )
}
