import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { CategoryStore } from "@workcat/pipeline"
import type { TenantId, TenantSettings } from "@workcat/tenancy"
import { Data, Effect, Schema } from "effect"
import { CategoryPage, WorkcatApi } from "../Api.js"
import { authorize } from "../Auth.js"
import { freshCache } from "../Fresh.js"
import { audit, inTenant, settingsOf } from "../TenantServices.js"

/** What an answer depends on: the tenant, the request's parameters and the taxonomy that names the categories. */
interface PageKey {
  readonly tenant: TenantId
  readonly department: string | undefined
  readonly category: string | undefined
  readonly page: number
  readonly pageSize: number
  readonly taxonomy: TenantSettings["taxonomy"]
}

const encodeAnswer = Schema.encode(CategoryPage)

export const CategoriesLive = HttpApiBuilder.group(WorkcatApi, "categories", (handlers) =>
  Effect.gen(function* () {
    // Labels change with a night or a forget: a page is read and encoded at most once per `FRESH`, however many ask.
    const answers = yield* freshCache(({ category, department, page, pageSize, taxonomy, tenant }: PageKey) =>
        Effect.gen(function* () {
          const { items, total } = yield* Effect.flatMap(CategoryStore, (store) =>
            store.page({ department, category, offset: (page - 1) * pageSize, limit: pageSize })
          ).pipe(inTenant(tenant))
          const answer = yield* encodeAnswer({
            items: items.map((c) => ({ ...c, categoryName: taxonomy.find(c.category)?.name ?? c.category })),
            page,
            pageSize,
            total
          }).pipe(Effect.orDie)
          return { body: JSON.stringify(answer), returned: items.length }
        })
    )
    return handlers.handle("list", ({ path, urlParams }) =>
      Effect.gen(function* () {
        yield* authorize(path.tenant, "categories:read")
        const { taxonomy } = yield* settingsOf(path.tenant)
        const { body, returned } = yield* answers.get(
          Data.struct({
            tenant: path.tenant,
            // An empty filter (`?department=`) means no filter.
            department: urlParams.department || undefined,
            category: urlParams.category || undefined,
            page: urlParams.page ?? 1,
            pageSize: urlParams.pageSize ?? 50,
            taxonomy
          })
        )
        yield* audit("categories.read", { ...urlParams, returned })
        return HttpServerResponse.text(body, { contentType: "application/json" })
      })
    )
  })
)
