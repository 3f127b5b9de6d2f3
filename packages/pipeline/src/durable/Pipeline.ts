import { Cause, Context, Duration, Effect, Exit, Option, RateLimiter, Schedule, Schema } from "effect"
import { Checkpoints, type StageRow } from "./Checkpoints.js"

/** The run a pipeline body executes in: which run, which worker, and how it reports. */
export interface RunContextService {
  readonly runId: string
  readonly tenant: string
  readonly worker: string
  readonly leaseMs: number
  /** Items a fan-out processes at once in this worker. */
  readonly concurrency: number
  /** The next stage's position in the body (stages must be reached in the same order on replay). */
  readonly nextOrdinal: () => number
  /** The run's stage checkpoints as they were when this worker started driving it. */
  readonly checkpointed: ReadonlyMap<string, StageRow>
  readonly addCost: (usd: number) => Effect.Effect<void>
  /** Whether another live worker drives this run too (it may be running the same step). */
  readonly othersDriving: Effect.Effect<boolean>
  /** Counts failed fan-out items, which make the run DEGRADED. */
  readonly addFailed: (items: number) => void
  readonly onProgress: (stage: string, done: number, total: number) => void
}

export class RunContext extends Context.Tag("workcat/RunContext")<RunContext, RunContextService>() {}

/** A once-stage failed (now or in an earlier attempt); the run fails with it. */
export class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", {
  stage: Schema.String,
  message: Schema.String
}) {}

/**
 * A pipeline: a body that is a plain Effect, made durable by its stages. The body is replayed on
 * resume, by any worker, and must reach its stages in the same order; a stage whose output is
 * checkpointed returns it without running again.
 */
export interface Pipeline<I, II, O, OI, R> {
  readonly name: string
  readonly input: Schema.Schema<I, II>
  readonly output: Schema.Schema<O, OI>
  /** The run key of an input: starting the same key again resumes or returns that run. */
  readonly key: (input: I) => string
  readonly run: (input: I) => Effect.Effect<O, unknown, R | RunContext | Checkpoints>
}

export const make = <I, II, O, OI, R>(
  pipeline: Pipeline<I, II, O, OI, R>
): Pipeline<I, II, O, OI, Exclude<R, RunContext | Checkpoints>> => pipeline as Pipeline<I, II, O, OI, Exclude<R, RunContext | Checkpoints>>

const describe = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value as { message?: unknown; reason?: unknown }
    return String(e.reason ?? e.message ?? failure.value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "defect"
}

export interface StepOptions {
  /**
   * Only one worker at a time may run the step (it holds a lease; others wait for its
   * checkpoint and return it). Worth it for steps with external effects. By default a step may
   * run in two workers that drive the same run at once (see `step` for which outcome counts).
   */
  readonly exclusive?: boolean
}

/** How often a worker looks at a step another worker holds. */
const STAGE_POLL = "200 millis"
const stagePoll = Schedule.spaced(STAGE_POLL)

/** Looks at a stage until `ready` holds for it (a step held by another worker). */
const pollStage = (look: Effect.Effect<StageRow>, ready: (stage: StageRow) => boolean) =>
  look.pipe(
    Effect.filterOrFail(ready, () => new Cause.NoSuchElementException()),
    Effect.retry(stagePoll),
    Effect.orDie // the schedule never gives up
  )

/**
 * A stage that runs once per run: its output is encoded with `schema` and checkpointed before
 * it is returned, and a replay returns the checkpoint instead of running it again.
 *
 * With `exclusive`, the first worker to start the step holds it (a lease, heartbeated) and the
 * others wait for its checkpoint. Otherwise every worker driving the run runs the step and
 * checkpoints after it (no round trip before): a success always checkpoints (the first DONE is
 * kept, and it replaces a FAILED), so a failure never beats a success. A worker whose run of the
 * step fails while another live worker drives the run waits for that worker's checkpoint of the
 * step, and records its failure only if none comes while the other drives.
 */
export const step = <A, I, E, R>(name: string, schema: Schema.Schema<A, I>, effect: Effect.Effect<A, E, R>, options: StepOptions = {}) =>
  Effect.gen(function* () {
    const ctx = yield* RunContext
    const checkpoints = yield* Checkpoints
    const ordinal = ctx.nextOrdinal()
    const decode = Schema.decodeUnknown(schema)
    const settled = (stage: StageRow) =>
      stage.state === "DONE"
        ? Effect.orDie(decode(stage.result))
        : new StageFailed({ stage: name, message: stage.state === "FAILED" ? (stage.error ?? "failed") : `${name} did not finish` })
    const known = ctx.checkpointed.get(name)
    if (known !== undefined && known.state !== "RUNNING") return yield* settled(known)
    if (options.exclusive) {
      // Another worker runs it: wait for its checkpoint, or for its lease to lapse (then it is ours).
      const claim = checkpoints.claimStage(ctx.runId, name, "step", ordinal, ctx.worker, ctx.leaseMs)
      const held = yield* pollStage(claim, (s) => s.state !== "RUNNING" || s.leaseOwner === ctx.worker)
      if (held.state !== "RUNNING") return yield* settled(held)
    }

    const exit = yield* Effect.exit(effect)
    if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
    if (Exit.isSuccess(exit)) {
      return yield* settled(
        yield* checkpoints.recordStage(ctx.runId, name, ordinal, ctx.worker, { result: yield* Effect.orDie(Schema.encode(schema)(exit.value)) })
      )
    }
    const record = checkpoints.recordStage(ctx.runId, name, ordinal, ctx.worker, { error: describe(exit.cause) })
    if (options.exclusive) return yield* settled(yield* pollStage(record, (s) => s.state !== "RUNNING"))
    // Another driver's success counts over this failure: wait for its checkpoint while it drives.
    while (true) {
      const stage = yield* checkpoints.stage(ctx.runId, name)
      if (stage !== undefined && stage.state !== "RUNNING") return yield* settled(stage)
      if (!(yield* ctx.othersDriving)) return yield* settled(yield* record)
      yield* Effect.sleep(STAGE_POLL)
    }
  }).pipe(Effect.withSpan(`stage.${name}`))

export interface FanOutOptions<Item, ItemI, Out, OutI, E, B = void, R = never> {
  readonly items: ReadonlyArray<Item>
  /** A stable, unique key per item (it identifies the item's checkpoint). */
  readonly key: (item: Item) => string
  readonly item: Schema.Schema<Item, ItemI>
  readonly output: Schema.Schema<Out, OutI>
  /** How failed attempts are retried; the item fails when it gives up. Default: no retry. */
  readonly retry?: Schedule.Schedule<unknown, E>
  /** Retry only errors this accepts (default: all). */
  readonly retryWhile?: (error: E) => boolean
  /** At most `limit` item starts per `interval`, in this worker. */
  readonly rateLimit?: { readonly limit: number; readonly interval: Duration.DurationInput }
  /**
   * What the items of one claimed batch need, loaded once for the batch (a query for a batch of
   * users rather than one per user); `process` gets it beside each item. Retried like an item;
   * when it gives up, every item of the batch fails with its error. Not checkpointed: a worker
   * that claims an item loads it again.
   */
  readonly prefetch?: (items: ReadonlyArray<Item>) => Effect.Effect<B, E, R>
}

export interface FanOutResult<Item, Out> {
  readonly done: ReadonlyArray<{ readonly item: Item; readonly output: Out }>
  readonly failed: ReadonlyArray<{ readonly item: Item; readonly key: string; readonly reason: string }>
}

/**
 * A stage that fans out over items: workers claim items with leases, process them with the
 * worker's concurrency, the retry schedule and the rate limit, and checkpoint each outcome. A
 * failed item does not fail the run (it ends DEGRADED). Returns every item's outcome once none
 * is open, whichever worker processed it.
 */
export const fanOut = <Item, ItemI, Out, OutI, E, R, B = void>(
  name: string,
  options: FanOutOptions<Item, ItemI, Out, OutI, E, B, R>,
  process: (item: Item, batch: B) => Effect.Effect<Out, E, R>
) =>
  Effect.gen(function* () {
    const ctx = yield* RunContext
    const checkpoints = yield* Checkpoints
    const stage = yield* checkpoints.openFanOut(ctx.runId, name, ctx.nextOrdinal())
    const decodeItem = Schema.decodeUnknown(options.item)
    if (stage.state !== "DONE") {
      const encodeItem = Schema.encode(options.item)
      const seeds = yield* Effect.forEach(options.items, (item) =>
        Effect.map(Effect.orDie(encodeItem(item)), (payload) => ({ key: options.key(item), payload }))
      )
      yield* checkpoints.seedItems(ctx.runId, name, seeds)
      const limiter = options.rateLimit ? yield* RateLimiter.make({ ...options.rateLimit, algorithm: "token-bucket" }) : Effect.void
      const retried = <A>(once: Effect.Effect<A, E, R>) =>
        options.retry === undefined
          ? once
          : Effect.retry(once, { schedule: options.retry, ...(options.retryWhile ? { while: options.retryWhile } : {}) })
      const attempt = (item: Item, batch: B) =>
        retried(options.rateLimit ? (limiter as RateLimiter.RateLimiter)(process(item, batch)) : process(item, batch))
      const total = seeds.length
      let done = total - (yield* checkpoints.itemCounts(ctx.runId, name)).open
      const encodeOut = Schema.encode(options.output)

      // Items are claimed a batch at a time into a local queue (one claim query per batch, and
      // the batch's prefetch); one lane per unit of concurrency takes from it, processes and
      // checkpoints each item.
      const queue: Array<{ readonly key: string; readonly item: Item; readonly batch: Exit.Exit<B, E> }> = []
      const refill = yield* Effect.makeSemaphore(1)
      let cursor = ""
      const take = refill.withPermits(1)(
        Effect.gen(function* () {
          if (queue.length === 0) {
            let claimed = yield* checkpoints.claimItems(ctx.runId, name, ctx.worker, ctx.concurrency * 2, ctx.leaseMs, cursor)
            if (claimed.length === 0 && cursor !== "") {
              cursor = "" // released items may sit behind the cursor: one scan from the start
              claimed = yield* checkpoints.claimItems(ctx.runId, name, ctx.worker, ctx.concurrency * 2, ctx.leaseMs, cursor)
            }
            if (claimed.length > 0) cursor = claimed[claimed.length - 1]!.key
            const items = yield* Effect.forEach(claimed, (c) => Effect.orDie(decodeItem(c.payload)))
            const batch =
              options.prefetch === undefined || items.length === 0 ? Exit.succeed(undefined as B) : yield* Effect.exit(retried(options.prefetch(items)))
            claimed.forEach((c, i) => queue.push({ key: c.key, item: items[i]!, batch }))
          }
          return queue.shift()
        })
      )
      const lane = Effect.gen(function* () {
        while (true) {
          const claimed = yield* take
          if (claimed === undefined) return
          const exit: Exit.Exit<OutI, E> = Exit.isFailure(claimed.batch)
            ? Exit.failCause(claimed.batch.cause)
            : yield* Effect.exit(attempt(claimed.item, claimed.batch.value).pipe(Effect.flatMap((out) => Effect.orDie(encodeOut(out)))))
          if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
          const recorded = yield* checkpoints.finishItem(
            ctx.runId,
            name,
            claimed.key,
            ctx.worker,
            Exit.isSuccess(exit) ? { result: exit.value } : { error: describe(exit.cause) }
          )
          // Our lease lapsed and another worker took the item: its outcome is that worker's.
          if (!recorded) yield* Effect.logWarning(`run ${ctx.runId}: ${ctx.worker} lost item ${claimed.key} of ${name}; its outcome is discarded`)
          else ctx.onProgress(name, ++done, total)
        }
      })
      // Process until nothing is open: items other workers hold come back when their lease expires.
      while (true) {
        yield* Effect.all(Array.from({ length: ctx.concurrency }, () => lane), { concurrency: "unbounded", discard: true })
        const counts = yield* checkpoints.itemCounts(ctx.runId, name)
        if (counts.open === 0) break
        done = counts.total - counts.open
        cursor = ""
        if ((yield* checkpoints.releaseExpired(ctx.runId, name)) === 0) yield* Effect.sleep("250 millis")
      }
      yield* checkpoints.closeFanOut(ctx.runId, name)
    }
    const rows = yield* checkpoints.items(ctx.runId, name)
    ctx.addFailed(rows.filter((r) => r.state === "FAILED").length)
    const decodeOut = Schema.decodeUnknown(options.output)
    const result: { done: Array<{ item: Item; output: Out }>; failed: Array<{ item: Item; key: string; reason: string }> } = {
      done: [],
      failed: []
    }
    for (const row of rows) {
      const item = yield* Effect.orDie(decodeItem(row.payload))
      if (row.state === "DONE") result.done.push({ item, output: yield* Effect.orDie(decodeOut(row.result)) })
      else result.failed.push({ item, key: row.key, reason: row.error ?? "failed" })
    }
    return result as FanOutResult<Item, Out>
  }).pipe(Effect.scoped, Effect.withSpan(`stage.${name}`))
