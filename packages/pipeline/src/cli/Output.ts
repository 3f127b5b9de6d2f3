import { ValidationError } from "@effect/cli"
import type { Teardown } from "@effect/platform/Runtime"
import { Cause, Console, Data, Effect, Exit, Option } from "effect"

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

/** A command was given something it cannot work with (a missing file, an unknown tenant, a bad value): exit 3. */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{ readonly message: string }> {}

/** Exit codes of every command (the README's table). */
export const EXIT = { ok: 0, failed: 1, partial: 2, invalidInput: 3, interrupted: 130 } as const

/** Errors that mean "the input was wrong", whichever package raised them. */
const INVALID_INPUT = new Set(["InvalidInput", "InvalidRunRequest", "TenantNotFound", "TenantExists"])

const messageOf = (error: unknown): string => {
  const message =
    error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
      ? String((error as { message: unknown }).message)
      : String(error)
  // One line: the first of a multi-line message (a defect's), never a stack.
  const first = message.split("\n").find((line) => line.trim() !== "")?.trim()
  return first === undefined || first === "" ? `unexpected error (${(error as { _tag?: string })?._tag ?? typeof error})` : first
}

const debug = () => process.env.WORKCAT_DEBUG === "1"

/**
 * The end of a CLI run: invalid arguments (already explained by the CLI) and invalid input exit
 * 3, any other failure or defect prints one line to stderr and exits 1 (`WORKCAT_DEBUG=1` prints
 * the whole cause, for bug reports). An interruption is left to `teardown` (130).
 */
export const exitOnFailure = <A, E, R>(program: Effect.Effect<A, E, R>) =>
  program.pipe(
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      return Effect.sync(() => {
        const failure = Cause.failureOption(cause)
        const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
        if (ValidationError.isValidationError(error)) {
          process.exitCode = EXIT.invalidInput
          return
        }
        const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined
        process.stderr.write(`workcat: ${messageOf(error)}\n`)
        if (debug()) process.stderr.write(`${Cause.pretty(cause)}\n`)
        process.exitCode = tag !== undefined && INVALID_INPUT.has(tag) ? EXIT.invalidInput : EXIT.failed
      })
    })
  )

/**
 * How a CLI process ends: 0 on success (or the exit code a command set), 130 when interrupted
 * (Ctrl-C, or a scheduler's SIGTERM on timeout: it must not look like success), 1 on a defect.
 */
export const teardown: Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? EXIT.interrupted : EXIT.failed)
