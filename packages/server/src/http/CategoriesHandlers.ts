import { HttpApiBuilder } from "@effect/platform"
import { CategoryStore } from "@workcat/pipeline"
import { TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { WorkcatApi } from "../Api.js"
import { audit, forTenant } from "../TenantServices.js"

export const CategoriesLive = HttpApiBuilder.group(WorkcatApi, "categories", (handlers) =>
  handlers.handle("list", ({ path, urlParams }) =>
    Effect.gen(function* () {
      const store = yield* CategoryStore
      const { settings } = yield* Effect.flatMap(TenantRegistry, (r) => r.get(path.tenant)).pipe(Effect.orDie)
      const page = urlParams.page ?? 1
      const pageSize = urlParams.pageSize ?? 50
      const { items, total } = yield* store.page({
        // An empty filter (`?department=`) means no filter.
        department: urlParams.department || undefined,
        category: urlParams.category || undefined,
        offset: (page - 1) * pageSize,
        limit: pageSize
      })
      yield* audit("categories.read", { ...urlParams, returned: items.length })
      return {
        items: items.map((c) => ({ ...c, categoryName: settings.taxonomy.find(c.category)?.name ?? c.category })),
        page,
        pageSize,
        total
      }
    }).pipe(forTenant(path.tenant, "categories:read"))
  )
)
