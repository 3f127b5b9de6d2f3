/**
 * Every column of the tenant schema that holds a pseudonym, by kind. Right-to-forget removes the
 * person by the `user` columns (deleting their rows, or unlinking them where the row is not about
 * the person: an LLM call's cost stays in the ledger) and key rotation re-keys all of them; a test
 * checks that this list covers every such column of the schema, so a new table cannot be
 * forgotten here.
 */
export const PSEUDONYM_COLUMNS = {
  user: [
    { table: "sso_events", column: "user_id", forget: "delete" },
    { table: "user_app_daily", column: "user_id", forget: "delete" },
    { table: "hr_events", column: "user_id", forget: "delete" },
    { table: "employees", column: "user_id", forget: "delete" },
    { table: "work_categories", column: "user_id", forget: "delete" },
    { table: "llm_calls", column: "user_id", forget: "unlink" }
  ],
  session: [{ table: "sso_events", column: "session_id", forget: "delete" }]
} as const

/**
 * The run checkpoints, which hold pseudonyms as fan-out item keys and inside stage and item
 * results (JSON). Forget deletes the person's items and any stage output naming them (a retry
 * recomputes it); key rotation deletes them all (a run retried afterwards starts over).
 */
export const CHECKPOINT_COLUMNS = [
  { table: "run_items", column: "item_key" },
  // The item's input and output: about the person of the row's `item_key`, deleted with it.
  { table: "run_items", column: "payload" },
  { table: "run_items", column: "result" },
  { table: "run_stages", column: "result" }
] as const
