import * as SqlClient from "@effect/sql/SqlClient"
import { type Employee, foldHrEvents, type HrEvent, type IsoDate, isoDate, type UserId } from "@workcat/core"
import { Array as Arr, Effect } from "effect"

/**
 * Employees from HR events: as of any date (folded from `hr_events`), and the `employees` table,
 * which holds today's state for readers such as the API and is refreshed by intake and runs.
 */
export class Employees extends Effect.Service<Employees>()("workcat/Employees", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const events = (users?: ReadonlyArray<UserId>) =>
      sql<HrEvent>`
        SELECT event_id AS "eventId", user_id AS "userId", type, effective_date AS "effectiveDate", title, department, team,
               manager_id AS "managerId", employee_ref AS "employeeRef"
        FROM hr_events ${users === undefined ? sql`` : sql`WHERE ${sql.in("user_id", users)}`}`

    /** The stored HR events of some users, by user: what a snapshot row is compared with. */
    const eventsOf = Effect.fn("Employees.eventsOf")(function* (users: ReadonlyArray<UserId>) {
      const byUser = new Map<UserId, Array<HrEvent>>()
      if (users.length === 0) return byUser
      for (const e of yield* events(users)) {
        const list = byUser.get(e.userId)
        if (list === undefined) byUser.set(e.userId, [e])
        else list.push(e)
      }
      return byUser
    }, Effect.orDie)

    /**
     * Stores HR events once per event id; the ids (and effective dates) of those really added.
     * Fails with the `SqlError` when PostgreSQL refuses a value, so the caller can find the record.
     */
    const insert = Effect.fn("Employees.insert")(function* (list: ReadonlyArray<HrEvent>) {
      if (list.length === 0) return []
      const col = <A>(f: (e: HrEvent) => A) => list.map(f)
      return yield* sql<{ eventId: string; effectiveDate: string }>`
        INSERT INTO hr_events (event_id, user_id, type, effective_date, title, department, team, manager_id, employee_ref)
        SELECT * FROM unnest(
          ${col((e) => e.eventId)}::text[], ${col((e) => e.userId)}::text[], ${col((e) => e.type)}::text[],
          ${col((e) => e.effectiveDate)}::date[], ${col((e) => e.title)}::text[], ${col((e) => e.department)}::text[],
          ${col((e) => e.team)}::text[], ${col((e) => e.managerId)}::text[], ${col((e) => e.employeeRef)}::text[]
        )
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id AS "eventId", effective_date AS "effectiveDate"`
    })

    /**
     * Holds, until the transaction ends, the right to change the tenant's HR: HR intakes of a
     * tenant commit one at a time (they are rare; one lock, not one a person, which a batch of a
     * thousand people would need of PostgreSQL's shared lock table).
     */
    const lock = sql`SELECT pg_advisory_xact_lock(hashtext('workcat:hr:' || current_schema()))`.pipe(Effect.asVoid, Effect.orDie, Effect.withSpan("Employees.lock"))

    const fold = (rows: ReadonlyArray<HrEvent>, asOf: IsoDate) =>
      Object.entries(Arr.groupBy(rows, (r) => r.userId)).flatMap(([userId, list]) => {
        const employee = foldHrEvents(userId as UserId, list, asOf)
        return employee === undefined ? [] : [[employee.userId, employee] as const]
      })

    /** Everyone (or these users) with an HR event effective on `asOf`, as they were on that day. */
    const asOf = Effect.fn("Employees.asOf")(function* (date: IsoDate, users?: ReadonlyArray<UserId>) {
      return new Map(fold(yield* events(users), date)) as ReadonlyMap<UserId, Employee>
    }, Effect.orDie)

    /**
     * Rewrites today's state of `users`. Intake calls it inside its
     * transaction, after locking those users, so concurrent intakes cannot lose an update.
     */
    const refresh = Effect.fn("Employees.refresh")(function* (users: ReadonlyArray<UserId>) {
      if (users.length === 0) return
      const current = fold(yield* events(users), isoDate(new Date())).map(([, e]) => e)
      const present = new Set(current.map((e) => e.userId))
      const absent = users.filter((u) => !present.has(u))
      if (absent.length > 0) yield* sql`DELETE FROM employees WHERE ${sql.in("user_id", absent)}`
      if (current.length === 0) return
      const sorted = [...current].sort((a, b) => a.userId.localeCompare(b.userId))
      const col = <A>(f: (e: Employee) => A) => sorted.map(f)
      yield* sql`
        INSERT INTO employees (user_id, title, department, team, manager_id, employee_ref, hire_date, status, updated_at)
        SELECT *, now() FROM unnest(
          ${col((e) => e.userId)}::text[], ${col((e) => e.title)}::text[], ${col((e) => e.department)}::text[],
          ${col((e) => e.team)}::text[], ${col((e) => e.managerId)}::text[], ${col((e) => e.employeeRef)}::text[],
          ${col((e) => e.hireDate)}::date[], ${col((e) => e.status)}::text[]
        )
        ON CONFLICT (user_id) DO UPDATE SET title = excluded.title, department = excluded.department,
          team = excluded.team, manager_id = excluded.manager_id, employee_ref = excluded.employee_ref,
          hire_date = excluded.hire_date, status = excluded.status, updated_at = now()`
    }, Effect.orDie)

    /**
     * Rewrites today's state (`today`, an ISO date) of the users it may have changed for: an HR
     * event effective after their row was written, or no row yet. The nightly calls it, so a
     * change dated in advance shows from its day on; page by page, so its memory is a page's.
     */
    const refreshDue = Effect.fn("Employees.refreshDue")(function* (today: IsoDate) {
      const due = yield* sql<{ userId: UserId }>`
        SELECT DISTINCT h.user_id AS "userId" FROM hr_events h LEFT JOIN employees e USING (user_id)
        WHERE h.effective_date <= ${today}
          AND (e.user_id IS NULL OR h.effective_date > (e.updated_at AT TIME ZONE 'UTC')::date)`
      for (const page of Arr.chunksOf(due.map((r) => r.userId), 2_000)) yield* refresh(page)
      return due.length
    }, Effect.orDie)

    return { asOf, refresh, refreshDue, eventsOf, insert, lock } as const
  })
}) {}
