import { FileSystem } from "@effect/platform"
import { describeJsonError, formatParseError, HrMapping } from "@workcat/core"
import { Effect, Either, Schema } from "effect"
import { InvalidInput } from "./Output.js"

/** A JSON file decoded by `schema`, or one line saying why it is not `what` (naming fields, not dumping the schema). */
export const readJsonFile = <A, I>(file: string, schema: Schema.Schema<A, I>, what: string) =>
  Effect.gen(function* () {
    const text = yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(
      Effect.mapError(() => new InvalidInput({ message: `${file}: cannot be read` }))
    )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      return yield* new InvalidInput({ message: `${file} is not ${what}: ${describeJsonError(e)}` })
    }
    const decoded = Schema.decodeUnknownEither(schema, { errors: "all" })(json)
    if (Either.isLeft(decoded)) return yield* new InvalidInput({ message: `${file} is not ${what}: ${formatParseError(decoded.left)}` })
    return decoded.right
  })

/** An HR mapping file (see `HrMapping`). */
export const readHrMapping = (file: string) => readJsonFile(file, HrMapping, "an HR mapping")
