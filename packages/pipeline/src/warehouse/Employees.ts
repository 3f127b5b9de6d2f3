import * as SqlClient from "@effect/sql/SqlClient"
import type { Employee, UserId } from "@workcat/core"
import { Effect } from "effect"

/** Employees as HR last described them. */
export class Employees extends Effect.Service<Employees>()("workcat/Employees", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const all = Effect.fn("Employees.all")(function* () {
      const rows = yield* sql<Employee>`
        SELECT user_id AS "userId", title, department, team, hire_date AS "hireDate", status FROM employees`
      return new Map(rows.map((e) => [e.userId, e])) as ReadonlyMap<UserId, Employee>
    }, Effect.orDie)
    return { all } as const
  })
}) {}
