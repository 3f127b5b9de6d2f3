import { BudgetExhausted, type LlmAnswer, type LlmCall, LlmMeter, type LlmRequest } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Deferred, Effect, FiberId, Layer, Option } from "effect"
import { RunContext } from "../../durable/Pipeline.js"
import { LlmBudget } from "./Budget.js"
import { CostLedger } from "./CostLedger.js"
import { ResponseCache } from "./ResponseCache.js"

/**
 * How long a call's reservation holds without being settled: longer than any call with its
 * retries takes, after which a process that died has given its share back.
 */
const RESERVATION_SECONDS = 15 * 60

/**
 * A tenant's LLM meter: at most `llm.concurrency` calls in flight in this process; a call runs
 * only once its estimated cost is reserved in the month's budget, shared by every process
 * (`LlmBudget`), and gives the reservation back when it ends. Every call's cost is recorded in
 * the cost ledger and the month's spend, and added to the current run's cost; the warning past
 * `budgetWarnAt` is logged once a month, by whichever process passed it. An exact request
 * answered before (`ResponseCache`) is not sent again, nor one already in flight in this process.
 */
export const LlmMeterLive = Layer.effect(
  LlmMeter,
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    const budget = yield* LlmBudget
    const { budgetWarnAt, concurrency, monthlyBudgetUsd, routeMinConfidence, routeMinMargin, routing } = tenant.settings.llm
    const slots = yield* Effect.makeSemaphore(concurrency)
    const cache = yield* ResponseCache
    const inFlight = new Map<string, Deferred.Deferred<LlmAnswer, unknown>>()

    const guard = <A, E, R>(estimatedUsd: number, call: Effect.Effect<A, E, R>) =>
      slots.withPermits(1)(
        Effect.acquireUseRelease(
          Effect.flatMap(budget.reserve(estimatedUsd, monthlyBudgetUsd, RESERVATION_SECONDS), (r) =>
            r.id === null
              ? new BudgetExhausted({ tenant: tenant.id, spentUsd: r.spentUsd + r.reservedUsd, budgetUsd: monthlyBudgetUsd })
              : Effect.succeed(r.id)
          ),
          () => call,
          (id) => budget.release(id)
        )
      )

    const record = (call: LlmCall) =>
      Effect.gen(function* () {
        const run = yield* Effect.serviceOption(RunContext)
        const { firstPast, spentUsd } = yield* budget.spend([call], Option.isSome(run) ? run.value.runId : null, budgetWarnAt * monthlyBudgetUsd)
        if (Option.isSome(run)) yield* run.value.addCost(call.costUsd)
        if (firstPast) {
          yield* Effect.logWarning(
            `tenant ${tenant.id} has spent $${spentUsd.toFixed(2)} of its $${monthlyBudgetUsd.toFixed(2)} monthly LLM budget`
          )
        }
      })

    const once = <E, R>(request: LlmRequest, call: Effect.Effect<LlmAnswer, E, R>): Effect.Effect<LlmAnswer, E, R> =>
      Effect.suspend(() => {
        const running = inFlight.get(request.key) as Deferred.Deferred<LlmAnswer, E> | undefined
        if (running !== undefined) return Effect.map(Deferred.await(running), (a) => ({ ...a, reused: true, costUsd: 0 }))
        // Registered before anything yields, so an identical request arriving meanwhile waits for this one.
        const mine = Deferred.unsafeMake<LlmAnswer, E>(FiberId.none)
        inFlight.set(request.key, mine as Deferred.Deferred<LlmAnswer, unknown>)
        const answer = Effect.flatMap(cache.recall(request.key), (hit) =>
          Option.isSome(hit)
            ? Effect.succeed<LlmAnswer>({ content: hit.value, problem: undefined, reused: true, costUsd: 0 })
            : Effect.tap(call, (a) => (a.problem === undefined ? cache.remember(request, a.content) : Effect.void))
        )
        return Effect.exit(answer).pipe(
          Effect.tap((exit) => Deferred.done(mine, exit)),
          Effect.ensuring(Effect.sync(() => inFlight.delete(request.key))),
          Effect.flatten
        )
      })

    const policy = { routing, minConfidence: routeMinConfidence, minMargin: routeMinMargin }
    return { tenant: tenant.id, policy, guard, record, once, recall: cache.recall }
  })
).pipe(Layer.provide(Layer.mergeAll(LlmBudget.Default, ResponseCache.Default)), Layer.provideMerge(CostLedger.Default))
