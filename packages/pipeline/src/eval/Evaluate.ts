import { FileSystem } from "@effect/platform"
import type { UserId } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect, Schema } from "effect"
import { CategoryStore } from "../materialize/CategoryStore.js"

export interface Accuracy {
  readonly correct: number
  readonly total: number
  readonly accuracy: number
}

/** Accuracy of the stored categories against a ground truth, overall and per true category. */
export interface EvalReport {
  readonly overall: Accuracy
  readonly perCategory: Readonly<Record<string, Accuracy>>
  /** Ground-truth users with no stored category (not counted in the accuracy). */
  readonly uncategorized: number
  /** Most frequent confusions, `true -> predicted`. */
  readonly confusions: ReadonlyArray<{ readonly truth: string; readonly predicted: string; readonly count: number }>
}

const accuracy = (correct: number, total: number): Accuracy => ({ correct, total, accuracy: total === 0 ? 0 : correct / total })

export const evaluate = (
  truth: ReadonlyArray<{ readonly userId: UserId; readonly category: string }>,
  predicted: ReadonlyMap<UserId, { readonly category: string }>
): EvalReport => {
  const per = new Map<string, { correct: number; total: number }>()
  const confusions = new Map<string, number>()
  let uncategorized = 0
  for (const t of truth) {
    const p = predicted.get(t.userId)
    if (p === undefined) {
      uncategorized++
      continue
    }
    const c = per.get(t.category) ?? { correct: 0, total: 0 }
    c.total++
    if (p.category === t.category) c.correct++
    else confusions.set(`${t.category}\u0000${p.category}`, (confusions.get(`${t.category}\u0000${p.category}`) ?? 0) + 1)
    per.set(t.category, c)
  }
  const totals = [...per.values()].reduce((a, c) => ({ correct: a.correct + c.correct, total: a.total + c.total }), { correct: 0, total: 0 })
  return {
    overall: accuracy(totals.correct, totals.total),
    perCategory: Object.fromEntries([...per].sort(([a], [b]) => a.localeCompare(b)).map(([k, c]) => [k, accuracy(c.correct, c.total)])),
    uncategorized,
    confusions: [...confusions]
      .map(([k, count]) => {
        const [truthCategory, predictedCategory] = k.split("\u0000")
        return { truth: truthCategory!, predicted: predictedCategory!, count }
      })
      .sort((a, b) => b.count - a.count)
      .slice(0, 10)
  }
}

const TruthLine = Schema.parseJson(Schema.Struct({ login: Schema.NonEmptyString, category: Schema.NonEmptyString }))

/** Evaluates the tenant's stored categories against a ground-truth NDJSON file (`login`, `category`). */
export class Evaluator extends Effect.Service<Evaluator>()("workcat/Evaluator", {
  effect: Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const categories = yield* CategoryStore
    const pseudonymize = (yield* CurrentTenant).pseudonyms.user

    const fromFile = Effect.fn("Evaluator.fromFile")(function* (file: string) {
      const text = yield* fs.readFileString(file)
      const lines = text.split("\n").map((line, i) => [line, i + 1] as const).filter(([line]) => line.trim() !== "")
      const truth = yield* Effect.forEach(lines, ([line, number]) =>
        Schema.decodeUnknown(TruthLine)(line).pipe(
          Effect.mapError(() => new Error(`${file}:${number}: not a truth record ({"login": ..., "category": ...})`))
        )
      )
      const labels = yield* categories.labels()
      return evaluate(truth.map((t) => ({ userId: pseudonymize(t.login), category: t.category })), labels)
    })

    return { fromFile } as const
  }),
  dependencies: [CategoryStore.Default]
}) {}
