import { HttpApiBuilder } from "@effect/platform"
import { CategoryStore } from "@workcat/pipeline"
import type { TenantId } from "@workcat/tenancy"
import { Data, Effect } from "effect"
import { CategoryPage, WorkcatApi } from "../Api.js"
import { authorize } from "../Auth.js"
import { encodedJson, freshCache, jsonResponse } from "../Fresh.js"
import { audit, inTenant, settingsOf } from "../TenantServices.js"

/** What an answer depends on: the tenant, the request's parameters and the taxonomy that names the categories. */
interface PageKey {
  readonly tenant: TenantId
  readonly department: string | undefined
  readonly category: string | undefined
  readonly page: number
  readonly pageSize: number
  /** The settings' revision (their taxonomy names the categories) and this server's generation of the tenant (a forget here starts a new one). */
  readonly revision: string
  readonly generation: number
}

const encodeAnswer = encodedJson(CategoryPage)

export const CategoriesLive = HttpApiBuilder.group(WorkcatApi, "categories", (handlers) =>
  Effect.gen(function* () {
    // Labels change with a night or a forget: a page is read and encoded at most once per `FRESH`, however many ask.
    const answers = yield* freshCache(({ category, department, page, pageSize, tenant }: PageKey) =>
        Effect.gen(function* () {
          const { taxonomy } = (yield* settingsOf(tenant)).settings
          const { items, total } = yield* Effect.flatMap(CategoryStore, (store) =>
            store.page({ department, category, offset: (page - 1) * pageSize, limit: pageSize })
          ).pipe(inTenant(tenant))
          const body = yield* encodeAnswer({
            items: items.map((c) => ({ ...c, categoryName: taxonomy.find(c.category)?.name ?? c.category })),
            page,
            pageSize,
            total
          })
          return { body, returned: items.length }
        }),
      // At most this many answers held (a page of 500 is a few hundred KB).
      { capacity: 1_000 }
    )
    return handlers.handle("list", ({ path, urlParams }) =>
      Effect.gen(function* () {
        yield* authorize(path.tenant, "categories:read")
        const { generation, revision } = yield* settingsOf(path.tenant)
        const { body, returned } = yield* answers.get(
          Data.struct({
            tenant: path.tenant,
            // An empty filter (`?department=`) means no filter.
            department: urlParams.department || undefined,
            category: urlParams.category || undefined,
            page: urlParams.page ?? 1,
            pageSize: urlParams.pageSize ?? 50,
            revision,
            generation
          })
        )
        yield* audit("categories.read", { ...urlParams, returned })
        return jsonResponse(body)
      })
    )
  })
)
