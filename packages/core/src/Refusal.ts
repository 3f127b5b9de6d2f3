/** A Schema issue message without the value it quotes ("Expected string, actual {...}"). */
export const withoutActual = (message: string): string => message.replace(/,? actual [\s\S]*$/, "")

/** Why a line is not JSON, without quoting the line (`JSON.parse` messages echo the input). */
export const describeJsonError = (error: unknown): string => {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : "")
  return position ? `invalid JSON at character ${position[1]}` : "invalid JSON"
}

/**
 * The record's location inside its page at the start of a refusal reason (`items[2].events[0]: `,
 * `[3]: `), as a regular expression both JavaScript and PostgreSQL read alike.
 */
export const REASON_LOCATION = String.raw`^[A-Za-z_.]*\[\d+\](?:\.?[A-Za-z_]*\[\d+\])*: `
const location = new RegExp(REASON_LOCATION)

/** A refusal reason without the record's location: what refusals are grouped by (the position and item say where). */
export const reasonKind = (reason: string): string => reason.replace(location, "")

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g
/** People linked to one refused record at most; a record naming more is flagged instead (see `loginsIn`). */
export const MAX_LOGINS = 10_000

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)
const str = (u: unknown): string | undefined => (typeof u === "string" && u.trim() !== "" ? u : typeof u === "number" ? String(u) : undefined)

/** The logins a provider record names in the fields workcat reads them from (as the decoders form them). */
const providerLogins = (json: Readonly<Record<string, unknown>>, out: Set<string>) => {
  const actor = json.actor
  if (isObject(actor)) {
    const alternateId = str(actor.alternateId)
    if (alternateId !== undefined) out.add(alternateId)
    else if (actor.type === "User" && str(actor.id) !== undefined) out.add(`okta:${str(actor.id)}`)
    const email = str(actor.email)
    if (email !== undefined) out.add(email)
    else if (str(actor.profileId) !== undefined) out.add(`gws:${str(actor.profileId)}`)
  }
  for (const signIn of [json, json.properties]) {
    if (!isObject(signIn)) continue
    const upn = str(signIn.userPrincipalName)
    if (upn !== undefined) out.add(upn)
    else if (str(signIn.userId) !== undefined) out.add(`entra:${str(signIn.userId)}`)
  }
}

/**
 * Whom a refused record is about, as far as it can be told: every e-mail address in its text (a
 * truncated line, a CSV row, any field), and the logins the provider formats put in known fields
 * (an Okta actor's `alternateId` or `okta:<id>`, a Google actor's e-mail or `gws:<profileId>`, an
 * Entra `userPrincipalName` or `entra:<userId>`), plus `extra` (an HR mapping's login column).
 * Forget finds a person's dead letters by the pseudonyms of these; a record that names someone only
 * by a bare name cannot be matched to them (it is sealed, and expires with the tenant's retention).
 * At most `MAX_LOGINS` + 1: more than `MAX_LOGINS` means "too many to link".
 */
export const loginsIn = (text: string, extra: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  const out = new Set<string>(extra.filter((l) => l.trim() !== ""))
  for (const match of text.matchAll(EMAIL)) {
    out.add(match[0])
    if (out.size > MAX_LOGINS) return [...out]
  }
  try {
    const json: unknown = JSON.parse(text)
    if (isObject(json)) providerLogins(json, out)
  } catch {
    // not JSON (a truncated line, a CSV row): the addresses in its text are all there is
  }
  return [...out].slice(0, MAX_LOGINS + 1)
}
