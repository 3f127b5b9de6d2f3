import { Effect } from "effect"

/**
 * Runs `once` (a statement that removes or changes at most `batch` rows and says how many) until
 * it takes fewer than `batch`; the total. Many short statements instead of one long one: no
 * statement holds many row locks, nor keeps vacuum waiting on a long transaction.
 */
export const drain = <E, R>(once: Effect.Effect<number, E, R>, batch: number): Effect.Effect<number, E, R> =>
  Effect.iterate(
    { total: 0, last: batch },
    { while: (s) => s.last >= batch, body: (s) => Effect.map(once, (n) => ({ total: s.total + n, last: n })) }
  ).pipe(Effect.map((s) => s.total))
