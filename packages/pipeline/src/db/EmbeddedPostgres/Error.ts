import { Data } from "effect"

/** The embedded PostgreSQL server could not be prepared, started or reached. */
export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
}> {}

export const fail = (message: string) => new EmbeddedPostgresError({ message })
