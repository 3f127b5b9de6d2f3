import { FileSystem, Path } from "@effect/platform"
import { Config, Effect, Option, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { WorkcatHome } from "./Home.js"
import { TenantExists, TenantId, TenantNotFound } from "./TenantId.js"

const TenantsFile = Schema.Struct({
  tenants: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ key: Schema.String, createdAt: Schema.String })
  })
})
type TenantsFile = typeof TenantsFile.Type

/** A tenant key is at least 128 bits, base64-encoded. */
const MIN_KEY_BYTES = 16

const decodeKey = (tenant: string, base64: string) => {
  const key = Buffer.from(base64, "base64")
  return key.length >= MIN_KEY_BYTES
    ? Effect.succeed(Redacted.make(new Uint8Array(key)))
    : Effect.dieMessage(`The key of tenant ${tenant} decodes to ${key.length} bytes; at least ${MIN_KEY_BYTES} are required`)
}

/** `acme:BASE64,globex:BASE64` → entries. */
const parseKeyList = (value: string): ReadonlyArray<readonly [string, string]> =>
  value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const at = entry.indexOf(":")
      return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()] as const
    })

/**
 * Where tenants and their pseudonymization keys come from: the tenants file
 * (`WORKCAT_TENANTS_FILE`, default `$WORKCAT_HOME/tenants.json`, mode 0600) and the
 * `WORKCAT_TENANT_KEYS` environment variable (`id:base64key,...`), which wins over the file.
 */
export class TenantRegistry extends Effect.Service<TenantRegistry>()("workcat/TenantRegistry", {
  effect: Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const home = yield* WorkcatHome
    const file = yield* Config.string("WORKCAT_TENANTS_FILE").pipe(Config.withDefault(path.join(home, "tenants.json")))
    const fromEnv = yield* Config.option(Config.redacted("WORKCAT_TENANT_KEYS"))
    const envKeys = new Map(Option.match(fromEnv, { onNone: () => [], onSome: (v) => parseKeyList(Redacted.value(v)) }))

    const read = Effect.gen(function* () {
      if (!(yield* fs.exists(file))) return { tenants: {} } satisfies TenantsFile
      const text = yield* fs.readFileString(file)
      return yield* Schema.decodeUnknown(Schema.parseJson(TenantsFile))(text)
    }).pipe(Effect.orDieWith((e) => new Error(`Cannot read tenants file ${file}: ${String(e)}`)))

    const key = Effect.fn("TenantRegistry.key")(function* (tenant: TenantId) {
      const env = envKeys.get(tenant)
      if (env !== undefined) return yield* decodeKey(tenant, env)
      const entry = (yield* read).tenants[tenant]
      if (entry === undefined) {
        return yield* new TenantNotFound({
          tenant,
          message: `Unknown tenant "${tenant}": create it with \`workcat tenants add ${tenant}\` or set WORKCAT_TENANT_KEYS`
        })
      }
      return yield* decodeKey(tenant, entry.key)
    })

    const write = (next: TenantsFile) =>
      Effect.gen(function* () {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        const tmp = `${file}.${process.pid}.tmp`
        yield* fs.writeFileString(tmp, JSON.stringify(next, null, 2) + "\n", { mode: 0o600 })
        yield* fs.rename(tmp, file)
      }).pipe(Effect.orDieWith((e) => new Error(`Cannot write tenants file ${file}: ${String(e)}`)))

    const add = Effect.fn("TenantRegistry.add")(function* (tenant: TenantId) {
      const current = yield* read
      if (current.tenants[tenant] !== undefined || envKeys.has(tenant)) {
        return yield* new TenantExists({ tenant, message: `Tenant "${tenant}" exists already` })
      }
      const entry = { key: randomBytes(32).toString("base64"), createdAt: new Date().toISOString() }
      yield* write({ tenants: { ...current.tenants, [tenant]: entry } })
    })

    const list = Effect.map(read, (f) =>
      [...new Set([...Object.keys(f.tenants), ...envKeys.keys()])]
        .filter((id) => Schema.is(TenantId)(id))
        .sort() as ReadonlyArray<TenantId>
    )

    return { key, add, list, file } as const
  })
}) {}
