import { BudgetExhausted, type LlmCall, LlmMeter } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect, Layer, Option, Ref } from "effect"
import { RunContext } from "../../durable/Pipeline.js"
import { CostLedger } from "./CostLedger.js"

/**
 * A tenant's LLM meter: at most `llm.concurrency` calls in flight; no new call once the month's
 * spend reaches the budget (a warning when it passes `budgetWarnAt`); every call recorded in the
 * cost ledger and added to the current run's cost. The month's spend is read once and then kept
 * up to date in memory by this process.
 */
export const LlmMeterLive = Layer.effect(
  LlmMeter,
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    const ledger = yield* CostLedger
    const { budgetWarnAt, concurrency, monthlyBudgetUsd } = tenant.settings.llm
    const slots = yield* Effect.makeSemaphore(concurrency)
    const spent = yield* Ref.make(yield* ledger.monthSpend)
    const warned = yield* Ref.make(false)

    const guard = <A, E, R>(call: Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const usd = yield* Ref.get(spent)
        if (usd >= monthlyBudgetUsd) return yield* new BudgetExhausted({ tenant: tenant.id, spentUsd: usd, budgetUsd: monthlyBudgetUsd })
        return yield* slots.withPermits(1)(call)
      })

    const record = (call: LlmCall) =>
      Effect.gen(function* () {
        const run = yield* Effect.serviceOption(RunContext)
        yield* ledger.record(call, Option.isSome(run) ? run.value.runId : null)
        if (Option.isSome(run)) yield* run.value.addCost(call.costUsd)
        const usd = yield* Ref.updateAndGet(spent, (s) => s + call.costUsd)
        if (usd >= budgetWarnAt * monthlyBudgetUsd && !(yield* Ref.getAndSet(warned, true))) {
          yield* Effect.logWarning(
            `tenant ${tenant.id} has spent $${usd.toFixed(2)} of its $${monthlyBudgetUsd.toFixed(2)} monthly LLM budget`
          )
        }
      })

    return { tenant: tenant.id, guard, record }
  })
).pipe(Layer.provideMerge(CostLedger.Default))
