/**
 * Every column of the tenant schema that holds a pseudonym, by kind. Right-to-forget deletes by
 * the `user` columns and key rotation re-keys all of them; a test checks that this list covers
 * every such column of the schema, so a new table cannot be forgotten here.
 */
export const PSEUDONYM_COLUMNS = {
  user: [
    { table: "sso_events", column: "user_id" },
    { table: "user_app_daily", column: "user_id" },
    { table: "hr_events", column: "user_id" },
    { table: "employees", column: "user_id" },
    { table: "work_categories", column: "user_id" }
  ],
  session: [{ table: "sso_events", column: "session_id" }]
} as const
