import * as SqlClient from "@effect/sql/SqlClient"
import type { LlmRequest } from "@workcat/core"
import { Array as Arr, Effect, Option } from "effect"
import { drain } from "../../durable/Batches.js"

/**
 * The tenant's valid LLM answers by the exact request they answer (`llm_responses`): what a
 * retried or re-run night, or a batch collected earlier, has already paid for. A person's
 * answers are deleted with them (`PSEUDONYM_COLUMNS`), old ones by the ledger's retention.
 */
export class ResponseCache extends Effect.Service<ResponseCache>()("workcat/ResponseCache", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const recall = (key: string) =>
      sql<{ content: string }>`SELECT content FROM llm_responses WHERE request_key = ${key}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.content)),
        Effect.orDie
      )

    /** Keeps answers (the first answer to a request stays), a few thousand rows a statement. */
    const rememberMany = (answers: ReadonlyArray<{ readonly request: LlmRequest; readonly content: string }>) =>
      Effect.forEach(
        Arr.chunksOf(answers, 2_000),
        (chunk) => sql`
          INSERT INTO llm_responses ${sql.insert(
            chunk.map(({ content, request }) => ({
              request_key: request.key,
              user_id: request.userId,
              operation: request.operation,
              model: request.model,
              content
            }))
          )}
          ON CONFLICT (request_key) DO NOTHING`,
        { discard: true }
      ).pipe(Effect.orDie)
    const remember = (request: LlmRequest, content: string) => rememberMany([{ request, content }])

    const old = (days: number) => sql`created_at < now() - make_interval(days => ${days})`
    /** Deletes the answers older than `days`, `batch` rows a statement; how many. */
    const expire = (days: number, batch: number) =>
      drain(
        sql`DELETE FROM llm_responses WHERE request_key = ANY(ARRAY(SELECT request_key FROM llm_responses WHERE ${old(days)} LIMIT ${batch})) RETURNING 1`.pipe(
          Effect.map((rows) => rows.length)
        ),
        batch
      ).pipe(Effect.orDie)
    /** What `expire` would delete now. */
    const expiring = (days: number) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM llm_responses WHERE ${old(days)}`.pipe(
        Effect.map((rows) => rows[0]!.n),
        Effect.orDie
      )

    return { recall, remember, rememberMany, expire, expiring } as const
  })
}) {}
