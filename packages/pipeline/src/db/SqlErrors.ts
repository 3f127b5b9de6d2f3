import type { SqlError } from "@effect/sql/SqlError"

/** The SQLSTATE PostgreSQL answered with, when it answered. */
export const sqlState = (e: SqlError): string | undefined => (e.cause as { code?: string } | undefined)?.code

/** PostgreSQL refused a value: data exceptions (22), constraints (23), limits such as index row size (54). */
export const refusesData = (e: SqlError): boolean => /^(22|23|54)/.test(sqlState(e) ?? "")
