import { Console, Effect } from "effect"

/** Pretty JSON on stdout: what `--json` and machine consumers read. */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

const interactive = () => process.stderr.isTTY === true

/**
 * A one-line progress display on stderr, redrawn at most every 200 ms, shown only on a terminal
 * (logs and pipes stay quiet).
 */
export const makeProgress = () => {
  let last = 0
  let shown = false
  return {
    update: (render: () => string) => {
      if (!interactive()) return
      const now = Date.now()
      if (now - last < 200) return
      last = now
      shown = true
      process.stderr.write(`\r${render()}\x1b[K`)
    },
    done: Effect.sync(() => {
      if (shown) process.stderr.write("\r\x1b[K")
    })
  }
}

export const formatNumber = (n: number) => n.toLocaleString("en-US")

/** Elapsed seconds since `started`, one decimal. */
export const seconds = (started: number) => ((Date.now() - started) / 1000).toFixed(1)
