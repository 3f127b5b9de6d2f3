import { type AccessEvent, addDays, type AppKey, type IsoDate, type UserId } from "@workcat/core"

/**
 * Events for tests of a night on `date`: `uses(user, app, days, count, authSteps)` is `count`
 * sign-ins of `userId` into `app` at 10:00 on each of `days` (days before the date), each with
 * `authSteps`; event ids are unique across calls with the same `prefix`.
 */
export const accessesBefore = (date: IsoDate, prefix: string) => {
  let n = 0
  return (userId: UserId, app: string, days: ReadonlyArray<number>, count = 1, authSteps = 1): Array<AccessEvent> =>
    days.flatMap((d) =>
      Array.from({ length: count }, (): AccessEvent => ({
        eventId: `${prefix}${n++}`,
        provider: "okta",
        eventType: "user.authentication.sso",
        occurredAt: new Date(`${addDays(date, -d)}T10:00:00Z`),
        userId,
        app: app as AppKey,
        appName: app,
        outcome: "SUCCESS",
        authSteps,
        sessionId: null,
        country: null
      }))
    )
}

/** The whole numbers `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
