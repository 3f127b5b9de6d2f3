import { ValidationError } from "@effect/cli"
import type { Teardown } from "@effect/platform/Runtime"
import { Cause, Console, Effect, Exit } from "effect"

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

/**
 * The end of a CLI run: invalid arguments (already explained by the CLI) exit 3, any other
 * failure prints one line to stderr and exits 1. Defects keep their stack for bug reports.
 */
export const exitOnFailure = <A, E, R>(program: Effect.Effect<A, E, R>) =>
  program.pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        if (ValidationError.isValidationError(error)) {
          process.exitCode = 3
          return
        }
        const invalidInput = typeof error === "object" && error !== null && "_tag" in error && error._tag === "InvalidRunRequest"
        const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
          ? String((error as { message: unknown }).message)
          : String(error)
        process.stderr.write(`workcat: ${message}\n`)
        process.exitCode = invalidInput ? 3 : 1
      })
    )
  )

/**
 * How a CLI process ends: 0 on success, 130 when interrupted (Ctrl-C, or a scheduler's SIGTERM
 * on timeout: it must not look like success), 1 on a defect.
 */
export const teardown: Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
