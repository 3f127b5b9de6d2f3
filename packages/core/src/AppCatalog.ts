import { Schema } from "effect"
import { createHash } from "node:crypto"
import catalogJson from "./data/app-catalog.json" with { type: "json" }

/** Stable key of an application, e.g. `github`; unknown apps get their normalized name. */
export const AppKey = Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_]*$/), Schema.brand("AppKey"))
export type AppKey = typeof AppKey.Type

/** One well-known SaaS application and how strongly using it signals each work category. */
export class CatalogApp extends Schema.Class<CatalogApp>("CatalogApp")({
  key: AppKey,
  name: Schema.NonEmptyString,
  signals: Schema.Record({ key: Schema.String, value: Schema.Number.pipe(Schema.between(0, 1)) })
}) {}

/** Lower-case, ASCII-only, underscore-separated form of an app name. */
export const normalizeAppName = (name: string): string =>
  name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")

/** The app catalog: resolves provider app names to keys and exposes category signals. */
export class AppCatalog {
  private readonly byKey: ReadonlyMap<string, CatalogApp>
  private readonly byName: ReadonlyMap<string, CatalogApp>

  constructor(readonly apps: ReadonlyArray<CatalogApp>) {
    this.byKey = new Map(apps.map((a) => [a.key, a]))
    this.byName = new Map(apps.flatMap((a) => [[normalizeAppName(a.name), a], [a.key, a]] as const))
  }

  get(key: string): CatalogApp | undefined {
    return this.byKey.get(key)
  }

  /**
   * The catalog key for an app display name; for an app we do not know, its normalized name, or
   * (a name with no Latin letters or digits) a stable hash of it, so distinct apps stay distinct.
   */
  resolve(displayName: string): AppKey {
    const normalized = normalizeAppName(displayName)
    if (normalized !== "") return (this.byName.get(normalized)?.key ?? normalized) as AppKey
    return `app_${createHash("sha256").update(displayName.trim()).digest("hex").slice(0, 12)}` as AppKey
  }

  displayName(key: string): string {
    return this.byKey.get(key)?.name ?? key
  }
}

/** The built-in catalog of well-known SaaS apps (packages/core/src/data/app-catalog.json). */
export const DefaultAppCatalog = new AppCatalog(Schema.decodeUnknownSync(Schema.Array(CatalogApp))(catalogJson))
