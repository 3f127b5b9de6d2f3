import {
  type AppProfile,
  type Employee,
  type IsoDate,
  selectTriggers,
  type TriggerCandidate,
  type TriggerSelection,
  type UserId
} from "@workcat/core"

/** A hire within this many days is recategorized every night while their profile fills up. */
export const NEW_HIRE_DAYS = 7

export interface TriggerInputs {
  readonly date: IsoDate
  readonly profiles: ReadonlyMap<UserId, AppProfile>
  readonly employees: ReadonlyMap<UserId, Employee>
  readonly labels: ReadonlyMap<UserId, { readonly categorizedAt: Date }>
}

/**
 * Tonight's users: everyone with activity or an active HR record is a candidate; terminated
 * employees are never selected.
 */
export const selectForRun = (inputs: TriggerInputs): TriggerSelection => {
  const users = new Set<UserId>([...inputs.profiles.keys(), ...inputs.employees.keys()])
  const candidates: Array<TriggerCandidate> = []
  for (const userId of users) {
    const employee = inputs.employees.get(userId)
    if (employee?.status === "terminated") continue
    candidates.push({
      userId,
      active: (inputs.profiles.get(userId)?.apps.length ?? 0) > 0,
      hireDate: employee?.hireDate ?? null,
      categorizedAt: inputs.labels.get(userId)?.categorizedAt ?? null
    })
  }
  return selectTriggers(candidates, { date: inputs.date, newHireDays: NEW_HIRE_DAYS })
}
