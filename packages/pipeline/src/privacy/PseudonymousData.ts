import { WAREHOUSE_PSEUDONYMS } from "../warehouse/postgres/PostgresWarehouse.js"

/** The warehouse adapter's own pseudonym columns, which its `forget` deletes and its `rekey` re-keys. */
const fromWarehouse = <C extends { readonly table: string; readonly column: string }>(columns: ReadonlyArray<C>) =>
  columns.map((c) => ({ ...c, forget: "delete" as const, warehouse: true as const }))

/**
 * Every column of the tenant schema that holds a pseudonym or a keyed hash, by kind (`u_` users,
 * `s_` sessions, `e_` HR employee ids, `r_` dead-letter records). Key rotation re-keys all of them;
 * right-to-forget removes a person by the `user` columns, deleting their rows or, where the row is
 * not about the person, unlinking them (an LLM call's cost stays in the ledger; a colleague's record
 * keeps its other fields when its manager is forgotten). A manager column holds a `u_` pseudonym or
 * an `e_` hash, so it is listed once, with the users. A test checks that this list covers every
 * such column of the schema, so a new table cannot be forgotten here. The event warehouse's
 * columns (`warehouse: true`, the adapter's own list) are forgotten and re-keyed by the adapter
 * (`EventWarehouse.forget`, `rekey`), the rest by `PersonalData` in the tenant's PostgreSQL schema.
 */
export const PSEUDONYM_COLUMNS = {
  user: [
    ...fromWarehouse(WAREHOUSE_PSEUDONYMS.user),
    { table: "hr_events", column: "user_id", forget: "delete" },
    { table: "employees", column: "user_id", forget: "delete" },
    { table: "work_categories", column: "user_id", forget: "delete" },
    // Forgetting the person deletes the dead letters naming them (the links go with them).
    { table: "dead_letter_people", column: "user_id", forget: "letters" },
    { table: "llm_calls", column: "user_id", forget: "unlink" },
    { table: "llm_responses", column: "user_id", forget: "delete" },
    { table: "llm_batch_lines", column: "user_id", forget: "delete" },
    { table: "hr_events", column: "manager_id", forget: "unlink" },
    { table: "employees", column: "manager_id", forget: "unlink" }
  ],
  session: fromWarehouse(WAREHOUSE_PSEUDONYMS.session),
  // Forgets still to be applied in a BigQuery dataset: re-keyed with it, removed once applied.
  erasure: fromWarehouse(WAREHOUSE_PSEUDONYMS.erasure),
  employee: [
    { table: "hr_events", column: "employee_ref", forget: "delete" },
    { table: "employees", column: "employee_ref", forget: "delete" }
  ],
  record: [{ table: "dead_letters", column: "record_hash", forget: "delete" }]
} as const

type PseudonymKind = keyof typeof PSEUDONYM_COLUMNS
type Column = (typeof PSEUDONYM_COLUMNS)[PseudonymKind][number]

/** Whether the column is the event warehouse's. */
export const inWarehouse = (c: Column): boolean => "warehouse" in c && c.warehouse

/** How forget reports a column in its counts: the table of deleted rows, `table.column` for unlinked ones. */
export const forgetKey = (c: (typeof PSEUDONYM_COLUMNS.user)[number]) =>
  c.forget === "delete" ? c.table : c.forget === "letters" ? "dead_letters" : `${c.table}.${c.column}`

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
