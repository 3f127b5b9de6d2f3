import { HttpApiBuilder } from "@effect/platform"
import { DefaultTaxonomy } from "@workcat/core"
import { CategoryStore } from "@workcat/pipeline"
import { Effect, Layer } from "effect"
import { WorkcatApi } from "../Api.js"
import { TenantServices, withTenant } from "../TenantServices.js"

export const CategoriesLive = HttpApiBuilder.group(WorkcatApi, "categories", (handlers) =>
  handlers.handle("list", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const store = yield* CategoryStore
      const page = urlParams.page ?? 1
      const pageSize = urlParams.pageSize ?? 50
      const { items, total } = yield* store.page({
        department: urlParams.department,
        category: urlParams.category,
        offset: (page - 1) * pageSize,
        limit: pageSize
      })
      return {
        items: items.map((c) => ({ ...c, categoryName: DefaultTaxonomy.find(c.category)?.name ?? c.category })),
        page,
        pageSize,
        total
      }
    }).pipe(withTenant(path.tenant))
  )
).pipe(Layer.provide(TenantServices.Default))
