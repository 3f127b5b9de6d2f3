import {
  foldHrEvents,
  type HrEvent,
  type IsoDate,
  isoDate,
  roleChanged,
  selectTriggers,
  type TriggerCandidate,
  type TriggerSelection
} from "@workcat/core"
import type { NightlySettings } from "@workcat/tenancy"
import type { Label } from "../materialize/CategoryStore.js"
import type { Candidate } from "../warehouse/EventWarehouse.js"

/** A tenant's trigger settings (see `NightlySettings`). */
export type TriggerSettings = Pick<NightlySettings, "newHireDays" | "periodicDays">

/** What is known of one of the warehouse's candidates: their HR events and their label. */
export interface CandidateFacts {
  readonly candidate: Candidate
  readonly hrEvents: ReadonlyArray<HrEvent>
  readonly label: Label | undefined
}

/**
 * Tonight's users among the warehouse's candidates: everyone with activity or an HR record
 * effective tonight may be due; terminated employees never are. The reasons are `triggerReasons`'.
 */
export const selectCandidates = (
  night: { readonly date: IsoDate; readonly anomalyThreshold: number; readonly triggers: TriggerSettings },
  users: Iterable<CandidateFacts>
): TriggerSelection => {
  const candidates: Array<TriggerCandidate> = []
  for (const { candidate, hrEvents, label } of users) {
    const employee = foldHrEvents(candidate.userId, hrEvents, night.date)
    if (employee === undefined ? !candidate.active : employee.status === "terminated") continue
    candidates.push({
      userId: candidate.userId,
      active: candidate.active,
      hireDate: employee?.hireDate ?? null,
      categorizedAt: label?.categorizedAt ?? null,
      hrChanged: label !== undefined && roleChanged(candidate.userId, hrEvents, isoDate(label.categorizedAt), night.date),
      drift: candidate.drift
    })
  }
  return selectTriggers(candidates, {
    date: night.date,
    newHireDays: night.triggers.newHireDays,
    periodicDays: night.triggers.periodicDays,
    anomalyThreshold: night.anomalyThreshold
  })
}
