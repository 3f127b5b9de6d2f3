/**
 * A failure as BigQuery reports it: an error reason (`invalidQuery`, `notFound`, …) and a message,
 * and for a load, the messages about each bad row (`details`, listed after it in `errors`).
 */
export class BigQueryError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    readonly details: ReadonlyArray<string> = []
  ) {
    super(message)
  }

  /** The error as a job's `status.errorResult`. */
  get errorResult() {
    return { reason: this.reason, message: this.message }
  }

  /** The error as a job's `status.errors`: itself, then the details. */
  get errors() {
    return [this.errorResult, ...this.details.map((message) => ({ reason: this.reason, message }))]
  }
}

export type Reason =
  | "invalid"
  | "invalidQuery"
  | "notFound"
  | "duplicate"
  | "resourceInUse"
  | "bytesBilledLimitExceeded"
  | "backendError"
  | "notImplemented"

/** The HTTP status BigQuery answers with for a reason, and the status name in its error bodies. */
export const httpStatusOf: Record<Reason, readonly [number, string]> = {
  invalid: [400, "INVALID_ARGUMENT"],
  invalidQuery: [400, "INVALID_ARGUMENT"],
  bytesBilledLimitExceeded: [400, "INVALID_ARGUMENT"],
  resourceInUse: [400, "FAILED_PRECONDITION"],
  notFound: [404, "NOT_FOUND"],
  duplicate: [409, "ALREADY_EXISTS"],
  backendError: [500, "INTERNAL"],
  notImplemented: [501, "UNIMPLEMENTED"]
}

export const invalidQuery = (message: string) => new BigQueryError("invalidQuery", message)

/** For the constructs the test server does not translate: named, so that nothing passes silently. */
export const unsupported = (construct: string) => invalidQuery(`Not supported by the BigQuery test server: ${construct}`)

/** The `{ error: { code, message, errors, status } }` body of a failed BigQuery request. */
export const errorBody = (error: BigQueryError) => {
  const [code, status] = httpStatusOf[error.reason]
  return { error: { code, message: error.message, errors: error.errors.map((e) => ({ ...e, domain: "global" })), status } }
}
