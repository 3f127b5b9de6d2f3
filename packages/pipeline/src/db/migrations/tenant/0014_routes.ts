import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** How the LLM categorizer routed each user's last categorization (`offline`, `explain`, `llm`; null before routing, or offline). */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE work_categories ADD COLUMN route text`
})
