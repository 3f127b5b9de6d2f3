import type { SqlError } from "@effect/sql/SqlError"
import { Array as Arr, Deferred, Effect, Queue } from "effect"
import { ControlSql } from "./Database.js"

/** One audited action: who did what, when, from where. Never an employee's identifier. */
export interface AuditEntry {
  readonly tenant: string
  /** `token:<id>` for the API, `cli:<user>@<host>` for the command line. */
  readonly actor: string
  readonly role: string | null
  readonly action: string
  readonly details: Readonly<Record<string, unknown>>
  /** The caller's network (an IPv4 /24 or IPv6 /48), or `cli`. */
  readonly origin: string | null
}

export interface AuditRecord extends AuditEntry {
  readonly id: number
  readonly at: Date
}

/** Entries one insert takes at most. */
const BATCH = 500

/**
 * The append-only audit log (`workcat.audit_log`; a trigger refuses updates and deletes).
 * Entries are committed in groups: `record` waits until its entry is in the database, and the
 * entries recorded meanwhile by others (a server's concurrent requests) go in the same insert, in
 * the order recorded, so a busy server makes one insert per round trip rather than one per
 * request. A group the database refuses is inserted again entry by entry (one bad entry fails its
 * own caller only). When the service closes, what is queued is written before it ends; a `record`
 * after that is interrupted. An entry is its own statement: it is not part of the caller's transaction.
 */
export class AuditLog extends Effect.Service<AuditLog>()("workcat/AuditLog", {
  scoped: Effect.gen(function* () {
    const sql = yield* ControlSql
    type Waiting = { readonly entry: AuditEntry; readonly done: Deferred.Deferred<void, SqlError> }
    const queue = yield* Queue.unbounded<Waiting>()

    const insert = (entries: ReadonlyArray<AuditEntry>) =>
      Effect.suspend(() =>
        sql`
          INSERT INTO audit_log (tenant, actor, role, action, details, origin)
          SELECT tenant, actor, role, action, details, origin
          FROM ROWS FROM (json_to_recordset(${JSON.stringify(entries)}::json) AS (tenant text, actor text, role text, action text, details jsonb, origin text))
            WITH ORDINALITY AS t(tenant, actor, role, action, details, origin, n)
          ORDER BY n`
      ).pipe(Effect.asVoid)
    /** Writes a group and tells each of its callers; a refused group goes again entry by entry. */
    const write = (batch: ReadonlyArray<Waiting>) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(insert(batch.map((b) => b.entry)))
        if (exit._tag === "Success" || batch.length === 1) {
          for (const b of batch) yield* Deferred.done(b.done, exit)
          return
        }
        for (const b of batch) yield* Deferred.done(b.done, yield* Effect.exit(insert([b.entry])))
      }).pipe(Effect.catchAllDefect((defect) => Effect.forEach(batch, (b) => Deferred.die(b.done, defect), { discard: true })))

    // What is still queued when the service closes is written first (added before the writer, so it runs after it stops).
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const left = yield* Queue.takeAll(queue)
        yield* Queue.shutdown(queue)
        for (const batch of Arr.chunksOf([...left], BATCH)) yield* write(batch)
      })
    )
    // One writer: whatever is queued when it is free goes in one insert. Only its wait for work can be interrupted.
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const first = yield* restore(Queue.take(queue))
        const rest = yield* Queue.takeUpTo(queue, BATCH - 1)
        yield* write([first, ...rest])
      })
    ).pipe(Effect.forever, Effect.forkScoped)

    const record = Effect.fn("AuditLog.record")(function* (entry: AuditEntry) {
      const done = yield* Deferred.make<void, SqlError>()
      yield* Queue.offer(queue, { entry, done })
      yield* Deferred.await(done)
    }, Effect.orDie)

    /** Newest first; `before` pages back by id. */
    const page = Effect.fn("AuditLog.page")(function* (tenant: string, options: { readonly limit: number; readonly before?: number | undefined }) {
      return yield* sql<AuditRecord>`
        SELECT id::int AS id, tenant, at, actor, role, action, details, origin FROM audit_log
        WHERE tenant = ${tenant} ${options.before !== undefined ? sql`AND id < ${options.before}` : sql``}
        ORDER BY id DESC LIMIT ${options.limit}`
    }, Effect.orDie)

    return { record, page } as const
  })
}) {}

const ipv4 = (text: string): ReadonlyArray<number> | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined
  return parts.map(Number)
}

/** The eight 16-bit groups of an IPv6 address in any textual form (RFC 4291 2.2), or undefined. */
const ipv6 = (text: string): ReadonlyArray<number> | undefined => {
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groupsOf = (half: string): Array<number> | undefined => {
    if (half === "") return []
    const groups: Array<number> = []
    const parts = half.split(":")
    for (const [i, part] of parts.entries()) {
      const v4 = i === parts.length - 1 && part.includes(".") ? ipv4(part) : undefined
      if (v4 !== undefined) groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      else if (/^[0-9a-fA-F]{1,4}$/.test(part)) groups.push(parseInt(part, 16))
      else return undefined
    }
    return groups
  }
  const head = groupsOf(halves[0]!)
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  return [...head, ...Array<number>(missing).fill(0), ...tail]
}

/** RFC 5952 text: lower-case hex, the longest run of two or more zero groups as `::`. */
const ipv6Text = (groups: ReadonlyArray<number>): string => {
  let best = { at: -1, length: 1 }
  for (let at = 0; at < groups.length; at++) {
    let length = 0
    while (groups[at + length] === 0) length++
    if (length > best.length) best = { at, length }
  }
  const hex = groups.map((g) => g.toString(16))
  if (best.at < 0) return hex.join(":")
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`
}

/**
 * The network an address belongs to, as much of "from where" as an audit log needs: an IPv4 /24
 * (also for an IPv4-mapped IPv6 address) or an IPv6 /48. Never the address itself: what does not
 * parse as an address is recorded as unknown (null).
 */
export const networkOf = (address: string | undefined): string | null => {
  if (address === undefined || address === "") return null
  const v4 = ipv4(address)
  if (v4 !== undefined) return `${v4.slice(0, 3).join(".")}.0/24`
  const groups = ipv6(address.replace(/^\[|\]$/g, "").replace(/%.*$/, ""))
  if (groups === undefined) return null
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.0/24`
  }
  return `${ipv6Text([...groups.slice(0, 3), 0, 0, 0, 0, 0])}/48`
}
